"""ElastiCache gap fills: cache parameter groups, subnet group modify/delete, replication
group settings and modifications, shard and replica counts; busy states and AWS's validation
(issue 7).

Replication groups are `creating` for GLINFRA_EMULATOR_ELASTICACHE_CREATE_SECONDS and
`modifying` for GLINFRA_EMULATOR_ELASTICACHE_MODIFY_SECONDS after each change (short
defaults, about 1 s), as on AWS for minutes: the tests wait for `available` between changes,
as a client on AWS must."""

import pytest
from botocore.exceptions import ClientError

from conftest import error_of, wait_for



def all_cache_clusters(ec):
    """Every cache cluster, over all pages (a long-lived emulator holds more than one page)."""
    return [c for page in ec.get_paginator("describe_cache_clusters").paginate() for c in page["CacheClusters"]]

pytestmark = pytest.mark.glinfra_provider


@pytest.fixture
def ec(client):
    return client("elasticache")


@pytest.fixture
def param_group(ec, name):
    ec.create_cache_parameter_group(
        CacheParameterGroupName=f"{name}-pg",
        CacheParameterGroupFamily="redis7",
        Description="glinfra test",
        Tags=[{"Key": "owner", "Value": name}],
    )
    return f"{name}-pg"


@pytest.fixture
def cluster_param_group(ec, name):
    group = f"{name}-cpg"
    ec.create_cache_parameter_group(CacheParameterGroupName=group, CacheParameterGroupFamily="redis7", Description="cluster on")
    ec.modify_cache_parameter_group(
        CacheParameterGroupName=group,
        ParameterNameValues=[
            {"ParameterName": "cluster-enabled", "ParameterValue": "yes"},
            {"ParameterName": "maxmemory-policy", "ParameterValue": "allkeys-lru"},
        ],
    )
    return group


@pytest.fixture
def subnet_group(ec, name, network):
    ec.create_cache_subnet_group(
        CacheSubnetGroupName=f"{name}-sn", CacheSubnetGroupDescription="data subnets", SubnetIds=network["subnets"][:2]
    )
    return f"{name}-sn"


def wait_available(ec, rg_id, timeout=30):
    """Waits until the replication group is `available`; returns it."""

    def ready():
        rg = ec.describe_replication_groups(ReplicationGroupId=rg_id)["ReplicationGroups"][0]
        return rg if rg["Status"] == "available" else None

    return wait_for(ready, timeout)


def params_by_name(ec, group, **kwargs):
    return {p["ParameterName"]: p for p in ec.describe_cache_parameters(CacheParameterGroupName=group, **kwargs)["Parameters"]}


def create_cluster_mode_group(ec, name, cluster_param_group, subnet_group, **extra):
    args = dict(
        ReplicationGroupId=name,
        ReplicationGroupDescription="glinfra redis",
        Engine="redis",
        EngineVersion="7.1",
        CacheNodeType="cache.r6g.xlarge",
        NumNodeGroups=3,
        ReplicasPerNodeGroup=1,
        CacheParameterGroupName=cluster_param_group,
        CacheSubnetGroupName=subnet_group,
        AutomaticFailoverEnabled=True,
        MultiAZEnabled=True,
        AtRestEncryptionEnabled=True,
        TransitEncryptionEnabled=True,
        SnapshotRetentionLimit=7,
    )
    args.update(extra)
    return ec.create_replication_group(**args)["ReplicationGroup"]


# ---------------------------------------------------------------- parameter groups
def test_parameter_group_create_and_describe(ec, param_group, name):
    group = ec.describe_cache_parameter_groups(CacheParameterGroupName=param_group)["CacheParameterGroups"][0]
    assert group["CacheParameterGroupName"] == param_group
    assert group["CacheParameterGroupFamily"] == "redis7"
    assert group["Description"] == "glinfra test"
    assert group["IsGlobal"] is False
    assert group["ARN"] == f"arn:aws:elasticache:us-east-1:000000000000:parametergroup:{param_group}"
    listed = [g["CacheParameterGroupName"] for g in ec.describe_cache_parameter_groups(MaxRecords=100)["CacheParameterGroups"]]
    assert "default.redis7" in listed and "default.redis7.cluster.on" in listed
    assert ec.list_tags_for_resource(ResourceName=group["ARN"])["TagList"] == [{"Key": "owner", "Value": name}]


