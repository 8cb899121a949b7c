"""RDS: subnet group modify in place, managed master password, cross-region read replicas,
parameter groups, deletion protection."""

import json

import pytest
from botocore.exceptions import ClientError

from conftest import error_of

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
    modified = rds.modify_db_instance(DBInstanceIdentifier=name, DeletionProtection=False, ApplyImmediately=True)["DBInstance"]
    assert modified["DeletionProtection"] is False
    rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)
    with pytest.raises(ClientError) as excinfo:
        rds.describe_db_instances(DBInstanceIdentifier=name)
    assert error_of(excinfo) == ("DBInstanceNotFound", 404)


# ---------------------------------------------------------------- cross-region read replicas
def test_cross_region_read_replica(rds, client, name, subnet_group, parameter_group):
    source = create_instance(rds, name, subnet_group, parameter_group, DeletionProtection=True)
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


def test_deleting_the_source_promotes_the_replica(rds, client, name, subnet_group):
    source = create_instance(rds, name, subnet_group)
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
