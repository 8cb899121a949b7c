"""MSK (kafka) gap fills: cluster lifecycle, configurations, bootstrap brokers, updates,
cluster operations, tags."""

import os
import time

import pytest
from botocore.exceptions import ClientError

from conftest import error_of, wait_for

pytestmark = pytest.mark.glinfra_provider

CREATE_SECONDS = float(os.environ.get("GLINFRA_EMULATOR_MSK_CREATE_SECONDS") or 2)
UPDATE_SECONDS = float(os.environ.get("GLINFRA_EMULATOR_MSK_UPDATE_SECONDS") or CREATE_SECONDS)
DELETE_SECONDS = float(os.environ.get("GLINFRA_EMULATOR_MSK_DELETE_SECONDS") or CREATE_SECONDS)
SLACK = 5.0  # generous upper bound for a loaded 2-core machine

PROPERTIES = b"auto.create.topics.enable=false\nmin.insync.replicas=2\ndefault.replication.factor=3\n"


@pytest.fixture
def kafka(client):
    return client("kafka")


def provisioned(subnets, **extra):
    spec = {
        "BrokerNodeGroupInfo": {
            "InstanceType": "kafka.m5.2xlarge",
            "ClientSubnets": subnets,
            "SecurityGroups": ["sg-0123456789abcdef0"],
            "StorageInfo": {"EbsStorageInfo": {"VolumeSize": 1000}},
        },
        "KafkaVersion": "3.5.1",
        "NumberOfBrokerNodes": 6,
    }
    spec.update(extra)
    return spec


def state_of(kafka, arn):
    return kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["State"]


def wait_active(kafka, arn):
    wait_for(lambda: state_of(kafka, arn) == "ACTIVE", timeout=CREATE_SECONDS + UPDATE_SECONDS + SLACK + 10)
    return kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]


@pytest.fixture
def configuration(kafka, name):
    return kafka.create_configuration(
        Name=f"{name}-cfg", ServerProperties=PROPERTIES, KafkaVersions=["3.5.1"], Description="glinfra test"
    )


@pytest.fixture
def active_cluster(kafka, name, network):
    arn = kafka.create_cluster_v2(ClusterName=name, Provisioned=provisioned(network["subnets"]))["ClusterArn"]
    return wait_active(kafka, arn)


# ---------------------------------------------------------------- lifecycle
def test_create_cluster_v2_is_creating_then_active_after_the_configured_time(kafka, name, network):
    started = time.monotonic()
    created = kafka.create_cluster_v2(ClusterName=name, Provisioned=provisioned(network["subnets"]))
    assert created["State"] == "CREATING"
    assert created["ClusterType"] == "PROVISIONED"
    assert created["ClusterName"] == name
    arn = created["ClusterArn"]
    assert arn.startswith(f"arn:aws:kafka:us-east-1:") and f":cluster/{name}/" in arn
    assert state_of(kafka, arn) == "CREATING"
    wait_for(lambda: state_of(kafka, arn) == "ACTIVE", timeout=CREATE_SECONDS + SLACK)
    elapsed = time.monotonic() - started
    assert CREATE_SECONDS - 0.3 <= elapsed <= CREATE_SECONDS + SLACK
    info = kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    assert "ActiveOperationArn" not in info


def test_delete_cluster_is_deleting_then_gone(kafka, active_cluster):
    arn = active_cluster["ClusterArn"]
    deleted = kafka.delete_cluster(ClusterArn=arn, CurrentVersion=active_cluster["CurrentVersion"])
    assert deleted["State"] == "DELETING"
    assert state_of(kafka, arn) == "DELETING"

    def gone():
        try:
            kafka.describe_cluster_v2(ClusterArn=arn)
        except ClientError as e:
            return e.response["Error"]["Code"] == "NotFoundException"
        return False

    wait_for(gone, timeout=DELETE_SECONDS + SLACK)
    assert arn not in [c["ClusterArn"] for c in kafka.list_clusters_v2()["ClusterInfoList"]]


def test_delete_cluster_with_a_stale_version_is_a_bad_request(kafka, active_cluster):
    with pytest.raises(ClientError) as excinfo:
        kafka.delete_cluster(ClusterArn=active_cluster["ClusterArn"], CurrentVersion="KSTALEVERSION1")
    assert error_of(excinfo) == ("BadRequestException", 400)


