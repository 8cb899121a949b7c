"""Resource Groups Tagging API gap fill: GetResources also returns LocalStack's own S3
buckets (in their own region) and KMS keys, with moto's tag filters and pages.

Every resource carries the tag ``owner=<unique name>``, so each test finds its own
resources among those of other tests sharing the emulator."""

import random

import boto3
import pytest
from botocore.config import Config

from conftest import REGION

OTHER_REGION = "eu-west-1"


def listed(rg, **kwargs) -> dict[str, dict[str, str]]:
    """Every GetResources item for kwargs, page after page: {ARN: {key: value}}."""
    found, token = {}, ""
    while True:
        page = rg.get_resources(PaginationToken=token, **kwargs)
        for item in page["ResourceTagMappingList"]:
            assert item["ResourceARN"] not in found, "an item came back twice"
            found[item["ResourceARN"]] = {t["Key"]: t["Value"] for t in item["Tags"]}
        token = page.get("PaginationToken")
        if not token:
            return found


def owned(rg, name, *more_filters, **kwargs) -> dict[str, dict[str, str]]:
    """The items tagged owner=name (and matching more_filters)."""
    return listed(rg, TagFilters=[{"Key": "owner", "Values": [name]}, *more_filters], **kwargs)


def bucket(client, name, region=REGION, **tags) -> str:
    """Creates the bucket ``name`` in ``region`` with ``tags`` (none: untagged); its ARN."""
    s3 = client("s3", region)
    extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **extra)
    if tags:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
    return f"arn:aws:s3:::{name}"


def key(client, region=REGION, **tags) -> str:
    """Creates a KMS key in ``region`` with ``tags``; its ARN."""
    made = client("kms", region).create_key(Tags=[{"TagKey": k, "TagValue": v} for k, v in tags.items()])
    return made["KeyMetadata"]["Arn"]


@pytest.mark.glinfra_provider
def test_tagged_buckets_are_found_in_their_own_region_only(client, name):
    east = bucket(client, f"{name}-east", owner=name, env="prod")
    west = bucket(client, f"{name}-west", OTHER_REGION, owner=name)
    rg_east, rg_west = client("resourcegroupstaggingapi"), client("resourcegroupstaggingapi", OTHER_REGION)

    assert owned(rg_east, name) == {east: {"owner": name, "env": "prod"}}
    assert owned(rg_west, name) == {west: {"owner": name}}
    for types in (["s3"], ["s3:bucket"], ["kms:key", "s3"]):
        assert set(owned(rg_east, name, ResourceTypeFilters=types)) == {east}
        assert set(owned(rg_west, name, ResourceTypeFilters=types)) == {west}
    assert owned(rg_east, name, ResourceTypeFilters=["kms:key"]) == {}
    assert owned(rg_east, name, ResourceTypeFilters=["rds"]) == {}
    # Also without TagFilters.
    assert east in listed(rg_east, ResourceTypeFilters=["s3"]) and west not in listed(rg_east)
    for arn, region in ((east, REGION), (west, OTHER_REGION)):
        client("s3", region).delete_bucket(Bucket=arn.rsplit(":", 1)[1])


@pytest.mark.glinfra_provider
def test_tagged_kms_key_is_found_with_its_arn(client, name):
    arn = key(client, owner=name, team="data")
    assert arn.startswith(f"arn:aws:kms:{REGION}:000000000000:key/")
    rg = client("resourcegroupstaggingapi")

    assert owned(rg, name) == {arn: {"owner": name, "team": "data"}}
    for types in (["kms"], ["kms:key"], ["s3", "kms:key"]):
        assert set(owned(rg, name, ResourceTypeFilters=types)) == {arn}
    assert owned(rg, name, ResourceTypeFilters=["s3:bucket"]) == {}
    assert owned(client("resourcegroupstaggingapi", OTHER_REGION), name) == {}


@pytest.mark.glinfra_provider
def test_tag_filters_with_and_without_values_are_anded(client, name):
    prod = bucket(client, f"{name}-prod", owner=name, env="prod")
    dev = bucket(client, f"{name}-dev", owner=name, env="dev")
    plain = key(client, owner=name)
    rg = client("resourcegroupstaggingapi")

    assert set(owned(rg, name)) == {prod, dev, plain}
    # A key without values: any value.
    assert set(owned(rg, name, {"Key": "env"})) == {prod, dev}
    assert set(owned(rg, name, {"Key": "env", "Values": []})) == {prod, dev}
    # One value, several values.
    assert set(owned(rg, name, {"Key": "env", "Values": ["prod"]})) == {prod}
    assert set(owned(rg, name, {"Key": "env", "Values": ["prod", "dev", "test"]})) == {prod, dev}
    # Two filters are ANDed; a key nothing has matches nothing.
    assert owned(rg, name, {"Key": "env", "Values": ["test"]}) == {}
    assert owned(rg, name, {"Key": "env"}, {"Key": "absent"}) == {}
    for b in (prod, dev):
        client("s3").delete_bucket(Bucket=b.rsplit(":", 1)[1])


