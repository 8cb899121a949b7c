"""EKS gap fills: cluster and node group updates that DescribeUpdate knows (asynchronous,
one at a time, as on AWS), node group versions, validation of taints and scaling sizes."""

import json
import os
import time

import pytest
from botocore.exceptions import ClientError

from conftest import EKS_ROLE as ROLE, create_eks_cluster, error_of, wait_for

pytestmark = pytest.mark.glinfra_provider

UPDATE_SECONDS = float(os.environ.get("GLINFRA_EMULATOR_EKS_UPDATE_SECONDS") or 1)
SLACK = 5.0  # generous upper bound for a loaded 2-core machine


@pytest.fixture
def cluster(eks, name, network):
    return create_eks_cluster(eks, name, network, "1.29", endpointPublicAccess=True, endpointPrivateAccess=False)


@pytest.fixture
def nodegroup(eks, cluster, network):
    eks.create_nodegroup(
        clusterName=cluster,
        nodegroupName="system",
        nodeRole=ROLE,
        subnets=network["subnets"],
        instanceTypes=["m6i.xlarge"],
        scalingConfig={"minSize": 3, "maxSize": 5, "desiredSize": 3},
        labels={"workload-type": "system"},
        taints=[{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}],
        version="1.29",
    )
    return "system"


def wait_update(eks, cluster, update, nodegroup=None):
    """Waits until DescribeUpdate reports the update Successful; returns it."""
    kwargs = {"nodegroupName": nodegroup} if nodegroup else {}

    def done():
        described = eks.describe_update(name=cluster, updateId=update["id"], **kwargs)["update"]
        return described if described["status"] == "Successful" else None

    return wait_for(done, timeout=UPDATE_SECONDS + SLACK)


def assert_known_update(eks, cluster, update, nodegroup=None):
    assert update["status"] == "InProgress"  # updates are asynchronous
    kwargs = {"nodegroupName": nodegroup} if nodegroup else {}
    assert update["id"] in eks.list_updates(name=cluster, **kwargs)["updateIds"]
    described = wait_update(eks, cluster, update, nodegroup)
    assert described["id"] == update["id"]
    assert described["type"] == update["type"]
    assert described["errors"] == []


def params_of(update):
    return {p["type"]: p["value"] for p in update["params"]}


def test_update_cluster_config_logging(eks, cluster):
    update = eks.update_cluster_config(
        name=cluster, logging={"clusterLogging": [{"types": ["api", "audit", "authenticator"], "enabled": True}]}
    )["update"]
    assert update["type"] == "LoggingUpdate"
    assert "ClusterLogging" in params_of(update)
    assert_known_update(eks, cluster, update)
    logging = eks.describe_cluster(name=cluster)["cluster"]["logging"]["clusterLogging"]
    enabled = {t for setup in logging if setup["enabled"] for t in setup["types"]}
    assert enabled == {"api", "audit", "authenticator"}
    with pytest.raises(ClientError) as excinfo:  # the same again changes nothing
        eks.update_cluster_config(name=cluster, logging={"clusterLogging": [{"types": ["api"], "enabled": True}]})
    assert error_of(excinfo) == ("InvalidParameterException", 400)


def test_update_cluster_config_endpoint_access(eks, cluster):
    update = eks.update_cluster_config(
        name=cluster, resourcesVpcConfig={"endpointPrivateAccess": True, "endpointPublicAccess": False}
    )["update"]
    assert update["type"] == "EndpointAccessUpdate"
    assert params_of(update)["EndpointPrivateAccess"] == "true"
    assert_known_update(eks, cluster, update)
    vpc = eks.describe_cluster(name=cluster)["cluster"]["resourcesVpcConfig"]
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is False
    with pytest.raises(ClientError) as excinfo:
        eks.update_cluster_config(name=cluster, resourcesVpcConfig={"endpointPrivateAccess": False})
    assert error_of(excinfo) == ("InvalidParameterException", 400)