def test_parameter_group_defaults_modify_and_reset(ec, param_group):
    params = params_by_name(ec, param_group)
    assert params["maxmemory-policy"]["ParameterValue"] == "volatile-lru"
    assert params["maxmemory-policy"]["Source"] == "system"
    assert params["cluster-enabled"]["ParameterValue"] == "no"
    assert params["timeout"]["DataType"] == "integer"

    result = ec.modify_cache_parameter_group(
        CacheParameterGroupName=param_group,
        ParameterNameValues=[
            {"ParameterName": "maxmemory-policy", "ParameterValue": "allkeys-lru"},
            {"ParameterName": "timeout", "ParameterValue": "300"},
        ],
    )
    assert result["CacheParameterGroupName"] == param_group
    user = params_by_name(ec, param_group, Source="user")
    assert set(user) == {"maxmemory-policy", "timeout"}
    assert user["maxmemory-policy"]["ParameterValue"] == "allkeys-lru"
    assert user["timeout"]["ParameterValue"] == "300"

    ec.reset_cache_parameter_group(CacheParameterGroupName=param_group, ParameterNameValues=[{"ParameterName": "timeout"}])
    assert set(params_by_name(ec, param_group, Source="user")) == {"maxmemory-policy"}
    ec.reset_cache_parameter_group(CacheParameterGroupName=param_group, ResetAllParameters=True)
    assert params_by_name(ec, param_group, Source="user") == {}
    assert params_by_name(ec, param_group)["maxmemory-policy"]["ParameterValue"] == "volatile-lru"


def test_parameter_group_errors(ec, param_group, name):
    with pytest.raises(ClientError) as excinfo:
        ec.create_cache_parameter_group(CacheParameterGroupName=param_group, CacheParameterGroupFamily="redis7", Description="x")
    assert error_of(excinfo) == ("CacheParameterGroupAlreadyExists", 400)
    with pytest.raises(ClientError) as excinfo:
        ec.create_cache_parameter_group(CacheParameterGroupName=f"{name}-x", CacheParameterGroupFamily="redis99", Description="x")
    assert error_of(excinfo) == ("InvalidParameterValue", 400)
    for call, kwargs in (
        (ec.describe_cache_parameter_groups, {}),
        (ec.describe_cache_parameters, {}),
        (ec.modify_cache_parameter_group, {"ParameterNameValues": [{"ParameterName": "timeout", "ParameterValue": "1"}]}),
        (ec.reset_cache_parameter_group, {"ResetAllParameters": True}),
        (ec.delete_cache_parameter_group, {}),
    ):
        with pytest.raises(ClientError) as excinfo:
            call(CacheParameterGroupName=f"{name}-missing", **kwargs)
        assert error_of(excinfo) == ("CacheParameterGroupNotFound", 404)
    for bad in (
        {"ParameterName": "maxmemory-policy", "ParameterValue": "sometimes"},
        {"ParameterName": "no-such-parameter", "ParameterValue": "1"},
        {"ParameterName": "databases", "ParameterValue": "many"},
        {"ParameterName": "maxclients", "ParameterValue": "100"},  # not modifiable
    ):
        with pytest.raises(ClientError) as excinfo:
            ec.modify_cache_parameter_group(CacheParameterGroupName=param_group, ParameterNameValues=[bad])
        assert error_of(excinfo) == ("InvalidParameterValue", 400)
    with pytest.raises(ClientError) as excinfo:
        ec.modify_cache_parameter_group(
            CacheParameterGroupName="default.redis7",
            ParameterNameValues=[{"ParameterName": "timeout", "ParameterValue": "1"}],
        )
    assert error_of(excinfo)[0] == "InvalidParameterValue"
    with pytest.raises(ClientError) as excinfo:
        ec.reset_cache_parameter_group(CacheParameterGroupName=param_group)
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)


def test_parameter_group_delete(ec, param_group):
    ec.delete_cache_parameter_group(CacheParameterGroupName=param_group)
    with pytest.raises(ClientError) as excinfo:
        ec.describe_cache_parameter_groups(CacheParameterGroupName=param_group)
    assert error_of(excinfo) == ("CacheParameterGroupNotFound", 404)


def test_parameter_group_in_use_cannot_be_deleted(ec, name, cluster_param_group, subnet_group):
    create_cluster_mode_group(ec, name, cluster_param_group, subnet_group)
    with pytest.raises(ClientError) as excinfo:
        ec.delete_cache_parameter_group(CacheParameterGroupName=cluster_param_group)
    assert error_of(excinfo) == ("InvalidCacheParameterGroupState", 400)


# ---------------------------------------------------------------- subnet groups
def test_modify_cache_subnet_group_in_place(ec, subnet_group, network):
    result = ec.modify_cache_subnet_group(
        CacheSubnetGroupName=subnet_group, CacheSubnetGroupDescription="all three", SubnetIds=network["subnets"]
    )["CacheSubnetGroup"]
    assert result["CacheSubnetGroupDescription"] == "all three"
    assert sorted(s["SubnetIdentifier"] for s in result["Subnets"]) == sorted(network["subnets"])
    assert result["VpcId"] == network["vpc"]
    described = ec.describe_cache_subnet_groups(CacheSubnetGroupName=subnet_group)["CacheSubnetGroups"][0]
    assert described["CacheSubnetGroupDescription"] == "all three"
    assert {s["SubnetAvailabilityZone"]["Name"] for s in described["Subnets"]} == {"us-east-1a", "us-east-1b", "us-east-1c"}
    only_description = ec.modify_cache_subnet_group(CacheSubnetGroupName=subnet_group, CacheSubnetGroupDescription="renamed")
    assert len(only_description["CacheSubnetGroup"]["Subnets"]) == 3


