"""Entry points (namespace ``localstack.aws.provider``) for our four providers.

LocalStack community ships no provider for these services and answers 501 for
them; with this package installed in its venv it loads ours instead. The imports
stay inside the factories so that LocalStack only pays for a service on first use.
"""

from localstack.services.plugins import Service, aws_provider


def _service(provider):
    return Service.for_provider(provider, dispatch_table_factory=lambda p: p.dispatch_table())


@aws_provider(api="eks")
def eks():
    from glinfra_localstack.eks import EksProvider

    return _service(EksProvider())


@aws_provider(api="rds")
def rds():
    from glinfra_localstack.rds import RdsProvider

    return _service(RdsProvider())


@aws_provider(api="elasticache")
def elasticache():
    from glinfra_localstack.elasticache import ElastiCacheProvider

    return _service(ElastiCacheProvider())


@aws_provider(api="kafka")
def kafka():
    from glinfra_localstack.kafka import KafkaProvider

    return _service(KafkaProvider())


@aws_provider(api="ec2", name="glinfra")
def ec2():
    # LocalStack's own EC2 provider with one gap filled (see glinfra_localstack/ec2.py);
    # selected with PROVIDER_OVERRIDE_EC2=glinfra, which localstack/up sets.
    from glinfra_localstack.ec2 import GlinfraEc2Provider
    from localstack.services.moto import MotoFallbackDispatcher

    return Service.for_provider(GlinfraEc2Provider(), dispatch_table_factory=MotoFallbackDispatcher)
