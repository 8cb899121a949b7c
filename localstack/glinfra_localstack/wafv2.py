"""AWS WAF (wafv2), served by LocalStack's bundled moto (web ACLs with managed rule
group statements, lock tokens, tags), through our provider because LocalStack community
registers none for it. One gap filled after the WAFV2 API reference:

* CreateWebACL of a name taken in the scope answers ``WAFDuplicateItemException``
  (moto's code is ``WafV2DuplicateItem``, which no SDK knows).
"""

from __future__ import annotations

import json

from localstack.aws.api import RequestContext

from glinfra_localstack.base import AwsError, GapFillProvider, forward_to_moto, operation

DUPLICATE = "WAFDuplicateItemException"


class Wafv2Provider(GapFillProvider):
    service = "wafv2"

    @operation("CreateWebACL")
    def create_web_acl(self, context: RequestContext, request: dict):
        out = forward_to_moto(context)
        if not isinstance(out, dict) and out.status_code >= 400:
            try:
                body = json.loads(out.get_data(as_text=True) or "{}")
            except ValueError:
                body = {}
            if "WafV2DuplicateItem" in (body.get("__type") or ""):
                raise AwsError(
                    DUPLICATE,
                    "AWS WAF couldn't perform the operation because some resource in your request is a duplicate of an existing one.",
                )
        return out
