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


def test_update_security_changes_client_broker_encryption_in_place(kafka, active_cluster):
    """UpdateSecurity (API reference): client-broker encryption changes in place through a
    cluster operation; encryption at rest and in-cluster encryption cannot change."""
    arn, version = active_cluster["ClusterArn"], active_cluster["CurrentVersion"]
    encryption = active_cluster["Provisioned"]["EncryptionInfo"]
    assert encryption["EncryptionInTransit"]["ClientBroker"] == "TLS"
    bad = [
        {},
        {"EncryptionInTransit": {"ClientBroker": "TLS"}},  # no change
        {"EncryptionInTransit": {"ClientBroker": "SSL"}},
        {"EncryptionInTransit": {"ClientBroker": "TLS_PLAINTEXT", "InCluster": False}},
        {"EncryptionAtRest": {"DataVolumeKMSKeyId": "arn:aws:kms:us-east-1:000000000000:key/other"}},
    ]
    for info in bad:
        with pytest.raises(ClientError) as excinfo:
            kafka.update_security(ClusterArn=arn, CurrentVersion=version, EncryptionInfo=info)
        assert error_of(excinfo) == ("BadRequestException", 400), info
    with pytest.raises(ClientError) as excinfo:  # a stale version
        kafka.update_security(
            ClusterArn=arn, CurrentVersion="KSTALEVERSION1", EncryptionInfo={"EncryptionInTransit": {"ClientBroker": "TLS_PLAINTEXT"}}
        )
    assert error_of(excinfo) == ("BadRequestException", 400)
    op_arn = kafka.update_security(
        ClusterArn=arn, CurrentVersion=version, EncryptionInfo={"EncryptionInTransit": {"ClientBroker": "TLS_PLAINTEXT"}}
    )["ClusterOperationArn"]
    assert state_of(kafka, arn) == "UPDATING"
    op = kafka.describe_cluster_operation(ClusterOperationArn=op_arn)["ClusterOperationInfo"]
    assert op["OperationType"] == "UPDATE_SECURITY"
    assert op["SourceClusterInfo"]["EncryptionInfo"]["EncryptionInTransit"]["ClientBroker"] == "TLS"
    assert op["TargetClusterInfo"]["EncryptionInfo"]["EncryptionInTransit"]["ClientBroker"] == "TLS_PLAINTEXT"
    after = wait_active(kafka, arn)
    transit = after["Provisioned"]["EncryptionInfo"]["EncryptionInTransit"]
    assert transit == {"ClientBroker": "TLS_PLAINTEXT", "InCluster": True}
    assert after["Provisioned"]["EncryptionInfo"]["EncryptionAtRest"] == encryption["EncryptionAtRest"]
    assert after["CurrentVersion"] != version
    assert (after["ClusterArn"], after["CreationTime"]) == (arn, active_cluster["CreationTime"])
    brokers = kafka.get_bootstrap_brokers(ClusterArn=arn)
    assert "BootstrapBrokerString" in brokers and "BootstrapBrokerStringTls" in brokers


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


# ---------------------------------------------------------------- busy and FAILED states
FAIL_TAG = "glinfra:emulator:fail"  # the emulator's failure injection (see README)
STORAGE_COOLDOWN = float(os.environ.get("GLINFRA_EMULATOR_MSK_STORAGE_COOLDOWN_SECONDS") or 6 * 3600)


def operation_of(kafka, arn):
    return kafka.describe_cluster_operation(ClusterOperationArn=arn)["ClusterOperationInfo"]


def gone(kafka, arn):
    try:
        kafka.describe_cluster_v2(ClusterArn=arn)
    except ClientError as e:
        return e.response["Error"]["Code"] == "NotFoundException"
    return False


def test_delete_cluster_while_deleting_is_a_bad_request(kafka, active_cluster):
    """Amazon MSK Developer Guide, "Understand MSK Provisioned cluster states"
    (https://docs.aws.amazon.com/msk/latest/developerguide/msk-cluster-states.html):
    DELETING - "You also can't perform Amazon MSK API operations on it." AWS answers a second
    DeleteCluster with BadRequestException (400) "You can't delete cluster in DELETING state."
    """
    arn = active_cluster["ClusterArn"]
    assert kafka.delete_cluster(ClusterArn=arn)["State"] == "DELETING"  # the neighbour: accepted once
    with pytest.raises(ClientError) as excinfo:
        kafka.delete_cluster(ClusterArn=arn)
    assert error_of(excinfo) == ("BadRequestException", 400)
    assert "DELETING" in excinfo.value.response["Error"]["Message"]
    wait_for(lambda: gone(kafka, arn), timeout=DELETE_SECONDS + SLACK)


