"""The HTTP path to Graph: msgraph-core's client factory with Graph's default middleware (retry,
redirect, headers) and kiota's azure-identity authentication provider, returning raw JSON.

Responses are never parsed into SDK models (they lose data and are slow, see sdk-probe.md): each
request carries kiota's ``NativeResponseHandler``, so the adapter hands back the HTTP response and
this module checks status, headers and body itself. Graph's error bodies are read as JSON too.

What a server answers is not trusted to end a collection (docs/auth-setup.md, "Tuning"):

* the innermost transport (below kiota's retry and redirect handlers, so it sees every attempt)
  refuses to send anything to a host other than the Graph root, refuses a redirect whose
  ``Location`` leaves that host (kiota's RedirectHandler would follow it, only dropping the
  Authorization header, and the data from the other host would be taken as Graph's), reads each
  response whole within a deadline (a body that trickles forever is cut off), and caps
  ``Retry-After``;
* a 2xx answer must be a non-empty JSON object.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from auditor.collect.endpoints import LOOPBACK_HOSTS, GraphEndpoint
from auditor.collect.settings import KIOTA_MAX_DELAY, Settings
from auditor.collect.throttle import AppBudgets, PacedRequest, WindowLimiter, backoff_seconds

RETRY_STATUSES = {429, 503, 504}
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
UNREACHABLE = "Unreachable"
# A single Graph page is a few MB (1,000 sign-ins ≈ 1.7 MB); anything near this is not Graph.
MAX_BODY_BYTES = 256 * 1024 * 1024
# Connections beyond FLOWAUDIT_MAX_IN_FLIGHT for requests paced by a tenant budget (at most one sign-in
# page, one user page and What-If's workers at a time).
PACED_CONNECTIONS = 8
# Header on which the guard passes the Retry-After it refused to honour up to _send.
_CAPPED_HEADER = "x-flowaudit-retry-after"

# Codes of errors that say the data cannot be trusted (not merely that Graph failed): a source that
# meets one ends in ``error`` even after pages were read (docs/auth-setup.md, "What collect records").
UNTRUSTED_CODES = frozenset({
    "InvalidJson", "EmptyBody", "NotAnObject", "MalformedPage", "MalformedObject", "MalformedBatch",
    "InvalidNextLink", "PagingLoop", "PageCap", "ForeignHost", "ForeignRedirect", "InvalidRedirect",
    "ResponseTooLarge",
})


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

    @property
    def untrusted(self) -> bool:
        """The answer was not what Graph returns (malformed, looping, off-host): keep nothing as ``ok``."""
        return self.code in UNTRUSTED_CODES

    def as_manifest_error(self) -> dict[str, Any]:
        return {"httpStatus": self.status, "code": self.code, "message": self.message}

    @classmethod
    def from_body(cls, status: int | None, body: Any, headers: dict[str, str] | None = None) -> GraphError:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            code = error.get("code")
            message = error.get("message")
            return cls(status, str(code) if code else None, str(message) if message else f"HTTP {status}", headers)
        return cls(status, None, f"HTTP {status}", headers)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), None when absent/unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        from datetime import datetime, timezone

        now = datetime.now(moment.tzinfo or timezone.utc)
        seconds = (moment - now).total_seconds()
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


def describe_cap(asked: float, cap: float) -> str:
    return (f"Graph asked to retry after {asked:g} s, longer than the {cap:g} s flowaudit waits "
            "(FLOWAUDIT_RETRY_AFTER_CAP); not retried")


def _pacing_option(paced: PacedRequest) -> Any:
    """A kiota request option carrying the request's budgets down to the transport (for retries)."""
    from kiota_abstractions.request_option import RequestOption

    class Pacing(RequestOption):
        def __init__(self) -> None:
            self.paced = paced

        @staticmethod
        def get_key() -> str:
            return PACING_KEY

    return Pacing()


PACING_KEY = "flowaudit.pacing"
_REQUEST_OPTIONS = "kiota_request_options"  # where kiota's adapter puts request options on the httpx request


