"""Amazon Inspector (inspector2), from LocalStack's bundled moto with the gaps the
glinfra topology meets filled after the Inspector API reference:

* Enable, Disable and BatchGetAccountStatus without ``accountIds`` act on the caller's
  account, as AWS does (moto fails on the missing list).
* BatchGetAccountStatus of an account Inspector never enabled answers it with every
  resource type ``DISABLED`` (moto leaves it out).
* ``resourceTypes`` must be EC2, ECR, LAMBDA, LAMBDA_CODE or CODE_REPOSITORY
  (``ValidationException`` otherwise).

Enable and Disable take effect at once (AWS passes through ENABLING and DISABLING).
"""

from __future__ import annotations

from localstack.aws.api import RequestContext

from glinfra_localstack.base import AwsError, GapFillProvider, operation

TYPES = ("EC2", "ECR", "LAMBDA", "LAMBDA_CODE", "CODE_REPOSITORY")
FIELDS = {"EC2": "ec2", "ECR": "ecr", "LAMBDA": "lambda", "LAMBDA_CODE": "lambdaCode"}


def _backend(context: RequestContext):
    from moto.inspector2.models import inspector2_backends

    return inspector2_backends[context.account_id][context.region]


def _state(status: str) -> dict:
    return {"status": status}


class Inspector2Provider(GapFillProvider):
    service = "inspector2"

    def _accounts(self, context: RequestContext, request: dict) -> list[str]:
        return request.get("accountIds") or [context.account_id]

    def _types(self, request: dict) -> list[str]:
        types = request.get("resourceTypes") or []
        bad = [t for t in types if t not in TYPES]
        if not types or bad:
            raise AwsError(
                "ValidationException",
                f"resourceTypes must be 1 to 5 of {', '.join(TYPES)}" + (f"; got {bad[0]}" if bad else ""),
            )
        return types

    def _toggle(self, context: RequestContext, request: dict, enable: bool) -> dict:
        types = self._types(request)
        backend = _backend(context)
        accounts = self._accounts(context, request)
        done = backend.enable(accounts, types) if enable else backend.disable(accounts, types)
        return {"accounts": done, "failedAccounts": []}

    @operation("Enable")
    def enable(self, context: RequestContext, request: dict):
        return self._toggle(context, request, True)

    @operation("Disable")
    def disable(self, context: RequestContext, request: dict):
        return self._toggle(context, request, False)

    @operation("BatchGetAccountStatus")
    def batch_get_account_status(self, context: RequestContext, request: dict):
        from moto.inspector2.models import AccountStatus

        backend = _backend(context)
        accounts = []
        for account in self._accounts(context, request):
            status = backend.account_status.get(account) or AccountStatus(account)
            raw = status.to_batch_json()
            accounts.append(
                {
                    "accountId": account,
                    "state": _state(raw["state"]["status"]),
                    "resourceState": {k: _state(v["status"]) for k, v in raw["resourceState"].items()},
                }
            )
        return {"accounts": accounts, "failedAccounts": []}
