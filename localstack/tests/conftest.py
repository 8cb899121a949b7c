"""Shared fixtures: boto3 clients for the running emulator (AWS_ENDPOINT_URL, as exported
by localstack/up) and unique names, so the tests can share one emulator with other users."""

from __future__ import annotations

import os
import time
import uuid

import boto3
import pytest
from botocore.config import Config

REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "glinfra_provider: needs glinfra's LocalStack provider package (not active in the moto fallback)",
    )


@pytest.fixture(scope="session")
def endpoint() -> str:
    url = os.environ.get("AWS_ENDPOINT_URL")
    if not url:
        pytest.fail('AWS_ENDPOINT_URL is not set: run eval "$(localstack/up)" first, or use localstack/test')
    return url


@pytest.fixture(scope="session")
def client(endpoint):
    """client("rds") or client("rds", "eu-west-1"): a boto3 client for the emulator."""
    cache = {}

    def make(service: str, region: str = REGION):
        key = (service, region)
        if key not in cache:
            cache[key] = boto3.client(
                service,
                endpoint_url=endpoint,
                region_name=region,
                aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
                aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
                config=Config(retries={"max_attempts": 1, "mode": "standard"}),
            )
        return cache[key]

    return make


@pytest.fixture
def name():
    """A unique resource name (letters, digits, hyphens; starts with a letter)."""
    return f"gl-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def network(client):
    """A VPC with three subnets in three AZs of the default region."""
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i * 16}.0/20", AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
        for i, az in enumerate("abc")
    ]
    return {"vpc": vpc, "subnets": subnets}


@pytest.fixture
def eks(client):
    return client("eks")


EKS_ROLE = "arn:aws:iam::000000000000:role/glinfra-eks"


def create_eks_cluster(eks, name: str, network: dict, version: str, **vpc) -> str:
    """Creates the EKS cluster ``name`` in the shared network's subnets (``vpc``: more of
    its resourcesVpcConfig) and returns its name."""
    eks.create_cluster(
        name=name,
        version=version,
        roleArn=EKS_ROLE,
        resourcesVpcConfig={"subnetIds": network["subnets"], **vpc},
    )
    return name


def error_of(excinfo) -> tuple[str, int]:
    """(error code, HTTP status) of a botocore ClientError."""
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2):
    """Polls predicate() until it returns a truthy value; returns it, or fails after timeout."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)