def test_subnet_group_not_found(ec, name):
    with pytest.raises(ClientError) as excinfo:
        ec.modify_cache_subnet_group(CacheSubnetGroupName=f"{name}-missing", CacheSubnetGroupDescription="x")
    assert error_of(excinfo)[0] == "CacheSubnetGroupNotFoundFault"
    with pytest.raises(ClientError) as excinfo:
        ec.delete_cache_subnet_group(CacheSubnetGroupName=f"{name}-missing")
    assert error_of(excinfo)[0] == "CacheSubnetGroupNotFoundFault"


def test_delete_cache_subnet_group(ec, subnet_group):
    ec.delete_cache_subnet_group(CacheSubnetGroupName=subnet_group)
    with pytest.raises(ClientError) as excinfo:
        ec.describe_cache_subnet_groups(CacheSubnetGroupName=subnet_group)
    assert error_of(excinfo)[0] == "CacheSubnetGroupNotFoundFault"


def test_subnet_group_in_use_cannot_be_deleted(ec, name, cluster_param_group, subnet_group):
    create_cluster_mode_group(ec, name, cluster_param_group, subnet_group)
    with pytest.raises(ClientError) as excinfo:
        ec.delete_cache_subnet_group(CacheSubnetGroupName=subnet_group)
    assert error_of(excinfo) == ("CacheSubnetGroupInUse", 400)


# ---------------------------------------------------------------- replication groups
def test_replication_group_keeps_and_reports_its_settings(ec, name, cluster_param_group, subnet_group):
    rg = create_cluster_mode_group(ec, name, cluster_param_group, subnet_group)
    assert rg["Status"] == "creating" and "ConfigurationEndpoint" not in rg
    described = wait_available(ec, name)
    rg["ConfigurationEndpoint"] = described["ConfigurationEndpoint"]  # known once created
    for group in (rg, described):
        assert group["ClusterMode"] == "enabled"
        assert group["ClusterEnabled"] is True
        assert len(group["NodeGroups"]) == 3  # NumNodeGroups
        assert all(len(ng["NodeGroupMembers"]) == 2 for ng in group["NodeGroups"])  # 1 primary + ReplicasPerNodeGroup
        assert len(group["MemberClusters"]) == 6
        assert group["AtRestEncryptionEnabled"] is True
        assert group["TransitEncryptionEnabled"] is True
        assert group["MultiAZ"] == "enabled"
        assert group["AutomaticFailover"] == "enabled"
        assert group["SnapshotRetentionLimit"] == 7
        assert group["CacheNodeType"] == "cache.r6g.xlarge"
        assert group["ConfigurationEndpoint"]["Port"] == 6379
    # AWS reports the parameter group on each member cache cluster
    members = [c for c in all_cache_clusters(ec) if c.get("ReplicationGroupId") == name]
    assert sorted(c["CacheClusterId"] for c in members) == sorted(described["MemberClusters"])
    for member in members:
        assert member["CacheParameterGroup"]["CacheParameterGroupName"] == cluster_param_group
        assert member["CacheSubnetGroupName"] == subnet_group
    one = ec.describe_cache_clusters(CacheClusterId=described["MemberClusters"][0])["CacheClusters"][0]
    assert one["CacheParameterGroup"]["ParameterApplyStatus"] == "in-sync"


def test_cluster_mode_follows_the_parameter_group(ec, name, cluster_param_group, subnet_group):
    rg = ec.create_replication_group(
        ReplicationGroupId=name,
        ReplicationGroupDescription="no explicit ClusterMode",
        Engine="redis",
        CacheNodeType="cache.r6g.large",
        NumNodeGroups=2,
        ReplicasPerNodeGroup=1,
        CacheParameterGroupName=cluster_param_group,
        CacheSubnetGroupName=subnet_group,
        AutomaticFailoverEnabled=True,
    )["ReplicationGroup"]
    assert rg["ClusterMode"] == "enabled"
    assert len(rg["NodeGroups"]) == 2


def test_create_replication_group_errors(ec, name, param_group, subnet_group):
    base = dict(ReplicationGroupDescription="x", Engine="redis", CacheNodeType="cache.r6g.large", CacheSubnetGroupName=subnet_group)
    with pytest.raises(ClientError) as excinfo:
        ec.create_replication_group(ReplicationGroupId=name, CacheParameterGroupName=f"{name}-missing", **base)
    assert error_of(excinfo) == ("CacheParameterGroupNotFound", 404)
    with pytest.raises(ClientError) as excinfo:  # cluster-enabled=no group with ClusterMode=enabled
        ec.create_replication_group(
            ReplicationGroupId=name, CacheParameterGroupName=param_group, ClusterMode="enabled", NumNodeGroups=2,
            AutomaticFailoverEnabled=True, **base
        )
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)
    with pytest.raises(ClientError) as excinfo:
        ec.create_replication_group(ReplicationGroupId=name, MultiAZEnabled=True, AutomaticFailoverEnabled=False, **base)
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)


