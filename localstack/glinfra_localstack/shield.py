"""AWS Shield Advanced subscriptions, after the Shield API reference (moto's replaces a
subscription on every CreateSubscription, writes its times in a format no SDK reads and
has no UpdateSubscription):

* CreateSubscription: one per account (the Shield API is global; the region is not part
  of the key). A second is ``ResourceAlreadyExistsException``.
* DescribeSubscription: the subscription (a one-year ``TimeCommitmentInSeconds``, its
  start and end, ``AutoRenew``, limits, its ARN); none is ``ResourceNotFoundException``.
* UpdateSubscription: ``AutoRenew`` ``ENABLED`` or ``DISABLED`` (``InvalidParameterException``
  otherwise); none is ``ResourceNotFoundException``.

DeleteSubscription is deprecated by AWS and not served: a subscription cannot be ended
through the API (only by AWS Support), which is what the glinfra driver says.
Protections and the rest go to moto.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from localstack.aws.api import RequestContext

from glinfra_localstack.base import AwsError, GapFillProvider, now, operation

YEAR = 365 * 24 * 3600


@dataclass
class Subscription:
    arn: str
    start: datetime
    auto_renew: str = "ENABLED"

    def to_dict(self) -> dict:
        return {
            "StartTime": self.start,
            "EndTime": self.start + timedelta(seconds=YEAR),
            "TimeCommitmentInSeconds": YEAR,
            "AutoRenew": self.auto_renew,
            "Limits": [{"Type": "MitigationCapacityUnits", "Max": 10000}],
            "ProactiveEngagementStatus": "DISABLED",
            "SubscriptionLimits": {
                "ProtectionLimits": {
                    "ProtectedResourceTypeLimits": [
                        {"Type": "ELASTIC_IP_ADDRESS", "Max": 100},
                        {"Type": "APPLICATION_LOAD_BALANCER", "Max": 50},
                    ]
                },
                "ProtectionGroupLimits": {
                    "MaxProtectionGroups": 20,
                    "PatternTypeLimits": {"ArbitraryPatternLimits": {"MaxMembers": 100}},
                },
            },
            "SubscriptionArn": self.arn,
        }


def _not_found() -> AwsError:
    return AwsError("ResourceNotFoundException", "The subscription does not exist.")


class ShieldProvider(GapFillProvider):
    service = "shield"

    def __init__(self) -> None:
        super().__init__()
        self.subscriptions: dict[str, Subscription] = {}

    def _get(self, context: RequestContext) -> Subscription:
        s = self.subscriptions.get(context.account_id)
        if s is None:
            raise _not_found()
        return s

    @operation("CreateSubscription")
    def create_subscription(self, context: RequestContext, request: dict):
        if context.account_id in self.subscriptions:
            raise AwsError("ResourceAlreadyExistsException", "The subscription already exists.")
        sid = secrets.token_hex(6)
        arn = f"arn:aws:shield::{context.account_id}:subscription/{sid[:4]}-{sid[4:8]}-{sid[8:]}"
        self.subscriptions[context.account_id] = Subscription(arn=arn, start=now())
        return {}

    @operation("DescribeSubscription")
    def describe_subscription(self, context: RequestContext, request: dict):
        return {"Subscription": self._get(context).to_dict()}

    @operation("UpdateSubscription")
    def update_subscription(self, context: RequestContext, request: dict):
        s = self._get(context)
        renew = request.get("AutoRenew")
        if renew is not None:
            if renew not in ("ENABLED", "DISABLED"):
                raise AwsError("InvalidParameterException", f"AutoRenew must be ENABLED or DISABLED, not {renew}")
            s.auto_renew = renew
        return {}
