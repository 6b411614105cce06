"""A local stand-in for Microsoft Graph: a stdlib HTTP server on 127.0.0.1 for collection tests and
the benchmark.

It serves Graph-shaped bodies (dicts or files from ../shared/graph-examples) with absolute
``@odata.nextLink`` paging, injects faults per path (429 with or without Retry-After, 403, 404, 400,
any Graph error body), answers JSON ``$batch``, enforces optional throttle budgets, and records every
request with its Authorization header so tests can check the bearer token went everywhere.

It is also a small stateful store for ``flowaudit apply``: PATCH merges into an object or a
collection item, POST to a collection creates an item with a new id (201), DELETE removes one
(204), ``uploadClientCertificate`` adds a certificate read from the PKCS#12 sent; later GETs (items
by id included) return the new state, and every request keeps its body (``writes()``). Write-only
secrets are kept aside and served as ``******``, as Graph does.
"""

from __future__ import annotations

import json
import math
import re
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
EXAMPLES = SHARED / "graph-examples"

ERRORS = {
    "forbidden": (403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    "unlicensed": (403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                   "Neither tenant is B2C or tenant doesn't have premium license"),
    "notFound": (404, "BadRequest", "Resource not found for the segment 'events'."),
    "badRequest": (400, "BadRequest", "Invalid request."),
    "ssuDisabled": (400, "BadRequest", "The feature self service sign up is not enabled for the tenant."),
    "server": (500, "InternalServerError", "Something went wrong."),
    "throttled": (429, "TooManyRequests", "Too many requests."),
}


def example(name: str) -> Any:
    """A body from shared/graph-examples (verbatim Microsoft docs examples)."""
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message,
                      "innerError": {"date": "2026-11-01T06:00:00", "request-id": "00000000-0000-0000-0000-000000000001",
                                     "client-request-id": "00000000-0000-0000-0000-000000000001"}}}


@dataclass
class Recorded:
    method: str
    path: str  # /v1.0/... without query
    query: str
    authorization: str | None
    retry_attempt: str | None
    batch_item: bool = False  # an inner request of a $batch
    at: float = field(default_factory=time.monotonic)
    body: Any = None  # the JSON body of a write (PATCH/POST/DELETE)
    status: int | None = None  # what the double answered a write


@dataclass
class Fault:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    times: int | None  # None: always
    page: int | None  # only on this page index (0-based); None: any request to the path
    batch_only: bool = False


@dataclass
class Route:
    kind: str  # "collection" or "object"
    data: Any  # list of pages (collection) or the object
    filter_field: str | None = None
    select_gate: tuple[str, Fault] | None = None  # ($select field, fault returned when it is asked for)