def test_update_cluster_config_subnets_and_security_groups(eks, client, cluster, network):
    """UpdateClusterConfig resourcesVpcConfig: subnets and security groups are one
    VpcConfigUpdate; endpoint access is another type, never in the same call."""
    ec2 = client("ec2")
    group = ec2.create_security_group(GroupName=f"{cluster}-cp", Description="control plane", VpcId=network["vpc"])["GroupId"]
    arn = eks.describe_cluster(name=cluster)["cluster"]["arn"]
    with pytest.raises(ClientError) as excinfo:
        eks.update_cluster_config(
            name=cluster, resourcesVpcConfig={"securityGroupIds": [group], "endpointPrivateAccess": True}
        )
    assert error_of(excinfo) == ("InvalidParameterException", 400)
    update = eks.update_cluster_config(
        name=cluster, resourcesVpcConfig={"subnetIds": network["subnets"][:2], "securityGroupIds": [group]}
    )["update"]
    assert update["type"] == "VpcConfigUpdate"
    assert json.loads(params_of(update)["SecurityGroups"]) == [group]
    assert_known_update(eks, cluster, update)
    described = eks.describe_cluster(name=cluster)["cluster"]
    assert described["resourcesVpcConfig"]["securityGroupIds"] == [group]
    assert described["resourcesVpcConfig"]["subnetIds"] == network["subnets"][:2]
    assert described["arn"] == arn


def test_associate_encryption_config_only_on_a_cluster_without_one(eks, cluster):
    key = "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555"
    described = eks.describe_cluster(name=cluster)["cluster"]
    assert not described.get("encryptionConfig")
    for bad in (
        [],
        [{"resources": ["configmaps"], "provider": {"keyArn": key}}],
        [{"resources": ["secrets"], "provider": {}}],
    ):
        with pytest.raises(ClientError) as excinfo:
            eks.associate_encryption_config(clusterName=cluster, encryptionConfig=bad)
        assert error_of(excinfo) == ("InvalidParameterException", 400), bad
    update = eks.associate_encryption_config(
        clusterName=cluster, encryptionConfig=[{"resources": ["secrets"], "provider": {"keyArn": key}}]
    )["update"]
    assert update["type"] == "AssociateEncryptionConfig"
    assert update["status"] == "InProgress"
    assert eks.describe_cluster(name=cluster)["cluster"]["status"] == "UPDATING"
    with pytest.raises(ClientError) as excinfo:  # one update at a time
        eks.update_cluster_config(name=cluster, logging={"clusterLogging": [{"types": ["api"], "enabled": True}]})
    assert error_of(excinfo) == ("ResourceInUseException", 409)
    assert_known_update(eks, cluster, update)
    after = eks.describe_cluster(name=cluster)["cluster"]
    assert after["encryptionConfig"] == [{"resources": ["secrets"], "provider": {"keyArn": key}}]
    assert (after["arn"], after["createdAt"]) == (described["arn"], described["createdAt"])
    with pytest.raises(ClientError) as excinfo:  # already encrypted: no second key
        eks.associate_encryption_config(
            clusterName=cluster, encryptionConfig=[{"resources": ["secrets"], "provider": {"keyArn": key + "0"}}]
        )
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as excinfo:
        eks.associate_encryption_config(
            clusterName=f"{cluster}-missing", encryptionConfig=[{"resources": ["secrets"], "provider": {"keyArn": key}}]
        )
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)


def test_update_cluster_version(eks, cluster):
    update = eks.update_cluster_version(name=cluster, version="1.30")["update"]
    assert update["type"] == "VersionUpdate"
    assert params_of(update)["Version"] == "1.30"
    assert_known_update(eks, cluster, update)
    assert eks.describe_cluster(name=cluster)["cluster"]["version"] == "1.30"
    assert eks.describe_cluster(name=cluster)["cluster"]["status"] == "ACTIVE"
    with pytest.raises(ClientError) as excinfo:  # one minor version at a time
        eks.update_cluster_version(name=cluster, version="1.32")
    assert error_of(excinfo) == ("InvalidParameterException", 400)
    with pytest.raises(ClientError) as excinfo:
        eks.update_cluster_version(name=f"{cluster}-missing", version="1.31")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)