def test_a_failed_create_leaves_a_failed_cluster_that_can_only_be_deleted(kafka, name, network):
    """Amazon MSK Developer Guide, "Understand MSK Provisioned cluster states": FAILED - "The
    cluster creation or deletion process failed. You can't use the cluster ... You can delete
    the cluster but can't perform Amazon MSK API or AWS CLI update operations on it." The
    cluster reports why in StateInfo (API reference, DescribeClusterV2: StateInfo Code,
    Message); GetBootstrapBrokers answers "You can't get bootstrap broker nodes for a cluster
    in FAILED state." (400)."""
    arn = kafka.create_cluster_v2(
        ClusterName=name, Provisioned=provisioned(network["subnets"]), Tags={FAIL_TAG: "CREATE"}
    )["ClusterArn"]
    wait_for(lambda: state_of(kafka, arn) == "FAILED", timeout=CREATE_SECONDS + SLACK)
    info = kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    assert info["StateInfo"]["Code"] and info["StateInfo"]["Message"]
    assert kafka.describe_cluster(ClusterArn=arn)["ClusterInfo"]["StateInfo"] == info["StateInfo"]
    create_op = kafka.list_cluster_operations(ClusterArn=arn)["ClusterOperationInfoList"][0]
    assert create_op["OperationType"] == "CREATE"
    assert create_op["OperationState"] == "UPDATE_FAILED"
    assert create_op["ErrorInfo"]["ErrorCode"]
    with pytest.raises(ClientError) as excinfo:
        kafka.get_bootstrap_brokers(ClusterArn=arn)
    assert error_of(excinfo) == ("BadRequestException", 400)
    with pytest.raises(ClientError) as excinfo:
        kafka.update_broker_count(ClusterArn=arn, CurrentVersion=info["CurrentVersion"], TargetNumberOfBrokerNodes=9)
    assert error_of(excinfo) == ("BadRequestException", 400)
    # deleting a FAILED cluster is allowed
    assert kafka.delete_cluster(ClusterArn=arn)["State"] == "DELETING"
    wait_for(lambda: gone(kafka, arn), timeout=DELETE_SECONDS + SLACK)


def test_a_failed_delete_leaves_a_failed_cluster_that_can_be_deleted_again(kafka, active_cluster):
    """Amazon MSK Developer Guide, "Understand MSK Provisioned cluster states": FAILED after a
    failed deletion; "You can delete the cluster"."""
    arn = active_cluster["ClusterArn"]
    kafka.tag_resource(ResourceArn=arn, Tags={FAIL_TAG: "DELETE"})
    kafka.delete_cluster(ClusterArn=arn)
    wait_for(lambda: state_of(kafka, arn) == "FAILED", timeout=DELETE_SECONDS + SLACK)
    assert kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["StateInfo"]["Code"]
    kafka.delete_cluster(ClusterArn=arn)  # the injection fires once
    wait_for(lambda: gone(kafka, arn), timeout=DELETE_SECONDS + SLACK)


def test_a_failed_update_ends_update_failed_and_changes_nothing(kafka, active_cluster):
    """API reference, DescribeClusterOperation
    (https://docs.aws.amazon.com/msk/1.0/apireference/operations-clusteroperationarn.html):
    ClusterOperationInfo OperationState and ErrorInfo ("Describes the error if the operation
    fails"); the cluster leaves UPDATING for ACTIVE (cluster states page) without the change."""
    arn, version = active_cluster["ClusterArn"], active_cluster["CurrentVersion"]
    kafka.tag_resource(ResourceArn=arn, Tags={FAIL_TAG: "UPDATE_BROKER_COUNT"})
    op_arn = kafka.update_broker_count(ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=9)[
        "ClusterOperationArn"
    ]
    assert state_of(kafka, arn) == "UPDATING"
    wait_for(lambda: operation_of(kafka, op_arn)["OperationState"] == "UPDATE_FAILED", timeout=UPDATE_SECONDS + SLACK)
    op = operation_of(kafka, op_arn)
    assert op["ErrorInfo"]["ErrorCode"] and op["ErrorInfo"]["ErrorString"]
    assert "EndTime" in op
    info = kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    assert info["State"] == "ACTIVE"
    assert info["CurrentVersion"] == version
    assert info["Provisioned"]["NumberOfBrokerNodes"] == 6
    # the neighbour case: the same update again (the injection fired once) succeeds
    kafka.update_broker_count(ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=9)
    wait_for(
        lambda: kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["Provisioned"]["NumberOfBrokerNodes"] == 9,
        timeout=UPDATE_SECONDS + SLACK,
    )


