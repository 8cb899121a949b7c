"""EKS add-ons and Pod Identity associations (moto has neither): shapes, states, updates
followed by DescribeUpdate, the errors of the API reference, tags."""

import os

import pytest
from botocore.exceptions import ClientError

from conftest import EKS_ROLE as ROLE, create_eks_cluster, error_of, wait_for

pytestmark = pytest.mark.glinfra_provider

POD_ROLE = "arn:aws:iam::000000000000:role/glinfra-pods"
UPDATE_SECONDS = float(os.environ.get("GLINFRA_EMULATOR_EKS_UPDATE_SECONDS") or 1)
SLACK = 5.0


@pytest.fixture
def cluster(eks, name, network):
    return create_eks_cluster(eks, name, network, "1.31")


def fails(call) -> tuple[str, int]:
    """(code, HTTP status) of the error `call` must raise."""
    with pytest.raises(ClientError) as e:
        call()
    return error_of(e)


def status_becomes(eks, cluster, addon, status):
    def check():
        a = eks.describe_addon(clusterName=cluster, addonName=addon)["addon"]
        return a if a["status"] == status else None

    return wait_for(check, timeout=UPDATE_SECONDS + SLACK)


def test_addon_lifecycle_with_a_pod_identity_association(eks, cluster):
    made = eks.create_addon(
        clusterName=cluster,
        addonName="vpc-cni",
        podIdentityAssociations=[{"serviceAccount": "aws-node", "roleArn": POD_ROLE}],
        resolveConflicts="OVERWRITE",
        tags={"team": "platform"},
    )["addon"]
    assert made["status"] == "CREATING"
    assert made["addonArn"].startswith(f"arn:aws:eks:us-east-1:000000000000:addon/{cluster}/vpc-cni/")
    assert made["addonVersion"].startswith("v1.")
    assert made["tags"] == {"team": "platform"}
    assert len(made["podIdentityAssociations"]) == 1
    active = status_becomes(eks, cluster, "vpc-cni", "ACTIVE")
    assert eks.list_addons(clusterName=cluster)["addons"] == ["vpc-cni"]

    # The add-on's association: owned by it, in kube-system, refused to direct changes.
    aid = active["podIdentityAssociations"][0].rsplit("/", 1)[1]
    assoc = eks.describe_pod_identity_association(clusterName=cluster, associationId=aid)["association"]
    assert (assoc["namespace"], assoc["serviceAccount"], assoc["roleArn"]) == ("kube-system", "aws-node", POD_ROLE)
    assert assoc["ownerArn"] == active["addonArn"]
    err = fails(lambda: eks.delete_pod_identity_association(clusterName=cluster, associationId=aid))
    assert err[0] == "InvalidRequestException"

    # UpdateAddon replaces the whole list, as an update DescribeUpdate follows.
    other = "arn:aws:iam::000000000000:role/glinfra-cni-2"
    update = eks.update_addon(
        clusterName=cluster,
        addonName="vpc-cni",
        podIdentityAssociations=[{"serviceAccount": "aws-node", "roleArn": other}],
    )["update"]
    assert update["type"] == "AddonUpdate" and update["status"] == "InProgress"
    assert eks.describe_addon(clusterName=cluster, addonName="vpc-cni")["addon"]["status"] == "UPDATING"
    busy = fails(lambda: eks.update_addon(clusterName=cluster, addonName="vpc-cni", addonVersion="v1.19.3-eksbuild.1"))
    assert busy[0] == "ResourceInUseException"
    # DescribeUpdate needs the add-on's name
    missing = fails(lambda: eks.describe_update(name=cluster, updateId=update["id"]))
    assert missing[0] == "ResourceNotFoundException"

    def done():
        u = eks.describe_update(name=cluster, updateId=update["id"], addonName="vpc-cni")["update"]
        return u if u["status"] == "Successful" else None

    wait_for(done, timeout=UPDATE_SECONDS + SLACK)
    after = eks.describe_addon(clusterName=cluster, addonName="vpc-cni")["addon"]
    assert after["status"] == "ACTIVE"
    new_id = after["podIdentityAssociations"][0].rsplit("/", 1)[1]
    assert new_id != aid
    assert eks.describe_pod_identity_association(clusterName=cluster, associationId=new_id)["association"]["roleArn"] == other
    gone = fails(lambda: eks.describe_pod_identity_association(clusterName=cluster, associationId=aid))
    assert gone[0] == "ResourceNotFoundException"

    # Tags by ARN.
    eks.tag_resource(resourceArn=after["addonArn"], tags={"cost": "cni"})
    eks.untag_resource(resourceArn=after["addonArn"], tagKeys=["team"])
    assert eks.list_tags_for_resource(resourceArn=after["addonArn"])["tags"] == {"cost": "cni"}

    # Delete: DELETING, then gone with its associations.
    assert eks.delete_addon(clusterName=cluster, addonName="vpc-cni")["addon"]["status"] == "DELETING"

    def deleted():
        try:
            eks.describe_addon(clusterName=cluster, addonName="vpc-cni")
        except ClientError as e:
            return e.response["Error"]["Code"] == "ResourceNotFoundException"
        return False

    wait_for(deleted, timeout=UPDATE_SECONDS + SLACK)
    assert eks.list_pod_identity_associations(clusterName=cluster)["associations"] == []


