"""Each of the four Pro-only services answers through glinfra's provider (LocalStack
community alone answers 501 for them), with AWS's error codes."""

import os

import pytest
from botocore.exceptions import ClientError

from conftest import error_of

LIST_CALLS = [
    ("eks", "list_clusters", {}),
    ("rds", "describe_db_instances", {}),
    ("elasticache", "describe_replication_groups", {}),
    ("kafka", "list_clusters_v2", {}),
]

NOT_FOUND_CALLS = [
    ("eks", "describe_cluster", {"name": "gl-missing-cluster"}, "ResourceNotFoundException", 404),
    ("rds", "describe_db_instances", {"DBInstanceIdentifier": "gl-missing-db"}, "DBInstanceNotFound", 404),
    (
        "elasticache",
        "describe_replication_groups",
        {"ReplicationGroupId": "gl-missing-rg"},
        "ReplicationGroupNotFoundFault",
        404,
    ),
    pytest.param(
        "kafka",
        "describe_cluster_v2",
        {"ClusterArn": "arn:aws:kafka:us-east-1:000000000000:cluster/gl-missing/0c5b6c8e-0000-0000-0000-000000000000-1"},
        "NotFoundException",
        404,
        marks=pytest.mark.glinfra_provider,  # moto fails with a server error here
    ),
]


@pytest.mark.parametrize("service,call,kwargs", LIST_CALLS, ids=[c[0] for c in LIST_CALLS])
def test_service_answers(client, service, call, kwargs):
    response = getattr(client(service), call)(**kwargs)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.parametrize(
    "service,call,kwargs,code,status", NOT_FOUND_CALLS, ids=["eks", "rds", "elasticache", "kafka"]
)
def test_errors_carry_aws_codes(client, service, call, kwargs, code, status):
    with pytest.raises(ClientError) as excinfo:
        getattr(client(service), call)(**kwargs)
    assert error_of(excinfo) == (code, status)


@pytest.mark.parametrize("service", ["eks", pytest.param("kafka", marks=pytest.mark.glinfra_provider)])
def test_rest_json_errors_carry_the_error_type_header(client, service):
    """The pitfall of emulators.md: re-parsed moto errors lost X-Amzn-ErrorType."""
    c = client(service)
    with pytest.raises(ClientError) as excinfo:
        if service == "eks":
            c.describe_nodegroup(clusterName="gl-missing-cluster", nodegroupName="ng")
        else:
            c.describe_configuration(Arn="arn:aws:kafka:us-east-1:000000000000:configuration/gl-missing/x-1")
    headers = excinfo.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers.get("x-amzn-errortype", "").split(":")[0] == excinfo.value.response["Error"]["Code"]
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_emulator_kind_is_exported():
    assert os.environ.get("GLINFRA_EMULATOR") in ("localstack", "moto")
