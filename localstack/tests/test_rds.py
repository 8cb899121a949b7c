"""RDS: subnet group modify in place, managed master password, cross-region read replicas,
parameter groups, deletion protection; busy states and AWS's validation (issue 7).

Instances are `creating` for GLINFRA_EMULATOR_RDS_CREATE_SECONDS and `modifying` for
GLINFRA_EMULATOR_RDS_MODIFY_SECONDS, as AWS's are for minutes: the tests wait for
`available` (as a client on AWS must) before modifying, and the busy-state tests assume
the short defaults (about 1 s, storage optimization 2 s)."""

import json

import pytest
from botocore.exceptions import ClientError

from conftest import error_of, wait_for

pytestmark = pytest.mark.glinfra_provider

EU = "eu-west-1"


@pytest.fixture
def rds(client):
    return client("rds")


@pytest.fixture
def subnet_group(rds, name, network):
    rds.create_db_subnet_group(
        DBSubnetGroupName=f"{name}-sn", DBSubnetGroupDescription="database subnets", SubnetIds=network["subnets"][:2]
    )
    return f"{name}-sn"


@pytest.fixture
def parameter_group(rds, name):
    rds.create_db_parameter_group(DBParameterGroupName=f"{name}-pg", DBParameterGroupFamily="postgres15", Description="glinfra pg")
    return f"{name}-pg"


def create_instance(rds, identifier, subnet_group=None, parameter_group=None, **extra):
    args = dict(
        DBInstanceIdentifier=identifier,
        Engine="postgres",
        EngineVersion="15.4",
        DBInstanceClass="db.r6g.2xlarge",
        AllocatedStorage=1000,
        StorageType="io2",
        Iops=10000,
        MasterUsername="glinfra",
        ManageMasterUserPassword=True,
        StorageEncrypted=True,
        MultiAZ=True,
        BackupRetentionPeriod=30,
    )
    if subnet_group:
        args["DBSubnetGroupName"] = subnet_group
    if parameter_group:
        args["DBParameterGroupName"] = parameter_group
    args.update(extra)
    return rds.create_db_instance(**args)["DBInstance"]


def status_of(rds, identifier):
    return rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]["DBInstanceStatus"]


def wait_available(rds, identifier, timeout=30):
    """Waits, as a client on AWS must, until the instance is `available`; returns it."""

    def ready():
        db = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
        return db if db["DBInstanceStatus"] == "available" else None

    return wait_for(ready, timeout)


# ---------------------------------------------------------------- subnet groups
def test_modify_db_subnet_group_in_place(rds, subnet_group, network):
    modified = rds.modify_db_subnet_group(
        DBSubnetGroupName=subnet_group, DBSubnetGroupDescription="three AZs", SubnetIds=network["subnets"]
    )["DBSubnetGroup"]
    assert modified["DBSubnetGroupName"] == subnet_group
    assert modified["DBSubnetGroupDescription"] == "three AZs"
    assert sorted(s["SubnetIdentifier"] for s in modified["Subnets"]) == sorted(network["subnets"])
    described = rds.describe_db_subnet_groups(DBSubnetGroupName=subnet_group)["DBSubnetGroups"][0]
    assert described["DBSubnetGroupDescription"] == "three AZs"
    assert described["VpcId"] == network["vpc"]
    assert {s["SubnetAvailabilityZone"]["Name"] for s in described["Subnets"]} == {"us-east-1a", "us-east-1b", "us-east-1c"}


def test_modify_db_subnet_group_errors(rds, name, subnet_group, network):
    with pytest.raises(ClientError) as excinfo:
        rds.modify_db_subnet_group(DBSubnetGroupName=f"{name}-missing", SubnetIds=network["subnets"])
    assert error_of(excinfo) == ("DBSubnetGroupNotFoundFault", 404)
    with pytest.raises(ClientError) as excinfo:
        rds.modify_db_subnet_group(DBSubnetGroupName=subnet_group, SubnetIds=network["subnets"][:1])
    assert error_of(excinfo) == ("DBSubnetGroupDoesNotCoverEnoughAZs", 400)
    with pytest.raises(ClientError) as excinfo:
        rds.modify_db_subnet_group(DBSubnetGroupName=subnet_group, SubnetIds=network["subnets"][:1] + ["subnet-0000000000000dead"])
    assert error_of(excinfo) == ("InvalidSubnet", 400)
    # the refused calls left the group as it was
    described = rds.describe_db_subnet_groups(DBSubnetGroupName=subnet_group)["DBSubnetGroups"][0]
    assert len(described["Subnets"]) == 2


def test_subnet_group_in_use_cannot_be_deleted(rds, name, subnet_group):
    create_instance(rds, name, subnet_group)
    with pytest.raises(ClientError) as excinfo:
        rds.delete_db_subnet_group(DBSubnetGroupName=subnet_group)
    assert error_of(excinfo) == ("InvalidDBSubnetGroupStateFault", 400)


# ---------------------------------------------------------------- instances
def test_managed_master_user_password(rds, client, name, subnet_group, parameter_group):
    db = create_instance(rds, name, subnet_group, parameter_group)
    secret = db["MasterUserSecret"]
    assert secret["SecretArn"].startswith("arn:aws:secretsmanager:us-east-1:000000000000:secret:rds!db-")
    assert secret["SecretStatus"] in ("creating", "active")
    assert secret["KmsKeyId"].startswith("arn:aws:kms:")
    described = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
    assert described["MasterUserSecret"]["SecretArn"] == secret["SecretArn"]
    assert described["MasterUserSecret"]["SecretStatus"] == "active"
    # the secret exists in Secrets Manager, and listing secrets still works
    sm = client("secretsmanager")
    assert sm.describe_secret(SecretId=secret["SecretArn"])["ARN"] == secret["SecretArn"]
    assert json.loads(sm.get_secret_value(SecretId=secret["SecretArn"])["SecretString"])["password"]
    assert secret["SecretArn"] in [s["ARN"] for s in sm.list_secrets()["SecretList"]]


