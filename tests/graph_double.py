"""A local stand-in for Microsoft Graph: a stdlib HTTP server on 127.0.0.1 for collection tests and
the benchmark.

It serves Graph-shaped bodies (dicts, or the documented examples in tests/data) with absolute
``@odata.nextLink`` paging, answers JSON ``$batch`` and ``POST /identity/conditionalAccess/evaluate``
(from a function the test gives), enforces optional throttle budgets, and records every request
with its Authorization header (for assertions only; nothing is written anywhere).

Faults a test can inject, per path (and optionally per page or only inside ``$batch``):

* Graph errors (401/403/404/400/429/500/503, with or without ``Retry-After``) with Graph's bodies;
* any JSON value or raw bytes as the body (``value`` a dict, null, missing or scalars; an empty or
  non-JSON body; ``@odata.nextLink`` an int, null, another host);
* redirects (301/302/307/308) to any URL; a body that trickles forever; a response that never comes;
* an endless ``@odata.nextLink`` (the same link again, or a new one every page);
* ``$batch`` items with a null or string body, a string status, a duplicate or unknown id, or none.

Several tenants can share one server (:meth:`GraphDouble.add_tenant`): the bearer token says which
tenant a request is for, as the token's ``tid`` does at Graph, and :meth:`GraphDouble.limit_app`
enforces a budget across all of them, as Graph's per-app limits do.

The server is quiet: a client that hangs up mid-answer (which every timeout test provokes) is
recorded in ``server_errors``, never printed, so nothing reaches the captured output of the CLI
under test. Each test gets its own server (no state is shared) and stops it.

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
import select
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

DATA = Path(__file__).resolve().parent / "data"
EXAMPLES = DATA  # the documented Graph bodies (tests/data/README.md)


def example(name: str) -> Any:
    """A body from tests/data (verbatim Microsoft docs examples)."""
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message,
                      "innerError": {"date": "2026-11-01T06:00:00", "request-id": "00000000-0000-0000-0000-000000000001",
                                     "client-request-id": "00000000-0000-0000-0000-000000000001"}}}


def _documented(name: str) -> tuple[str, str]:
    error = example(name)["error"]
    return error["code"], error["message"]


ERRORS = {
    "forbidden": (403, *_documented("error-403-authorization-requestdenied.json")),
    "unlicensed": (403, *_documented("error-403-nonpremium-tenant-observed.json")),
    "premium": (403, "AadPremiumLicenseRequired",
                "The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license."),
    "notFound": (404, "BadRequest", "Resource not found for the segment 'events'."),
    "resourceNotFound": (404, *_documented("error-404-resource-not-found-observed.json")),
    "badRequest": (400, "BadRequest", "Invalid request."),
    "ssuDisabled": (400, "BadRequest", "The feature self service sign up is not enabled for the tenant."),
    "server": (500, "InternalServerError", "Something went wrong."),
    "unavailable": (503, "ServiceUnavailable", "The service is temporarily unavailable."),
    "throttled": (429, "TooManyRequests", "Too many requests."),
    "unauthorized": (401, "InvalidAuthenticationToken", "Access token is empty or invalid."),
}
_UNSET: Any = object()


@dataclass
class Recorded:
    method: str
    path: str  # /v1.0/... without query
    query: str
    authorization: str | None
    retry_attempt: str | None
    batch_item: bool = False  # an inner request of a $batch
    at: float = field(default_factory=time.monotonic)
    body: Any = None  # the JSON payload of a POST
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names, Authorization left out
    status: int | None = None  # what the double answered a write


@dataclass
class Fault:
    status: int
    body: Any  # any JSON value
    headers: dict[str, str]
    times: int | None  # None: always
    page: int | None  # only on this page index (0-based); None: any request to the path
    batch_only: bool = False
    raw: bytes | None = None  # exact bytes instead of JSON (an empty or non-JSON body)
    behaviour: str = "answer"  # "answer", "trickle" (headers, then a byte now and then, forever), "stall"


@dataclass
class BatchFault:
    """How the $batch answer for requests to a path is spoiled."""

    body: Any = _UNSET
    status: Any = _UNSET
    duplicate: bool = False
    foreign_id: str | None = None
    drop: bool = False


@dataclass
class Route:
    kind: str  # "collection", "object" or "endless"
    data: Any  # list of pages (collection) or the object
    filter_field: str | None = None
    select_gate: tuple[str, Fault] | None = None  # ($select field, fault returned when it is asked for)
    query_gates: list[tuple[tuple[str, ...], Fault]] = field(default_factory=list)
    paging: str = "nextLink"  # or "skip": $top/$skip, never a nextLink (access review definitions)
    in_filter: str | None = None  # field of `$filter=<field> in ('a','b')` (at most 15 values, as Graph)
    expandable: tuple[str, ...] = ()  # navigation properties returned only when $expand names them
    honour_expand: bool = True
    advanced: bool = False  # needs ConsistencyLevel: eventual and $count=true (an OData cast)
    mode: str = ""  # endless: "loop" or "changing"


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a trickling handler must not hold up stop()
    # Many tenants open their connections at once; socketserver's backlog of 5 would drop the
    # rest of the SYNs, and each client would wait a second to try again.
    request_queue_size = 1024

    def __init__(self, handler: type[BaseHTTPRequestHandler], double: GraphDouble) -> None:
        self.double = double
        super().__init__(("127.0.0.1", 0), handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a traceback to stderr by default: under CliRunner that is the CLI's
        # captured stderr. A client hanging up is what timeout tests do; keep it for inspection.
        self.double.server_errors.append(sys.exc_info()[1])


class GraphDouble:
    """One tenant's Graph (the token's), on its own server; :meth:`add_tenant` serves more tenants
    from the same server, each with its own token, routes, faults, limits and request record, and
    :meth:`limit_app` enforces a budget across all of them (Graph's per-app limits)."""

    def __init__(self, token: str, *, latency: float = 0.0, parent: GraphDouble | None = None) -> None:
        self.token = token
        self.latency = latency
        self.parent = parent
        self.routes: dict[str, Route] = {}
        self.faults: dict[str, list[Fault]] = {}
        self.batch_faults: dict[str, list[BatchFault]] = {}
        self.batch_override: Callable[[dict[str, Any]], Any] | None = None
        self.evaluator: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None
        self.limits: list[tuple[str, int, float, bool, deque[float]]] = []
        self.app_limits: list[tuple[str, int, float, bool, deque[float]]] = []  # across all tenants
        self.tenants: dict[str, GraphDouble] = {}  # token -> another tenant served by this server
        self.requests: list[Recorded] = []
        self.throttled = 0  # 429s answered (this tenant's; the server's double also counts all)
        # Called in the server's thread with each request of this tenant before it is answered
        # (a test can hold one tenant's answer until another tenant's request has arrived).
        self.before: Callable[[Recorded], None] | None = None
        self.server_errors: list[BaseException | None] = []
        self.write_faults: list[tuple[str, str, Fault]] = []  # (method, path, fault) for writes
        self.secrets: dict[tuple[str, str], Any] = {}  # (collection path, id) -> write-only values sent
        # One lock for the whole server: the budgets across tenants are decided under it.
        self._lock: threading.Lock = parent._lock if parent is not None else threading.Lock()
        self._stopping = threading.Event()
        if parent is not None:
            return  # served by the parent's server
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30  # an idle keep-alive connection does not hold a thread for ever

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

        self._server = _QuietServer(Handler, self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self.parent is not None:
            return self.parent.url
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_tenant(self, token: str) -> GraphDouble:
        """Another tenant on this server: requests bearing ``token`` see the returned double's routes."""
        assert self.parent is None and token != self.token and token not in self.tenants
        tenant = GraphDouble(token, latency=self.latency, parent=self)
        self.tenants[token] = tenant
        return tenant

    def all_requests(self) -> list[Recorded]:
        """Every request the server received, all tenants together, in arrival order."""
        with self._lock:
            return sorted([*self.requests, *(r for t in self.tenants.values() for r in t.requests)],
                          key=lambda r: r.at)

    def start(self) -> GraphDouble:
        if self.parent is None:
            self._thread.start()
        return self

    def stop(self) -> None:
        if self.parent is not None:
            return
        self._stopping.set()  # trickling and stalled handlers end
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> GraphDouble:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def reset(self) -> None:
        with self._lock:
            self.routes.clear()
            self.faults.clear()
            self.batch_faults.clear()
            self.batch_override = None
            self.evaluator = None
            self.limits.clear()
            self.app_limits.clear()
            self.tenants.clear()
            self.requests.clear()
            self.write_faults.clear()
            self.secrets.clear()

    # -- configuration --------------------------------------------------------------------------
    def collection(self, path: str, items: list[dict[str, Any]] | None = None, *, page_size: int | None = None,
                   pages: list[list[dict[str, Any]]] | None = None, filter_field: str | None = None,
                   api: str = "v1.0", paging: str = "nextLink", in_filter: str | None = None,
                   expandable: tuple[str, ...] = (), honour_expand: bool = True, advanced: bool = False) -> None:
        """Serve a collection at /{api}{path}, in pages linked by absolute @odata.nextLink."""
        if pages is None:
            items = items or []
            size = page_size or max(1, len(items))
            pages = [items[i:i + size] for i in range(0, len(items), size)] or [[]]
        self.routes[f"/{api}{path}"] = Route("collection", pages, filter_field, paging=paging, in_filter=in_filter,
                                             expandable=expandable, honour_expand=honour_expand, advanced=advanced)

    def object(self, path: str, body: dict[str, Any], *, api: str = "v1.0") -> None:
        self.routes[f"/{api}{path}"] = Route("object", body)

    def endless(self, path: str, item: dict[str, Any], *, mode: str = "changing", api: str = "v1.0") -> None:
        """Every page (one copy of ``item``) links to another: the same link again ("loop") or a new one
        for ever ("changing")."""
        self.routes[f"/{api}{path}"] = Route("endless", item, mode=mode)

    def fail(self, path: str, kind: str | None = None, *, status: int | None = None, code: str = "",
             message: str = "", api: str = "v1.0", times: int | None = None, page: int | None = None,
             retry_after: str | None = None, batch_only: bool = False) -> None:
        """Answer requests to the path with a Graph error (a kind from ERRORS, or status/code/message)."""
        if kind:
            status, code, message = ERRORS[kind]
        assert status is not None
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self._add_fault(path, api, Fault(status, error_body(code, message), headers, times, page, batch_only))

    def respond(self, path: str, body: Any = None, *, raw: bytes | None = None, status: int = 200,
                headers: dict[str, str] | None = None, api: str = "v1.0", times: int | None = None,
                page: int | None = None, batch_only: bool = False) -> None:
        """Answer requests to the path with exactly this JSON value (or these bytes)."""
        self._add_fault(path, api, Fault(status, body, dict(headers or {}), times, page, batch_only, raw=raw))

    def redirect(self, path: str, location: str, *, status: int = 302, api: str = "v1.0",
                 page: int | None = None, times: int | None = None) -> None:
        self._add_fault(path, api, Fault(status, None, {"Location": location}, times, page, raw=b""))

    def trickle(self, path: str, *, api: str = "v1.0", page: int | None = None) -> None:
        """Send a 200 with a large Content-Length, then one byte every 50 ms, never completing."""
        self._add_fault(path, api, Fault(200, None, {}, None, page, behaviour="trickle"))

    def stall(self, path: str, *, api: str = "v1.0", page: int | None = None) -> None:
        """Read the request and never answer."""
        self._add_fault(path, api, Fault(200, None, {}, None, page, behaviour="stall"))

    def spoil_batch(self, path: str, *, api: str = "v1.0", body: Any = _UNSET, status: Any = _UNSET,
                    duplicate: bool = False, foreign_id: str | None = None, drop: bool = False) -> None:
        """Spoil the $batch answer item for inner requests to the path."""
        self.batch_faults.setdefault(f"/{api}{path}", []).append(
            BatchFault(body=body, status=status, duplicate=duplicate, foreign_id=foreign_id, drop=drop))

    def gate_select(self, path: str, field_name: str, kind: str, api: str = "v1.0") -> None:
        """Fail requests to the path that $select the field (e.g. signInActivity without a licence)."""
        status, code, message = ERRORS[kind]
        self.routes[f"/{api}{path}"].select_gate = (field_name, Fault(status, error_body(code, message), {}, None, None))

    def gate_query(self, path: str, parts: tuple[str, ...], kind: str, api: str = "v1.0") -> None:
        """Fail requests to the path whose (decoded) query contains every one of ``parts``."""
        status, code, message = ERRORS[kind]
        self.routes[f"/{api}{path}"].query_gates.append((parts, Fault(status, error_body(code, message), {}, None, None)))

    def evaluate(self, answer: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> None:
        """Answer POST /v1.0/identity/conditionalAccess/evaluate with answer(request body) as `value`."""
        self.evaluator = answer

    def limit(self, path_prefix: str, requests: int, seconds: float, *, retry_after: bool = True) -> None:
        """Enforce a throttle budget: beyond it answer 429 (with Retry-After unless retry_after=False)."""
        self.limits.append((path_prefix, requests, seconds, retry_after, deque()))

    def limit_app(self, path_prefix: str, requests: int, seconds: float, *, retry_after: bool = True) -> None:
        """A budget shared by every tenant this server serves (Graph's per-app limit across tenants)."""
        assert self.parent is None
        self.app_limits.append((path_prefix, requests, seconds, retry_after, deque()))

    def _add_fault(self, path: str, api: str, fault: Fault) -> None:
        self.faults.setdefault(f"/{api}{path}", []).append(fault)

    # -- inspection -----------------------------------------------------------------------------
    def hits(self, path: str, api: str = "v1.0") -> list[Recorded]:
        return [r for r in self.requests if r.path == f"/{api}{path}"]

    def evaluations(self) -> list[dict[str, Any]]:
        """The What-If request bodies received, in order."""
        return [r.body for r in self.hits("/identity/conditionalAccess/evaluate") if r.method == "POST"]

    def writes(self) -> list[Recorded]:
        """Every PATCH, DELETE and non-batch POST received, in order, with its body and answer."""
        # $batch and What-If are POSTs that read
        return [r for r in self.requests if r.method in WRITE_METHODS and not r.path.endswith("/$batch")
                and not r.path.endswith("/conditionalAccess/evaluate")]

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
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = None
        if parsed is None and method in WRITE_METHODS and payload:
            parsed = payload.decode("utf-8", "replace")  # not JSON: kept so a test can see what was sent
        headers = {k.lower(): v for k, v in handler.headers.items() if k.lower() != "authorization"}
        authorization = handler.headers.get("Authorization")
        tenant = self._tenant_for(authorization)
        record = Recorded(method, path, parts.query, authorization, handler.headers.get("Retry-Attempt"), body=parsed,
                          headers=headers)
        with self._lock:
            (tenant or self).requests.append(record)
        if tenant is not None and tenant.before is not None:
            tenant.before(record)
        if self.latency:
            time.sleep(self.latency)
        fault: Fault | None = None
        if tenant is None:
            status, out_headers, body = 401, {}, error_body(*ERRORS["unauthorized"][1:])
        elif method == "POST" and path.endswith("/$batch"):
            status, out_headers, body = tenant._batch(path, parsed)
        elif method in ("PATCH", "DELETE") or (method == "POST" and tenant._writable(path)):
            status, out_headers, body = tenant._write(method, path, parsed)
            record.status = status
        else:
            status, out_headers, body, fault = tenant._dispatch(path, parts.query, headers, method=method,
                                                                payload=parsed)
        if fault is not None and fault.behaviour != "answer":
            self._misbehave(handler, fault)
            return
        data = fault.raw if fault is not None and fault.raw is not None else \
            json.dumps(body).encode("utf-8") if body is not None else b""
        try:
            handler.send_response(status)
            if data:
                handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in out_headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:  # the client hung up
            handler.close_connection = True

    def _misbehave(self, handler: BaseHTTPRequestHandler, fault: Fault) -> None:
        handler.close_connection = True
        try:
            if fault.behaviour == "trickle":
                handler.send_response(200)
                handler.send_header("Content-Type", "application/json")
                handler.send_header("Content-Length", "10000000")
                handler.end_headers()
                handler.wfile.write(b'{"value": [')
                handler.wfile.flush()
            while not self._stopping.is_set():
                readable, _, _ = select.select([handler.connection], [], [], 0.05)
                if readable and not handler.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):  # client gone
                    return
                if fault.behaviour == "trickle":
                    handler.wfile.write(b" ")
                    handler.wfile.flush()
        except OSError:
            return

    def _tenant_for(self, authorization: str | None) -> GraphDouble | None:
        """The tenant whose token the request bears (None: no known token, answered 401)."""
        if authorization == f"Bearer {self.token}":
            return self
        if authorization and authorization.startswith("Bearer "):
            return self.tenants.get(authorization[len("Bearer "):])
        return None

    def _throttle(self, path: str) -> tuple[int, dict[str, str], Any] | None:
        """429 when any budget the request counts in (the tenant's, the app's) is full; otherwise the
        request counts in all of them."""
        now = time.monotonic()
        root = self.parent or self
        with self._lock:
            budgets = [b for b in (*self.limits, *root.app_limits) if path.startswith(b[0])]
            for _prefix, count, seconds, with_retry_after, starts in budgets:
                while starts and starts[0] <= now - seconds:
                    starts.popleft()
                if len(starts) >= count:
                    wait = starts[0] + seconds - now
                    headers = {"Retry-After": str(max(1, math.ceil(wait)))} if with_retry_after else {}
                    self.throttled += 1
                    if root is not self:
                        root.throttled += 1
                    return 429, headers, error_body("TooManyRequests", "Too many requests.")
            for budget in budgets:
                budget[4].append(now)
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

    def _dispatch(self, path: str, raw_query: str, headers: dict[str, str], in_batch: bool = False,
                  method: str = "GET", payload: Any = None) -> tuple[int, dict[str, str], Any, Fault | None]:
        params = {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        page = int(params.get("$skiptoken", "0") or 0)
        throttled = self._throttle(path)
        if throttled:
            return (*throttled, None)
        fault = self._fault(path, page, in_batch)
        if fault:
            return fault.status, dict(fault.headers), fault.body, fault
        context = f"{self.url}/{path.split('/')[1]}/$metadata#{path}"
        if method == "POST":
            if path == "/v1.0/identity/conditionalAccess/evaluate" and self.evaluator is not None:
                context = f"{self.url}/v1.0/$metadata#Collection(microsoft.graph.whatIfAnalysisResult)"
                return 200, {}, {"@odata.context": context, "value": self.evaluator(payload)}, None
            status, code, message = ERRORS["notFound"]
            return status, {}, error_body(code, "Resource not found."), None
        route = self.routes.get(path)
        if route is None and (item := self._item(path)) is not None:  # GET of one collection item by id
            return 200, {}, {"@odata.context": f"{self.url}/{path.split('/')[1]}/$metadata#{item[0]}/$entity",
                             **item[1]}, None
        if route is None:
            status, code, message = ERRORS["notFound"]
            return status, {}, error_body(code, f"Resource not found for the segment '{path.rsplit('/', 1)[-1]}'."), None
        decoded = unquote(raw_query)
        if route.select_gate and route.select_gate[0] in params.get("$select", ""):
            gate = route.select_gate[1]
            return gate.status, {}, gate.body, None
        for parts, gate in route.query_gates:
            if all(part in decoded for part in parts):
                return gate.status, {}, gate.body, None
        if route.advanced and (headers.get("consistencylevel") != "eventual" or params.get("$count") != "true"):
            return 400, {}, error_body("Request_UnsupportedQuery",
                                       "The requested OData cast needs ConsistencyLevel: eventual and $count=true."), None
        if route.kind == "object":
            return 200, {}, {"@odata.context": context, **route.data}, None
        if route.kind == "endless":
            token = page if route.mode == "loop" and page else page + 1
            body = {"@odata.context": context, "value": [{**route.data, "id": f"{route.data.get('id')}-{page}"}],
                    "@odata.nextLink": f"{self.url}{path}?$skiptoken={token}"}
            return 200, {}, body, None
        pages = route.data
        if route.filter_field:
            pages = [[i for i in p if _matches(i, route.filter_field, params.get("$filter", ""))] for p in pages]
        if route.in_filter:
            wanted = _in_values(route.in_filter, params.get("$filter", ""))
            if wanted is None or len(wanted) > 15:
                return 400, {}, error_body("Request_UnsupportedQuery",
                                           "Too many values in the 'in' clause (at most 15)."), None
            pages = [[i for i in p if str(i.get(route.in_filter, "")).casefold() in wanted] for p in pages]
        if route.expandable:
            expand = params.get("$expand", "") if route.honour_expand else ""
            # An expanded navigation property is always there ([] when empty); otherwise never.
            pages = [[{**{k: [] for k in route.expandable if k in expand},
                       **{k: v for k, v in i.items() if k not in route.expandable or k in expand}} for i in p]
                     for p in pages]
        if route.paging == "skip":
            items = [i for p in pages for i in p]
            top, skip = int(params.get("$top", "100")), int(params.get("$skip", "0"))
            return 200, {}, {"@odata.context": context, "value": items[skip:skip + top]}, None
        body = {"@odata.context": context, "value": pages[page] if page < len(pages) else []}
        if page + 1 < len(pages):
            rest = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in params.items()
                            if k != "$skiptoken")
            body["@odata.nextLink"] = f"{self.url}{path}?{rest + '&' if rest else ''}$skiptoken={page + 1}"
        return 200, {}, body, None

    def _batch(self, path: str, payload: Any) -> tuple[int, dict[str, str], Any]:
        version = path.split("/")[1]
        try:
            requests = payload["requests"]
        except (KeyError, TypeError):
            return 400, {}, error_body("BadRequest", "Invalid batch payload.")
        if len(requests) > 20:
            return 400, {}, error_body("BadRequest", "Too many requests in the batch (max 20).")
        if self.batch_override is not None:
            return 200, {}, self.batch_override(payload)
        responses = []
        for item in requests:
            inner = urlsplit(item["url"])
            inner_path = re.sub(r"/{2,}", "/", f"/{version}/{unquote(inner.path).lstrip('/')}")
            headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
            with self._lock:
                self.requests.append(Recorded(item.get("method", "GET"), inner_path, inner.query, None, None, True,
                                              headers=headers))
            status, out_headers, body, fault = self._dispatch(inner_path, inner.query, headers, in_batch=True)
            if fault is not None and fault.raw is not None:
                body = fault.raw.decode("utf-8", "replace")
            answer: dict[str, Any] = {"id": item["id"], "status": status,
                                      "headers": {"Content-Type": "application/json", **out_headers}, "body": body}
            spoilers = self.batch_faults.get(inner_path, [])
            for spoil in spoilers:
                if spoil.body is not _UNSET:
                    answer["body"] = spoil.body
                if spoil.status is not _UNSET:
                    answer["status"] = spoil.status
                if spoil.foreign_id is not None:
                    answer["id"] = spoil.foreign_id
            if any(s.drop for s in spoilers):
                continue
            responses.append(answer)
            if any(s.duplicate for s in spoilers):
                responses.append(dict(answer))
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


def _in_values(field_name: str, expression: str) -> set[str] | None:
    """The casefolded values of `<field> in ('a','b')`, or None when the filter is not that."""
    match = re.fullmatch(rf"\s*{re.escape(field_name)} in \((.*)\)\s*", expression)
    if not match:
        return None
    return {v.casefold() for v in re.findall(r"'((?:[^']|'')*)'", match.group(1))}