def _pacing_carrier() -> Any:
    """A kiota middleware, last in the chain, that keeps the request's budgets on the httpx request
    under a key of our own: the last middleware removes kiota's request options before the transport
    sees the request, and kiota's RetryHandler resends that same, stripped request."""
    from kiota_http.middleware.middleware import BaseMiddleware

    class CarryPacing(BaseMiddleware):
        async def send(self, request: httpx.Request, transport: httpx.AsyncBaseTransport) -> httpx.Response:
            pacing = (request.extensions.get(_REQUEST_OPTIONS) or {}).get(PACING_KEY)
            if pacing is not None:
                request.extensions[PACING_KEY] = pacing
            response: httpx.Response = await super().send(request, transport)
            return response

    return CarryPacing()


class _Refused(Exception):
    """Raised inside the transport stack; :meth:`GraphTransport._send` turns it into its GraphError."""

    def __init__(self, error: GraphError) -> None:
        super().__init__(str(error))
        self.error = error


class _GuardTransport(httpx.AsyncBaseTransport):
    """Innermost transport: one place that sees every HTTP attempt, retries and redirects included."""

    def __init__(self, inner: httpx.AsyncBaseTransport, endpoint: GraphEndpoint, settings: Settings) -> None:
        self._inner = inner
        self._endpoint = endpoint
        self._settings = settings

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self._endpoint.same_origin(str(request.url)):
            # kiota follows redirects itself; never let a request (token or not) leave the Graph host.
            raise _Refused(GraphError(None, "ForeignHost",
                                      f"refusing a request to another host ({_origin(request.url)})"))
        # Every attempt waits for its budgets here, just before it goes on the wire: kiota's
        # middleware (and, on the first request, its set-up) runs between the caller and this
        # point, and a start counted before it would reach Graph later than counted, bunched
        # with the next one into Graph's window. Kiota's RetryHandler resends on its own: the
        # resend is counted too, or it lands on the next paced request and draws another 429.
        pacing = request.extensions.get(PACING_KEY)
        if pacing is not None:
            ticket = await pacing.paced.acquire()

            async def on_the_wire(event: str, info: dict[str, Any]) -> None:
                # httpcore's trace: the request's headers start to go out (after any connect or TLS)
                if event.endswith("send_request_headers.started"):
                    ticket.sent()

            request.extensions["trace"] = on_the_wire
        deadline = self._settings.timeout
        try:
            return await asyncio.wait_for(self._exchange(request), deadline)
        except asyncio.TimeoutError:
            raise _Refused(GraphError(None, "Timeout", f"no complete response within {deadline:g} s "
                                                       "(FLOWAUDIT_HTTP_TIMEOUT)")) from None

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        try:
            status = response.status_code
            if status in REDIRECT_STATUSES and "location" in response.headers:
                self._check_redirect(request, status, response.headers["location"])
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise _Refused(GraphError(status, "ResponseTooLarge",
                                              f"response larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB"))
        finally:
            await response.aclose()
        # The body was read raw (still content-encoded); httpx decodes it again from the headers.
        answer = httpx.Response(status, headers=response.headers, content=bytes(body), request=request,
                                extensions={k: v for k, v in response.extensions.items() if k == "http_version"})
        if status in RETRY_STATUSES:
            self._pace(request, answer)
        return answer

    def _check_redirect(self, request: httpx.Request, status: int, location: str) -> None:
        try:
            target = request.url.join(location)
        except (httpx.InvalidURL, ValueError, TypeError):
            raise _Refused(GraphError(status, "InvalidRedirect", "Graph answered a redirect with an unreadable "
                                                                 "Location")) from None
        if not self._endpoint.same_origin(str(target)):
            raise _Refused(GraphError(status, "ForeignRedirect",
                                      f"Graph answered {status} with a redirect to {_origin(target)}; "
                                      f"flowaudit follows no redirect off {self._endpoint.origin}"))

    def _pace(self, request: httpx.Request, response: httpx.Response) -> None:
        """Retry-After as kiota's RetryHandler should see it.

        Without one (Conditional Access sends none) it gets our back-off schedule instead of kiota's
        fixed ~3-4 s base; beyond our cap it is raised to kiota's no-retry threshold, so the 429
        comes back at once (the asked value travels on a private header for the message).
        """
        asked = retry_after_seconds(response.headers.get("retry-after"))
        if asked is None:
            attempt = int(request.headers.get("Retry-Attempt", "0") or 0)
            response.headers["Retry-After"] = str(backoff_seconds(attempt, self._settings.backoff_base))
        elif asked > self._settings.retry_after_cap:
            response.headers[_CAPPED_HEADER] = f"{asked:g}"
            response.headers["Retry-After"] = str(int(KIOTA_MAX_DELAY))

    async def aclose(self) -> None:
        await self._inner.aclose()