def test_instance_reports_what_it_was_given(rds, name, subnet_group, parameter_group):
    db = create_instance(rds, name, subnet_group, parameter_group, DeletionProtection=True)
    assert db["StorageType"] == "io2" and db["Iops"] == 10000 and db["AllocatedStorage"] == 1000
    assert db["MultiAZ"] is True and db["BackupRetentionPeriod"] == 30
    assert db["StorageEncrypted"] is True
    assert db["KmsKeyId"].startswith("arn:aws:kms:us-east-1:000000000000:key/")  # moto alone: "default_kms_key_id"
    assert db["DBSubnetGroup"]["DBSubnetGroupName"] == subnet_group
    assert db["DBParameterGroups"][0]["DBParameterGroupName"] == parameter_group
    assert db["DeletionProtection"] is True


def test_create_instance_with_unknown_groups(rds, name, subnet_group):
    with pytest.raises(ClientError) as excinfo:
        create_instance(rds, name, f"{name}-missing")
    assert error_of(excinfo) == ("DBSubnetGroupNotFoundFault", 404)
    with pytest.raises(ClientError) as excinfo:
        create_instance(rds, name, subnet_group, f"{name}-missing")
    assert error_of(excinfo) == ("DBParameterGroupNotFound", 404)


def test_deletion_protection(rds, name, subnet_group):
    create_instance(rds, name, subnet_group, DeletionProtection=True)
    with pytest.raises(ClientError) as excinfo:
        rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)
    wait_available(rds, name)  # (this test modified a creating instance before issue 7; AWS refuses that)
    modified = rds.modify_db_instance(DBInstanceIdentifier=name, DeletionProtection=False, ApplyImmediately=True)["DBInstance"]
    assert modified["DeletionProtection"] is False
    rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)
    with pytest.raises(ClientError) as excinfo:
        rds.describe_db_instances(DBInstanceIdentifier=name)
    assert error_of(excinfo) == ("DBInstanceNotFound", 404)


# ---------------------------------------------------------------- cross-region read replicas
def test_cross_region_read_replica(rds, client, name, subnet_group, parameter_group):
    source = create_instance(rds, name, subnet_group, parameter_group, DeletionProtection=True)
    wait_available(rds, name)  # a replica's source must be available
    rds_eu = client("rds", EU)
    kms_key = f"arn:aws:kms:{EU}:000000000000:key/11111111-2222-3333-4444-555555555555"
    replica = rds_eu.create_db_instance_read_replica(
        DBInstanceIdentifier=f"{name}-eu",
        SourceDBInstanceIdentifier=source["DBInstanceArn"],
        DBInstanceClass="db.r6g.xlarge",
        KmsKeyId=kms_key,
        SourceRegion="us-east-1",
    )["DBInstance"]
    assert replica["DBInstanceArn"].startswith(f"arn:aws:rds:{EU}:")
    assert replica["ReadReplicaSourceDBInstanceIdentifier"] == source["DBInstanceArn"]
    assert replica["AvailabilityZone"].startswith(EU)  # moto alone reports the source's AZ
    assert replica["KmsKeyId"] == kms_key
    assert replica["DBInstanceClass"] == "db.r6g.xlarge"
    assert replica["DeletionProtection"] is False  # not inherited from the source
    assert replica["DBParameterGroups"][0]["DBParameterGroupName"].startswith("default.postgres")
    described = rds_eu.describe_db_instances(DBInstanceIdentifier=f"{name}-eu")["DBInstances"][0]
    assert described["ReadReplicaSourceDBInstanceIdentifier"] == source["DBInstanceArn"]
    listed = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["ReadReplicaDBInstanceIdentifiers"]
    assert listed == [replica["DBInstanceArn"]]

    # the replica can be deleted (moto alone fails here), and the source keeps its secret
    rds_eu.delete_db_instance(DBInstanceIdentifier=f"{name}-eu", SkipFinalSnapshot=True)
    after = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
    assert after.get("ReadReplicaDBInstanceIdentifiers", []) == []
    client("secretsmanager").describe_secret(SecretId=after["MasterUserSecret"]["SecretArn"])


def test_cross_region_read_replica_in_a_subnet_group_of_its_region(rds, client, name, subnet_group):
    """CreateDBInstanceReadReplica in the destination Region: DBSubnetGroupName names a
    group of that Region (RDS API Reference), where the replica lives."""
    source = create_instance(rds, name, subnet_group)
    wait_available(rds, name)
    ec2_eu, rds_eu = client("ec2", EU), client("rds", EU)
    vpc = ec2_eu.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2_eu.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{i * 16}.0/20", AvailabilityZone=f"{EU}{az}")["Subnet"]["SubnetId"]
        for i, az in enumerate("ab")
    ]
    rds_eu.create_db_subnet_group(DBSubnetGroupName=f"{name}-eu-sn", DBSubnetGroupDescription="eu data", SubnetIds=subnets)
    kms_key = f"arn:aws:kms:{EU}:000000000000:key/11111111-2222-3333-4444-555555555555"
    replica = rds_eu.create_db_instance_read_replica(
        DBInstanceIdentifier=f"{name}-eu",
        SourceDBInstanceIdentifier=source["DBInstanceArn"],
        DBInstanceClass="db.r6g.xlarge",
        DBSubnetGroupName=f"{name}-eu-sn",
        KmsKeyId=kms_key,
        SourceRegion="us-east-1",
    )["DBInstance"]
    assert replica["DBSubnetGroup"]["DBSubnetGroupName"] == f"{name}-eu-sn"
    assert replica["DBSubnetGroup"]["VpcId"] == vpc
    described = rds_eu.describe_db_instances(DBInstanceIdentifier=f"{name}-eu")["DBInstances"][0]
    assert described["DBSubnetGroup"]["VpcId"] == vpc
    with pytest.raises(ClientError) as missing:
        rds_eu.create_db_instance_read_replica(
            DBInstanceIdentifier=f"{name}-eu2",
            SourceDBInstanceIdentifier=source["DBInstanceArn"],
            DBSubnetGroupName=subnet_group,  # a group of the source's Region, not this one
            KmsKeyId=kms_key,
            SourceRegion="us-east-1",
        )
    assert error_of(missing)[0] == "DBSubnetGroupNotFoundFault"
    rds_eu.delete_db_instance(DBInstanceIdentifier=f"{name}-eu", SkipFinalSnapshot=True)


