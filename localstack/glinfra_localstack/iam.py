"""IAM: LocalStack's own provider, with GetAccountAuthorizationDetails paginated as
AWS paginates it.

LocalStack answers GetAccountAuthorizationDetails with every entity at once and
``IsTruncated`` false, whatever ``MaxItems`` says ("TODO: Implement proper
pagination" in its provider). AWS (API reference, GetAccountAuthorizationDetails;
"Common parameters" of paginated IAM calls):

- ``MaxItems`` (1 to 1000, default 100) bounds the items of one response, counted
  across its lists (users, groups, roles, policies); IAM may return fewer.
- When more remain, ``IsTruncated`` is true and ``Marker`` is set; a request with
  that ``Marker`` continues after the last item returned. On the last page
  ``IsTruncated`` is false and there is no ``Marker``.

Here the lists keep LocalStack's contents (what ``Filter`` selects, each item as it
builds it), are put in a fixed order (users, groups, roles, policies; each by name,
policies by ARN), and are cut into pages of ``MaxItems``. The marker is opaque
(base64) and names the last item returned, so an entity made or deleted between
two pages moves no other item to another page.
"""

from __future__ import annotations

import base64
import json

from localstack.aws.api import CommonServiceException, RequestContext
from localstack.services.iam.provider import IamProvider

# The response's lists in page order, each with the field that orders it.
LISTS = (
    ("UserDetailList", "UserName"),
    ("GroupDetailList", "GroupName"),
    ("RoleDetailList", "RoleName"),
    ("Policies", "Arn"),
)
DEFAULT_MAX_ITEMS = 100


class InvalidMarker(CommonServiceException):
    def __init__(self, message: str):
        super().__init__("ValidationError", message, status_code=400, sender_fault=True)


def _encode(position: tuple[int, str]) -> str:
    return base64.b64encode(json.dumps(list(position)).encode()).decode()


def _decode(marker: str) -> tuple[int, str]:
    try:
        index, key = json.loads(base64.b64decode(marker.encode(), validate=True))
        return int(index), str(key)
    except (ValueError, TypeError):
        raise InvalidMarker("Invalid Marker.") from None


def paginate(response: dict, max_items: int | None, marker: str | None) -> dict:
    """``response`` (every item of every list) cut to the page after ``marker``."""
    limit = max_items or DEFAULT_MAX_ITEMS
    if not 1 <= limit <= 1000:
        raise CommonServiceException(
            "ValidationError",
            f"1 validation error detected: Value '{limit}' at 'maxItems' failed to satisfy "
            "constraint: Member must have value between 1 and 1000",
            status_code=400,
            sender_fault=True,
        )
    items = []  # (list index, key, list name, item), in page order
    for index, (name, key) in enumerate(LISTS):
        found = response.get(name) or []
        for item in sorted(found, key=lambda i: str(i.get(key, ""))):
            items.append((index, str(item.get(key, "")), name, item))
    start = 0
    if marker:
        after = _decode(marker)
        start = next((n for n, i in enumerate(items) if (i[0], i[1]) > after), len(items))
    page = items[start : start + limit]
    out = dict(response)
    for name, _ in LISTS:
        if name in response:
            out[name] = [item for _, _, n, item in page if n == name]
    truncated = start + limit < len(items)
    out["IsTruncated"] = truncated
    out.pop("Marker", None)
    if truncated:
        out["Marker"] = _encode((page[-1][0], page[-1][1]))
    return out


class GlinfraIamProvider(IamProvider):
    def get_account_authorization_details(
        self,
        context: RequestContext,
        filter=None,
        max_items=None,
        marker=None,
        **kwargs,
    ):
        everything = super().get_account_authorization_details(context, filter=filter, **kwargs)
        return paginate(everything, max_items, marker)