def test_unknown_cluster_is_not_found(kafka, name):
    arn = f"arn:aws:kafka:us-east-1:000000000000:cluster/{name}/9d3c5a0e-1111-2222-3333-444444444444-1"
    for call in (kafka.describe_cluster, kafka.describe_cluster_v2, kafka.get_bootstrap_brokers, kafka.list_cluster_operations):
        with pytest.raises(ClientError) as excinfo:
            call(ClusterArn=arn)
        assert error_of(excinfo) == ("NotFoundException", 404)


def test_duplicate_cluster_name_conflicts(kafka, name, network):
    kafka.create_cluster_v2(ClusterName=name, Provisioned=provisioned(network["subnets"]))
    with pytest.raises(ClientError) as excinfo:
        kafka.create_cluster_v2(ClusterName=name, Provisioned=provisioned(network["subnets"]))
    assert error_of(excinfo) == ("ConflictException", 409)


def test_broker_count_must_be_a_multiple_of_the_subnets(kafka, name, network):
    with pytest.raises(ClientError) as excinfo:
        kafka.create_cluster_v2(ClusterName=name, Provisioned=provisioned(network["subnets"], NumberOfBrokerNodes=4))
    assert error_of(excinfo) == ("BadRequestException", 400)


# ---------------------------------------------------------------- what create keeps
def test_create_cluster_v2_keeps_configuration_encryption_and_broker_settings(kafka, name, network, configuration):
    config_info = {"Arn": configuration["Arn"], "Revision": 1}
    encryption = {
        "EncryptionAtRest": {"DataVolumeKMSKeyId": "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
        "EncryptionInTransit": {"ClientBroker": "TLS", "InCluster": True},
    }
    auth = {"Sasl": {"Iam": {"Enabled": True}, "Scram": {"Enabled": False}}, "Tls": {"Enabled": False}, "Unauthenticated": {"Enabled": False}}
    arn = kafka.create_cluster_v2(
        ClusterName=name,
        Provisioned=provisioned(
            network["subnets"],
            ConfigurationInfo=config_info,
            EncryptionInfo=encryption,
            ClientAuthentication=auth,
            EnhancedMonitoring="PER_TOPIC_PER_BROKER",
        ),
        Tags={"glinfra:owner": name},
    )["ClusterArn"]
    info = kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    p = info["Provisioned"]
    assert p["BrokerNodeGroupInfo"]["InstanceType"] == "kafka.m5.2xlarge"
    assert p["BrokerNodeGroupInfo"]["ClientSubnets"] == network["subnets"]
    assert p["BrokerNodeGroupInfo"]["SecurityGroups"] == ["sg-0123456789abcdef0"]
    assert p["BrokerNodeGroupInfo"]["StorageInfo"]["EbsStorageInfo"]["VolumeSize"] == 1000
    assert p["NumberOfBrokerNodes"] == 6
    assert p["EncryptionInfo"] == encryption
    assert p["ClientAuthentication"]["Sasl"]["Iam"]["Enabled"] is True
    assert p["EnhancedMonitoring"] == "PER_TOPIC_PER_BROKER"
    assert p["CurrentBrokerSoftwareInfo"] == {
        "ConfigurationArn": configuration["Arn"],
        "ConfigurationRevision": 1,
        "KafkaVersion": "3.5.1",
    }
    assert info["Tags"] == {"glinfra:owner": name}
    assert kafka.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"glinfra:owner": name}


def test_create_cluster_v1_keeps_its_settings_and_defaults_encryption(kafka, name, network, configuration):
    arn = kafka.create_cluster(
        ClusterName=name,
        BrokerNodeGroupInfo={
            "InstanceType": "kafka.m5.large",
            "ClientSubnets": network["subnets"],
            "StorageInfo": {"EbsStorageInfo": {"VolumeSize": 500}},
        },
        KafkaVersion="3.5.1",
        NumberOfBrokerNodes=3,
        ConfigurationInfo={"Arn": configuration["Arn"], "Revision": 1},
    )["ClusterArn"]
    info = kafka.describe_cluster(ClusterArn=arn)["ClusterInfo"]
    assert info["State"] == "CREATING"
    assert info["BrokerNodeGroupInfo"]["InstanceType"] == "kafka.m5.large"
    assert info["BrokerNodeGroupInfo"]["StorageInfo"]["EbsStorageInfo"]["VolumeSize"] == 500
    assert info["CurrentBrokerSoftwareInfo"]["ConfigurationArn"] == configuration["Arn"]
    # AWS defaults: an AWS-managed key at rest, TLS between clients and brokers
    assert info["EncryptionInfo"]["EncryptionAtRest"]["DataVolumeKMSKeyId"].startswith("arn:aws:kms:us-east-1:")
    assert info["EncryptionInfo"]["EncryptionInTransit"] == {"ClientBroker": "TLS", "InCluster": True}
    assert name in [c["ClusterName"] for c in kafka.list_clusters(ClusterNameFilter=name)["ClusterInfoList"]]


