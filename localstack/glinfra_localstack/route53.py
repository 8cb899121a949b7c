"""Route 53: LocalStack's own provider, with record set deletion done as AWS does it.

moto (``Route53Backend.change_resource_record_sets``) handles a DELETE whose
ResourceRecordSet has a SetIdentifier with ``FakeZone.delete_rrset_by_id``, which
removes every record set of the zone with that set identifier, whatever its name
and type: deleting the latency record ``api.example.com``/CNAME/``us-east-1`` also
deleted ``factory.example.com``/CNAME/``us-east-1``. When nothing matched it answered
success, or InvalidInput when its change journal (below) had no CREATE of that name and
type.

AWS (API reference, ChangeResourceRecordSets and ResourceRecordSet) deletes the one
record set whose Name, Type and SetIdentifier match, and only when the values given
are the current ones; otherwise the batch fails with InvalidChangeBatch:

  Tried to delete resource record set [name='api.example.com.', type='CNAME',
  set-identifier='us-east-1'] but it was not found
  ... but the values provided do not match the current values

Here such DELETEs are performed against moto's zone objects; every other change of
the batch goes to moto's own ``change_resource_record_sets`` unchanged, in the order
of the batch. A batch without such a DELETE goes to moto exactly as before.

All or nothing: a batch with such a DELETE is applied to the zone in order, and if any
change fails (ours or moto's) the zone's record sets and change journal are restored
to what they were before the batch, so nothing of it stays. (moto on its own checks
some things for the whole batch first and then applies the changes one by one, so a
change that fails late left the earlier ones applied; batches without a
set-identifier DELETE still behave that way.)

The change journal (``FakeZone.rr_changes``, where moto appends every change it
applies): our DELETEs are appended to it as moto appends its own. moto checks a CREATE
against it: a CREATE identical to an earlier one fails with "already exists" whenever
any record set of the zone sorts at or after its name, even when that record set was
deleted since, so a deleted record set could not be created again. Before moto applies
a CREATE, the journal's CREATE/UPSERT entries for that name, type and set identifier are
dropped when the zone no longer has such a record set (for every batch, so this also
holds after moto's own name/type DELETE). moto's other use of the journal, checking a
name/type DELETE against an earlier CREATE/UPSERT, is left as it was.
"""

from __future__ import annotations

import copy
import threading
import uuid
from datetime import datetime, timezone

import xmltodict
from localstack.aws.api import CommonServiceException, RequestContext, handler
from localstack.aws.api.route53 import ChangeInfo, ChangeStatus, InvalidChangeBatch, InvalidInput
from localstack.services.moto import call_moto
from localstack.services.route53.provider import Route53Provider
from moto.core.exceptions import RESTError

# One ChangeResourceRecordSets at a time: a batch is applied in steps and, on failure,
# rolled back from a snapshot, which must not interleave with another batch.
_LOCK = threading.RLock()

# AWS counts at most 1000 ResourceRecord elements per request (UPSERT twice); moto's
# response layer checks this, which the split path below bypasses, so it checks it too.
_MAX_RECORDS = 1000


def _normal_name(name: str | None) -> str:
    """A DNS name as Route 53 compares them: case-insensitive, with a trailing dot,
    ``\\052`` as ``*``."""
    name = (name or "").replace("\\052", "*").lower()
    return name if name.endswith(".") else name + "."


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _record_values(rrset: dict) -> list[str]:
    """ResourceRecords of a change as xmltodict parses them (a dict, or a list of dicts,
    under ``ResourceRecord``) -> the values."""
    records = rrset.get("ResourceRecords")
    if not records:
        return []
    return [r.get("Value") if isinstance(r, dict) else r for r in _as_list(next(iter(records.values())))]


def _set_value(value):
    """A stored moto attribute, or a request field, as a comparable string (None when unset).
    moto's RecordSet defaults an absent TTL/Weight to 0 and absent AliasTarget, Failover,
    GeoLocation to []; values parsed from the request XML are strings."""
    if value is None or value == [] or value == {} or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value == 0:
        return None
    if isinstance(value, dict):
        return tuple(sorted((k, _set_value(v)) for k, v in value.items()))
    return str(value)


