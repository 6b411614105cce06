"""The HTTP path to Graph: msgraph-core's client factory with Graph's default middleware (retry,
redirect, headers) and kiota's azure-identity authentication provider, returning raw JSON.

Responses are never parsed into SDK models (they lose data and are slow, see sdk-probe.md); the
adapter's ``send_primitive_async(..., "bytes")`` gives the body as Graph sent it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from auditor.collect.endpoints import LOOPBACK_HOSTS, GraphEndpoint
from auditor.collect.settings import Settings
from auditor.collect.throttle import WindowLimiter, backoff_seconds

RETRY_STATUSES = {429, 503, 504}
UNREACHABLE = "Unreachable"


@dataclass
class GraphError(Exception):
    """A failed Graph call: HTTP status (None when no response came back), Graph error code and message."""

    status: int | None
    code: str | None
    message: str
    headers: dict[str, str] | None = None

    def __str__(self) -> str:
        bits = [str(b) for b in (self.status, self.code) if b]
        return f"{' '.join(bits)}: {self.message}" if bits else self.message

    @property
    def fatal(self) -> bool:
        """No source can succeed after this: the token was rejected, or Graph cannot be reached."""
        return self.status == 401 or self.code == UNREACHABLE

    def as_manifest_error(self) -> dict[str, Any]:
        return {"httpStatus": self.status, "code": self.code, "message": self.message}

    @classmethod
    def from_body(cls, status: int | None, body: Any, headers: dict[str, str] | None = None) -> GraphError:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            return cls(status, error.get("code") or None, str(error.get("message") or ""), headers)
        return cls(status, None, f"HTTP {status}", headers)


class _BackoffHintTransport(httpx.AsyncBaseTransport):
    """Innermost transport: gives throttled responses that carry no Retry-After (Conditional Access
    sends none) a Retry-After from our back-off schedule, so kiota's RetryHandler, which honours
    Retry-After exactly, waits our configurable interval instead of its fixed ~3-4 s base."""

    def __init__(self, inner: httpx.AsyncBaseTransport, base: float) -> None:
        self._inner = inner
        self._base = base

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if response.status_code in RETRY_STATUSES and "retry-after" not in response.headers:
            attempt = int(request.headers.get("Retry-Attempt", "0") or 0)
            response.headers["Retry-After"] = str(backoff_seconds(attempt, self._base))
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class GraphTransport:
    """Authenticated raw-JSON GET/POST against one Graph endpoint, with bounded concurrency."""

    def __init__(self, endpoint: GraphEndpoint, credential: Any, settings: Settings) -> None:
        import asyncio

        from kiota_abstractions.api_client_builder import register_default_deserializer
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from kiota_http.middleware.options import RetryHandlerOption
        from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
        from msgraph import GraphRequestAdapter
        from msgraph_core import GraphClientFactory

        self.endpoint = endpoint
        self.settings = settings
        self.requests = 0
        loopback = endpoint.host in LOOPBACK_HOSTS
        client = httpx.AsyncClient(
            transport=_BackoffHintTransport(httpx.AsyncHTTPTransport(retries=1), settings.backoff_base),
            timeout=httpx.Timeout(settings.timeout, connect=10.0),
            limits=httpx.Limits(max_connections=settings.max_in_flight),
            trust_env=not loopback,  # proxies from the environment, but never for a local double
        )
        retry = RetryHandlerOption(delay=0, max_retries=settings.max_retries)
        http = GraphClientFactory.create_with_default_middleware(client=client,
                                                                 options={RetryHandlerOption.get_key(): retry})
        # kiota's provider with an explicit allow-list: the token is only ever attached for this host.
        auth = AzureIdentityAuthenticationProvider(credential, scopes=[endpoint.scope],
                                                   allowed_hosts=[endpoint.host])
        # Only Graph's error bodies are parsed by the SDK (into ODataError); data stays raw bytes.
        register_default_deserializer(JsonParseNodeFactory)
        self._adapter = GraphRequestAdapter(auth, client=http)
        self._adapter.base_url = endpoint.url("v1.0", "")  # no trailing slash (sdk-probe §3b)
        self._client = http
        self._in_flight = asyncio.Semaphore(settings.max_in_flight)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, url: str, limiter: WindowLimiter | None = None) -> dict[str, Any]:
        from kiota_abstractions.method import Method

        return await self._send(Method.GET, url, None, limiter)

    async def post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        from kiota_abstractions.method import Method

        return await self._send(Method.POST, url, json.dumps(body).encode("utf-8"), None)

    async def send(self, method: str, url: str, body: Any = None) -> tuple[int, Any]:
        """One request whose HTTP status the caller needs (``flowaudit apply``): (status, JSON body or None).

        An error status comes back with Graph's error body instead of raising, so a write can be
        logged and judged; only a transport failure raises :class:`GraphError` (code Unreachable when
        Graph cannot be reached). Same middleware, token and host allow-list as every other call.
        """
        from kiota_abstractions.method import Method
        from kiota_abstractions.native_response_handler import NativeResponseHandler
        from kiota_abstractions.request_information import RequestInformation
        from kiota_authentication_azure._exceptions import HTTPError as KiotaHTTPError
        from kiota_http.middleware.options.response_handler_option import ResponseHandlerOption

        if not self.endpoint.same_origin(url):
            raise GraphError(None, "ForeignHost", f"refusing to send a request to another host ({_origin(url)})")
        info = RequestInformation()
        info.http_method = Method(method)
        info.url = url
        info.headers.try_add("Accept", "application/json")
        if body is not None:
            info.set_stream_content(json.dumps(body).encode("utf-8"), "application/json")
        # The native handler hands back the httpx response itself: status and body, never raised.
        info.add_request_options([ResponseHandlerOption(NativeResponseHandler())])
        async with self._in_flight:
            self.requests += 1
            try:
                response = await self._adapter.send_primitive_async(info, "bytes", None)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise GraphError(None, UNREACHABLE, f"{type(exc).__name__}: {exc}"[:300]) from None
            except (httpx.HTTPError, KiotaHTTPError) as exc:
                raise GraphError(None, "TransportError", f"{type(exc).__name__}: {exc}"[:300]) from None
        raw = response.content
        try:
            return response.status_code, json.loads(raw) if raw else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            return response.status_code, None

    async def _send(self, method: Any, url: str, content: bytes | None,
                    limiter: WindowLimiter | None) -> dict[str, Any]:
        from kiota_abstractions.api_error import APIError
        from kiota_abstractions.request_information import RequestInformation
        from kiota_authentication_azure._exceptions import HTTPError as KiotaHTTPError
        from msgraph.generated.models.o_data_errors.o_data_error import ODataError

        if not self.endpoint.same_origin(url):
            raise GraphError(None, "ForeignHost", f"refusing to follow a link to another host ({_origin(url)})")
        info = RequestInformation()
        info.http_method = method
        info.url = url
        info.headers.try_add("Accept", "application/json")
        if content is not None:
            info.set_stream_content(content, "application/json")
        if limiter is not None:  # pace before taking a slot, so waiting never blocks other sources
            await limiter.acquire()
        async with self._in_flight:
            self.requests += 1
            try:
                raw = await self._adapter.send_primitive_async(info, "bytes", {"XXX": ODataError})
            except APIError as exc:
                raise _api_error(exc) from None
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise GraphError(None, UNREACHABLE, f"{type(exc).__name__}: {exc}"[:300]) from None
            except (httpx.HTTPError, KiotaHTTPError) as exc:
                raise GraphError(None, "TransportError", f"{type(exc).__name__}: {exc}"[:300]) from None
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise GraphError(200, "InvalidJson", f"Graph returned a body that is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise GraphError(200, "InvalidJson", "Graph returned JSON that is not an object")
        return body


def _origin(url: str) -> str:
    parts = httpx.URL(url)
    return f"{parts.scheme}://{parts.host}"


def _api_error(exc: Any) -> GraphError:
    status = getattr(exc, "response_status_code", None)
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None) if error is not None else None
    message = getattr(error, "message", None) if error is not None else None
    if not message:
        message = getattr(exc, "message", None) or f"HTTP {status}"
    headers = getattr(exc, "response_headers", None)
    return GraphError(status, code or None, str(message), dict(headers) if headers else None)