def test_update_nodegroup_config_scaling_labels_taints(eks, cluster, nodegroup):
    update = eks.update_nodegroup_config(
        clusterName=cluster,
        nodegroupName=nodegroup,
        scalingConfig={"minSize": 3, "maxSize": 10, "desiredSize": 4},
        labels={"addOrUpdateLabels": {"tier": "core"}, "removeLabels": ["workload-type"]},
        taints={
            "addOrUpdateTaints": [{"key": "dedicated", "value": "system", "effect": "NO_EXECUTE"}],
            "removeTaints": [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}],
        },
        updateConfig={"maxUnavailable": 1},
    )["update"]
    assert update["type"] == "ConfigUpdate"
    params = params_of(update)
    assert params["MaxSize"] == "10" and params["DesiredSize"] == "4"
    assert json.loads(params["LabelsToAdd"]) == {"tier": "core"}
    assert_known_update(eks, cluster, update, nodegroup)
    ng = eks.describe_nodegroup(clusterName=cluster, nodegroupName=nodegroup)["nodegroup"]
    assert ng["scalingConfig"] == {"minSize": 3, "maxSize": 10, "desiredSize": 4}
    assert ng["labels"] == {"tier": "core"}
    assert ng["taints"] == [{"key": "dedicated", "value": "system", "effect": "NO_EXECUTE"}]


def test_update_nodegroup_config_errors(eks, cluster, nodegroup):
    with pytest.raises(ClientError) as excinfo:
        eks.update_nodegroup_config(
            clusterName=cluster, nodegroupName=nodegroup, scalingConfig={"minSize": 6, "maxSize": 5, "desiredSize": 5}
        )
    assert error_of(excinfo) == ("InvalidParameterException", 400)
    with pytest.raises(ClientError) as excinfo:
        eks.update_nodegroup_config(
            clusterName=cluster, nodegroupName=nodegroup, scalingConfig={"minSize": 1, "maxSize": 5, "desiredSize": 9}
        )
    assert error_of(excinfo) == ("InvalidParameterException", 400)
    with pytest.raises(ClientError) as excinfo:
        eks.update_nodegroup_config(
            clusterName=cluster,
            nodegroupName=nodegroup,
            taints={"addOrUpdateTaints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]},
        )
    assert error_of(excinfo) == ("InvalidParameterException", 400)
    with pytest.raises(ClientError) as excinfo:
        eks.update_nodegroup_config(clusterName=cluster, nodegroupName="missing", scalingConfig={"desiredSize": 1})
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    # nothing changed by the refused calls
    assert eks.describe_nodegroup(clusterName=cluster, nodegroupName=nodegroup)["nodegroup"]["scalingConfig"]["maxSize"] == 5


def test_create_nodegroup_rejects_an_invalid_taint_effect(eks, cluster, network):
    with pytest.raises(ClientError) as excinfo:
        eks.create_nodegroup(
            clusterName=cluster,
            nodegroupName="bad",
            nodeRole=ROLE,
            subnets=network["subnets"],
            taints=[{"key": "gpu", "value": "true", "effect": "NoSchedule"}],
        )
    assert error_of(excinfo) == ("InvalidParameterException", 400)


def test_update_nodegroup_version(eks, cluster, nodegroup):
    wait_update(eks, cluster, eks.update_cluster_version(name=cluster, version="1.30")["update"])
    update = eks.update_nodegroup_version(clusterName=cluster, nodegroupName=nodegroup)["update"]
    assert update["type"] == "VersionUpdate"
    assert params_of(update)["Version"] == "1.30"
    assert_known_update(eks, cluster, update, nodegroup)
    ng = eks.describe_nodegroup(clusterName=cluster, nodegroupName=nodegroup)["nodegroup"]
    assert ng["version"] == "1.30"
    assert ng["releaseVersion"].startswith("1.30.")
    with pytest.raises(ClientError) as excinfo:  # never newer than the control plane
        eks.update_nodegroup_version(clusterName=cluster, nodegroupName=nodegroup, version="1.31")
    assert error_of(excinfo) == ("InvalidParameterException", 400)


def test_describe_update_unknown_id(eks, cluster, nodegroup):
    with pytest.raises(ClientError) as excinfo:
        eks.describe_update(name=cluster, updateId="00000000-0000-0000-0000-000000000000")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    update = eks.update_nodegroup_config(clusterName=cluster, nodegroupName=nodegroup, scalingConfig={"desiredSize": 4})["update"]
    with pytest.raises(ClientError) as excinfo:  # a node group update is not a cluster update
        eks.describe_update(name=cluster, updateId=update["id"])
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)


