from glinfra_localstack.base import GapFillProvider


class RdsProvider(GapFillProvider):
    service = "rds"
