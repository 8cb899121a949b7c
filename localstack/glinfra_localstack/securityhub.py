"""AWS Security Hub, from LocalStack's bundled moto with the gaps the glinfra topology
meets filled after the Security Hub API reference (moto only turns the hub on and off):

* EnableSecurityHub of an account and region where it is on already:
  ``ResourceConflictException`` (409, "Account is already subscribed to Security Hub").
  ``ControlFindingGenerator`` (default ``SECURITY_CONTROL``) is kept, and
  ``EnableDefaultStandards`` (default true) subscribes AWS's default standards (AWS
  Foundational Security Best Practices v1.0.0 and CIS AWS Foundations Benchmark v1.2.0).
* DescribeHub answers the kept ``AutoEnableControls`` and ``ControlFindingGenerator``;
  UpdateSecurityHubConfiguration changes them.
* BatchEnableStandards, BatchDisableStandards, GetEnabledStandards (``MaxResults``,
  ``NextToken``): a subscription is ``PENDING`` then ``READY`` after
  ``GLINFRA_EMULATOR_SECURITYHUB_STANDARD_SECONDS`` (default 1); a disabled one is
  ``DELETING`` as long, then gone. Enabling a subscribed standard again answers its
  subscription; a standard ARN Security Hub does not offer in the region is
  ``InvalidInputException``.
* TagResource, UntagResource, ListTagsForResource of the hub's ARN
  (``arn:aws:securityhub:REGION:ACCOUNT:hub/default``); another ARN is
  ``ResourceNotFoundException``.

Where Security Hub is off, every call but EnableSecurityHub is ``InvalidAccessException``
("Account ... is not subscribed to AWS Security Hub"), as AWS answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from localstack.aws.api import RequestContext

from glinfra_localstack.base import AwsError, GapFillProvider, RegionStores, env_seconds, forward_to_moto, now, operation

CIS = "cis-aws-foundations-benchmark/v/{}"
# The standards offered (Security Hub User Guide, "Standards reference"): path -> regional?
STANDARDS = {
    "ruleset/" + CIS.format("1.2.0"): False,
    "standards/" + CIS.format("1.4.0"): True,
    "standards/" + CIS.format("3.0.0"): True,
    "standards/" + CIS.format("5.0.0"): True,
    "standards/aws-foundational-security-best-practices/v/1.0.0": True,
    "standards/aws-resource-tagging-standard/v/1.0.0": True,
    "standards/nist-800-53/v/5.0.0": True,
    "standards/pci-dss/v/3.2.1": True,
}
DEFAULTS = ("standards/aws-foundational-security-best-practices/v/1.0.0", "ruleset/" + CIS.format("1.2.0"))


def standard_arn(region: str, path: str) -> str:
    return f"arn:aws:securityhub:{region if STANDARDS[path] else ''}::{path}"


@dataclass
class Subscription:
    arn: str
    standards_arn: str
    ready_at: datetime
    deleting_until: datetime | None = None

    def status(self) -> str:
        t = now()
        if self.deleting_until is not None:
            return "DELETING"
        return "READY" if t >= self.ready_at else "PENDING"

    def to_dict(self) -> dict:
        return {
            "StandardsSubscriptionArn": self.arn,
            "StandardsArn": self.standards_arn,
            "StandardsInput": {},
            "StandardsStatus": self.status(),
        }


@dataclass
class Hub:
    generator: str = "SECURITY_CONTROL"
    auto_enable_controls: bool = True
    subscriptions: dict[str, Subscription] = field(default_factory=dict)

    def reset(self, generator: str = "SECURITY_CONTROL") -> None:
        """Back to a hub just enabled (or, disabled, to nothing)."""
        self.generator = generator
        self.auto_enable_controls = True
        self.subscriptions = {}

    def live(self) -> list[Subscription]:
        t = now()
        for arn, s in list(self.subscriptions.items()):
            if s.deleting_until is not None and t >= s.deleting_until:
                del self.subscriptions[arn]
        return list(self.subscriptions.values())


def _backend(context: RequestContext):
    from moto.securityhub.models import securityhub_backends

    return securityhub_backends[context.account_id][context.region]


def _delay() -> timedelta:
    return timedelta(seconds=env_seconds("GLINFRA_EMULATOR_SECURITYHUB_STANDARD_SECONDS", 1))


class SecurityHubProvider(GapFillProvider):
    service = "securityhub"

    def __init__(self) -> None:
        super().__init__()
        self.hubs = RegionStores(Hub)

    def _enabled(self, context: RequestContext) -> Hub:
        if not _backend(context).enabled:
            raise AwsError(
                "InvalidAccessException",
                f"Account {context.account_id} is not subscribed to AWS Security Hub",
                401,
            )
        return self.hubs(context)

    def _hub_arn(self, context: RequestContext) -> str:
        return f"arn:aws:securityhub:{context.region}:{context.account_id}:hub/default"

    @operation("EnableSecurityHub")
    def enable_security_hub(self, context: RequestContext, request: dict):
        if _backend(context).enabled:
            raise AwsError("ResourceConflictException", "Account is already subscribed to Security Hub", 409)
        generator = request.get("ControlFindingGenerator") or "SECURITY_CONTROL"
        if generator not in ("SECURITY_CONTROL", "STANDARD_CONTROL"):
            raise AwsError("InvalidInputException", f"Invalid ControlFindingGenerator: {generator}")
        out = forward_to_moto(context)
        self.hubs(context).reset(generator)
        if request.get("EnableDefaultStandards", True):
            for path in DEFAULTS:
                self._subscribe(context, self.hubs(context), standard_arn(context.region, path))
        return out

    @operation("DisableSecurityHub")
    def disable_security_hub(self, context: RequestContext, request: dict):
        self._enabled(context)
        out = forward_to_moto(context)
        self.hubs(context).reset()
        return out

    @operation("DescribeHub")
    def describe_hub(self, context: RequestContext, request: dict):
        hub = self._enabled(context)
        out = forward_to_moto(context)
        if isinstance(out, dict):
            out["AutoEnableControls"] = hub.auto_enable_controls
            out["ControlFindingGenerator"] = hub.generator
        return out

    @operation("UpdateSecurityHubConfiguration")
    def update_configuration(self, context: RequestContext, request: dict):
        hub = self._enabled(context)
        generator = request.get("ControlFindingGenerator")
        if generator is not None:
            if generator not in ("SECURITY_CONTROL", "STANDARD_CONTROL"):
                raise AwsError("InvalidInputException", f"Invalid ControlFindingGenerator: {generator}")
            hub.generator = generator
        if request.get("AutoEnableControls") is not None:
            hub.auto_enable_controls = bool(request["AutoEnableControls"])
        return {}

    def _subscribe(self, context: RequestContext, hub: Hub, standards_arn: str) -> Subscription:
        for s in hub.live():
            if s.standards_arn == standards_arn and s.deleting_until is None:
                return s
        parts = standards_arn.split(":", 5)
        path = parts[5] if len(parts) == 6 else ""
        if path not in STANDARDS or standards_arn != standard_arn(context.region, path):
            raise AwsError(
                "InvalidInputException",
                f"StandardsArn {standards_arn} is not a standard offered in {context.region}",
            )
        sub_path = path.split("/", 1)[1]
        arn = f"arn:aws:securityhub:{context.region}:{context.account_id}:subscription/{sub_path}"
        s = Subscription(arn=arn, standards_arn=standards_arn, ready_at=now() + _delay())
        hub.subscriptions[arn] = s
        return s

    @operation("BatchEnableStandards")
    def batch_enable_standards(self, context: RequestContext, request: dict):
        hub = self._enabled(context)
        asked = request.get("StandardsSubscriptionRequests") or []
        if not 1 <= len(asked) <= 25:
            raise AwsError("InvalidInputException", "StandardsSubscriptionRequests takes 1 to 25 requests")
        made = [self._subscribe(context, hub, r["StandardsArn"]) for r in asked]
        return {"StandardsSubscriptions": [s.to_dict() for s in made]}

    @operation("BatchDisableStandards")
    def batch_disable_standards(self, context: RequestContext, request: dict):
        hub = self._enabled(context)
        arns = request.get("StandardsSubscriptionArns") or []
        if not 1 <= len(arns) <= 25:
            raise AwsError("InvalidInputException", "StandardsSubscriptionArns takes 1 to 25 ARNs")
        live = {s.arn: s for s in hub.live()}
        unknown = [a for a in arns if a not in live]
        if unknown:
            raise AwsError("InvalidInputException", f"No standards subscription {unknown[0]} in this account and region")
        for a in arns:
            if live[a].deleting_until is None:
                live[a].deleting_until = now() + _delay()
        return {"StandardsSubscriptions": [live[a].to_dict() for a in arns]}

    @operation("GetEnabledStandards")
    def get_enabled_standards(self, context: RequestContext, request: dict):
        hub = self._enabled(context)
        wanted = request.get("StandardsSubscriptionArns")
        found = [s for s in hub.live() if not wanted or s.arn in wanted]
        found.sort(key=lambda s: s.arn)
        start = int(request.get("NextToken") or 0)
        size = int(request.get("MaxResults") or 100)
        page = found[start : start + size]
        out = {"StandardsSubscriptions": [s.to_dict() for s in page]}
        if start + size < len(found):
            out["NextToken"] = str(start + size)
        return out

    def _tags(self, context: RequestContext, arn: str) -> dict:
        self._enabled(context)
        if arn != self._hub_arn(context):
            raise AwsError("ResourceNotFoundException", f"Resource {arn} not found", 404)
        backend = _backend(context)
        if backend.tags is None:
            backend.tags = {}
        return backend.tags

    @operation("TagResource")
    def tag_resource(self, context: RequestContext, request: dict):
        self._tags(context, request["ResourceArn"]).update(request.get("Tags") or {})
        return {}

    @operation("UntagResource")
    def untag_resource(self, context: RequestContext, request: dict):
        tags = self._tags(context, request["ResourceArn"])
        for key in request.get("TagKeys") or []:
            tags.pop(key, None)
        return {}

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, context: RequestContext, request: dict):
        return {"Tags": dict(self._tags(context, request["ResourceArn"]))}
