from glinfra_localstack.base import GapFillProvider


class ElastiCacheProvider(GapFillProvider):
    service = "elasticache"