# ---------------------------------------------------------------- Kafka versions and configurations
def test_unknown_kafka_versions_are_bad_requests(kafka, name, network):
    """Amazon MSK Developer Guide, "Supported Apache Kafka versions"
    (https://docs.aws.amazon.com/msk/latest/developerguide/supported-kafka-versions.html)."""
    with pytest.raises(ClientError) as excinfo:
        kafka.create_cluster_v2(ClusterName=name, Provisioned=provisioned(network["subnets"], KafkaVersion="3.5.2"))
    assert error_of(excinfo) == ("BadRequestException", 400)
    with pytest.raises(ClientError) as excinfo:
        kafka.create_configuration(Name=f"{name}-cfg", ServerProperties=PROPERTIES, KafkaVersions=["9.9.9"])
    assert error_of(excinfo) == ("BadRequestException", 400)
    # the neighbours: supported versions, KRaft included
    kafka.create_configuration(Name=f"{name}-cfg", ServerProperties=PROPERTIES, KafkaVersions=["3.9.x", "3.9.x.kraft"])
    kafka.create_cluster_v2(ClusterName=name, Provisioned=provisioned(network["subnets"], KafkaVersion="3.9.x.kraft"))


def test_kafka_version_upgrades_only(kafka, active_cluster):
    """Amazon MSK Developer Guide, "Upgrade the Apache Kafka version"
    (https://docs.aws.amazon.com/msk/latest/developerguide/version-upgrades.html): "You can't
    downgrade an existing MSK cluster to an older version of Apache Kafka." and "You can't
    upgrade an existing MSK cluster from a ZooKeeper-based Apache Kafka version to a newer
    version that uses or requires KRaft mode." GetCompatibleKafkaVersions lists the targets."""
    arn, version = active_cluster["ClusterArn"], active_cluster["CurrentVersion"]
    compatible = kafka.get_compatible_kafka_versions(ClusterArn=arn)["CompatibleKafkaVersions"]
    assert compatible[0]["SourceVersion"] == "3.5.1"
    targets = compatible[0]["TargetVersions"]
    assert "3.6.0" in targets and "3.9.x" in targets
    assert "3.4.0" not in targets and "3.9.x.kraft" not in targets and "4.0.x.kraft" not in targets
    for target in ("3.4.0", "2.8.1", "3.9.x.kraft", "4.0.x.kraft", "7.7.7"):
        with pytest.raises(ClientError) as excinfo:
            kafka.update_cluster_kafka_version(ClusterArn=arn, CurrentVersion=version, TargetKafkaVersion=target)
        assert error_of(excinfo) == ("BadRequestException", 400), target
    # the neighbour: an upgrade
    kafka.update_cluster_kafka_version(ClusterArn=arn, CurrentVersion=version, TargetKafkaVersion="3.6.0")
    after = wait_active(kafka, arn)
    assert after["Provisioned"]["CurrentBrokerSoftwareInfo"]["KafkaVersion"] == "3.6.0"


def test_configurations_must_support_the_kafka_version(kafka, name, network, active_cluster):
    """API reference, CreateConfiguration KafkaVersions
    (https://docs.aws.amazon.com/msk/1.0/apireference/configurations.html): "The versions of
    Apache Kafka with which you can use this MSK configuration." A cluster, a configuration
    update or a version upgrade with a configuration of other versions is a BadRequestException."""
    only_36 = kafka.create_configuration(Name=f"{name}-36", ServerProperties=PROPERTIES, KafkaVersions=["3.6.0"])["Arn"]
    only_351 = kafka.create_configuration(Name=f"{name}-351", ServerProperties=PROPERTIES, KafkaVersions=["3.5.1"])["Arn"]
    with pytest.raises(ClientError) as excinfo:  # a 3.5.1 cluster with a 3.6.0 configuration
        kafka.create_cluster_v2(
            ClusterName=f"{name}-x",
            Provisioned=provisioned(network["subnets"], ConfigurationInfo={"Arn": only_36, "Revision": 1}),
        )
    assert error_of(excinfo) == ("BadRequestException", 400)
    arn, version = active_cluster["ClusterArn"], active_cluster["CurrentVersion"]
    with pytest.raises(ClientError) as excinfo:
        kafka.update_cluster_configuration(ClusterArn=arn, CurrentVersion=version, ConfigurationInfo={"Arn": only_36, "Revision": 1})
    assert error_of(excinfo) == ("BadRequestException", 400)
    with pytest.raises(ClientError) as excinfo:  # upgrading to 3.6.0 with a 3.5.1 configuration
        kafka.update_cluster_kafka_version(
            ClusterArn=arn, CurrentVersion=version, TargetKafkaVersion="3.6.0", ConfigurationInfo={"Arn": only_351, "Revision": 1}
        )
    assert error_of(excinfo) == ("BadRequestException", 400)
    # the neighbour: upgrading with a configuration of the target version
    kafka.update_cluster_kafka_version(
        ClusterArn=arn, CurrentVersion=version, TargetKafkaVersion="3.6.0", ConfigurationInfo={"Arn": only_36, "Revision": 1}
    )
    software = wait_active(kafka, arn)["Provisioned"]["CurrentBrokerSoftwareInfo"]
    assert software == {"ConfigurationArn": only_36, "ConfigurationRevision": 1, "KafkaVersion": "3.6.0"}


