"""IAM GetAccountAuthorizationDetails, glinfra's refresh of IAM roles.

What a RoleDetail carries (path, trust policy, inline policies with their documents,
attached managed policies, tags) is LocalStack's own, checked here so that an upgrade
that loses it fails loudly; pagination (MaxItems, IsTruncated, Marker) is our gap fill
(glinfra_localstack/iam.py), as the IAM API reference describes it."""

import json

import pytest
from botocore.exceptions import ClientError

from conftest import error_of

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
INLINE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}
MANAGED = "arn:aws:iam::aws:policy/ReadOnlyAccess"


@pytest.fixture
def roles(client, name):
    """Three roles named `name`-0..2; the first with an inline and a managed policy and tags."""
    iam = client("iam")
    names = [f"{name}-{i}" for i in range(3)]
    for i, role in enumerate(names):
        iam.create_role(
            RoleName=role,
            Path="/service/",
            AssumeRolePolicyDocument=json.dumps(TRUST),
            Description=f"role {i}",
            Tags=[{"Key": "glinfra:stack", "Value": name}, {"Key": "glinfra:logical-id", "Value": f"r{i}"}],
        )
    iam.put_role_policy(RoleName=names[0], PolicyName="read", PolicyDocument=json.dumps(INLINE))
    iam.attach_role_policy(RoleName=names[0], PolicyArn=MANAGED)
    yield names
    for role in names:
        remove(iam, role)


def remove(iam, role):
    """Deletes `role` with its policies; gone already is fine."""
    try:
        for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=role, PolicyArn=p["PolicyArn"])
        for p in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            iam.delete_role_policy(RoleName=role, PolicyName=p)
        iam.delete_role(RoleName=role)
    except iam.exceptions.NoSuchEntityException:
        pass


def every_page(iam, max_items):
    pages, marker = [], None
    while True:
        args = {"Filter": ["Role"], "MaxItems": max_items}
        if marker:
            args["Marker"] = marker
        page = iam.get_account_authorization_details(**args)
        pages.append(page)
        if not page["IsTruncated"]:
            assert "Marker" not in page
            return pages
        marker = page["Marker"]


def test_a_role_detail_carries_what_the_refresh_reads(client, roles):
    iam = client("iam")
    pages = every_page(iam, 1000)
    details = {r["RoleName"]: r for p in pages for r in p["RoleDetailList"]}
    first = details[roles[0]]
    assert first["Path"] == "/service/"
    assert first["Arn"].endswith(f":role/service/{roles[0]}")
    assert first["AssumeRolePolicyDocument"] == TRUST  # boto3 decodes the URL-encoded text
    assert first["RolePolicyList"] == [{"PolicyName": "read", "PolicyDocument": INLINE}]
    assert [p["PolicyArn"] for p in first["AttachedManagedPolicies"]] == [MANAGED]
    assert {t["Key"]: t["Value"] for t in first["Tags"]} == {
        "glinfra:stack": roles[0][: -len("-0")],
        "glinfra:logical-id": "r0",
    }
    assert details[roles[1]]["RolePolicyList"] == []
    assert all(not p.get("UserDetailList") and not p.get("Policies") for p in pages)


@pytest.mark.glinfra_provider
def test_pages_of_max_items_cover_every_role_once(client, roles):
    iam = client("iam")
    everything = [r["RoleName"] for p in every_page(iam, 1000) for r in p["RoleDetailList"]]
    pages = every_page(iam, 2)
    assert len(pages) == (len(everything) + 1) // 2
    assert all(len(p["RoleDetailList"]) == 2 for p in pages[:-1])
    assert all(p["IsTruncated"] and p["Marker"] for p in pages[:-1])
    paged = [r["RoleName"] for p in pages for r in p["RoleDetailList"]]
    assert sorted(paged) == sorted(everything)
    assert len(set(paged)) == len(paged)
    assert set(roles) <= set(paged)


@pytest.mark.glinfra_provider
def test_a_role_deleted_between_pages_moves_no_other(client, roles):
    iam = client("iam")
    seen, marker = [], None
    while roles[0] not in seen:  # page by page up to the first role
        args = {"Filter": ["Role"], "MaxItems": 1}
        if marker:
            args["Marker"] = marker
        page = iam.get_account_authorization_details(**args)
        seen += [r["RoleName"] for r in page["RoleDetailList"]]
        marker = page.get("Marker")
    remove(iam, roles[0])
    rest = []
    while marker:
        page = iam.get_account_authorization_details(Filter=["Role"], MaxItems=1, Marker=marker)
        rest += [r["RoleName"] for r in page["RoleDetailList"]]
        marker = page.get("Marker")
    assert roles[1] in rest and roles[2] in rest
    assert not set(seen) & set(rest)


@pytest.mark.glinfra_provider
def test_a_marker_that_is_not_one_is_refused(client):
    with pytest.raises(ClientError) as e:
        client("iam").get_account_authorization_details(Filter=["Role"], Marker="not-a-marker")
    assert error_of(e) == ("ValidationError", 400)