def test_deleting_the_source_promotes_the_replica(rds, client, name, subnet_group):
    source = create_instance(rds, name, subnet_group)
    wait_available(rds, name)
    rds_eu = client("rds", EU)
    rds_eu.create_db_instance_read_replica(
        DBInstanceIdentifier=f"{name}-eu",
        SourceDBInstanceIdentifier=source["DBInstanceArn"],
        DBInstanceClass="db.r6g.xlarge",
        KmsKeyId=f"arn:aws:kms:{EU}:000000000000:key/11111111-2222-3333-4444-555555555555",
    )
    rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)
    promoted = rds_eu.describe_db_instances(DBInstanceIdentifier=f"{name}-eu")["DBInstances"][0]
    assert "ReadReplicaSourceDBInstanceIdentifier" not in promoted
    rds_eu.delete_db_instance(DBInstanceIdentifier=f"{name}-eu", SkipFinalSnapshot=True)


def test_promote_read_replica_makes_a_standalone_instance_in_place(rds, client, name, subnet_group):
    """PromoteReadReplica (API reference): only a read replica, only when available; the
    instance is modifying, then standalone with the same ARN, endpoint and creation time,
    gone from its source's replica list; BackupRetentionPeriod 0 to 35 (default 1)."""
    source = create_instance(rds, name, subnet_group)
    wait_available(rds, name)
    rds_eu = client("rds", EU)
    rds_eu.create_db_instance_read_replica(
        DBInstanceIdentifier=f"{name}-eu",
        SourceDBInstanceIdentifier=source["DBInstanceArn"],
        DBInstanceClass="db.r6g.xlarge",
        KmsKeyId=f"arn:aws:kms:{EU}:000000000000:key/11111111-2222-3333-4444-555555555555",
    )
    with pytest.raises(ClientError) as excinfo:  # still creating
        rds_eu.promote_read_replica(DBInstanceIdentifier=f"{name}-eu")
    assert error_of(excinfo) == ("InvalidDBInstanceState", 400)
    before = wait_available(rds_eu, f"{name}-eu")
    with pytest.raises(ClientError) as excinfo:
        rds.promote_read_replica(DBInstanceIdentifier=name)
    assert error_of(excinfo) == ("InvalidDBInstanceState", 400)
    assert "not a read replica" in excinfo.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as excinfo:
        rds_eu.promote_read_replica(DBInstanceIdentifier=f"{name}-eu", BackupRetentionPeriod=36)
    assert error_of(excinfo) == ("InvalidParameterValue", 400)
    with pytest.raises(ClientError) as excinfo:
        rds_eu.promote_read_replica(DBInstanceIdentifier=f"{name}-missing")
    assert error_of(excinfo) == ("DBInstanceNotFound", 404)

    answer = rds_eu.promote_read_replica(DBInstanceIdentifier=f"{name}-eu", BackupRetentionPeriod=7)["DBInstance"]
    assert answer["DBInstanceStatus"] == "modifying"
    assert answer["PendingModifiedValues"]["BackupRetentionPeriod"] == 7
    promoted = wait_available(rds_eu, f"{name}-eu")
    assert "ReadReplicaSourceDBInstanceIdentifier" not in promoted
    assert promoted["BackupRetentionPeriod"] == 7
    for key in ("DBInstanceArn", "InstanceCreateTime", "Endpoint", "MasterUsername"):
        assert promoted[key] == before[key], key
    listed = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
    assert listed.get("ReadReplicaDBInstanceIdentifiers", []) == []
    with pytest.raises(ClientError) as excinfo:  # no longer a replica
        rds_eu.promote_read_replica(DBInstanceIdentifier=f"{name}-eu")
    assert error_of(excinfo) == ("InvalidDBInstanceState", 400)
    rds_eu.delete_db_instance(DBInstanceIdentifier=f"{name}-eu", SkipFinalSnapshot=True)
    rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)


def test_encrypted_cross_region_replica_needs_a_kms_key(rds, client, name, subnet_group):
    source = create_instance(rds, name, subnet_group)
    with pytest.raises(ClientError) as excinfo:
        client("rds", EU).create_db_instance_read_replica(
            DBInstanceIdentifier=f"{name}-eu", SourceDBInstanceIdentifier=source["DBInstanceArn"], DBInstanceClass="db.r6g.xlarge"
        )
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)
    with pytest.raises(ClientError) as excinfo:
        client("rds", EU).create_db_instance_read_replica(
            DBInstanceIdentifier=f"{name}-eu",
            SourceDBInstanceIdentifier=source["DBInstanceArn"].replace(name, f"{name}-missing"),
            DBInstanceClass="db.r6g.xlarge",
            KmsKeyId="alias/aws/rds",
        )
    assert error_of(excinfo) == ("DBInstanceNotFound", 404)


