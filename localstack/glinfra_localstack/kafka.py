from glinfra_localstack.base import GapFillProvider


class KafkaProvider(GapFillProvider):
    service = "kafka"