def test_modify_replication_group(ec, name, cluster_param_group, subnet_group):
    create_cluster_mode_group(ec, name, cluster_param_group, subnet_group)
    wait_available(ec, name)
    other = f"{name}-cpg2"
    ec.create_cache_parameter_group(CacheParameterGroupName=other, CacheParameterGroupFamily="redis7", Description="x")
    ec.modify_cache_parameter_group(
        CacheParameterGroupName=other, ParameterNameValues=[{"ParameterName": "cluster-enabled", "ParameterValue": "yes"}]
    )
    modified = ec.modify_replication_group(
        ReplicationGroupId=name,
        ReplicationGroupDescription="changed",
        SnapshotRetentionLimit=3,
        SnapshotWindow="02:00-03:00",
        CacheNodeType="cache.r6g.2xlarge",
        CacheParameterGroupName=other,
        MultiAZEnabled=False,
        ApplyImmediately=True,
    )["ReplicationGroup"]
    assert modified["Status"] == "modifying"
    described = wait_available(ec, name)
    for group in (modified, described):
        assert group["Description"] == "changed"
        assert group["SnapshotRetentionLimit"] == 3
        assert group["SnapshotWindow"] == "02:00-03:00"
        assert group["CacheNodeType"] == "cache.r6g.2xlarge"
        assert group["MultiAZ"] == "disabled"
        assert group["AutomaticFailover"] == "enabled"
    members = [c for c in all_cache_clusters(ec) if c.get("ReplicationGroupId") == name]
    assert {m["CacheParameterGroup"]["CacheParameterGroupName"] for m in members} == {other}
    assert {m["CacheNodeType"] for m in members} == {"cache.r6g.2xlarge"}


def test_modify_replication_group_errors(ec, name, cluster_param_group, subnet_group):
    create_cluster_mode_group(ec, name, cluster_param_group, subnet_group)
    wait_available(ec, name)
    with pytest.raises(ClientError) as excinfo:  # cluster mode enabled needs automatic failover
        ec.modify_replication_group(ReplicationGroupId=name, AutomaticFailoverEnabled=False, MultiAZEnabled=False, ApplyImmediately=True)
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)
    with pytest.raises(ClientError) as excinfo:
        ec.modify_replication_group(ReplicationGroupId=name, CacheParameterGroupName=f"{name}-missing", ApplyImmediately=True)
    assert error_of(excinfo) == ("CacheParameterGroupNotFound", 404)
    with pytest.raises(ClientError) as excinfo:
        ec.modify_replication_group(ReplicationGroupId=f"{name}-missing", SnapshotRetentionLimit=1, ApplyImmediately=True)
    assert error_of(excinfo) == ("ReplicationGroupNotFoundFault", 404)


def test_cluster_mode_disabled_to_compatible(ec, name, subnet_group):
    rg = ec.create_replication_group(
        ReplicationGroupId=name,
        ReplicationGroupDescription="single shard",
        Engine="redis",
        CacheNodeType="cache.r6g.large",
        NumCacheClusters=2,
        CacheSubnetGroupName=subnet_group,
        AutomaticFailoverEnabled=True,
    )["ReplicationGroup"]
    assert rg["ClusterMode"] == "disabled"
    wait_available(ec, name)
    with pytest.raises(ClientError) as excinfo:  # disabled -> enabled must pass through compatible
        ec.modify_replication_group(ReplicationGroupId=name, ClusterMode="enabled", ApplyImmediately=True)
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)
    rg = ec.modify_replication_group(ReplicationGroupId=name, ClusterMode="compatible", ApplyImmediately=True)["ReplicationGroup"]
    assert rg["ClusterMode"] == "compatible"


def test_replica_counts(ec, name, cluster_param_group, subnet_group):
    create_cluster_mode_group(ec, name, cluster_param_group, subnet_group)
    wait_available(ec, name)
    rg = ec.increase_replica_count(ReplicationGroupId=name, NewReplicaCount=2, ApplyImmediately=True)["ReplicationGroup"]
    assert [len(ng["NodeGroupMembers"]) for ng in rg["NodeGroups"]] == [3, 3, 3]
    assert len(rg["MemberClusters"]) == 9
    wait_available(ec, name)
    rg = ec.decrease_replica_count(
        ReplicationGroupId=name, ReplicaConfiguration=[{"NodeGroupId": "0002", "NewReplicaCount": 1}], ApplyImmediately=True
    )["ReplicationGroup"]
    assert [len(ng["NodeGroupMembers"]) for ng in rg["NodeGroups"]] == [3, 2, 3]
    members = [c["CacheClusterId"] for c in all_cache_clusters(ec) if c.get("ReplicationGroupId") == name]
    assert sorted(members) == sorted(rg["MemberClusters"])
    wait_available(ec, name)
    with pytest.raises(ClientError) as excinfo:
        ec.increase_replica_count(ReplicationGroupId=name, NewReplicaCount=1, ApplyImmediately=True)
    assert error_of(excinfo) == ("InvalidParameterValue", 400)
    with pytest.raises(ClientError) as excinfo:
        ec.increase_replica_count(ReplicationGroupId=f"{name}-missing", NewReplicaCount=3, ApplyImmediately=True)
    assert error_of(excinfo) == ("ReplicationGroupNotFoundFault", 404)