class _QuietServer(ThreadingHTTPServer):
    """A client hanging up mid-response (collect stopping on a rejected token) is not a server error:
    socketserver would print its traceback on stderr, into the CLI output a test is reading."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class GraphDouble:
    def __init__(self, token: str, *, latency: float = 0.0) -> None:
        self.token = token
        self.latency = latency
        self.routes: dict[str, Route] = {}
        self.faults: dict[str, list[Fault]] = {}
        self.limits: list[tuple[str, int, float, bool, deque[float]]] = []
        self.requests: list[Recorded] = []
        self.write_faults: list[tuple[str, str, Fault]] = []  # (method, path, fault) for writes
        self.secrets: dict[tuple[str, str], Any] = {}  # (collection path, id) -> write-only values sent
        self._lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                double._handle(self, "GET")

            def do_POST(self) -> None:
                double._handle(self, "POST")

            def do_PATCH(self) -> None:
                double._handle(self, "PATCH")

            def do_DELETE(self) -> None:
                double._handle(self, "DELETE")

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> GraphDouble:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.routes.clear()
            self.faults.clear()
            self.limits.clear()
            self.requests.clear()
            self.write_faults.clear()
            self.secrets.clear()

    # -- configuration --------------------------------------------------------------------------
    def collection(self, path: str, items: list[dict[str, Any]] | None = None, *, page_size: int | None = None,
                   pages: list[list[dict[str, Any]]] | None = None, filter_field: str | None = None,
                   api: str = "v1.0") -> None:
        """Serve a collection at /{api}{path}, in pages linked by absolute @odata.nextLink."""
        if pages is None:
            items = items or []
            size = page_size or max(1, len(items))
            pages = [items[i:i + size] for i in range(0, len(items), size)] or [[]]
        self.routes[f"/{api}{path}"] = Route("collection", pages, filter_field)

    def object(self, path: str, body: dict[str, Any], *, api: str = "v1.0") -> None:
        self.routes[f"/{api}{path}"] = Route("object", body)

    def fail(self, path: str, kind: str | None = None, *, status: int | None = None, code: str = "",
             message: str = "", api: str = "v1.0", times: int | None = None, page: int | None = None,
             retry_after: str | None = None, batch_only: bool = False) -> None:
        """Answer requests to the path with a Graph error (a kind from ERRORS, or status/code/message)."""
        if kind:
            status, code, message = ERRORS[kind]
        assert status is not None
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.faults.setdefault(f"/{api}{path}", []).append(
            Fault(status, error_body(code, message), headers, times, page, batch_only))

    def gate_select(self, path: str, field_name: str, kind: str, api: str = "v1.0") -> None:
        """Fail requests to the path that $select the field (e.g. signInActivity without a licence)."""
        status, code, message = ERRORS[kind]
        self.routes[f"/{api}{path}"].select_gate = (field_name, Fault(status, error_body(code, message), {}, None, None))

    def limit(self, path_prefix: str, requests: int, seconds: float, *, retry_after: bool = True) -> None:
        """Enforce a throttle budget: beyond it answer 429 (with Retry-After unless retry_after=False)."""
        self.limits.append((path_prefix, requests, seconds, retry_after, deque()))

    # -- inspection -----------------------------------------------------------------------------
    def hits(self, path: str, api: str = "v1.0") -> list[Recorded]:
        return [r for r in self.requests if r.path == f"/{api}{path}"]

    def writes(self) -> list[Recorded]:
        """Every PATCH, DELETE and non-batch POST received, in order, with its body and answer."""
        return [r for r in self.requests if r.method in WRITE_METHODS and not r.path.endswith("/$batch")]

    def fail_write(self, method: str, path: str, kind: str | None = None, *, status: int | None = None,
                   code: str = "", message: str = "", api: str = "v1.0", times: int | None = None) -> None:
        """Answer writes (method + exact path) with a Graph error, e.g. to fail the second step of a change."""
        if kind:
            status, code, message = ERRORS[kind]
        assert status is not None
        self.write_faults.append((method, f"/{api}{path}", Fault(status, error_body(code, message), {}, times, None)))

    def current(self, path: str, api: str = "v1.0") -> Any:
        """What a GET of the path would return now: an object, a collection's items, or one item."""
        full = f"/{api}{path}"
        with self._lock:
            route = self.routes.get(full)
            if route is not None:
                return route.data if route.kind == "object" else [i for page in route.data for i in page]
            found = self._item(full)
            return found[1] if found else None

    # -- serving --------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        path = re.sub(r"/{2,}", "/", unquote(parts.path))
        length = int(handler.headers.get("Content-Length") or 0)
        payload = handler.rfile.read(length) if length else b""
        record = Recorded(method, path, parts.query, handler.headers.get("Authorization"),
                          handler.headers.get("Retry-Attempt"))
        if method in WRITE_METHODS and payload:
            try:
                record.body = json.loads(payload)
            except ValueError:
                record.body = payload.decode("utf-8", "replace")
        with self._lock:
            self.requests.append(record)
        if self.latency:
            time.sleep(self.latency)
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            status, headers, body = 401, {}, error_body("InvalidAuthenticationToken", "Access token is empty or invalid.")
        elif method == "POST" and path.endswith("/$batch"):
            status, headers, body = self._batch(path, payload)
        elif method in WRITE_METHODS and (method != "POST" or self._writable(path)):
            status, headers, body = self._write(method, path, record.body)
            record.status = status
        else:
            status, headers, body = self._dispatch(path, parts.query)
        data = json.dumps(body).encode("utf-8") if body is not None else b""
        handler.send_response(status)
        if data:
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _throttle(self, path: str) -> tuple[int, dict[str, str], Any] | None:
        now = time.monotonic()
        with self._lock:
            for prefix, count, seconds, with_retry_after, starts in self.limits:
                if not path.startswith(prefix):
                    continue
                while starts and starts[0] <= now - seconds:
                    starts.popleft()
                if len(starts) >= count:
                    wait = starts[0] + seconds - now
                    headers = {"Retry-After": str(max(1, math.ceil(wait)))} if with_retry_after else {}
                    return 429, headers, error_body("TooManyRequests", "Too many requests.")
                starts.append(now)
        return None

    def _fault(self, path: str, page: int, in_batch: bool) -> Fault | None:
        with self._lock:
            for fault in self.faults.get(path, []):
                if fault.page is not None and fault.page != page:
                    continue
                if fault.batch_only and not in_batch:
                    continue
                if fault.times is not None:
                    if fault.times <= 0:
                        continue
                    fault.times -= 1
                return fault
        return None

    def _dispatch(self, path: str, raw_query: str, in_batch: bool = False) -> tuple[int, dict[str, str], Any]:
        params = {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        page = int(params.get("$skiptoken", "0") or 0)
        throttled = self._throttle(path)
        if throttled:
            return throttled
        fault = self._fault(path, page, in_batch)
        if fault:
            return fault.status, dict(fault.headers), fault.body
        route = self.routes.get(path)
        if route is None and (item := self._item(path)) is not None:  # GET of one collection item by id
            return 200, {}, {"@odata.context": f"{self.url}/{path.split('/')[1]}/$metadata#{item[0]}/$entity",
                             **item[1]}
        if route is None:
            status, code, message = ERRORS["notFound"]
            return status, {}, error_body(code, f"Resource not found for the segment '{path.rsplit('/', 1)[-1]}'.")
        if route.select_gate and route.select_gate[0] in params.get("$select", ""):
            gate = route.select_gate[1]
            return gate.status, {}, gate.body
        if route.kind == "object":
            return 200, {}, {"@odata.context": f"{self.url}/{path.split('/')[1]}/$metadata#{path}", **route.data}
        pages = route.data
        if route.filter_field:
            pages = [[i for i in p if _matches(i, route.filter_field, params.get("$filter", ""))] for p in pages]
        body: dict[str, Any] = {"@odata.context": f"{self.url}/{path.split('/')[1]}/$metadata#{path}",
                                "value": pages[page] if page < len(pages) else []}
        if page + 1 < len(pages):
            rest = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in params.items()
                            if k != "$skiptoken")
            body["@odata.nextLink"] = f"{self.url}{path}?{rest + '&' if rest else ''}$skiptoken={page + 1}"
        return 200, {}, body

    def _batch(self, path: str, payload: bytes) -> tuple[int, dict[str, str], Any]:
        version = path.split("/")[1]
        try:
            requests = json.loads(payload)["requests"]
        except (ValueError, KeyError, TypeError):
            return 400, {}, error_body("BadRequest", "Invalid batch payload.")
        if len(requests) > 20:
            return 400, {}, error_body("BadRequest", "Too many requests in the batch (max 20).")
        responses = []
        for item in requests:
            inner = urlsplit(item["url"])
            inner_path = re.sub(r"/{2,}", "/", f"/{version}/{unquote(inner.path).lstrip('/')}")
            with self._lock:
                self.requests.append(Recorded(item.get("method", "GET"), inner_path, inner.query, None, None, True))
            status, headers, body = self._dispatch(inner_path, inner.query, in_batch=True)
            responses.append({"id": item["id"], "status": status,
                              "headers": {"Content-Type": "application/json", **headers}, "body": body})
        return 200, {}, {"responses": responses}


    # -- writes (flowaudit apply) ------------------------------------------------------------------
    def _item(self, path: str) -> tuple[str, dict[str, Any]] | None:
        """(collection path, item) for ``<collection>/<id>`` (ids compared case-insensitively)."""
        parent, _, ident = path.rpartition("/")
        route = self.routes.get(parent)
        if route is None or route.kind != "collection" or not ident:
            return None
        for page in route.data:
            for item in page:
                if str(item.get("id", "")).casefold() == ident.casefold():
                    return parent, item
        return None

    def _writable(self, path: str) -> bool:
        """A POST the store handles: creating in a collection, or a connector action."""
        route = self.routes.get(path)
        return (route is not None and route.kind == "collection") or path.endswith("/uploadClientCertificate")

    def _write(self, method: str, path: str, body: Any) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            for fault_method, fault_path, fault in self.write_faults:
                if fault_method == method and fault_path == path and (fault.times is None or fault.times > 0):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault.status, dict(fault.headers), fault.body
            if method != "DELETE" and not isinstance(body, dict):
                return 400, {}, error_body("BadRequest", "Write requests must have a JSON object body.")
            route = self.routes.get(path)
            if method == "PATCH" and route is not None and route.kind == "object":
                _merge(route.data, body)
                return 204, {}, None
            if method == "POST" and route is not None and route.kind == "collection":
                return self._create(path, route, body)
            if method == "POST" and path.endswith("/uploadClientCertificate"):
                found = self._item(path.rsplit("/", 1)[0])
                if found is None:
                    return 404, {}, error_body("Request_ResourceNotFound", "Resource not found.")
                try:
                    _add_certificate(found[1], body, replace=False)
                except ValueError as exc:
                    return 400, {}, error_body("BadRequest", str(exc))
                return 200, {}, _served(found[1])
            found = self._item(path)
            if found is None:
                return 404, {}, error_body("Request_ResourceNotFound", f"Resource '{path.rsplit('/', 1)[-1]}' does "
                                           "not exist or one of its queried reference-property objects are not present.")
            parent, item = found
            if method == "DELETE":
                for page in self.routes[parent].data:
                    if item in page:
                        page.remove(item)
                return 204, {}, None
            if method == "PATCH":
                try:
                    self._store_auth(parent, item, body)
                except ValueError as exc:
                    return 400, {}, error_body("BadRequest", str(exc))
                _merge(item, {k: v for k, v in body.items() if k != "authenticationConfiguration"})
                return 204, {}, None
        return 405, {}, error_body("Request_BadRequest", "Specified HTTP method is not allowed for the request target.")

    def _create(self, path: str, route: Route, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        import uuid

        item = {k: v for k, v in body.items() if k != "authenticationConfiguration"}
        item["id"] = str(uuid.uuid4())
        if path.endswith("/conditionalAccess/policies"):
            item.setdefault("createdDateTime", "2026-11-01T06:00:00Z")
            item.setdefault("modifiedDateTime", None)
        try:
            self._store_auth(path, item, body)
        except ValueError as exc:
            return 400, {}, error_body("BadRequest", str(exc))
        pages = route.data
        if not pages:
            pages.append([])
        pages[-1].append(item)
        return 201, {}, {"@odata.context": f"{self.url}/{path.split('/')[1]}/$metadata#{path}/$entity", **_served(item)}

    def _store_auth(self, parent: str, item: dict[str, Any], body: dict[str, Any]) -> None:
        """A connector's authenticationConfiguration: keep write-only secrets aside, serve what Graph serves."""
        config = body.get("authenticationConfiguration")
        if not isinstance(config, dict):
            return
        kind = str(config.get("@odata.type", "")).lower()
        if "basicauthentication" in kind:
            self.secrets[(parent, str(item["id"]))] = {"password": config.get("password")}
            item["authenticationConfiguration"] = {"@odata.type": "#microsoft.graph.basicAuthentication",
                                                   "username": config.get("username"), "password": "******"}
        elif "pkcs12certificate" in kind:
            _add_certificate(item, config, replace=True)
            self.secrets[(parent, str(item["id"]))] = {"pkcs12Password": config.get("password")}
        else:
            raise ValueError(f"Unsupported authenticationConfiguration type {config.get('@odata.type')!r}.")


WRITE_METHODS = ("PATCH", "POST", "DELETE")


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Graph's PATCH: properties sent replace, nested objects merge, properties not sent stay."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict) and "@odata.type" not in value:
            _merge(target[key], value)
        else:
            target[key] = value


def _served(item: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(item))


def _add_certificate(item: dict[str, Any], body: dict[str, Any], *, replace: bool) -> None:
    """Read the PKCS#12 like Graph does (thumbprint, validity) and make it the active certificate."""
    import base64
    import hashlib

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        raw = base64.b64decode(str(body.get("pkcs12Value", "")), validate=True)
        password = body.get("password")
        _, cert, _ = pkcs12.load_key_and_certificates(raw, password.encode() if password else None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"The certificate could not be read: {exc}") from None
    if cert is None:
        raise ValueError("The PKCS#12 value holds no certificate.")
    der = cert.public_bytes(serialization.Encoding.DER)
    entry = {"thumbprint": hashlib.sha1(der).hexdigest().upper(),  # the SHA-1 Graph calls a thumbprint
             "notAfter": int(cert.not_valid_after_utc.timestamp()),
             "notBefore": int(cert.not_valid_before_utc.timestamp()), "isActive": True}
    config = item.get("authenticationConfiguration")
    existing = [] if replace or not isinstance(config, dict) else list(config.get("certificateList") or [])
    for other in existing:
        other["isActive"] = False
    item["authenticationConfiguration"] = {"@odata.type": "#microsoft.graph.clientCertificateAuthentication",
                                           "certificateList": [*existing, entry]}


def _matches(item: dict[str, Any], field_name: str, expression: str) -> bool:
    """Just enough OData: `<field> ge <value>` and `<field> le <value>` (unquoted DateTimeOffset)."""
    value = str(item.get(field_name, ""))
    for op, bound in re.findall(rf"{re.escape(field_name)} (ge|le) (\S+)", expression):
        if op == "ge" and not value >= bound:
            return False
        if op == "le" and not value <= bound:
            return False
    return True
