"""Shared machinery for glinfra's LocalStack providers.

Each provider answers every operation of its AWS service. Operations that the
provider overrides (methods marked with :func:`operation`) are handled in our
code; every other operation goes to the moto build bundled with LocalStack.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from localstack.aws.api import CommonServiceException, RequestContext, ServiceException
from localstack.aws.client import parse_response
from localstack.aws.spec import load_service
from localstack.http import Response
from localstack.services.moto import dispatch_to_moto

LOG = logging.getLogger("glinfra_localstack")

Handler = Callable[[RequestContext, dict], Any]


def operation(name: str) -> Callable[[Callable], Callable]:
    """Marks a provider method as the handler of the AWS operation ``name``."""

    def wrap(fn: Callable) -> Callable:
        fn.glinfra_operation = name
        return fn

    return wrap


class AwsError(CommonServiceException):
    """An AWS error response: ``code`` is what the SDKs report as the error code."""

    def __init__(self, code: str, message: str, status: int = 400, sender_fault: bool = True):
        super().__init__(code, message, status_code=status, sender_fault=sender_fault)


def now() -> datetime:
    return datetime.now(timezone.utc)


def env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        value = float(raw) if raw.strip() else default
    except ValueError:
        LOG.warning("ignoring %s=%r: not a number", name, raw)
        value = default
    return max(0.0, value)


def new_id() -> str:
    return str(uuid.uuid4())


def forward_to_moto(context: RequestContext, _request: Any = None) -> Response | dict:
    """Runs the request through LocalStack's bundled moto.

    Success responses are parsed and handed back as dicts, so LocalStack's serializer
    writes them (normalised timestamps, only modelled members). Error responses pass
    through untouched: re-parsing them loses the X-Amzn-ErrorType header of the
    rest-json services (EKS errors then come back with code "404").
    """
    response = dispatch_to_moto(context)
    if response.status_code >= 400:
        return response
    return parse_response(context.operation, context.protocol, response, include_response_metadata=False)


def forward_with(context: RequestContext, params: dict) -> Response | dict:
    """Like :func:`forward_to_moto`, for the same operation with changed parameters."""
    from localstack.aws.forwarder import create_aws_request_context

    local = create_aws_request_context(
        service_name=context.service.service_name,
        action=context.operation.name,
        protocol=context.protocol,
        parameters=params,
        region=context.region,
    )
    # keep the caller's credentials (moto derives the account from the access key)
    for header in ("Authorization", "X-Amz-Security-Token"):
        if header in context.request.headers:
            local.request.headers[header] = context.request.headers[header]
        elif header in local.request.headers:
            del local.request.headers[header]
    # moto takes the account from this header (set by LocalStack's AccountIdEnricher)
    local.request.headers["x-moto-account-id"] = context.account_id
    local.account_id = context.account_id
    local.region = context.region
    local.operation = context.operation
    local.service = context.service
    local.protocol = context.protocol
    return forward_to_moto(local)


def moto_render(context: RequestContext, result: dict) -> dict:
    """Serializes moto model objects the way moto's own responses do (for the current
    operation's output shape) and returns the parsed response dict."""
    from moto.core.utils import get_service_model
    from moto.core.serialize import XFormedAttributePicker, get_serializer_class

    service = context.service
    serializer_cls = get_serializer_class(service.service_name, service.protocol)
    serializer = serializer_cls(
        operation_model=get_service_model(service.service_name).operation_model(context.operation.name),
        pretty_print=False,
        value_picker=XFormedAttributePicker(),
    )
    out = serializer.serialize(result)
    response = Response(out["body"], out["status_code"], out["headers"])
    return parse_response(context.operation, context.protocol, response, include_response_metadata=False)


class GapFillProvider:
    """Base of our providers: a dispatch table over all operations of ``service``."""

    service: str = ""

    def __init__(self) -> None:
        self.lock = threading.RLock()

    def overrides(self) -> dict[str, Handler]:
        table: dict[str, Handler] = {}
        for klass in reversed(type(self).__mro__):
            for attr, fn in vars(klass).items():
                name = getattr(fn, "glinfra_operation", None)
                if name:
                    table[name] = getattr(self, attr)
        return table

    def dispatch_table(self) -> dict[str, Handler]:
        overrides = self.overrides()
        unknown = set(overrides) - set(load_service(self.service).operation_names)
        if unknown:
            raise RuntimeError(f"{self.service}: overrides for unknown operations {sorted(unknown)}")
        table: dict[str, Handler] = {}
        for op_name in load_service(self.service).operation_names:
            table[op_name] = self._wrap(op_name, overrides.get(op_name))
        return table

    def _wrap(self, op_name: str, handler: Handler | None) -> Handler:
        if handler is None:
            return forward_to_moto

        def run(context: RequestContext, request: dict) -> Any:
            with self.lock:
                try:
                    return handler(context, request or {})
                except (ServiceException, NotImplementedError):
                    raise
                except Exception:
                    LOG.exception("glinfra %s.%s failed", self.service, op_name)
                    raise

        run.__name__ = f"{self.service}_{op_name}"
        return run


class BusyStatesProvider(GapFillProvider):
    """A provider whose resources move along busy states with time: every operation
    (ours or moto's) first moves them along (``_advance``), then shows them as they
    are in what it answers (``_decorate``)."""

    def _advance(self) -> None:
        raise NotImplementedError

    def _decorate(self, context: RequestContext, result: dict) -> None:
        raise NotImplementedError

    def _wrap(self, op_name: str, handler: Handler | None) -> Handler:
        inner = handler or (lambda context, request: forward_to_moto(context))

        def advancing(context: RequestContext, request: dict) -> Any:
            self._advance()
            result = inner(context, request)
            if isinstance(result, dict):
                self._decorate(context, result)
            return result

        return super()._wrap(op_name, advancing)


class RegionStores:
    """Per (account, region) state, created on first use by ``factory``."""

    def __init__(self, factory: Callable[[], Any]):
        self._factory = factory
        self._stores: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def __call__(self, context: RequestContext) -> Any:
        return self.get(context.account_id, context.region)

    def get(self, account_id: str, region: str) -> Any:
        key = (account_id, region)
        with self._lock:
            if key not in self._stores:
                self._stores[key] = self._factory()
            return self._stores[key]

    def items(self):
        with self._lock:
            return list(self._stores.items())