def test_create_cluster_with_an_unknown_configuration_is_a_bad_request(kafka, name, network):
    bogus = {"Arn": f"arn:aws:kafka:us-east-1:000000000000:configuration/{name}/abc-1", "Revision": 1}
    with pytest.raises(ClientError) as excinfo:
        kafka.create_cluster_v2(ClusterName=name, Provisioned=provisioned(network["subnets"], ConfigurationInfo=bogus))
    assert error_of(excinfo) == ("BadRequestException", 400)


# ---------------------------------------------------------------- configurations
def test_configuration_lifecycle(kafka, name, configuration):
    arn = configuration["Arn"]
    assert configuration["Name"] == f"{name}-cfg"
    assert configuration["State"] == "ACTIVE"
    assert configuration["LatestRevision"]["Revision"] == 1

    described = kafka.describe_configuration(Arn=arn)
    assert described["KafkaVersions"] == ["3.5.1"]
    assert described["Description"] == "glinfra test"
    assert described["LatestRevision"]["Revision"] == 1

    revision = kafka.describe_configuration_revision(Arn=arn, Revision=1)
    assert revision["ServerProperties"] == PROPERTIES
    assert revision["Revision"] == 1

    updated = kafka.update_configuration(Arn=arn, ServerProperties=b"min.insync.replicas=1\n", Description="second")
    assert updated["LatestRevision"]["Revision"] == 2
    assert kafka.describe_configuration(Arn=arn)["LatestRevision"]["Revision"] == 2
    assert kafka.describe_configuration_revision(Arn=arn, Revision=2)["ServerProperties"] == b"min.insync.replicas=1\n"
    assert [r["Revision"] for r in kafka.list_configuration_revisions(Arn=arn)["Revisions"]] == [1, 2]
    assert arn in [c["Arn"] for c in kafka.list_configurations()["Configurations"]]

    deleted = kafka.delete_configuration(Arn=arn)
    assert deleted == {**deleted, "Arn": arn, "State": "DELETING"}
    with pytest.raises(ClientError) as excinfo:
        kafka.describe_configuration(Arn=arn)
    assert error_of(excinfo) == ("NotFoundException", 404)