@pytest.mark.glinfra_provider
def test_moto_resources_come_back_beside_buckets_and_keys(client, name, network):
    """An ElastiCache subnet group (moto's) with the same tags is filtered the same way."""
    ec = client("elasticache")
    group = ec.create_cache_subnet_group(
        CacheSubnetGroupName=f"{name}-sn",
        CacheSubnetGroupDescription="tagging",
        SubnetIds=network["subnets"][:2],
        Tags=[{"Key": "owner", "Value": name}, {"Key": "env", "Value": "prod"}],
    )["CacheSubnetGroup"]["ARN"]
    b = bucket(client, f"{name}-b", owner=name, env="prod")
    k = key(client, owner=name, env="dev")
    rg = client("resourcegroupstaggingapi")

    assert owned(rg, name) == {
        group: {"owner": name, "env": "prod"},
        b: {"owner": name, "env": "prod"},
        k: {"owner": name, "env": "dev"},
    }
    assert set(owned(rg, name, {"Key": "env", "Values": ["prod"]})) == {group, b}
    assert set(owned(rg, name, ResourceTypeFilters=["elasticache"])) == {group}
    assert set(owned(rg, name, ResourceTypeFilters=["elasticache", "s3"])) == {group, b}
    assert set(owned(rg, name, ResourceTypeFilters=["elasticache", "kms"])) == {group, k}
    client("s3").delete_bucket(Bucket=f"{name}-b")
    ec.delete_cache_subnet_group(CacheSubnetGroupName=f"{name}-sn")


@pytest.mark.glinfra_provider
def test_pages_of_one_resource(client, name):
    made = {bucket(client, f"{name}-{i}", owner=name) for i in range(2)} | {key(client, owner=name)}
    rg = client("resourcegroupstaggingapi")

    pages, token = [], ""
    while True:
        page = rg.get_resources(
            TagFilters=[{"Key": "owner", "Values": [name]}], ResourcesPerPage=1, PaginationToken=token
        )
        pages.append([item["ResourceARN"] for item in page["ResourceTagMappingList"]])
        token = page.get("PaginationToken")
        if not token:
            break
    assert [len(p) for p in pages] == [1, 1, 1]
    assert {arn for p in pages for arn in p} == made
    # Pages of all the account's S3 resources hold ours too.
    assert made - {k for k in made if ":kms:" in k} <= set(listed(rg, ResourcesPerPage=1, ResourceTypeFilters=["s3"]))
    for i in range(2):
        client("s3").delete_bucket(Bucket=f"{name}-{i}")


@pytest.mark.glinfra_provider
def test_untagged_and_deleted_resources_are_not_returned(client, name):
    untagged_bucket = bucket(client, f"{name}-untagged")
    untagged_key = key(client)
    deleted = bucket(client, f"{name}-deleted", owner=name)
    rg = client("resourcegroupstaggingapi")
    assert set(owned(rg, name)) == {deleted}

    client("s3").delete_bucket(Bucket=f"{name}-deleted")

    everything = listed(rg)
    assert not {untagged_bucket, untagged_key, deleted} & set(everything)
    assert owned(rg, name) == {}
    client("s3").delete_bucket(Bucket=f"{name}-untagged")


@pytest.mark.glinfra_provider
def test_tag_changes_show_at_once(client, name):
    s3, kms, rg = client("s3"), client("kms"), client("resourcegroupstaggingapi")
    b = bucket(client, name, owner=name, env="dev")
    k = key(client, owner=name)

    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "owner", "Value": name}, {"Key": "env", "Value": "prod"}]})
    kms.tag_resource(KeyId=k, Tags=[{"TagKey": "env", "TagValue": "prod"}])
    assert owned(rg, name, {"Key": "env", "Values": ["prod"]}) == {
        b: {"owner": name, "env": "prod"},
        k: {"owner": name, "env": "prod"},
    }
    assert owned(rg, name, {"Key": "env", "Values": ["dev"]}) == {}

    kms.untag_resource(KeyId=k, TagKeys=["env"])
    assert owned(rg, name) == {b: {"owner": name, "env": "prod"}, k: {"owner": name}}

    s3.delete_bucket_tagging(Bucket=name)
    kms.untag_resource(KeyId=k, TagKeys=["owner"])
    assert owned(rg, name) == {}
    assert not {b, k} & set(listed(rg, ResourceTypeFilters=["s3", "kms"]))
    s3.delete_bucket(Bucket=name)


@pytest.mark.glinfra_provider
def test_another_account_sees_only_its_own(client, endpoint, name):
    b = bucket(client, name, owner=name)
    k = key(client, owner=name)
    account = "".join(random.choice("0123456789") for _ in range(12))

    def other(service):
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=account,
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )

    assert owned(other("resourcegroupstaggingapi"), name) == {}
    theirs = other("kms").create_key(Tags=[{"TagKey": "owner", "TagValue": name}])["KeyMetadata"]["Arn"]
    assert theirs.startswith(f"arn:aws:kms:{REGION}:{account}:key/")
    assert set(owned(other("resourcegroupstaggingapi"), name)) == {theirs}
    assert set(owned(client("resourcegroupstaggingapi"), name)) == {b, k}
    client("s3").delete_bucket(Bucket=name)