# ---------------------------------------------------------------- busy states
def test_cluster_update_is_in_progress_and_a_second_one_is_refused(eks, cluster):
    """AWS API reference, UpdateClusterConfig / UpdateClusterVersion
    (https://docs.aws.amazon.com/eks/latest/APIReference/API_UpdateClusterConfig.html):
    "Cluster updates are asynchronous ... During an update, the cluster status moves to
    UPDATING ... When the update is complete (either Failed or Successful), the cluster status
    moves to Active." A second update meanwhile is ResourceInUseException (HTTP 409, "Cannot
    <UpdateType> because cluster <name> currently has update <id> in progress", as AWS answers).
    """
    started = time.monotonic()
    update = eks.update_cluster_config(
        name=cluster, logging={"clusterLogging": [{"types": ["api"], "enabled": True}]}
    )["update"]
    assert update["status"] == "InProgress"
    described = eks.describe_cluster(name=cluster)["cluster"]
    assert described["status"] == "UPDATING"
    enabled = {t for s in described["logging"]["clusterLogging"] if s["enabled"] for t in s["types"]}
    assert "api" not in enabled  # applied when the update completes

    for second in (
        lambda: eks.update_cluster_config(name=cluster, logging={"clusterLogging": [{"types": ["audit"], "enabled": True}]}),
        lambda: eks.update_cluster_config(name=cluster, resourcesVpcConfig={"endpointPrivateAccess": True}),
        lambda: eks.update_cluster_version(name=cluster, version="1.30"),
    ):
        with pytest.raises(ClientError) as excinfo:
            second()
        assert error_of(excinfo) == ("ResourceInUseException", 409)
        assert update["id"] in excinfo.value.response["Error"]["Message"]

    wait_update(eks, cluster, update)
    assert time.monotonic() - started >= UPDATE_SECONDS - 0.3
    described = eks.describe_cluster(name=cluster)["cluster"]
    assert described["status"] == "ACTIVE"
    enabled = {t for s in described["logging"]["clusterLogging"] if s["enabled"] for t in s["types"]}
    assert "api" in enabled
    # the neighbour case: once the first update is done, the next one is accepted
    second = eks.update_cluster_config(name=cluster, logging={"clusterLogging": [{"types": ["audit"], "enabled": True}]})
    assert second["update"]["status"] == "InProgress"
    wait_update(eks, cluster, second["update"])


def test_nodegroup_update_is_in_progress_and_a_second_one_is_refused(eks, cluster, nodegroup):
    """AWS API reference, UpdateNodegroupConfig
    (https://docs.aws.amazon.com/eks/latest/APIReference/API_UpdateNodegroupConfig.html): the
    update is tracked with DescribeUpdate; while it runs the node group is UPDATING and another
    update is ResourceInUseException (409; AWS: "Nodegroup cannot be updated as it is currently
    not in Active State")."""
    update = eks.update_nodegroup_config(
        clusterName=cluster, nodegroupName=nodegroup, scalingConfig={"minSize": 3, "maxSize": 6, "desiredSize": 4}
    )["update"]
    assert update["status"] == "InProgress"
    ng = eks.describe_nodegroup(clusterName=cluster, nodegroupName=nodegroup)["nodegroup"]
    assert ng["status"] == "UPDATING"
    assert ng["scalingConfig"]["maxSize"] == 5  # not yet applied
    with pytest.raises(ClientError) as excinfo:
        eks.update_nodegroup_config(clusterName=cluster, nodegroupName=nodegroup, labels={"addOrUpdateLabels": {"a": "b"}})
    assert error_of(excinfo) == ("ResourceInUseException", 409)
    with pytest.raises(ClientError) as excinfo:
        eks.update_nodegroup_version(clusterName=cluster, nodegroupName=nodegroup)
    assert error_of(excinfo) == ("ResourceInUseException", 409)

    wait_update(eks, cluster, update, nodegroup)
    ng = eks.describe_nodegroup(clusterName=cluster, nodegroupName=nodegroup)["nodegroup"]
    assert ng["status"] == "ACTIVE"
    assert ng["scalingConfig"] == {"minSize": 3, "maxSize": 6, "desiredSize": 4}
    # the neighbour case: accepted once the node group is ACTIVE again
    second = eks.update_nodegroup_config(clusterName=cluster, nodegroupName=nodegroup, labels={"addOrUpdateLabels": {"a": "b"}})
    wait_update(eks, cluster, second["update"], nodegroup)
    assert eks.describe_nodegroup(clusterName=cluster, nodegroupName=nodegroup)["nodegroup"]["labels"]["a"] == "b"