# ---------------------------------------------------------------- broker sizes
def test_broker_size_changes_aws_allows(kafka, active_cluster):
    """Amazon MSK Developer Guide, "Update the Amazon MSK cluster broker size"
    (https://docs.aws.amazon.com/msk/latest/developerguide/msk-update-broker-type.html): "For
    Standard brokers, you can update your cluster broker size from M5 or T3 to M7g, T3 to M5,
    or from M7g to M5. ... You can't migrate from a larger broker size to a smaller broker
    size. For example, M7g.large to T3.small."; "Amazon MSK broker types": a Provisioned
    cluster can't be switched between Standard and Express brokers; "Amazon MSK broker sizes"
    lists the sizes."""
    arn, version = active_cluster["ClusterArn"], active_cluster["CurrentVersion"]
    for target in ("kafka.t3.small", "express.m7g.large", "kafka.m6i.large", "kafka.m5.48xlarge"):
        with pytest.raises(ClientError) as excinfo:
            kafka.update_broker_type(ClusterArn=arn, CurrentVersion=version, TargetInstanceType=target)
        assert error_of(excinfo) == ("BadRequestException", 400), target
    # the neighbour: M5 to M7g (Kafka 3.5.1 supports M7g)
    kafka.update_broker_type(ClusterArn=arn, CurrentVersion=version, TargetInstanceType="kafka.m7g.xlarge")
    after = wait_active(kafka, arn)
    assert after["Provisioned"]["BrokerNodeGroupInfo"]["InstanceType"] == "kafka.m7g.xlarge"


def test_broker_sizes_at_create(kafka, name, network):
    """Amazon MSK Developer Guide, "Amazon MSK broker sizes"
    (https://docs.aws.amazon.com/msk/latest/developerguide/broker-instance-sizes.html): the
    sizes; "Amazon MSK supports M7g brokers on MSK Provisioned clusters running Kafka versions
    2.8.2 and 3.3.2 and later"; "Amazon MSK broker types": Express brokers start at Kafka 3.6."""
    def bngi(instance_type):
        return {"InstanceType": instance_type, "ClientSubnets": network["subnets"]}

    for instance_type, version in (("kafka.m6i.large", "3.5.1"), ("kafka.m7g.large", "3.1.1"), ("express.m7g.large", "3.5.1")):
        with pytest.raises(ClientError) as excinfo:
            kafka.create_cluster_v2(
                ClusterName=name,
                Provisioned={"BrokerNodeGroupInfo": bngi(instance_type), "KafkaVersion": version, "NumberOfBrokerNodes": 3},
            )
        assert error_of(excinfo) == ("BadRequestException", 400), instance_type
    # the neighbours
    for i, (instance_type, version) in enumerate((("kafka.m7g.large", "3.3.2"), ("express.m7g.large", "3.6.0"), ("kafka.t3.small", "3.5.1"))):
        kafka.create_cluster_v2(
            ClusterName=f"{name}-{i}",
            Provisioned={"BrokerNodeGroupInfo": bngi(instance_type), "KafkaVersion": version, "NumberOfBrokerNodes": 3},
        )