def test_shard_count(ec, name, cluster_param_group, subnet_group):
    create_cluster_mode_group(ec, name, cluster_param_group, subnet_group)
    wait_available(ec, name)
    rg = ec.modify_replication_group_shard_configuration(ReplicationGroupId=name, NodeGroupCount=4, ApplyImmediately=True)[
        "ReplicationGroup"
    ]
    assert len(rg["NodeGroups"]) == 4
    slots = [ng["Slots"] for ng in rg["NodeGroups"]]
    assert slots[0].startswith("0-") and slots[-1].endswith("-16383")
    wait_available(ec, name)
    rg = ec.modify_replication_group_shard_configuration(
        ReplicationGroupId=name, NodeGroupCount=2, NodeGroupsToRemove=["0003", "0004"], ApplyImmediately=True
    )["ReplicationGroup"]
    assert [ng["NodeGroupId"] for ng in rg["NodeGroups"]] == ["0001", "0002"]
    wait_available(ec, name)
    with pytest.raises(ClientError) as excinfo:
        ec.modify_replication_group_shard_configuration(ReplicationGroupId=name, NodeGroupCount=2, ApplyImmediately=True)
    assert error_of(excinfo) == ("NoOperationFault", 400)


def test_delete_replication_group_removes_it(ec, name, cluster_param_group, subnet_group):
    create_cluster_mode_group(ec, name, cluster_param_group, subnet_group)
    wait_available(ec, name)
    deleted = ec.delete_replication_group(ReplicationGroupId=name)["ReplicationGroup"]
    assert deleted["Status"] == "deleting"
    with pytest.raises(ClientError) as excinfo:
        ec.describe_replication_groups(ReplicationGroupId=name)
    assert error_of(excinfo) == ("ReplicationGroupNotFoundFault", 404)
    assert not [c for c in all_cache_clusters(ec) if c.get("ReplicationGroupId") == name]
    # and the groups it used can go now
    ec.delete_cache_subnet_group(CacheSubnetGroupName=subnet_group)
    ec.delete_cache_parameter_group(CacheParameterGroupName=cluster_param_group)


# ---------------------------------------------------------------- issue 7: busy states
def test_replication_group_busy_states(ec, name, cluster_param_group, subnet_group):
    """ElastiCache User Guide, "Viewing a cluster's status": a replication group is `creating`,
    then `available`, and `modifying` while a change is applied. ModifyReplicationGroup,
    IncreaseReplicaCount, ModifyReplicationGroupShardConfiguration, DeleteReplicationGroup and
    ListTagsForResource (API reference, Errors: InvalidReplicationGroupStateFault, HTTP 400, "The
    requested replication group is not in the available state.") are refused meanwhile (AWS:
    "Replication group must be in available state to modify.", "Cluster not in available state
    to perform tagging operations.") and accepted once it is available."""
    rg = create_cluster_mode_group(ec, name, cluster_param_group, subnet_group)
    assert rg["Status"] == "creating"
    members = [c for c in all_cache_clusters(ec) if c.get("ReplicationGroupId") == name]
    assert {c["CacheClusterStatus"] for c in members} == {"creating"}
    refused = [
        lambda: ec.modify_replication_group(ReplicationGroupId=name, SnapshotRetentionLimit=3, ApplyImmediately=True),
        lambda: ec.increase_replica_count(ReplicationGroupId=name, NewReplicaCount=2, ApplyImmediately=True),
        lambda: ec.modify_replication_group_shard_configuration(ReplicationGroupId=name, NodeGroupCount=4, ApplyImmediately=True),
        lambda: ec.delete_replication_group(ReplicationGroupId=name),
        lambda: ec.list_tags_for_resource(ResourceName=rg["ARN"]),
    ]
    for call in refused:
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == ("InvalidReplicationGroupState", 400)
    available = wait_available(ec, name)
    assert available["ConfigurationEndpoint"]["Port"] == 6379
    assert {c["CacheClusterStatus"] for c in all_cache_clusters(ec) if c.get("ReplicationGroupId") == name} == {"available"}
    ec.list_tags_for_resource(ResourceName=rg["ARN"])

    modified = ec.modify_replication_group(ReplicationGroupId=name, SnapshotRetentionLimit=3, ApplyImmediately=True)[
        "ReplicationGroup"
    ]
    assert modified["Status"] == "modifying"
    with pytest.raises(ClientError) as excinfo:
        ec.increase_replica_count(ReplicationGroupId=name, NewReplicaCount=2, ApplyImmediately=True)
    assert error_of(excinfo) == ("InvalidReplicationGroupState", 400)
    assert "available state" in excinfo.value.response["Error"]["Message"]
    wait_available(ec, name)
    ec.increase_replica_count(ReplicationGroupId=name, NewReplicaCount=2, ApplyImmediately=True)
    assert ec.describe_replication_groups(ReplicationGroupId=name)["ReplicationGroups"][0]["Status"] == "modifying"
    wait_available(ec, name)
    ec.delete_replication_group(ReplicationGroupId=name)