def _alias(value):
    if not value or not isinstance(value, dict):
        return None
    return (
        _normal_name(value.get("DNSName")),
        (value.get("HostedZoneId") or "").replace("/hostedzone/", ""),
        str(value.get("EvaluateTargetHealth", "false")).lower(),
    )


def _key(name, type_, set_identifier) -> tuple:
    return (_normal_name(name), (type_ or "").upper(), set_identifier or None)


def _describe(rrset: dict) -> str:
    name = rrset.get("Name") or ""
    if not name.endswith("."):
        name += "."
    return f"[name='{name}', type='{rrset.get('Type')}', set-identifier='{rrset.get('SetIdentifier')}']"


def _invalid_change_batch(message: str) -> InvalidChangeBatch:
    # AWS also lists the message under <Messages>; LocalStack's serializer would put a
    # ``messages`` member outside <Error> in lower case, so only Error/Message carries it
    # (where the SDKs read it).
    return InvalidChangeBatch(message)


def _values_match(existing, rrset: dict) -> bool:
    """Whether the DELETE's values are the record set's current ones: TTL, the resource
    record values (in any order) and the alias target always; the routing fields
    (Weight, Region, Failover, GeoLocation, HealthCheckId, MultiValueAnswer) when the
    DELETE gives them."""
    if _set_value(rrset.get("TTL")) != _set_value(existing.ttl):
        return False
    if sorted(_record_values(rrset)) != sorted(str(v) for v in _as_list(existing.records)):
        return False
    if _alias(rrset.get("AliasTarget")) != _alias(existing.alias_target):
        return False
    routing = {
        "Weight": existing.weight,
        "Region": existing.region,
        "Failover": existing.failover,
        "GeoLocation": existing.geo_location,
        "HealthCheckId": existing.health_check,
        "MultiValueAnswer": existing.multi_value,
    }
    for field, current in routing.items():
        if field in rrset and _set_value(rrset[field]) != _set_value(current):
            return False
    return True


def _delete_precisely(zone, change: dict) -> None:
    """Deletes the record set of ``zone`` that a DELETE with a SetIdentifier names, as AWS
    does; raises InvalidChangeBatch/InvalidInput (or moto's errors for names) otherwise."""
    from moto.route53.exceptions import DnsNameInvalidForZone
    from moto.route53.utils import validate_domain_name

    rrset = change["ResourceRecordSet"]
    name = rrset.get("Name") or ""
    validate_domain_name(name, code="InvalidChangeBatch")
    if not name.strip(".").lower().endswith(zone.name.strip(".").lower()):
        raise DnsNameInvalidForZone(name=name, zone_name=zone.name)
    if not (rrset.get("AliasTarget") or ("TTL" in rrset and rrset.get("ResourceRecords"))
            or rrset.get("TrafficPolicyInstanceId")):
        # moto's message for the same request (and AWS's shape rule).
        raise InvalidInput(
            "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], "
            "or TrafficPolicyInstanceId], but found none in Change with [Action=DELETE, "
            f"Name={name}, Type={rrset.get('Type')}, SetIdentifier={rrset.get('SetIdentifier')}]"
        )
    wanted = _key(name, rrset.get("Type"), rrset.get("SetIdentifier"))
    matches = [r for r in zone.rrsets if _key(r.name, r.type_, r.set_identifier) == wanted]
    if not matches:
        raise _invalid_change_batch(f"Tried to delete resource record set {_describe(rrset)} but it was not found")
    target = next((r for r in matches if _values_match(r, rrset)), None)
    if target is None:
        raise _invalid_change_batch(
            f"Tried to delete resource record set {_describe(rrset)} "
            "but the values provided do not match the current values"
        )
    zone.rrsets = [r for r in zone.rrsets if r is not target]
    zone.rr_changes.append(copy.deepcopy(change))


