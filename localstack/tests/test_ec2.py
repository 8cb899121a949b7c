"""EC2 gap fill: deleting a NAT gateway disassociates its elastic IP, as on AWS."""

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