def test_configuration_errors(kafka, name, configuration):
    arn = configuration["Arn"]
    with pytest.raises(ClientError) as excinfo:
        kafka.create_configuration(Name=f"{name}-cfg", ServerProperties=PROPERTIES)
    assert error_of(excinfo) == ("ConflictException", 409)
    with pytest.raises(ClientError) as excinfo:
        kafka.describe_configuration_revision(Arn=arn, Revision=7)
    assert error_of(excinfo) == ("NotFoundException", 404)
    missing = arn.replace(f"{name}-cfg", f"{name}-nope")
    for call, kwargs in (
        (kafka.describe_configuration, {}),
        (kafka.update_configuration, {"ServerProperties": PROPERTIES}),
        (kafka.delete_configuration, {}),
    ):
        with pytest.raises(ClientError) as excinfo:
            call(Arn=missing, **kwargs)
        assert error_of(excinfo) == ("NotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        kafka.create_configuration(Name=f"{name}-bad", ServerProperties=b"this is not a property line")
    assert error_of(excinfo) == ("BadRequestException", 400)


def test_configuration_in_use_cannot_be_deleted(kafka, name, network, configuration):
    kafka.create_cluster_v2(
        ClusterName=name,
        Provisioned=provisioned(network["subnets"], ConfigurationInfo={"Arn": configuration["Arn"], "Revision": 1}),
    )
    with pytest.raises(ClientError) as excinfo:
        kafka.delete_configuration(Arn=configuration["Arn"])
    assert error_of(excinfo) == ("BadRequestException", 400)


# ---------------------------------------------------------------- bootstrap brokers
def test_bootstrap_brokers_tls(kafka, active_cluster):
    brokers = kafka.get_bootstrap_brokers(ClusterArn=active_cluster["ClusterArn"])
    tls = brokers["BootstrapBrokerStringTls"].split(",")
    assert len(tls) == 3
    assert all(h.startswith(f"b-{i + 1}.") and h.endswith(".kafka.us-east-1.amazonaws.com:9094") for i, h in enumerate(tls))
    assert "BootstrapBrokerString" not in brokers  # TLS only by default


def test_bootstrap_brokers_sasl_iam_and_plaintext(kafka, name, network):
    arn = kafka.create_cluster_v2(
        ClusterName=name,
        Provisioned=provisioned(
            network["subnets"],
            ClientAuthentication={"Sasl": {"Iam": {"Enabled": True}}, "Unauthenticated": {"Enabled": False}},
            EncryptionInfo={"EncryptionInTransit": {"ClientBroker": "TLS_PLAINTEXT", "InCluster": True}},
        ),
    )["ClusterArn"]
    wait_active(kafka, arn)
    brokers = kafka.get_bootstrap_brokers(ClusterArn=arn)
    assert brokers["BootstrapBrokerStringSaslIam"].endswith(":9098")
    assert brokers["BootstrapBrokerString"].endswith(":9092")


def test_bootstrap_brokers_while_creating_is_a_bad_request(kafka, name, network):
    arn = kafka.create_cluster_v2(ClusterName=name, Provisioned=provisioned(network["subnets"]))["ClusterArn"]
    with pytest.raises(ClientError) as excinfo:
        kafka.get_bootstrap_brokers(ClusterArn=arn)
    assert error_of(excinfo) == ("BadRequestException", 400)


# ---------------------------------------------------------------- updates and operations
def test_update_broker_count_runs_an_operation(kafka, active_cluster):
    arn, version = active_cluster["ClusterArn"], active_cluster["CurrentVersion"]
    result = kafka.update_broker_count(ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=9)
    assert result["ClusterArn"] == arn
    op_arn = result["ClusterOperationArn"]
    assert ":cluster-operation/" in op_arn
    info = kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    assert info["State"] == "UPDATING"
    assert info["ActiveOperationArn"] == op_arn
    assert info["Provisioned"]["NumberOfBrokerNodes"] == 6  # applied when the operation completes
    op = kafka.describe_cluster_operation(ClusterOperationArn=op_arn)["ClusterOperationInfo"]
    assert op["OperationType"] == "UPDATE_BROKER_COUNT"
    assert op["OperationState"] in ("PENDING", "UPDATE_IN_PROGRESS")
    assert op["SourceClusterInfo"]["NumberOfBrokerNodes"] == 6
    assert op["TargetClusterInfo"]["NumberOfBrokerNodes"] == 9

    # a second update while UPDATING is refused
    with pytest.raises(ClientError) as excinfo:
        kafka.update_broker_count(ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=12)
    assert error_of(excinfo) == ("BadRequestException", 400)

    after = wait_active(kafka, arn)
    assert after["Provisioned"]["NumberOfBrokerNodes"] == 9
    assert after["CurrentVersion"] != version
    op = kafka.describe_cluster_operation(ClusterOperationArn=op_arn)["ClusterOperationInfo"]
    assert op["OperationState"] == "UPDATE_COMPLETE"
    assert "EndTime" in op
    ops = kafka.list_cluster_operations(ClusterArn=arn)["ClusterOperationInfoList"]
    assert [o["OperationType"] for o in ops] == ["UPDATE_BROKER_COUNT", "CREATE"]


def test_updates_check_the_current_version(kafka, active_cluster):
    arn = active_cluster["ClusterArn"]
    calls = [
        lambda v: kafka.update_broker_count(ClusterArn=arn, CurrentVersion=v, TargetNumberOfBrokerNodes=9),
        lambda v: kafka.update_broker_storage(
            ClusterArn=arn, CurrentVersion=v, TargetBrokerEBSVolumeInfo=[{"KafkaBrokerNodeId": "All", "VolumeSizeGB": 2000}]
        ),
        lambda v: kafka.update_broker_type(ClusterArn=arn, CurrentVersion=v, TargetInstanceType="kafka.m5.4xlarge"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as excinfo:
            call("KSTALEVERSION1")
        assert error_of(excinfo) == ("BadRequestException", 400)


def test_update_on_a_creating_cluster_is_a_bad_request(kafka, name, network):
    created = kafka.create_cluster_v2(ClusterName=name, Provisioned=provisioned(network["subnets"]))
    version = kafka.describe_cluster_v2(ClusterArn=created["ClusterArn"])["ClusterInfo"]["CurrentVersion"]
    with pytest.raises(ClientError) as excinfo:
        kafka.update_broker_count(ClusterArn=created["ClusterArn"], CurrentVersion=version, TargetNumberOfBrokerNodes=9)
    assert error_of(excinfo) == ("BadRequestException", 400)


def test_update_broker_storage(kafka, active_cluster):
    arn, version = active_cluster["ClusterArn"], active_cluster["CurrentVersion"]
    with pytest.raises(ClientError) as excinfo:  # storage only grows
        kafka.update_broker_storage(
            ClusterArn=arn, CurrentVersion=version, TargetBrokerEBSVolumeInfo=[{"KafkaBrokerNodeId": "All", "VolumeSizeGB": 500}]
        )
    assert error_of(excinfo) == ("BadRequestException", 400)
    op_arn = kafka.update_broker_storage(
        ClusterArn=arn, CurrentVersion=version, TargetBrokerEBSVolumeInfo=[{"KafkaBrokerNodeId": "All", "VolumeSizeGB": 2000}]
    )["ClusterOperationArn"]
    after = wait_active(kafka, arn)
    assert after["Provisioned"]["BrokerNodeGroupInfo"]["StorageInfo"]["EbsStorageInfo"]["VolumeSize"] == 2000
    op = kafka.describe_cluster_operation(ClusterOperationArn=op_arn)["ClusterOperationInfo"]
    assert op["OperationType"] == "UPDATE_BROKER_STORAGE"
    assert op["OperationState"] == "UPDATE_COMPLETE"


def test_update_cluster_configuration(kafka, active_cluster, configuration):
    arn, version = active_cluster["ClusterArn"], active_cluster["CurrentVersion"]
    kafka.update_configuration(Arn=configuration["Arn"], ServerProperties=b"min.insync.replicas=1\n")
    op_arn = kafka.update_cluster_configuration(
        ClusterArn=arn, CurrentVersion=version, ConfigurationInfo={"Arn": configuration["Arn"], "Revision": 2}
    )["ClusterOperationArn"]
    after = wait_active(kafka, arn)
    software = after["Provisioned"]["CurrentBrokerSoftwareInfo"]
    assert software["ConfigurationArn"] == configuration["Arn"]
    assert software["ConfigurationRevision"] == 2
    op = kafka.describe_cluster_operation(ClusterOperationArn=op_arn)["ClusterOperationInfo"]
    assert op["OperationType"] == "UPDATE_CLUSTER_CONFIGURATION"
    assert op["TargetClusterInfo"]["ConfigurationInfo"] == {"Arn": configuration["Arn"], "Revision": 2}


def test_update_cluster_configuration_errors(kafka, active_cluster, configuration):
    arn, version = active_cluster["ClusterArn"], active_cluster["CurrentVersion"]
    missing = configuration["Arn"].replace("-cfg/", "-nope/")
    with pytest.raises(ClientError) as excinfo:
        kafka.update_cluster_configuration(ClusterArn=arn, CurrentVersion=version, ConfigurationInfo={"Arn": missing, "Revision": 1})
    assert error_of(excinfo) == ("NotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        kafka.update_cluster_configuration(
            ClusterArn=arn, CurrentVersion=version, ConfigurationInfo={"Arn": configuration["Arn"], "Revision": 5}
        )
    assert error_of(excinfo) == ("BadRequestException", 400)


def test_unknown_cluster_operation_is_not_found(kafka, name):
    with pytest.raises(ClientError) as excinfo:
        kafka.describe_cluster_operation(
            ClusterOperationArn=f"arn:aws:kafka:us-east-1:000000000000:cluster-operation/{name}/x-1/y"
        )
    assert error_of(excinfo) == ("NotFoundException", 404)


def test_tags(kafka, active_cluster):
    arn = active_cluster["ClusterArn"]
    kafka.tag_resource(ResourceArn=arn, Tags={"env": "test", "team": "infra"})
    kafka.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert kafka.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"env": "test"}
    with pytest.raises(ClientError) as excinfo:
        kafka.list_tags_for_resource(ResourceArn=arn + "x")
    assert error_of(excinfo) == ("NotFoundException", 404)
