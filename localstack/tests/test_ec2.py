"""EC2 gap fills: deleting a NAT gateway disassociates its elastic IP, and
DescribeVpcEndpoints takes the `vpc-endpoint-id` filter, as on AWS."""

import pytest


@pytest.mark.glinfra_provider
def test_deleting_a_nat_gateway_frees_its_address_for_a_new_one(client, name):
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.0.0/20")["Subnet"]["SubnetId"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    first = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=allocation)["NatGateway"]["NatGatewayId"]
    assert ec2.describe_addresses(AllocationIds=[allocation])["Addresses"][0].get("AssociationId")

    ec2.delete_nat_gateway(NatGatewayId=first)

    address = ec2.describe_addresses(AllocationIds=[allocation])["Addresses"][0]
    assert not address.get("AssociationId")
    second = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=allocation)["NatGateway"]
    assert second["NatGatewayId"] != first
    ec2.delete_nat_gateway(NatGatewayId=second["NatGatewayId"])
    ec2.release_address(AllocationId=allocation)
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


@pytest.mark.glinfra_provider
def test_endpoints_are_filtered_by_id_and_an_unknown_id_is_no_error(client, name):
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.78.0.0/16")["Vpc"]["VpcId"]
    made = [
        ec2.create_vpc_endpoint(
            VpcId=vpc, ServiceName=f"com.amazonaws.us-east-1.{service}", VpcEndpointType="Gateway"
        )["VpcEndpoint"]["VpcEndpointId"]
        for service in ("s3", "dynamodb")
    ]
    unknown = "vpce-0123456789abcdef0"

    def described(**kwargs):
        return sorted(e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints(**kwargs)["VpcEndpoints"])

    assert described(Filters=[{"Name": "vpc-endpoint-id", "Values": [made[0], unknown]}]) == [made[0]]
    assert described(Filters=[{"Name": "vpc-endpoint-id", "Values": made}]) == sorted(made)
    # Other filters still apply beside it.
    assert described(
        Filters=[
            {"Name": "vpc-endpoint-id", "Values": made},
            {"Name": "vpc-endpoint-type", "Values": ["Interface"]},
        ]
    ) == []
    # Ids given as VpcEndpointIds still fail on an unknown one, as on AWS.
    with pytest.raises(ec2.exceptions.ClientError) as failed:
        ec2.describe_vpc_endpoints(VpcEndpointIds=[made[0], unknown])
    assert "NotFound" in failed.value.response["Error"]["Code"]
    ec2.delete_vpc_endpoints(VpcEndpointIds=made)
    ec2.delete_vpc(VpcId=vpc)