def test_addon_errors_follow_the_api_reference(eks, cluster):
    def code(call):
        return fails(call)[0]

    assert code(lambda: eks.create_addon(clusterName=cluster, addonName="no-such-addon")) == "InvalidParameterException"
    assert code(lambda: eks.create_addon(clusterName=cluster, addonName="vpc-cni", addonVersion="1.0")) == "InvalidParameterException"
    assert (
        code(
            lambda: eks.create_addon(
                clusterName=cluster,
                addonName="vpc-cni",
                podIdentityAssociations=[{"serviceAccount": "not-aws-node", "roleArn": POD_ROLE}],
            )
        )
        == "InvalidParameterException"
    )
    assert code(lambda: eks.create_addon(clusterName="gl-no-such-cluster", addonName="vpc-cni")) == "ResourceNotFoundException"
    eks.create_addon(clusterName=cluster, addonName="eks-pod-identity-agent")
    assert code(lambda: eks.create_addon(clusterName=cluster, addonName="eks-pod-identity-agent")) == "ResourceInUseException"
    assert code(lambda: eks.describe_addon(clusterName=cluster, addonName="coredns")) == "ResourceNotFoundException"
    assert code(lambda: eks.delete_addon(clusterName=cluster, addonName="coredns")) == "ResourceNotFoundException"


def test_pod_identity_associations(eks, cluster):
    made = eks.create_pod_identity_association(
        clusterName=cluster,
        namespace="greenlang",
        serviceAccount="agent-runtime",
        roleArn=POD_ROLE,
        tags={"glinfra:stack": "t"},
    )["association"]
    aid = made["associationId"]
    assert aid.startswith("a-") and len(aid) == 19
    assert made["associationArn"] == f"arn:aws:eks:us-east-1:000000000000:podidentityassociation/{cluster}/{aid}"
    assert made["tags"] == {"glinfra:stack": "t"}
    assert "ownerArn" not in made

    # One association per service account.
    again = fails(
        lambda: eks.create_pod_identity_association(
            clusterName=cluster, namespace="greenlang", serviceAccount="agent-runtime", roleArn=POD_ROLE
        )
    )
    assert again == ("ResourceInUseException", 409)
    bad_role = fails(
        lambda: eks.create_pod_identity_association(
            clusterName=cluster, namespace="greenlang", serviceAccount="workers", roleArn="not-an-arn"
        )
    )
    assert bad_role[0] == "InvalidParameterException"
    eks.create_pod_identity_association(clusterName=cluster, namespace="greenlang", serviceAccount="workers", roleArn=POD_ROLE)
    eks.create_pod_identity_association(clusterName=cluster, namespace="other", serviceAccount="workers", roleArn=POD_ROLE)

    # List with filters and pages; the summary has no role and no tags.
    listed = eks.list_pod_identity_associations(clusterName=cluster, namespace="greenlang", serviceAccount="agent-runtime")
    assert [a["associationId"] for a in listed["associations"]] == [aid]
    assert "roleArn" not in listed["associations"][0] and "tags" not in listed["associations"][0]
    first = eks.list_pod_identity_associations(clusterName=cluster, maxResults=2)
    assert len(first["associations"]) == 2 and first["nextToken"]
    rest = eks.list_pod_identity_associations(clusterName=cluster, maxResults=2, nextToken=first["nextToken"])
    assert len(rest["associations"]) == 1 and "nextToken" not in rest
    assert fails(lambda: eks.list_pod_identity_associations(clusterName=cluster, maxResults=101))[0] == "InvalidParameterException"

    other = "arn:aws:iam::000000000000:role/glinfra-other"
    updated = eks.update_pod_identity_association(clusterName=cluster, associationId=aid, roleArn=other)["association"]
    assert updated["roleArn"] == other
    eks.untag_resource(resourceArn=made["associationArn"], tagKeys=["glinfra:stack"])
    assert eks.describe_pod_identity_association(clusterName=cluster, associationId=aid)["association"]["tags"] == {}

    eks.delete_pod_identity_association(clusterName=cluster, associationId=aid)
    for call in (
        lambda: eks.describe_pod_identity_association(clusterName=cluster, associationId=aid),
        lambda: eks.delete_pod_identity_association(clusterName=cluster, associationId=aid),
        lambda: eks.list_pod_identity_associations(clusterName="gl-no-such-cluster"),
    ):
        assert fails(call) == ("ResourceNotFoundException", 404)