class GraphTransport:
    """Authenticated raw-JSON GET/POST against one Graph endpoint, with bounded concurrency.

    Every request counts in the application's budgets (``app``: shared by every tenant a portfolio
    run collects at once; a collection's own otherwise) besides the tenant budget its caller names.
    """

    def __init__(self, endpoint: GraphEndpoint, credential: Any, settings: Settings,
                 app: AppBudgets | None = None) -> None:
        from kiota_abstractions.api_client_builder import register_default_deserializer
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from kiota_http.kiota_client_factory import KiotaClientFactory
        from kiota_http.middleware.options import RetryHandlerOption
        from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
        from msgraph.graph_request_adapter import GraphRequestAdapter
        from msgraph_core import GraphClientFactory
        from msgraph_core.middleware import GraphTelemetryHandler

        self.endpoint = endpoint
        self.settings = settings
        self.app = app or AppBudgets.of(settings)
        self.requests = 0
        loopback = endpoint.host in LOOPBACK_HOSTS
        client = httpx.AsyncClient(
            transport=_GuardTransport(httpx.AsyncHTTPTransport(retries=1), endpoint, settings),
            # connect: to open a connection; read: silence allowed between bytes (the guard bounds
            # the whole response); pool: waiting for a free connection (our semaphore keeps it short).
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout,
                                  pool=settings.timeout),
            # Requests paced by a tenant budget do not queue behind the others (see _send): room for them.
            limits=httpx.Limits(max_connections=settings.max_in_flight + PACED_CONNECTIONS),
            follow_redirects=False,  # kiota's RedirectHandler decides, and the guard vets its target
            trust_env=not loopback,  # proxies from the environment, but never for a local double
        )
        retry = RetryHandlerOption(delay=0, max_retries=settings.max_retries)
        # Graph's default middleware (as create_with_default_middleware builds it), and last the
        # carrier of each request's budgets: after the redirect and retry handlers, so that a
        # redirected request (a new one) and every resend reach the guard with their budgets.
        middleware = [*KiotaClientFactory.get_default_middleware({RetryHandlerOption.get_key(): retry}),
                      GraphTelemetryHandler(), _pacing_carrier()]
        http = GraphClientFactory.create_with_custom_middleware(middleware, client=client)
        # kiota's provider with an explicit allow-list: the token is only ever attached for this host.
        auth = AzureIdentityAuthenticationProvider(credential, scopes=[endpoint.scope],
                                                   allowed_hosts=[endpoint.host])
        register_default_deserializer(JsonParseNodeFactory)
        self._adapter = GraphRequestAdapter(auth, client=http)
        self._adapter.base_url = endpoint.url("v1.0", "")  # no trailing slash (sdk-probe §3b)
        self._client = http
        self._in_flight = asyncio.Semaphore(settings.max_in_flight)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, url: str, limiter: WindowLimiter | None = None,
                  headers: dict[str, str] | None = None) -> dict[str, Any]:
        from kiota_abstractions.method import Method

        return await self._send(Method.GET, url, None, self._paced(limiter, self.app.for_request(self._api_path(url))),
                                headers, queue=limiter is None)

    async def post(self, url: str, body: dict[str, Any], limiter: WindowLimiter | None = None) -> dict[str, Any]:
        from kiota_abstractions.method import Method

        inner = body.get("requests") if url.endswith("/$batch") else None
        if isinstance(inner, list):  # Graph counts every request inside a $batch
            app = self.app.for_batch([str(item.get("url", "")) for item in inner if isinstance(item, dict)])
        else:
            app = self.app.for_request(self._api_path(url))
        return await self._send(Method.POST, url, json.dumps(body).encode("utf-8"), self._paced(limiter, app), None,
                                queue=limiter is None)

    def _api_path(self, url: str) -> str:
        """``/identity/b2xUserFlows?…`` of ``https://graph…/v1.0/identity/b2xUserFlows?…``."""
        rest = url[len(self.endpoint.root):] if url.startswith(self.endpoint.root) else url
        for api in ("/v1.0", "/beta"):
            if rest.startswith(api):
                return rest[len(api):]
        return rest

    @staticmethod
    def _paced(limiter: WindowLimiter | None, app: tuple[tuple[WindowLimiter, int], ...]) -> PacedRequest:
        return PacedRequest((((limiter, 1),) if limiter is not None else ()) + app)

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

    async def _send(self, method: Any, url: str, content: bytes | None, paced: PacedRequest,
                    headers: dict[str, str] | None, *, queue: bool = True) -> dict[str, Any]:
        """``queue``: wait for one of the FLOWAUDIT_MAX_IN_FLIGHT slots. A request paced by a tenant
        budget (sign-ins, signInActivity, Conditional Access) does not, so that waiting for its
        budget never holds a slot other sources could use; those requests are few at a time (one
        sign-in page, one user page, a few What-If calls)."""
        from azure.core.exceptions import ClientAuthenticationError
        from kiota_abstractions.native_response_handler import NativeResponseHandler
        from kiota_abstractions.request_information import RequestInformation
        from kiota_authentication_azure._exceptions import HTTPError as KiotaAuthError
        from kiota_http._exceptions import KiotaHTTPXError
        from kiota_http.middleware.options import ResponseHandlerOption

        if not self.endpoint.same_origin(url):
            raise GraphError(None, "ForeignHost", f"refusing to follow a link to another host ({_origin(url)})")
        info = RequestInformation()
        info.http_method = method
        info.url = url
        info.headers.try_add("Accept", "application/json")
        for name, value in (headers or {}).items():
            info.headers.try_add(name, value)
        if content is not None:
            info.set_stream_content(content, "application/json")
        info.add_request_options([ResponseHandlerOption(NativeResponseHandler())])
        info.add_request_options([_pacing_option(paced)])  # acquired by the guard, for every attempt
        async with self._in_flight if queue else contextlib.nullcontext():
            self.requests += 1
            try:
                response: httpx.Response = await self._adapter.send_primitive_async(info, "bytes", None)
            except _Refused as refused:
                raise refused.error from None
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise GraphError(None, UNREACHABLE, f"{type(exc).__name__}: {exc}"[:300]) from None
            except httpx.TimeoutException as exc:
                raise GraphError(None, "Timeout", f"{type(exc).__name__}: no data for "
                                                  f"{self.settings.read_timeout:g} s (FLOWAUDIT_READ_TIMEOUT)") from None
            except ClientAuthenticationError as exc:
                raise GraphError(401, "TokenUnavailable", f"could not get a token: {exc}"[:300]) from None
            except (httpx.HTTPError, KiotaHTTPXError, KiotaAuthError) as exc:
                raise GraphError(None, "TransportError", f"{type(exc).__name__}: {exc}"[:300]) from None
        return self._body(response)

    def _body(self, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        raw = response.content
        if 200 <= status < 300:
            if not raw.strip():
                raise GraphError(status, "EmptyBody", "Graph answered with an empty body")
            try:
                body = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
                raise GraphError(status, "InvalidJson", f"Graph returned a body that is not JSON: {exc}"[:300]) from None
            if not isinstance(body, dict):
                raise GraphError(status, "NotAnObject", f"Graph returned JSON that is not an object "
                                                        f"({type(body).__name__})")
            return body
        headers = {k.lower(): v for k, v in response.headers.items()}
        if 300 <= status < 400:
            raise GraphError(status, "UnexpectedRedirect", f"Graph answered {status}, a redirect that was not "
                                                           "followed")
        try:
            parsed: Any = json.loads(raw) if raw else None
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            parsed = None
        error = GraphError.from_body(status, parsed, headers)
        capped = headers.get(_CAPPED_HEADER)
        if capped is not None:
            error.message = f"{error.message} ({describe_cap(float(capped), self.settings.retry_after_cap)})"
        elif status in RETRY_STATUSES:
            error.message = f"{error.message} (still throttled after {self.settings.max_retries} retries)"
        raise error


def _origin(url: str | httpx.URL) -> str:
    try:
        parts = httpx.URL(str(url))
    except (httpx.InvalidURL, ValueError, TypeError):
        return "an unreadable URL"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.host}{port}"