# ---------------------------------------------------------------- parameter groups
def test_parameter_group_modify_and_describe(rds, parameter_group):
    group = rds.describe_db_parameter_groups(DBParameterGroupName=parameter_group)["DBParameterGroups"][0]
    assert group["DBParameterGroupFamily"] == "postgres15"
    result = rds.modify_db_parameter_group(
        DBParameterGroupName=parameter_group,
        Parameters=[
            {"ParameterName": "max_connections", "ParameterValue": "500", "ApplyMethod": "pending-reboot"},
            {"ParameterName": "work_mem", "ParameterValue": "262144", "ApplyMethod": "immediate"},
            {"ParameterName": "random_page_cost", "ParameterValue": "1.1", "ApplyMethod": "immediate"},
        ],
    )
    assert result["DBParameterGroupName"] == parameter_group
    user = {p["ParameterName"]: p for p in rds.describe_db_parameters(DBParameterGroupName=parameter_group, Source="user")["Parameters"]}
    assert set(user) == {"max_connections", "work_mem", "random_page_cost"}
    assert user["max_connections"]["ParameterValue"] == "500"
    assert user["max_connections"]["ApplyMethod"] == "pending-reboot"
    every = {p["ParameterName"]: p for p in rds.describe_db_parameters(DBParameterGroupName=parameter_group)["Parameters"]}
    assert every["shared_buffers"]["Source"] == "engine-default"
    assert every["shared_buffers"]["ApplyType"] == "static"
    assert every["work_mem"]["Source"] == "user"


def test_parameter_group_errors(rds, name, parameter_group, subnet_group):
    with pytest.raises(ClientError) as excinfo:
        rds.modify_db_parameter_group(
            DBParameterGroupName=parameter_group,
            Parameters=[{"ParameterName": "no_such_parameter", "ParameterValue": "1", "ApplyMethod": "immediate"}],
        )
    assert error_of(excinfo) == ("InvalidParameterValue", 400)
    with pytest.raises(ClientError) as excinfo:  # static parameters apply at reboot only
        rds.modify_db_parameter_group(
            DBParameterGroupName=parameter_group,
            Parameters=[{"ParameterName": "shared_buffers", "ParameterValue": "4194304", "ApplyMethod": "immediate"}],
        )
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)
    for call in (rds.describe_db_parameters, rds.delete_db_parameter_group):
        with pytest.raises(ClientError) as excinfo:
            call(DBParameterGroupName=f"{name}-missing")
        assert error_of(excinfo) == ("DBParameterGroupNotFound", 404)
    create_instance(rds, name, subnet_group, parameter_group)
    with pytest.raises(ClientError) as excinfo:
        rds.delete_db_parameter_group(DBParameterGroupName=parameter_group)
    assert error_of(excinfo) == ("InvalidDBParameterGroupState", 400)
    # the instance still renders (moto alone deletes the group and then fails on every describe)
    assert rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["DBParameterGroups"][0][
        "DBParameterGroupName"
    ] == parameter_group


def test_reset_db_parameter_group(rds, parameter_group):
    rds.modify_db_parameter_group(
        DBParameterGroupName=parameter_group,
        Parameters=[
            {"ParameterName": "work_mem", "ParameterValue": "262144", "ApplyMethod": "immediate"},
            {"ParameterName": "max_connections", "ParameterValue": "500", "ApplyMethod": "pending-reboot"},
        ],
    )

    def user_set():
        pages = rds.get_paginator("describe_db_parameters").paginate(DBParameterGroupName=parameter_group, Source="user")
        return sorted(p["ParameterName"] for page in pages for p in page["Parameters"])

    assert user_set() == ["max_connections", "work_mem"]
    result = rds.reset_db_parameter_group(
        DBParameterGroupName=parameter_group,
        Parameters=[{"ParameterName": "work_mem", "ApplyMethod": "immediate"}],
    )
    assert result["DBParameterGroupName"] == parameter_group
    assert user_set() == ["max_connections"]
    rds.reset_db_parameter_group(DBParameterGroupName=parameter_group, ResetAllParameters=True)
    assert user_set() == []
    with pytest.raises(ClientError) as excinfo:
        rds.reset_db_parameter_group(DBParameterGroupName="no-such-group-x", ResetAllParameters=True)
    assert error_of(excinfo) == ("DBParameterGroupNotFound", 404)
    with pytest.raises(ClientError) as excinfo:
        rds.reset_db_parameter_group(DBParameterGroupName=parameter_group)
    assert error_of(excinfo)[0] == "InvalidParameterCombination"


# ---------------------------------------------------------------- issue 7: busy states
def small_instance(rds, identifier, **extra):
    """A PostgreSQL instance on gp3 below 400 GiB (baseline IOPS), with backups."""
    args = dict(
        DBInstanceIdentifier=identifier,
        Engine="postgres",
        EngineVersion="15.4",
        DBInstanceClass="db.t4g.medium",
        AllocatedStorage=100,
        StorageType="gp3",
        MasterUsername="glinfra",
        ManageMasterUserPassword=True,
        BackupRetentionPeriod=7,
    )
    args.update(extra)
    return rds.create_db_instance(**args)["DBInstance"]


def test_instance_is_creating_then_available(rds, name):
    """RDS User Guide, "Viewing Amazon RDS DB instance status": a new instance is `creating`
    ("The DB instance is being created. The DB instance is inaccessible while it is being
    created.") before `available`; ModifyDBInstance (API reference, Errors:
    InvalidDBInstanceStateFault, HTTP 400, "The DB instance isn't in a valid state.") is
    refused meanwhile, and accepted once the instance is available."""
    db = small_instance(rds, name)
    assert db["DBInstanceStatus"] == "creating"
    described = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
    assert described["DBInstanceStatus"] == "creating"
    assert "Endpoint" not in described  # AWS reports the endpoint once the instance exists
    with pytest.raises(ClientError) as excinfo:
        rds.modify_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.t4g.large", ApplyImmediately=True)
    assert error_of(excinfo) == ("InvalidDBInstanceState", 400)
    available = wait_available(rds, name)
    assert available["Endpoint"]["Port"] == 5432
    assert available["DBInstanceClass"] == "db.t4g.medium"  # the refused call changed nothing
    rds.modify_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.t4g.large", ApplyImmediately=True)


