"""Amazon GuardDuty, from LocalStack's bundled moto with the gaps the glinfra topology
meets filled after the GuardDuty API reference:

* CreateDetector: one detector per account and region. A second one is refused with
  ``BadRequestException`` ("The request is rejected because a detector already exists
  for the current account."), except a repeat of the create that made it (same
  ``clientToken``), which answers that detector's id, as AWS's idempotent create does.
* TagResource, UntagResource, ListTagsForResource of detector ARNs
  (``arn:aws:guardduty:REGION:ACCOUNT:detector/ID``), which moto lacks; GetDetector
  shows the same tags. An ARN naming no detector of the account is
  ``BadRequestException``.
* UpdateDetector changes only the features it names ("the features that will be
  updated for the detector"): the others keep their status, and a named feature's
  additional configurations not named keep theirs (moto replaced the whole list).

Every other operation (GetDetector, DeleteDetector, ListDetectors, filters) is moto's.
"""

from __future__ import annotations

from localstack.aws.api import RequestContext

from glinfra_localstack.base import AwsError, GapFillProvider, RegionStores, forward_to_moto, operation


def _backend(context: RequestContext):
    from moto.guardduty.models import guardduty_backends

    return guardduty_backends[context.account_id][context.region]


def _bad_request(message: str) -> AwsError:
    return AwsError("BadRequestException", message, 400)


class GuardDutyProvider(GapFillProvider):
    service = "guardduty"

    def __init__(self) -> None:
        super().__init__()
        # clientToken -> detector id, per account and region
        self.tokens = RegionStores(dict)

    @operation("CreateDetector")
    def create_detector(self, context: RequestContext, request: dict):
        tokens = self.tokens(context)
        detectors = _backend(context).detectors
        token = request.get("ClientToken")
        if token and tokens.get(token) in detectors:
            return {"DetectorId": tokens[token]}
        if detectors:
            raise _bad_request("The request is rejected because a detector already exists for the current account.")
        out = forward_to_moto(context)
        if token and isinstance(out, dict):
            tokens[token] = out["DetectorId"]
        return out

    @operation("UpdateDetector")
    def update_detector(self, context: RequestContext, request: dict):
        detector = _backend(context).detectors.get(request.get("DetectorId"))
        before = [dict(f) for f in detector.features] if detector is not None else None
        out = forward_to_moto(context)
        if before is not None and request.get("Features") is not None:
            detector.features = _merged(before, detector.features)
        return out

    def _detector(self, context: RequestContext, arn: str):
        # arn:aws:guardduty:REGION:ACCOUNT:detector/ID
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "guardduty" or not parts[5].startswith("detector/"):
            raise _bad_request(f"The request is rejected because the resource ARN {arn} is invalid.")
        detector = _backend(context).detectors.get(parts[5].split("/", 1)[1])
        if detector is None or parts[4] != context.account_id or parts[3] != context.region:
            raise _bad_request("The request is rejected because the input detectorId is not owned by the current account.")
        return detector

    @operation("TagResource")
    def tag_resource(self, context: RequestContext, request: dict):
        detector = self._detector(context, request["ResourceArn"])
        detector.tags.update(request.get("Tags") or {})
        return {}

    @operation("UntagResource")
    def untag_resource(self, context: RequestContext, request: dict):
        detector = self._detector(context, request["ResourceArn"])
        for key in request.get("TagKeys") or []:
            detector.tags.pop(key, None)
        return {}

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, context: RequestContext, request: dict):
        return {"Tags": dict(self._detector(context, request["ResourceArn"]).tags)}


def _merged(before: list[dict], named: list[dict]) -> list[dict]:
    """The features `before` with those of an UpdateDetector request (`named`, moto's
    JSON spelling) put over them by name, new names appended."""
    out = [dict(f) for f in before]
    for f in named:
        old = next((o for o in out if o.get("name") == f.get("name")), None)
        if old is None:
            out.append(dict(f))
            continue
        extra = {c.get("name"): dict(c) for c in old.get("additionalConfiguration") or []}
        for c in f.get("additionalConfiguration") or []:
            extra[c.get("name")] = dict(c)
        old.update({k: v for k, v in f.items() if k != "additionalConfiguration"})
        if extra:
            old["additionalConfiguration"] = list(extra.values())
    return out