# ---------------------------------------------------------------- issue 7: versions and families
def test_engine_versions_and_parameter_group_families(ec, name, subnet_group):
    """CreateReplicationGroup / ModifyReplicationGroup, EngineVersion and CacheParameterGroupName
    (API reference; User Guide "Supported engines and versions", "Parameter group families"):
    an unknown version is refused ("InvalidParameterCombination: Cannot find version 7.4 for
    redis"); the parameter group's family must be the engine version's ("InvalidParameterCombination:
    Expected a parameter group of family redis7 but found one of family redis6.x"); "6.x" is a
    version of Redis OSS 6. A group is upgraded, never downgraded; on a major upgrade a custom
    group of the old family must be replaced in the same call, a default group follows."""
    base = dict(
        ReplicationGroupDescription="versions", Engine="redis", CacheNodeType="cache.r6g.large",
        CacheSubnetGroupName=subnet_group, NumCacheClusters=2, AutomaticFailoverEnabled=True,
    )
    with pytest.raises(ClientError) as excinfo:
        ec.create_replication_group(ReplicationGroupId=name, EngineVersion="7.4", **base)
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)
    assert excinfo.value.response["Error"]["Message"] == "Cannot find version 7.4 for redis"
    ec.create_cache_parameter_group(CacheParameterGroupName=f"{name}-6", CacheParameterGroupFamily="redis6.x", Description="6")
    ec.create_cache_parameter_group(CacheParameterGroupName=f"{name}-7", CacheParameterGroupFamily="redis7", Description="7")
    ec.create_cache_parameter_group(CacheParameterGroupName=f"{name}-v", CacheParameterGroupFamily="valkey8", Description="v")
    for version, group in (("7.1", f"{name}-6"), ("6.x", f"{name}-7"), ("7.1", f"{name}-v")):
        with pytest.raises(ClientError) as excinfo:
            ec.create_replication_group(ReplicationGroupId=name, EngineVersion=version, CacheParameterGroupName=group, **base)
        assert error_of(excinfo) == ("InvalidParameterCombination", 400), (version, group)
        assert excinfo.value.response["Error"]["Message"].startswith("Expected a parameter group of family")
    ec.create_replication_group(ReplicationGroupId=name, EngineVersion="6.x", CacheParameterGroupName=f"{name}-6", **base)
    wait_available(ec, name)
    for changes in (
        {"EngineVersion": "5.0.6"},  # a downgrade
        {"EngineVersion": "7.1"},  # the custom redis6.x group cannot stay
        {"EngineVersion": "7.1", "CacheParameterGroupName": f"{name}-6"},
        {"EngineVersion": "7.9", "CacheParameterGroupName": f"{name}-7"},
    ):
        with pytest.raises(ClientError) as excinfo:
            ec.modify_replication_group(ReplicationGroupId=name, ApplyImmediately=True, **changes)
        assert error_of(excinfo) == ("InvalidParameterCombination", 400), changes
    ec.modify_replication_group(
        ReplicationGroupId=name, EngineVersion="7.1", CacheParameterGroupName=f"{name}-7", ApplyImmediately=True
    )
    wait_available(ec, name)
    member = [c for c in all_cache_clusters(ec) if c.get("ReplicationGroupId") == name][0]
    assert member["EngineVersion"] == "7.1"
    assert member["CacheParameterGroup"]["CacheParameterGroupName"] == f"{name}-7"

    # a group on the default parameter group moves to the new family's default
    ec.create_replication_group(ReplicationGroupId=f"{name}-d", EngineVersion="6.2", **base)
    wait_available(ec, f"{name}-d")
    ec.modify_replication_group(ReplicationGroupId=f"{name}-d", EngineVersion="7.0", ApplyImmediately=True)
    member = [c for c in all_cache_clusters(ec) if c.get("ReplicationGroupId") == f"{name}-d"][0]
    assert member["CacheParameterGroup"]["CacheParameterGroupName"] == "default.redis7"
    # memcached clusters alike
    with pytest.raises(ClientError) as excinfo:
        ec.create_cache_cluster(CacheClusterId=f"{name}-m", Engine="memcached", EngineVersion="1.9.1", CacheNodeType="cache.t4g.micro", NumCacheNodes=1)
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)