def test_modifying_then_storage_optimization(rds, name):
    """ModifyDBInstance with ApplyImmediately: the instance is `modifying` with the changes in
    PendingModifiedValues (API reference, DBInstance.PendingModifiedValues: "Information about
    pending changes to the DB instance"), refuses a second modification with
    InvalidDBInstanceState, then shows the new values. After a storage change it is
    `storage-optimization` (User Guide, "Increasing DB instance storage capacity": "You can't
    make further storage modifications for either six (6) hours or until storage optimization
    has completed on the instance, whichever is longer"; the knowledge-center article "Why is
    my Amazon RDS DB instance stuck in storage-optimization": "you can perform any other
    instance modifications, such as instance size scaling"): a second storage change is
    refused (InvalidParameterCombination, "You can't currently modify the storage of this DB
    instance because the previous storage change is being optimized."), another change is
    accepted, and storage can change again once the instance is available."""
    small_instance(rds, name)
    wait_available(rds, name)
    db = rds.modify_db_instance(
        DBInstanceIdentifier=name, DBInstanceClass="db.t4g.large", AllocatedStorage=200, ApplyImmediately=True
    )["DBInstance"]
    assert db["DBInstanceStatus"] == "modifying"
    assert db["DBInstanceClass"] == "db.t4g.medium" and db["AllocatedStorage"] == 100
    assert db["PendingModifiedValues"] == {"DBInstanceClass": "db.t4g.large", "AllocatedStorage": 200}
    with pytest.raises(ClientError) as excinfo:
        rds.modify_db_instance(DBInstanceIdentifier=name, DeletionProtection=True, ApplyImmediately=True)
    assert error_of(excinfo) == ("InvalidDBInstanceState", 400)

    optimizing = wait_for(
        lambda: (d := rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0])["DBInstanceStatus"]
        == "storage-optimization"
        and d
    )
    assert optimizing["DBInstanceClass"] == "db.t4g.large" and optimizing["AllocatedStorage"] == 200
    assert not optimizing.get("PendingModifiedValues")
    with pytest.raises(ClientError) as excinfo:
        rds.modify_db_instance(DBInstanceIdentifier=name, AllocatedStorage=300, ApplyImmediately=True)
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)
    assert "being optimized" in excinfo.value.response["Error"]["Message"]
    # anything but storage is accepted while the storage is optimized
    rds.modify_db_instance(DBInstanceIdentifier=name, DeletionProtection=True, ApplyImmediately=True)
    assert rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["DeletionProtection"] is True

    wait_available(rds, name)
    assert rds.modify_db_instance(DBInstanceIdentifier=name, AllocatedStorage=300, ApplyImmediately=True)["DBInstance"][
        "PendingModifiedValues"
    ] == {"AllocatedStorage": 300}


def test_changes_without_apply_immediately_stay_pending(rds, name):
    """ModifyDBInstance, ApplyImmediately (API reference): "If this parameter is disabled,
    changes to the DB instance are applied during the next maintenance window" (default
    false), and a later request with ApplyImmediately applies them too ("Specifies whether the
    modifications in this request and any pending modifications are asynchronously applied as
    soon as possible"). Deletion protection is not one of the deferred settings and applies
    at once."""
    small_instance(rds, name)
    wait_available(rds, name)
    db = rds.modify_db_instance(DBInstanceIdentifier=name, MultiAZ=True, DeletionProtection=True)["DBInstance"]
    assert db["DBInstanceStatus"] == "available"
    assert db["MultiAZ"] is False and db["PendingModifiedValues"] == {"MultiAZ": True}
    assert db["DeletionProtection"] is True
    db = rds.modify_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.t4g.large", ApplyImmediately=True)["DBInstance"]
    assert db["PendingModifiedValues"] == {"MultiAZ": True, "DBInstanceClass": "db.t4g.large"}
    done = wait_available(rds, name)
    assert done["MultiAZ"] is True and done["DBInstanceClass"] == "db.t4g.large"
    assert not done.get("PendingModifiedValues")


def test_a_subnet_group_in_another_vpc_moves_the_instance_in_place(rds, client, name, subnet_group, network):
    """ModifyDBInstance, DBSubnetGroupName (API reference): "The new DB subnet group for the DB
    instance. You can use this parameter to move your DB instance to a different VPC."
    Applied immediately, the instance is `modifying` with the group pending, then in the new
    group and its VPC, with the same ARN, endpoint and creation time. A group in the same VPC
    is refused (InvalidVPCNetworkStateFault: "The specified DB subnet group and DB instance
    are in the same VPC. Choose a DB subnet group in different VPC than the specified DB
    instance and try again."), as is the group it is in already, and an unknown group is
    DBSubnetGroupNotFoundFault."""
    ec2 = client("ec2")
    other_vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    other_subnets = [
        ec2.create_subnet(VpcId=other_vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"{rds.meta.region_name}{az}")[
            "Subnet"
        ]["SubnetId"]
        for i, az in enumerate("ab")
    ]
    rds.create_db_subnet_group(DBSubnetGroupName=f"{name}-b", DBSubnetGroupDescription="other VPC", SubnetIds=other_subnets)
    rds.create_db_subnet_group(
        DBSubnetGroupName=f"{name}-same", DBSubnetGroupDescription="same VPC", SubnetIds=network["subnets"][1:]
    )
    small_instance(rds, name, DBSubnetGroupName=subnet_group)
    before = wait_available(rds, name)
    assert before["DBSubnetGroup"]["VpcId"] == network["vpc"]

    for group, message in ((f"{name}-same", "are in the same VPC"), (subnet_group, "already in the target DB subnet group")):
        with pytest.raises(ClientError) as excinfo:
            rds.modify_db_instance(DBInstanceIdentifier=name, DBSubnetGroupName=group, ApplyImmediately=True)
        assert error_of(excinfo) == ("InvalidVPCNetworkStateFault", 400)
        assert message in excinfo.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as excinfo:
        rds.modify_db_instance(DBInstanceIdentifier=name, DBSubnetGroupName=f"{name}-none", ApplyImmediately=True)
    assert error_of(excinfo) == ("DBSubnetGroupNotFoundFault", 404)
    assert status_of(rds, name) == "available"  # the refusals changed nothing

    db = rds.modify_db_instance(DBInstanceIdentifier=name, DBSubnetGroupName=f"{name}-b", ApplyImmediately=True)["DBInstance"]
    assert db["DBInstanceStatus"] == "modifying"
    assert db["PendingModifiedValues"] == {"DBSubnetGroupName": f"{name}-b"}
    assert db["DBSubnetGroup"]["DBSubnetGroupName"] == subnet_group
    moved = wait_available(rds, name)
    assert moved["DBSubnetGroup"]["DBSubnetGroupName"] == f"{name}-b"
    assert moved["DBSubnetGroup"]["VpcId"] == other_vpc
    for key in ("DBInstanceArn", "InstanceCreateTime", "Endpoint", "DbiResourceId"):
        assert moved[key] == before[key], key
    # the old group is free again
    rds.delete_db_subnet_group(DBSubnetGroupName=f"{name}-same")


