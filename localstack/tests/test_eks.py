"""EKS gap fills: cluster and node group updates that DescribeUpdate knows, validation of
taints and scaling sizes."""

import json

import pytest
from botocore.exceptions import ClientError

from conftest import error_of

pytestmark = pytest.mark.glinfra_provider

ROLE = "arn:aws:iam::000000000000:role/glinfra-eks"


@pytest.fixture
def eks(client):
    return client("eks")


@pytest.fixture
def cluster(eks, name, network):
    eks.create_cluster(
        name=name,
        version="1.29",
        roleArn=ROLE,
        resourcesVpcConfig={"subnetIds": network["subnets"], "endpointPublicAccess": True, "endpointPrivateAccess": False},
    )
    return name


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


def assert_known_update(eks, cluster, update, nodegroup=None):
    assert update["status"] == "Successful"
    kwargs = {"nodegroupName": nodegroup} if nodegroup else {}
    described = eks.describe_update(name=cluster, updateId=update["id"], **kwargs)["update"]
    assert described["id"] == update["id"]
    assert described["status"] == "Successful"
    assert described["type"] == update["type"]
    assert update["id"] in eks.list_updates(name=cluster, **kwargs)["updateIds"]


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


def test_update_cluster_version(eks, cluster):
    update = eks.update_cluster_version(name=cluster, version="1.30")["update"]
    assert update["type"] == "VersionUpdate"
    assert params_of(update)["Version"] == "1.30"
    assert_known_update(eks, cluster, update)
    assert eks.describe_cluster(name=cluster)["cluster"]["version"] == "1.30"
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
    eks.update_cluster_version(name=cluster, version="1.30")
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
