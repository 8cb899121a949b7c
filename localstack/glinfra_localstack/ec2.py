"""EC2: LocalStack's own provider, with one behaviour of AWS that its moto lacks.

Deleting a NAT gateway releases its elastic IP's association (AWS API reference,
DeleteNatGateway: "Deleting a public NAT gateway disassociates its Elastic IP
address, but does not release the address from your account"). moto marks the
gateway deleted and leaves the address associated, so a new NAT gateway with the
same address fails with Resource.AlreadyAssociated.

DescribeVpcEndpoints takes the `vpc-endpoint-id` filter (AWS API reference,
DescribeVpcEndpoints, Filters: "vpc-endpoint-id - The ID of the endpoint"), which
moto does not know. Unlike `VpcEndpointIds`, a filter naming an endpoint that does
not exist (yet, or any more) is no error: the endpoint is left out of the answer.
Polls of many endpoints at once rely on that. Everything else is LocalStack's.
"""

from localstack.aws.api import RequestContext, handler
from localstack.services.ec2.provider import Ec2Provider
from localstack.services.moto import call_moto

ENDPOINT_ID_FILTER = "vpc-endpoint-id"


def allow_endpoint_id_filter() -> None:
    """Teaches moto's endpoints the `vpc-endpoint-id` filter (once)."""
    from moto.ec2.models.vpcs import VPCEndPoint

    original = VPCEndPoint.get_filter_value
    if getattr(original, "glinfra", False):
        return

    def get_filter_value(self, filter_name, method_name=None):
        if filter_name == ENDPOINT_ID_FILTER:
            return self.id
        return original(self, filter_name, method_name)

    get_filter_value.glinfra = True
    VPCEndPoint.get_filter_value = get_filter_value


class GlinfraEc2Provider(Ec2Provider):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        allow_endpoint_id_filter()

    @handler("DeleteNatGateway", expand=False)
    def delete_nat_gateway(self, context: RequestContext, request: dict):
        from moto.ec2.models import ec2_backends

        response = call_moto(context)
        backend = ec2_backends[context.account_id][context.region]
        gateway = backend.nat_gateways.get(request.get("NatGatewayId"))
        if gateway is not None:
            for address_set in getattr(gateway, "address_set", []) or []:
                allocation = address_set.get("allocationId")
                for eip in backend.address_by_allocation([allocation]) if allocation else []:
                    eip.eni = None
                    eip.instance = None
                    eip.association_id = None
                address_set["associationId"] = None
        return response