def test_delete_while_creating_needs_skip_final_snapshot(rds, name):
    """DeleteDBInstance (API reference, Errors: InvalidDBInstanceState): a final snapshot needs
    an instance that can be snapshotted; RDS answers "Instance <id> is currently creating - a
    final snapshot cannot be taken." With SkipFinalSnapshot the instance is deleted."""
    small_instance(rds, name)
    with pytest.raises(ClientError) as excinfo:
        rds.delete_db_instance(DBInstanceIdentifier=name, FinalDBSnapshotIdentifier=f"{name}-final")
    assert error_of(excinfo) == ("InvalidDBInstanceState", 400)
    assert "currently creating" in excinfo.value.response["Error"]["Message"]
    rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)


# ---------------------------------------------------------------- issue 7: storage rules
def test_gp3_iops_and_throughput_only_from_400_gib(rds, name):
    """RDS User Guide, "Amazon RDS DB instance storage", gp3 storage: for MariaDB, MySQL and
    PostgreSQL below 400 GiB the volume runs at its baseline of 3,000 IOPS and 125 MiB/s and
    IOPS/throughput can't be provisioned (AWS: "You can't specify IOPS or storage throughput for
    engine postgres and a storage size less than 400."); from 400 GiB the baseline is 12,000
    IOPS and 500 MiB/s and 12,000-64,000 IOPS can be provisioned. This is
    environments/staging-us-east-1.toml's database (gp3, 200 GiB, 3000 IOPS)."""
    for extra in ({"Iops": 3000}, {"StorageThroughput": 125}):
        with pytest.raises(ClientError) as excinfo:
            small_instance(rds, name, AllocatedStorage=200, **extra)
        assert error_of(excinfo) == ("InvalidParameterCombination", 400)
        assert "less than 400" in excinfo.value.response["Error"]["Message"]
    with pytest.raises(ClientError):  # MySQL and MariaDB alike
        small_instance(rds, name, Engine="mysql", EngineVersion="8.0.36", AllocatedStorage=200, Iops=3000)
    db = small_instance(rds, name, AllocatedStorage=200)
    assert (db["Iops"], db["StorageThroughput"]) == (3000, 125)  # the baseline is reported
    big = small_instance(rds, f"{name}-big", AllocatedStorage=400, Iops=12000, StorageThroughput=500)
    assert (big["AllocatedStorage"], big["Iops"], big["StorageThroughput"]) == (400, 12000, 500)
    with pytest.raises(ClientError) as excinfo:  # below the gp3 minimum from 400 GiB
        small_instance(rds, f"{name}-low", AllocatedStorage=400, Iops=3000)
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)
    # growing past 400 GiB: IOPS may now be given
    wait_available(rds, name)
    with pytest.raises(ClientError) as excinfo:
        rds.modify_db_instance(DBInstanceIdentifier=name, AllocatedStorage=300, Iops=3000, ApplyImmediately=True)
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)
    rds.modify_db_instance(DBInstanceIdentifier=name, AllocatedStorage=500, Iops=15000, ApplyImmediately=True)
    grown = wait_for(
        lambda: (d := rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0])["DBInstanceStatus"]
        in ("storage-optimization", "available")
        and d
    )
    assert (grown["AllocatedStorage"], grown["Iops"], grown["StorageThroughput"]) == (500, 15000, 500)


def test_provisioned_iops_ratios(rds, name):
    """RDS User Guide, "Amazon RDS DB instance storage", Provisioned IOPS SSD: io1 and io2 need
    IOPS ("The storage type io1 requires iops to be specified."), 100 GiB to 64 TiB and 1,000 to
    256,000 IOPS; the IOPS-to-storage ratio is 0.5-50 for io1 and 0.5-1,000 for io2 (AWS:
    "Invalid iops to storage (GB) ratio for engine name postgres and storage type io1:
    100.0000"). The refusals are InvalidParameterCombination."""
    refused = [
        dict(StorageType="io1", AllocatedStorage=100, Iops=10000),  # 100:1
        dict(StorageType="io1", AllocatedStorage=4000, Iops=1000),  # 0.25:1
        dict(StorageType="io2", AllocatedStorage=100, Iops=100100),  # 1001:1
        dict(StorageType="io2", AllocatedStorage=1000),  # no IOPS
        dict(StorageType="io1", AllocatedStorage=50, Iops=1000),  # below 100 GiB
        dict(StorageType="io1", AllocatedStorage=100, Iops=500),  # below 1000 IOPS
        dict(StorageType="gp2", AllocatedStorage=100, Iops=1000),  # IOPS are for io1/io2 (and gp3)
        dict(StorageType="gp2", AllocatedStorage=10),  # below 20 GiB
    ]
    for extra in refused:
        with pytest.raises(ClientError) as excinfo:
            small_instance(rds, name, **extra)
        assert error_of(excinfo) == ("InvalidParameterCombination", 400), extra
    io1 = small_instance(rds, name, StorageType="io1", AllocatedStorage=200, Iops=10000)  # 50:1
    assert (io1["StorageType"], io1["Iops"]) == ("io1", 10000)
    io2 = small_instance(rds, f"{name}-2", StorageType="io2", AllocatedStorage=100, Iops=100000)  # 1000:1
    assert io2["Iops"] == 100000
    gp2 = small_instance(rds, f"{name}-3", StorageType="gp2", AllocatedStorage=20)
    assert gp2["StorageType"] == "gp2" and "Iops" not in gp2