# ---------------------------------------------------------------- issue 7: replica and node limits
def test_replica_and_node_limits(ec, name, cluster_param_group, subnet_group):
    """CreateReplicationGroup (API reference): ReplicasPerNodeGroup "Valid values are 0 to 5";
    "The maximum permitted value for NumCacheClusters is 6 (1 primary plus 5 replicas)" (both
    InvalidParameterValue); NodeGroupsPerReplicationGroupQuotaExceeded: "would exceed the maximum
    allowed number of node groups (shards) in a single replication group. The default maximum is
    90"; User Guide, "Quotas for ElastiCache": 90 nodes per cluster by default
    (NodeQuotaForClusterExceeded). IncreaseReplicaCount and
    ModifyReplicationGroupShardConfiguration keep to the same limits."""
    cluster = dict(
        ReplicationGroupDescription="limits", Engine="redis", EngineVersion="7.1", CacheNodeType="cache.t4g.small",
        CacheParameterGroupName=cluster_param_group, CacheSubnetGroupName=subnet_group, AutomaticFailoverEnabled=True,
    )
    for extra, code in (
        ({"NumNodeGroups": 2, "ReplicasPerNodeGroup": 6}, "InvalidParameterValue"),
        ({"NumNodeGroups": 91, "ReplicasPerNodeGroup": 0}, "NodeGroupsPerReplicationGroupQuotaExceeded"),
        ({"NumNodeGroups": 46, "ReplicasPerNodeGroup": 1}, "NodeQuotaForClusterExceeded"),  # 92 nodes
    ):
        with pytest.raises(ClientError) as excinfo:
            ec.create_replication_group(ReplicationGroupId=name, **extra, **cluster)
        assert error_of(excinfo) == (code, 400), extra
    with pytest.raises(ClientError) as excinfo:
        ec.create_replication_group(
            ReplicationGroupId=name, ReplicationGroupDescription="7 clusters", Engine="redis", CacheNodeType="cache.t4g.small",
            CacheSubnetGroupName=subnet_group, NumCacheClusters=7,
        )
    assert error_of(excinfo) == ("InvalidParameterValue", 400)
    ec.create_replication_group(
        ReplicationGroupId=f"{name}-6", ReplicationGroupDescription="6 clusters", Engine="redis",
        CacheNodeType="cache.t4g.small", CacheSubnetGroupName=subnet_group, NumCacheClusters=6,
    )
    # 45 shards x (1 primary + 1 replica) = 90 nodes: the most a cluster holds by default
    rg = ec.create_replication_group(ReplicationGroupId=name, NumNodeGroups=45, ReplicasPerNodeGroup=1, **cluster)["ReplicationGroup"]
    assert len(rg["MemberClusters"]) == 90
    wait_available(ec, name)
    with pytest.raises(ClientError) as excinfo:
        ec.increase_replica_count(ReplicationGroupId=name, NewReplicaCount=2, ApplyImmediately=True)
    assert error_of(excinfo) == ("NodeQuotaForClusterExceeded", 400)
    with pytest.raises(ClientError) as excinfo:
        ec.modify_replication_group_shard_configuration(ReplicationGroupId=name, NodeGroupCount=46, ApplyImmediately=True)
    assert error_of(excinfo) == ("NodeQuotaForClusterExceeded", 400)
    with pytest.raises(ClientError) as excinfo:
        ec.modify_replication_group_shard_configuration(ReplicationGroupId=name, NodeGroupCount=91, ApplyImmediately=True)
    assert error_of(excinfo) == ("NodeGroupsPerReplicationGroupQuotaExceeded", 400)
    ec.delete_replication_group(ReplicationGroupId=name)


def test_members_list_their_security_groups_and_follow_a_change(ec, name, cluster_param_group, subnet_group, network, client):
    """AWS lists each member cache cluster's VPC security groups (SecurityGroupMembership)."""
    ec2 = client("ec2")
    first, second = (
        ec2.create_security_group(GroupName=f"{name}-{i}", Description="redis", VpcId=network["vpc"])["GroupId"]
        for i in (1, 2)
    )
    create_cluster_mode_group(ec, name, cluster_param_group, subnet_group, SecurityGroupIds=[first])
    wait_available(ec, name)
    members = [c for c in all_cache_clusters(ec) if c.get("ReplicationGroupId") == name]
    assert members
    for m in members:
        assert m["SecurityGroups"] == [{"SecurityGroupId": first, "Status": "active"}]
    ec.modify_replication_group(ReplicationGroupId=name, SecurityGroupIds=[second], ApplyImmediately=True)
    wait_available(ec, name)
    members = [c for c in all_cache_clusters(ec) if c.get("ReplicationGroupId") == name]
    assert {m["SecurityGroups"][0]["SecurityGroupId"] for m in members} == {second}