def test_create_nodegroup_on_an_updating_cluster_is_an_invalid_request(eks, cluster, network):
    """AWS API reference, CreateNodegroup
    (https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html), errors:
    InvalidRequestException, "The request is invalid given the state of the cluster" (AWS
    answers "Cluster '<name>' is not in ACTIVE status" while an update runs)."""
    update = eks.update_cluster_config(name=cluster, logging={"clusterLogging": [{"types": ["api"], "enabled": True}]})["update"]
    spec = dict(clusterName=cluster, nodegroupName="late", nodeRole=ROLE, subnets=network["subnets"])
    with pytest.raises(ClientError) as excinfo:
        eks.create_nodegroup(**spec)
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    wait_update(eks, cluster, update)
    assert eks.create_nodegroup(**spec)["nodegroup"]["nodegroupName"] == "late"


# ---------------------------------------------------------------- versions
def test_nodegroups_are_created_at_the_cluster_version(eks, cluster, network):
    """AWS API reference, CreateNodegroup, request parameter version
    (https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html): "By
    default, the Kubernetes version of the cluster is used, and this is the only accepted
    specified value." Another value is InvalidParameterException (400)."""
    spec = dict(clusterName=cluster, nodeRole=ROLE, subnets=network["subnets"])
    ng = eks.create_nodegroup(nodegroupName="default", **spec)["nodegroup"]
    assert ng["version"] == "1.29"  # the cluster's (moto alone: 1.19)
    assert ng["releaseVersion"].startswith("1.29.")
    with pytest.raises(ClientError) as excinfo:
        eks.create_nodegroup(nodegroupName="older", version="1.28", **spec)
    assert error_of(excinfo) == ("InvalidParameterException", 400)
    with pytest.raises(ClientError) as excinfo:  # a release of another Kubernetes version
        eks.create_nodegroup(nodegroupName="release", releaseVersion="1.30.0-20240110", **spec)
    assert error_of(excinfo) == ("InvalidParameterException", 400)
    # the neighbour cases: the cluster's version named explicitly, a release of it
    assert eks.create_nodegroup(nodegroupName="explicit", version="1.29", **spec)["nodegroup"]["version"] == "1.29"
    ng = eks.create_nodegroup(nodegroupName="release", releaseVersion="1.29.3-20240531", **spec)["nodegroup"]
    assert ng["releaseVersion"] == "1.29.3-20240531"


def test_update_cluster_version_is_refused_while_a_nodegroup_lags(eks, cluster, nodegroup):
    """AWS API reference, UpdateClusterVersion
    (https://docs.aws.amazon.com/eks/latest/APIReference/API_UpdateClusterVersion.html): "If
    your cluster has managed node groups attached to it, all of your node groups' Kubernetes
    versions must match the cluster's Kubernetes version in order to update the cluster to a
    new Kubernetes version." AWS answers "Nodegroups <names> must be updated to match cluster
    version <v> before updating cluster version" (HTTP 400, InvalidRequestException)."""
    # node group at the cluster's version: accepted
    wait_update(eks, cluster, eks.update_cluster_version(name=cluster, version="1.30")["update"])
    # the node group (1.29) now lags the cluster (1.30): refused
    with pytest.raises(ClientError) as excinfo:
        eks.update_cluster_version(name=cluster, version="1.31")
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    assert nodegroup in excinfo.value.response["Error"]["Message"]
    assert eks.describe_cluster(name=cluster)["cluster"]["status"] == "ACTIVE"
    # once the node group is updated, the cluster may move on
    ng_update = eks.update_nodegroup_version(clusterName=cluster, nodegroupName=nodegroup)["update"]
    wait_update(eks, cluster, ng_update, nodegroup)
    update = eks.update_cluster_version(name=cluster, version="1.31")["update"]
    wait_update(eks, cluster, update)
    assert eks.describe_cluster(name=cluster)["cluster"]["version"] == "1.31"


