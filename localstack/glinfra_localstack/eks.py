from glinfra_localstack.base import GapFillProvider


class EksProvider(GapFillProvider):
    service = "eks"