def test_transit_encryption_changes_in_place_in_two_steps(ec, name, cluster_param_group, subnet_group):
    """ModifyReplicationGroup (API reference), TransitEncryptionEnabled: "If you are enabling
    in-transit encryption for an existing cluster, you must also set TransitEncryptionMode to
    preferred"; TransitEncryptionMode: "Setting TransitEncryptionMode to required is a
    two-step process that requires you to first set the TransitEncryptionMode to preferred".
    Off again goes through preferred too. The group keeps its ARN, endpoint and creation
    time. Redis OSS before 7.0.5 cannot change it (our message; the code is
    InvalidParameterCombination)."""
    created = create_cluster_mode_group(ec, name, cluster_param_group, subnet_group, TransitEncryptionEnabled=False)
    assert created["TransitEncryptionEnabled"] is False and "TransitEncryptionMode" not in created
    before = wait_available(ec, name)

    def modify(**kwargs):
        return ec.modify_replication_group(ReplicationGroupId=name, ApplyImmediately=True, **kwargs)["ReplicationGroup"]

    for refused in ({"TransitEncryptionEnabled": True}, {"TransitEncryptionEnabled": True, "TransitEncryptionMode": "required"},
                    {"TransitEncryptionMode": "required"}, {"TransitEncryptionMode": "optional"}):
        with pytest.raises(ClientError) as excinfo:
            modify(**refused)
        assert error_of(excinfo)[0] in ("InvalidParameterCombination", "InvalidParameterValue"), refused
    assert wait_available(ec, name)["TransitEncryptionEnabled"] is False  # nothing changed

    modify(TransitEncryptionEnabled=True, TransitEncryptionMode="preferred")
    step = wait_available(ec, name)
    assert (step["TransitEncryptionEnabled"], step["TransitEncryptionMode"]) == (True, "preferred")
    modify(TransitEncryptionMode="required")
    done = wait_available(ec, name)
    assert (done["TransitEncryptionEnabled"], done["TransitEncryptionMode"]) == (True, "required")
    members = [c for c in all_cache_clusters(ec) if c.get("ReplicationGroupId") == name]
    assert {m["TransitEncryptionEnabled"] for m in members} == {True}
    for key in ("ARN", "ConfigurationEndpoint", "ReplicationGroupCreateTime"):
        assert done.get(key) == before.get(key), key

    with pytest.raises(ClientError) as excinfo:  # off only from preferred
        modify(TransitEncryptionEnabled=False)
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)
    modify(TransitEncryptionMode="preferred")
    wait_available(ec, name)
    modify(TransitEncryptionEnabled=False)
    off = wait_available(ec, name)
    assert off["TransitEncryptionEnabled"] is False and "TransitEncryptionMode" not in off


def test_transit_encryption_mode_at_creation_and_before_7_0_5(ec, name, subnet_group):
    """CreateReplicationGroup: TLS on reports mode `required` unless `preferred` is asked; a
    mode needs TransitEncryptionEnabled; Redis 6.2 takes no mode and cannot change its
    in-transit encryption afterwards."""
    args = dict(
        ReplicationGroupDescription="glinfra redis",
        Engine="redis",
        CacheNodeType="cache.t4g.small",
        NumCacheClusters=2,
        AutomaticFailoverEnabled=True,
        CacheSubnetGroupName=subnet_group,
    )
    tls = ec.create_replication_group(ReplicationGroupId=f"{name}-a", EngineVersion="7.1", TransitEncryptionEnabled=True, **args)
    assert tls["ReplicationGroup"]["TransitEncryptionMode"] == "required"
    preferred = ec.create_replication_group(
        ReplicationGroupId=f"{name}-b", EngineVersion="7.0", TransitEncryptionEnabled=True, TransitEncryptionMode="preferred", **args
    )
    assert preferred["ReplicationGroup"]["TransitEncryptionMode"] == "preferred"
    for extra in ({"EngineVersion": "7.1", "TransitEncryptionMode": "preferred"},
                  {"EngineVersion": "6.2", "TransitEncryptionEnabled": True, "TransitEncryptionMode": "preferred"}):
        with pytest.raises(ClientError) as excinfo:
            ec.create_replication_group(ReplicationGroupId=f"{name}-c", **extra, **args)
        assert error_of(excinfo) == ("InvalidParameterCombination", 400), extra
    ec.create_replication_group(ReplicationGroupId=f"{name}-d", EngineVersion="6.2", **args)
    wait_available(ec, f"{name}-d")
    with pytest.raises(ClientError) as excinfo:
        ec.modify_replication_group(
            ReplicationGroupId=f"{name}-d", TransitEncryptionEnabled=True, TransitEncryptionMode="preferred", ApplyImmediately=True
        )
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)
    assert "7.0.5" in excinfo.value.response["Error"]["Message"]