def test_storage_modification_rules(rds, name):
    """User Guide, "Increasing DB instance storage capacity": "You can't reduce the amount of
    storage for a DB instance after storage has been allocated. When you increase the allocated
    storage, it must be by at least 10 percent." On an instance with provisioned IOPS, size and
    IOPS go together (AWS: "You must specify both the storage size and iops when modifying the
    storage size or iops on a DB instance that has iops."). All InvalidParameterCombination."""
    small_instance(rds, name, StorageType="io1", AllocatedStorage=200, Iops=5000)
    wait_available(rds, name)
    for changes in ({"AllocatedStorage": 150, "Iops": 5000}, {"AllocatedStorage": 210, "Iops": 5000}, {"AllocatedStorage": 300}):
        with pytest.raises(ClientError) as excinfo:
            rds.modify_db_instance(DBInstanceIdentifier=name, ApplyImmediately=True, **changes)
        assert error_of(excinfo) == ("InvalidParameterCombination", 400), changes
    db = rds.modify_db_instance(DBInstanceIdentifier=name, AllocatedStorage=220, Iops=5000, ApplyImmediately=True)["DBInstance"]
    assert db["PendingModifiedValues"]["AllocatedStorage"] == 220


# ---------------------------------------------------------------- issue 7: versions and families
def test_engine_versions_and_parameter_group_families(rds, name):
    """CreateDBInstance, EngineVersion (API reference; "Supported PostgreSQL versions" in the
    RDS User Guide): an unknown version is refused ("InvalidParameterCombination: Cannot find
    version 15.99 for postgres"); a major version alone picks a minor version of it. The DB
    parameter group's family must be the engine version's ("The parameter group X with
    DBParameterGroupFamily postgres14 can't be used for this instance. Use a parameter group with
    DBParameterGroupFamily postgres15.", InvalidParameterCombination), on create and modify.
    CreateDBParameterGroup refuses an unknown family (InvalidParameterValue,
    "ParameterGroupFamily postgres10.7 is not a valid parameter group family")."""
    with pytest.raises(ClientError) as excinfo:
        small_instance(rds, name, EngineVersion="15.99")
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)
    assert excinfo.value.response["Error"]["Message"] == "Cannot find version 15.99 for postgres"
    with pytest.raises(ClientError) as excinfo:
        rds.create_db_parameter_group(DBParameterGroupName=f"{name}-bad", DBParameterGroupFamily="postgres10.7", Description="x")
    assert error_of(excinfo) == ("InvalidParameterValue", 400)
    rds.create_db_parameter_group(DBParameterGroupName=f"{name}-14", DBParameterGroupFamily="postgres14", Description="pg14")
    rds.create_db_parameter_group(DBParameterGroupName=f"{name}-15", DBParameterGroupFamily="postgres15", Description="pg15")
    with pytest.raises(ClientError) as excinfo:
        small_instance(rds, name, DBParameterGroupName=f"{name}-14")
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)
    assert "DBParameterGroupFamily postgres15" in excinfo.value.response["Error"]["Message"]
    db = small_instance(rds, name, EngineVersion="15", DBParameterGroupName=f"{name}-15")
    assert db["EngineVersion"].startswith("15.")
    assert db["DBParameterGroups"][0]["DBParameterGroupName"] == f"{name}-15"
    wait_available(rds, name)
    with pytest.raises(ClientError) as excinfo:
        rds.modify_db_instance(DBInstanceIdentifier=name, DBParameterGroupName=f"{name}-14", ApplyImmediately=True)
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)


def test_engine_upgrades(rds, name):
    """ModifyDBInstance, EngineVersion and AllowMajorVersionUpgrade (API reference; User Guide
    "Upgrading the PostgreSQL DB engine for Amazon RDS"): no downgrade ("Cannot upgrade postgres
    from 15.4 to 14.10"); a major upgrade needs AllowMajorVersionUpgrade; an instance with a
    custom parameter group needs a parameter group of the new family named in the same call.
    All InvalidParameterCombination. The instance is `upgrading` meanwhile (DB instance
    status: "upgrading - The database engine or operating system version is being upgraded")."""
    rds.create_db_parameter_group(DBParameterGroupName=f"{name}-15", DBParameterGroupFamily="postgres15", Description="pg15")
    rds.create_db_parameter_group(DBParameterGroupName=f"{name}-16", DBParameterGroupFamily="postgres16", Description="pg16")
    small_instance(rds, name, DBParameterGroupName=f"{name}-15")
    wait_available(rds, name)
    for changes in (
        {"EngineVersion": "14.10", "AllowMajorVersionUpgrade": True, "DBParameterGroupName": f"{name}-15"},
        {"EngineVersion": "16.3", "DBParameterGroupName": f"{name}-16"},
        {"EngineVersion": "16.3", "AllowMajorVersionUpgrade": True},
        {"EngineVersion": "16.3", "AllowMajorVersionUpgrade": True, "DBParameterGroupName": f"{name}-15"},
    ):
        with pytest.raises(ClientError) as excinfo:
            rds.modify_db_instance(DBInstanceIdentifier=name, ApplyImmediately=True, **changes)
        assert error_of(excinfo) == ("InvalidParameterCombination", 400), changes
    db = rds.modify_db_instance(
        DBInstanceIdentifier=name, EngineVersion="16.3", AllowMajorVersionUpgrade=True, DBParameterGroupName=f"{name}-16",
        ApplyImmediately=True,
    )["DBInstance"]
    assert db["DBInstanceStatus"] == "upgrading"
    assert db["PendingModifiedValues"] == {"EngineVersion": "16.3"}
    done = wait_available(rds, name)
    assert done["EngineVersion"] == "16.3"
    assert done["DBParameterGroups"][0]["DBParameterGroupName"] == f"{name}-16"
    # a minor upgrade needs no flag
    rds.modify_db_instance(DBInstanceIdentifier=name, EngineVersion="16.4", ApplyImmediately=True)