# ---------------------------------------------------------------- storage
def test_storage_scaling_has_a_cool_down(kafka, active_cluster):
    """Amazon MSK Developer Guide, "Manual scaling for Standard brokers"
    (https://docs.aws.amazon.com/msk/latest/developerguide/manually-expand-storage.html):
    "Storage scaling has a cool-down period of at least six hours between events."
    (GLINFRA_EMULATOR_MSK_STORAGE_COOLDOWN_SECONDS, default 21600.) Other updates are not
    cooled down."""
    arn = active_cluster["ClusterArn"]

    def storage(version, size):
        return kafka.update_broker_storage(
            ClusterArn=arn, CurrentVersion=version, TargetBrokerEBSVolumeInfo=[{"KafkaBrokerNodeId": "All", "VolumeSizeGB": size}]
        )

    storage(active_cluster["CurrentVersion"], 1500)
    version = wait_active(kafka, arn)["CurrentVersion"]
    scaled_at = time.monotonic()  # the cool-down counts from the scaling's completion
    if STORAGE_COOLDOWN > 60:
        with pytest.raises(ClientError) as excinfo:
            storage(version, 2000)
        assert error_of(excinfo) == ("BadRequestException", 400)
        # the neighbour: another kind of update meanwhile is accepted
        kafka.update_broker_count(ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=9)
        assert wait_active(kafka, arn)["Provisioned"]["NumberOfBrokerNodes"] == 9
    else:  # a short cool-down configured: wait for it, then the next scaling is accepted
        time.sleep(max(0.0, STORAGE_COOLDOWN - (time.monotonic() - scaled_at)) + 0.5)
        storage(version, 2000)
        assert wait_active(kafka, arn)["Provisioned"]["BrokerNodeGroupInfo"]["StorageInfo"]["EbsStorageInfo"]["VolumeSize"] == 2000


def test_express_brokers_have_no_customer_managed_storage(kafka, name, network):
    """Amazon MSK Developer Guide, "Amazon MSK broker types"
    (https://docs.aws.amazon.com/msk/latest/developerguide/broker-instance-types.html):
    Express brokers' storage management is "Fully MSK managed"."""
    arn = kafka.create_cluster_v2(
        ClusterName=name,
        Provisioned={
            "BrokerNodeGroupInfo": {"InstanceType": "express.m7g.large", "ClientSubnets": network["subnets"]},
            "KafkaVersion": "3.6.0",
            "NumberOfBrokerNodes": 3,
        },
    )["ClusterArn"]
    info = wait_active(kafka, arn)
    with pytest.raises(ClientError) as excinfo:
        kafka.update_broker_storage(
            ClusterArn=arn,
            CurrentVersion=info["CurrentVersion"],
            TargetBrokerEBSVolumeInfo=[{"KafkaBrokerNodeId": "All", "VolumeSizeGB": 2000}],
        )
    assert error_of(excinfo) == ("BadRequestException", 400)


# ---------------------------------------------------------------- subnets and Availability Zones
def test_client_subnets_are_two_or_three_in_distinct_availability_zones(kafka, client, name):
    """Amazon MSK Developer Guide, "Create an MSK Provisioned cluster"
    (https://docs.aws.amazon.com/msk/latest/developerguide/msk-create-cluster.html): "you can
    specify either two or three subnets. Your subnets must all be in different Availability
    Zones. For Express brokers, you need three subnets in three different Availability Zones.
    ... Amazon MSK distributes the broker nodes evenly over the subnets"; API reference,
    BrokerNodeGroupInfo ClientSubnets: "Client subnets can't occupy the Availability Zone with
    ID use1-az3"."""
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    other_vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]

    def subnet(vpc_id, cidr, zone):
        return ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=f"us-east-1{zone}")["Subnet"]["SubnetId"]

    a, a2, b, c, d, e = (subnet(vpc, f"10.1.{i * 16}.0/20", z) for i, z in enumerate("aabcde"))
    elsewhere = subnet(other_vpc, "10.2.0.0/20", "b")

    def create(subnets, brokers=6, instance_type="kafka.m5.large", version="3.5.1"):
        return kafka.create_cluster_v2(
            ClusterName=name,
            Provisioned={
                "BrokerNodeGroupInfo": {"InstanceType": instance_type, "ClientSubnets": subnets},
                "KafkaVersion": version,
                "NumberOfBrokerNodes": brokers,
            },
        )

    for subnets, brokers, extra in (
        ([a, a2], 2, {}),  # one Availability Zone twice
        ([a, b, c, d], 8, {}),  # four subnets
        ([a], 2, {}),  # one subnet
        ([a, e], 2, {}),  # us-east-1e is use1-az3
        ([a, elsewhere], 2, {}),  # two VPCs
        ([a, "subnet-0000000000000000f"], 2, {}),  # no such subnet
        ([a, b], 3, {}),  # brokers not spread evenly
        ([a, b], 2, {"instance_type": "express.m7g.large", "version": "3.6.0"}),  # Express: three
    ):
        with pytest.raises(ClientError) as excinfo:
            create(subnets, brokers, **extra)
        assert error_of(excinfo) == ("BadRequestException", 400), (subnets, brokers)
    # the neighbour: two subnets in two Availability Zones, brokers spread evenly
    assert create([a, b], 4)["State"] == "CREATING"
