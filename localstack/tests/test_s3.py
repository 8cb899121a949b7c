"""S3 conditional requests, which glinfra's S3 state backend relies on.

PutObject with If-None-Match: * and If-Match: <etag> is LocalStack's own (checked here so
that a LocalStack upgrade that loses it fails loudly); DeleteObject with If-Match is our
gap fill (glinfra_localstack/s3.py), as AWS does it for general purpose buckets since
2025-09-16 (API reference, DeleteObject; user guide, "How to perform conditional deletes")."""

import pytest
from botocore.exceptions import ClientError

from conftest import error_of


@pytest.fixture(params=["unversioned", "versioned"])
def bucket(request, client, name):
    s3 = client("s3")
    s3.create_bucket(Bucket=name)
    if request.param == "versioned":
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def condition(excinfo):
    return excinfo.value.response["Error"].get("Condition")


def test_put_if_none_match_creates_only_once(client, bucket):
    s3 = client("s3")
    s3.put_object(Bucket=bucket, Key="lock", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="lock", Body=b"second", IfNoneMatch="*")
    assert error_of(e) == ("PreconditionFailed", 412)
    assert condition(e) == "If-None-Match"
    assert s3.get_object(Bucket=bucket, Key="lock")["Body"].read() == b"first"


def test_put_if_match_needs_the_current_etag(client, bucket):
    s3 = client("s3")
    first = s3.put_object(Bucket=bucket, Key="state", Body=b"1")["ETag"]
    second = s3.put_object(Bucket=bucket, Key="state", Body=b"2", IfMatch=first)["ETag"]
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="state", Body=b"lost update", IfMatch=first)
    assert error_of(e) == ("PreconditionFailed", 412)
    assert condition(e) == "If-Match"
    got = s3.get_object(Bucket=bucket, Key="state")
    assert (got["Body"].read(), got["ETag"]) == (b"2", second)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="missing", Body=b"x", IfMatch=first)
    assert error_of(e) == ("NoSuchKey", 404)


@pytest.mark.glinfra_provider
def test_delete_if_match_deletes_only_that_version(client, bucket):
    s3 = client("s3")
    first = s3.put_object(Bucket=bucket, Key="lock", Body=b"a")["ETag"]
    second = s3.put_object(Bucket=bucket, Key="lock", Body=b"b")["ETag"]
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=bucket, Key="lock", IfMatch=first)
    assert error_of(e) == ("PreconditionFailed", 412)
    assert condition(e) == "If-Match"
    assert s3.get_object(Bucket=bucket, Key="lock")["Body"].read() == b"b"
    s3.delete_object(Bucket=bucket, Key="lock", IfMatch=second)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="lock")
    assert error_of(e)[0] == "NoSuchKey"
    # Gone (or a delete marker): If-Match answers NoSuchKey, and If-None-Match creates again.
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=bucket, Key="lock", IfMatch=second)
    assert error_of(e) == ("NoSuchKey", 404)
    s3.put_object(Bucket=bucket, Key="lock", Body=b"c", IfNoneMatch="*")


@pytest.mark.glinfra_provider
def test_delete_if_match_star_needs_an_object(client, bucket):
    s3 = client("s3")
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=bucket, Key="nothing", IfMatch="*")
    assert error_of(e) == ("NoSuchKey", 404)
    s3.put_object(Bucket=bucket, Key="something", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="something", IfMatch="*")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="something")


def test_unconditional_delete_is_unchanged(client, bucket):
    s3 = client("s3")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_object(Bucket=bucket, Key="never-there")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="k")


# ---------------------------------------------------------------- replication to two regions
def test_replication_keeps_every_rule_of_a_v2_configuration(client, name):
    """PutBucketReplication with one rule per destination (replication V2: a Filter, its own
    Priority, DeleteMarkerReplication, a replica KMS key per destination) is read back whole:
    glinfra's backups bucket replicates to us-west-2 and eu-west-1 (seed 5.3)."""
    s3 = client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    rules = []
    for priority, region in enumerate(["us-west-2", "eu-west-1"], start=1):
        replica = f"{name}-{region}"
        s3r = client("s3", region)
        s3r.create_bucket(Bucket=replica, CreateBucketConfiguration={"LocationConstraint": region})
        s3r.put_bucket_versioning(Bucket=replica, VersioningConfiguration={"Status": "Enabled"})
        rules.append(
            {
                "ID": f"to-{region}",
                "Priority": priority,
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "DeleteMarkerReplication": {"Status": "Disabled"},
                "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
                "Destination": {
                    "Bucket": f"arn:aws:s3:::{replica}",
                    "EncryptionConfiguration": {
                        "ReplicaKmsKeyID": f"arn:aws:kms:{region}:000000000000:key/replica-{region}"
                    },
                },
            }
        )
    role = "arn:aws:iam::000000000000:role/replication"
    s3.put_bucket_replication(Bucket=name, ReplicationConfiguration={"Role": role, "Rules": rules})
    got = s3.get_bucket_replication(Bucket=name)["ReplicationConfiguration"]
    assert got["Role"] == role
    assert [(r["ID"], r["Priority"]) for r in got["Rules"]] == [("to-us-west-2", 1), ("to-eu-west-1", 2)]
    for want, have in zip(rules, got["Rules"]):
        assert have["Destination"] == want["Destination"]
        assert have["Filter"] == {"Prefix": ""}
        assert have["DeleteMarkerReplication"] == {"Status": "Disabled"}
    s3.delete_bucket_replication(Bucket=name)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_replication(Bucket=name)
    assert error_of(e)[0] == "ReplicationConfigurationNotFoundError"