# ---------------------------------------------------------------- issue 7: read replicas
def test_read_replica_rules(rds, name):
    """CreateDBInstanceReadReplica (API reference): the replica's identifier must be new
    (DBInstanceAlreadyExists, HTTP 400; moto replaced the existing instance); the source must
    be available and have automated backups ("InvalidDBInstanceState: Automated backups are not
    enabled for this database instance. To enable automated backups, use ModifyDBInstance to
    set the backup retention period to a non-zero value."); "RDS creates read replicas with
    backups disabled". ModifyDBInstance, BackupRetentionPeriod: "Can't be set to 0 if the DB
    instance is a source to read replicas." (InvalidParameterCombination)."""
    small_instance(rds, name)
    small_instance(rds, f"{name}-nobackup", BackupRetentionPeriod=0)
    small_instance(rds, f"{name}-other")
    with pytest.raises(ClientError) as excinfo:  # the source is still creating
        rds.create_db_instance_read_replica(DBInstanceIdentifier=f"{name}-r", SourceDBInstanceIdentifier=name)
    assert error_of(excinfo) == ("InvalidDBInstanceState", 400)
    for identifier in (name, f"{name}-nobackup", f"{name}-other"):
        wait_available(rds, identifier)
    with pytest.raises(ClientError) as excinfo:
        rds.create_db_instance_read_replica(DBInstanceIdentifier=f"{name}-r", SourceDBInstanceIdentifier=f"{name}-nobackup")
    assert error_of(excinfo) == ("InvalidDBInstanceState", 400)
    assert "Automated backups are not enabled" in excinfo.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as excinfo:
        rds.create_db_instance_read_replica(DBInstanceIdentifier=f"{name}-other", SourceDBInstanceIdentifier=name)
    assert error_of(excinfo) == ("DBInstanceAlreadyExists", 400)
    other = rds.describe_db_instances(DBInstanceIdentifier=f"{name}-other")["DBInstances"][0]
    assert "ReadReplicaSourceDBInstanceIdentifier" not in other  # left alone

    with pytest.raises(ClientError) as excinfo:  # the storage rules hold for replicas (gp3 below 400 GiB)
        rds.create_db_instance_read_replica(
            DBInstanceIdentifier=f"{name}-r", SourceDBInstanceIdentifier=name, StorageType="gp3", Iops=3000
        )
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)
    replica = rds.create_db_instance_read_replica(DBInstanceIdentifier=f"{name}-r", SourceDBInstanceIdentifier=name)[
        "DBInstance"
    ]
    assert replica["DBInstanceStatus"] == "creating"
    assert replica["BackupRetentionPeriod"] == 0
    with pytest.raises(ClientError) as excinfo:
        rds.modify_db_instance(DBInstanceIdentifier=name, BackupRetentionPeriod=0, ApplyImmediately=True)
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)
    with pytest.raises(ClientError) as excinfo:  # BackupRetentionPeriod: "Must be a value from 0 to 35."
        rds.modify_db_instance(DBInstanceIdentifier=name, BackupRetentionPeriod=36, ApplyImmediately=True)
    assert error_of(excinfo) == ("InvalidParameterValue", 400)
    rds.modify_db_instance(DBInstanceIdentifier=name, BackupRetentionPeriod=14, ApplyImmediately=True)
    # PostgreSQL 14.1 and later replicas can keep automated backups
    wait_available(rds, f"{name}-r")
    rds.modify_db_instance(DBInstanceIdentifier=f"{name}-r", BackupRetentionPeriod=7, ApplyImmediately=True)
    assert wait_available(rds, f"{name}-r")["BackupRetentionPeriod"] == 7


def test_postgres_13_replica_takes_no_backups(rds, name):
    """User Guide, "Working with read replicas for Amazon RDS for PostgreSQL": automated backups
    of read replicas are supported from RDS for PostgreSQL 14.1 only; earlier versions refuse
    (InvalidDBInstanceState, "DB Backups not supported on a read replica for engine postgres")."""
    small_instance(rds, name, EngineVersion="13.15")
    wait_available(rds, name)
    rds.create_db_instance_read_replica(DBInstanceIdentifier=f"{name}-r", SourceDBInstanceIdentifier=name)
    wait_available(rds, f"{name}-r")
    with pytest.raises(ClientError) as excinfo:
        rds.modify_db_instance(DBInstanceIdentifier=f"{name}-r", BackupRetentionPeriod=7, ApplyImmediately=True)
    assert error_of(excinfo) == ("InvalidDBInstanceState", 400)
    rds.modify_db_instance(DBInstanceIdentifier=f"{name}-r", DBInstanceClass="db.t4g.large", ApplyImmediately=True)