def _forget_deleted(zone, changes: list[dict]) -> None:
    """Before moto applies ``changes``: drops the CREATE/UPSERT journal entries of the record
    sets that a CREATE among them names and that the zone no longer has (they were deleted),
    so that moto's duplicate check does not refuse creating them again."""
    present = {_key(r.name, r.type_, r.set_identifier) for r in zone.rrsets}
    created = {
        _key(rrset.get("Name"), rrset.get("Type"), rrset.get("SetIdentifier"))
        for c in changes
        if c.get("Action") == "CREATE"
        for rrset in [c.get("ResourceRecordSet") or {}]
    }
    gone = created - present
    if not gone:
        return
    zone.rr_changes[:] = [
        c
        for c in zone.rr_changes
        if c.get("Action") not in ("CREATE", "UPSERT")
        or _key(
            c["ResourceRecordSet"].get("Name"),
            c["ResourceRecordSet"].get("Type"),
            c["ResourceRecordSet"].get("SetIdentifier"),
        )
        not in gone
    ]


def _is_set_identifier_delete(change: dict) -> bool:
    return change.get("Action") == "DELETE" and bool((change.get("ResourceRecordSet") or {}).get("SetIdentifier"))


def _record_count(changes: list[dict]) -> int:
    count = 0
    for change in changes:
        n = len(_record_values(change.get("ResourceRecordSet") or {}))
        count += 2 * n if change.get("Action") == "UPSERT" else n
    return count


class GlinfraRoute53Provider(Route53Provider):
    @handler("ChangeResourceRecordSets", expand=False)
    def change_resource_record_sets(self, context: RequestContext, request: dict):
        changes = (request.get("ChangeBatch") or {}).get("Changes") or []
        with _LOCK:
            if not any(_is_set_identifier_delete(c) for c in changes):
                if any(c.get("Action") == "CREATE" for c in changes):
                    try:
                        zone = self._backend(context).get_hosted_zone(request.get("HostedZoneId") or "")
                    except RESTError:
                        zone = None  # moto answers NoSuchHostedZone itself
                    if zone is not None:
                        _forget_deleted(zone, changes)
                return call_moto(context)
            return self._apply_in_order(context, request)

    @staticmethod
    def _backend(context: RequestContext):
        from moto.route53.models import route53_backends

        return route53_backends[context.account_id][context.partition]

    def _zone(self, context: RequestContext, zone_id: str):
        try:
            return self._backend(context).get_hosted_zone(zone_id or "")
        except RESTError as e:
            raise CommonServiceException(e.error_type, e.message, status_code=e.code) from e

    def _apply_in_order(self, context: RequestContext, request: dict):
        backend = self._backend(context)
        zone_id = (request.get("HostedZoneId") or "").replace("/hostedzone/", "")
        zone = self._zone(context, zone_id)
        # The changes as moto's response layer hands them to its backend (xmltodict of the
        # request body), so that moto sees exactly what it would have seen.
        body = xmltodict.parse(context.request.data)
        raw = body["ChangeResourceRecordSetsRequest"]["ChangeBatch"]["Changes"]["Change"]
        raw = _as_list(raw)
        if _record_count(raw) > _MAX_RECORDS:
            raise _invalid_change_batch("Number of records limit of 1000 exceeded.")

        saved_rrsets, saved_journal = list(zone.rrsets), list(zone.rr_changes)
        try:
            pending: list[dict] = []
            for change in raw:
                if _is_set_identifier_delete(change):
                    if pending:
                        _forget_deleted(zone, pending)
                        backend.change_resource_record_sets(zone_id, pending)
                        pending = []
                    _delete_precisely(zone, change)
                else:
                    pending.append(change)
            if pending:
                _forget_deleted(zone, pending)
                backend.change_resource_record_sets(zone_id, pending)
        except BaseException as e:
            zone.rrsets = saved_rrsets
            zone.rr_changes[:] = saved_journal
            if isinstance(e, RESTError):
                raise CommonServiceException(e.error_type, e.message, status_code=e.code) from e
            raise
        return {
            "ChangeInfo": ChangeInfo(
                Id=f"/change/C{uuid.uuid4().hex[:13].upper()}",
                Status=ChangeStatus.INSYNC,
                SubmittedAt=datetime.now(timezone.utc),
            )
        }
