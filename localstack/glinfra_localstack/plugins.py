"""Entry points (namespace ``localstack.aws.provider``) for our providers.

eks, rds, elasticache, kafka: LocalStack community ships no provider for these
services and answers 501 for them; with this package installed in its venv it loads
ours instead. ec2, route53, s3, iam, resourcegroupstaggingapi: LocalStack's own providers
with a gap filled, registered under the name "glinfra" (selected by
PROVIDER_OVERRIDE_<SERVICE>=glinfra). The imports stay inside the factories so that
LocalStack only pays for a service on first use.
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


@aws_provider(api="route53", name="glinfra")
def route53():
    # LocalStack's own Route 53 provider with set-identifier DELETEs done as AWS does them
    # (see glinfra_localstack/route53.py); selected with PROVIDER_OVERRIDE_ROUTE53=glinfra,
    # which localstack/up sets.
    from glinfra_localstack.route53 import GlinfraRoute53Provider
    from localstack.services.moto import MotoFallbackDispatcher

    return Service.for_provider(GlinfraRoute53Provider(), dispatch_table_factory=MotoFallbackDispatcher)


@aws_provider(api="s3", name="glinfra")
def s3():
    # LocalStack's own S3 provider with conditional deletes (DeleteObject If-Match) as AWS
    # does them for general purpose buckets (see glinfra_localstack/s3.py); selected with
    # PROVIDER_OVERRIDE_S3=glinfra, which localstack/up sets.
    from glinfra_localstack.s3 import GlinfraS3Provider

    return Service.for_provider(GlinfraS3Provider())


@aws_provider(api="iam", name="glinfra")
def iam():
    # LocalStack's own IAM provider with GetAccountAuthorizationDetails paginated as AWS
    # paginates it (see glinfra_localstack/iam.py); selected with PROVIDER_OVERRIDE_IAM=glinfra,
    # which localstack/up sets.
    from glinfra_localstack.iam import GlinfraIamProvider

    return Service.for_provider(GlinfraIamProvider())


@aws_provider(api="resourcegroupstaggingapi", name="glinfra")
def resourcegroupstaggingapi():
    # LocalStack's own Resource Groups Tagging API provider (moto's GetResources) that also
    # returns LocalStack's own S3 buckets and KMS keys (see glinfra_localstack/tagging.py);
    # selected with PROVIDER_OVERRIDE_RESOURCEGROUPSTAGGINGAPI=glinfra, which localstack/up sets.
    from glinfra_localstack.tagging import GlinfraResourcegroupstaggingapiProvider
    from localstack.services.moto import MotoFallbackDispatcher

    return Service.for_provider(
        GlinfraResourcegroupstaggingapiProvider(), dispatch_table_factory=MotoFallbackDispatcher
    )


# Security services (seed 8.1): LocalStack community registers no provider for these;
# ours serve them from the bundled moto with the gaps filled.
@aws_provider(api="guardduty")
def guardduty():
    from glinfra_localstack.guardduty import GuardDutyProvider

    return _service(GuardDutyProvider())


@aws_provider(api="securityhub")
def securityhub():
    from glinfra_localstack.securityhub import SecurityHubProvider

    return _service(SecurityHubProvider())


@aws_provider(api="inspector2")
def inspector2():
    from glinfra_localstack.inspector2 import Inspector2Provider

    return _service(Inspector2Provider())


@aws_provider(api="wafv2")
def wafv2():
    from glinfra_localstack.wafv2 import Wafv2Provider

    return _service(Wafv2Provider())


@aws_provider(api="shield")
def shield():
    from glinfra_localstack.shield import ShieldProvider

    return _service(ShieldProvider())