def test_update_nodegroup_version_release_must_match_the_version(eks, cluster, nodegroup):
    """AWS API reference, UpdateNodegroupVersion, releaseVersion
    (https://docs.aws.amazon.com/eks/latest/APIReference/API_UpdateNodegroupVersion.html): the
    AMI release version of the requested Kubernetes version; AWS answers "Requested release
    version <r> is not valid for kubernetes version <v>" (InvalidParameterException, 400)."""
    with pytest.raises(ClientError) as excinfo:
        eks.update_nodegroup_version(clusterName=cluster, nodegroupName=nodegroup, releaseVersion="1.31.3-20250103")
    assert error_of(excinfo) == ("InvalidParameterException", 400)
    update = eks.update_nodegroup_version(clusterName=cluster, nodegroupName=nodegroup, releaseVersion="1.29.15-20250103")
    wait_update(eks, cluster, update["update"], nodegroup)
    assert eks.describe_nodegroup(clusterName=cluster, nodegroupName=nodegroup)["nodegroup"]["releaseVersion"] == "1.29.15-20250103"


def test_amazon_linux_2_ends_with_kubernetes_1_32_and_the_default_ami_follows_the_version(eks, name, network):
    """EKS User Guide, "Amazon EKS AL2 AMI deprecation": Kubernetes 1.32 is the last version
    with Amazon Linux 2 AMIs, so an AL2 node group is refused at 1.33, on CreateNodegroup and
    on UpdateNodegroupVersion (InvalidParameterException; the message is ours). A node group
    naming no AMI type gets AL2023 from Kubernetes 1.30 ("any newly created managed node groups
    will automatically default to using AL2023"), AL2 before, Arm on Graviton types."""
    spec = dict(nodeRole=ROLE, subnets=network["subnets"], instanceTypes=["m6i.large"])
    for version in ("1.29", "1.32"):
        eks.create_cluster(
            name=f"{name}-{version[2:]}",
            version=version,
            roleArn=ROLE,
            resourcesVpcConfig={"subnetIds": network["subnets"]},
        )
    old, last = f"{name}-29", f"{name}-32"
    assert eks.create_nodegroup(clusterName=old, nodegroupName="d", **spec)["nodegroup"]["amiType"] == "AL2_x86_64"
    arm = eks.create_nodegroup(clusterName=last, nodegroupName="arm", **{**spec, "instanceTypes": ["m7g.large"]})
    assert arm["nodegroup"]["amiType"] == "AL2023_ARM_64_STANDARD"
    eks.create_nodegroup(clusterName=last, nodegroupName="al2", amiType="AL2_x86_64", **spec)

    # the cluster to 1.33 (the node groups at 1.32), then the AL2 group cannot follow
    wait_update(eks, last, eks.update_cluster_version(name=last, version="1.33")["update"])
    with pytest.raises(ClientError) as excinfo:
        eks.update_nodegroup_version(clusterName=last, nodegroupName="al2")
    assert error_of(excinfo) == ("InvalidParameterException", 400)
    assert "AL2_x86_64" in excinfo.value.response["Error"]["Message"]
    update = eks.update_nodegroup_version(clusterName=last, nodegroupName="arm")["update"]  # AL2023: accepted
    wait_update(eks, last, update, "arm")
    with pytest.raises(ClientError) as excinfo:
        eks.create_nodegroup(clusterName=last, nodegroupName="al2-new", amiType="AL2_x86_64", **spec)
    assert error_of(excinfo) == ("InvalidParameterException", 400)
    assert eks.create_nodegroup(clusterName=last, nodegroupName="new", **spec)["nodegroup"]["amiType"] == "AL2023_x86_64_STANDARD"
