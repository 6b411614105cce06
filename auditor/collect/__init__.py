"""Live collection from Microsoft Graph into a snapshot (docs/auth-setup.md).

The only package that imports msgraph / azure / kiota / httpx, and only when :func:`collect` runs,
so offline commands stay fast.

Every expected failure leaves here as a typed error: :class:`InputError` (exit 2) for an unusable
output path or option, :class:`IncompleteAuditError` (exit 3) when the token is refused or Graph
cannot be reached. Anything a single source meets (refusals, faults, malformed answers) ends that
source in a status and never stops the others.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import shutil
import sys
from collections.abc import Awaitable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.connection import ConnectionOptions
from auditor.errors import FlowauditError, IncompleteAuditError, InputError
from auditor.sources import SOURCE_KEYS

if TYPE_CHECKING:  # the throttle module is light, but collect's import stays free of the collector
    from auditor.collect.throttle import AppBudgets, TenantBudgets

log = logging.getLogger(__name__)
COLLECTED_KEYS = SOURCE_KEYS
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DEFAULT_WHATIF_MAX_CALLS = 400


def collect(connection: ConnectionOptions, dest: Path, *, signin_days: int, quiet: bool,
            previous: Path | None = None, whatif_max_calls: int = DEFAULT_WHATIF_MAX_CALLS) -> Path:
    """Collect every source into a snapshot at ``dest`` (a directory, or a zip when it ends .zip)."""
    from auditor.collect.credentials import acquire_token
    from auditor.collect.progress import make_progress

    job = _Job.prepare(connection, dest, signin_days=signin_days, previous=previous,
                       whatif_max_calls=whatif_max_calls)
    try:
        choice = job.credential()
        claims = acquire_token(choice, job.endpoint)
        path, outcomes = asyncio.run(job.run(claims, lambda: make_progress(quiet)))
    finally:
        job.close()
    if not quiet:
        _print_table(outcomes)
    return path


async def collect_async(connection: ConnectionOptions, dest: Path, *, signin_days: int,
                        previous: Path | None = None, whatif_max_calls: int = DEFAULT_WHATIF_MAX_CALLS,
                        app: AppBudgets | None = None, budgets: TenantBudgets | None = None) -> Path:
    """:func:`collect` as one task among others in a running event loop (a portfolio run collects
    many tenants in one process): the same checks, errors and snapshot, without progress or table.

    ``app`` is the application's budget shared by every tenant collected at once; ``budgets`` the
    tenant's own, shared by collections of the same tenant. The first token is fetched, and the
    snapshot written, in a worker thread, so the other tenants' requests go on meanwhile.
    """
    from auditor.collect.credentials import acquire_token
    from auditor.collect.progress import Progress

    job = _Job.prepare(connection, dest, signin_days=signin_days, previous=previous,
                       whatif_max_calls=whatif_max_calls)
    try:
        choice = job.credential()
        claims = await asyncio.to_thread(acquire_token, choice, job.endpoint)
        path, _ = await job.run(claims, lambda: Progress(sys.stderr, lines=False), app=app, budgets=budgets,
                                offload=True)
    finally:
        job.close()
    return path


def warm_up() -> None:
    """Import now what a collection's first request imports (the SDK, kiota, azure.core: about a
    second). Many tenants collected in one loop would otherwise pay it in the middle of their first
    requests, holding up requests already counted against Graph's budgets."""
    import azure.core.exceptions  # noqa: F401 - acquire_token
    import kiota_abstractions.method
    import kiota_abstractions.native_response_handler
    import kiota_abstractions.request_information  # noqa: F401
    import kiota_authentication_azure.azure_identity_authentication_provider  # noqa: F401
    import kiota_http.middleware.options  # noqa: F401
    import kiota_serialization_json.json_parse_node_factory  # noqa: F401
    import msgraph.graph_request_adapter  # noqa: F401
    import msgraph_core  # noqa: F401

    import auditor.collect.fetch
    import auditor.collect.transport
    import auditor.collect.whatif
    import auditor.snapshot.writer  # noqa: F401


class _Job:
    """One collection: its checked options and what it holds while it runs (spool, credential)."""

    def __init__(self, connection: ConnectionOptions, dest: Path, *, signin_days: int, previous: Path | None,
                 whatif_max_calls: int, settings: Any, endpoint: Any, prior: Any, spool_dir: Path) -> None:
        self.connection = connection
        self.dest = dest
        self.signin_days = signin_days
        self.previous = previous
        self.whatif_max_calls = whatif_max_calls
        self.settings = settings
        self.endpoint = endpoint
        self.prior = prior
        self.spool_dir = spool_dir
        self.choice: Any = None

    @classmethod
    def prepare(cls, connection: ConnectionOptions, dest: Path, *, signin_days: int, previous: Path | None,
                whatif_max_calls: int) -> _Job:
        """Every check that needs no network; exit 2 before any request when something is unusable."""
        from auditor.collect.endpoints import resolve_endpoint
        from auditor.collect.fetch import spool_directory
        from auditor.collect.incremental import load_previous
        from auditor.collect.settings import Settings
        from auditor.snapshot.writer import check_destination

        if not 1 <= signin_days <= 30:
            raise InputError(f"--signin-days: must be between 1 and 30 (Graph keeps 30 days), got {signin_days}")
        if whatif_max_calls < 0:
            raise InputError(f"--whatif-max-calls: must be 0 (no What-If) or more, got {whatif_max_calls}")
        dest = Path(dest)
        # Before any network: a path that would be destroyed or cannot be written is refused at once.
        check_destination(dest)
        settings = Settings.from_env()
        endpoint = resolve_endpoint(connection)
        prior = load_previous(previous) if previous else None
        spool_dir = spool_directory(dest)  # also proves the parent directory is writable
        return cls(connection, dest, signin_days=signin_days, previous=previous, whatif_max_calls=whatif_max_calls,
                   settings=settings, endpoint=endpoint, prior=prior, spool_dir=spool_dir)

    def credential(self) -> Any:
        from auditor.collect.credentials import build_credential

        self.choice = build_credential(self.connection, self.endpoint)
        return self.choice

    async def run(self, claims: dict[str, Any], make_progress: Any, *, app: AppBudgets | None = None,
                  budgets: TenantBudgets | None = None, offload: bool = False) -> tuple[Path, dict[str, Any]]:
        connection, prior, choice, endpoint = self.connection, self.prior, self.choice, self.endpoint
        tenant_id = _tenant_id(connection, claims)
        if prior is not None and GUID.match(tenant_id) and GUID.match(prior.tenant_id) \
                and prior.tenant_id.lower() != tenant_id.lower():
            raise InputError(f"--previous {self.previous}: snapshot is of tenant {prior.tenant_id}, not {tenant_id}")
        now = datetime.now(timezone.utc).replace(microsecond=0)
        since = now - timedelta(days=self.signin_days)
        progress = make_progress()
        try:
            try:
                outcomes = await _fetch_all(endpoint, choice.credential, self.settings, progress, self.spool_dir,
                                            since=since, until=now, prior=prior,
                                            whatif_max_calls=self.whatif_max_calls, app=app, budgets=budgets)
            except _Fatal as fatal:
                progress.close()
                raise IncompleteAuditError(_fatal_message(fatal.error, endpoint.root, choice.description,
                                                          choice.hint)) from None
            progress.close()
            write = functools.partial(_write, self.dest, outcomes, tenant_id=tenant_id, cloud=connection.cloud,
                                      now=now, since=since, prior=prior)
            path = await asyncio.to_thread(write) if offload else write()
        finally:
            progress.close()
        return path, outcomes

    def close(self) -> None:
        shutil.rmtree(self.spool_dir, ignore_errors=True)
        close = getattr(self.choice.credential, "close", None) if self.choice is not None else None
        if callable(close):
            close()


def _tenant_id(connection: ConnectionOptions, claims: dict[str, Any]) -> str:
    if connection.tenant and GUID.match(connection.tenant):
        return connection.tenant.lower()
    tid = claims.get("tid")
    if isinstance(tid, str) and GUID.match(tid):
        return tid.lower()
    return connection.tenant or "unknown"


async def _fetch_all(endpoint: Any, credential: Any, settings: Any, progress: Any, spool_dir: Path, *,
                     since: datetime, until: datetime, prior: Any, whatif_max_calls: int,
                     app: AppBudgets | None = None, budgets: TenantBudgets | None = None) -> dict[str, Any]:
    from auditor.collect.fetch import Fetcher
    from auditor.collect.transport import GraphTransport
    from auditor.collect.whatif import collect_what_if

    transport = GraphTransport(endpoint, credential, settings, app)
    fetcher = Fetcher(transport, endpoint, settings, progress, spool_dir, budgets)
    fetch_since = max(since, prior.window_to) if prior is not None else since
    tasks: dict[str, asyncio.Future[Any]] = {}

    def start(key: str, coroutine: Awaitable[Any]) -> None:
        tasks[key] = asyncio.ensure_future(_guarded(key, coroutine, progress))

    shields: list[asyncio.Future[Any]] = []

    def after(key: str) -> Awaitable[Any]:
        # A dependent waits for a source without being able to cancel it.
        shields.append(asyncio.shield(tasks[key]))
        return shields[-1]

    special = {
        "b2xUserFlows": fetcher.user_flows,
        "selfServiceSignUpUsers": fetcher.users,
        "signIns": lambda: fetcher.sign_ins(fetch_since, until),
        "crossTenantAccessPolicy": fetcher.cross_tenant_access,
        "accessReviewDefinitions": fetcher.access_reviews,
    }
    dependent = {"conditionalAccessGroups", "linkedServicePrincipals", "conditionalAccessWhatIf"}
    for key in COLLECTED_KEYS:
        if key in dependent:
            continue
        start(key, special[key]() if key in special else fetcher.simple(key))
    start("conditionalAccessGroups", fetcher.conditional_access_groups(after("conditionalAccessPolicies")))
    start("linkedServicePrincipals", fetcher.linked_service_principals(after("userFlowApplications")))
    start("conditionalAccessWhatIf", collect_what_if(fetcher, after("userFlowApplications"),
                                                     after("selfServiceSignUpUsers"), after("namedLocations"),
                                                     whatif_max_calls))
    try:
        # Each source ends in a status; only a fatal error (token rejected, Graph unreachable) or an
        # unusable output path stops them all.
        await asyncio.wait(list(tasks.values()), return_when=asyncio.FIRST_EXCEPTION)
        for task in tasks.values():
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        outcomes = {key: task.result() for key, task in tasks.items() if task.result() is not None}
    finally:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        # A source's fatal error also ends the shields its dependents waited on; collect it there
        # too, or the loop reports "exception was never retrieved" (it runs on in a portfolio).
        await asyncio.gather(*shields, return_exceptions=True)
        await transport.aclose()
    log.info("collect: %d requests to %s", transport.requests, endpoint.root)
    return outcomes


async def _guarded(key: str, coroutine: Awaitable[Any], progress: Any) -> Any:
    """Run one source; a bug in it ends that source in ``error`` instead of stopping the others."""
    from auditor.collect.fetch import SourceOutcome
    from auditor.collect.transport import GraphError
    from auditor.sources import ERROR

    try:
        outcome = await coroutine
    except (FlowauditError, _Fatal, asyncio.CancelledError):
        raise
    except Exception as exc:
        log.warning("internal error while collecting %s: %s: %s", key, type(exc).__name__, exc)
        log.debug("collecting %s failed", key, exc_info=True)
        outcome = SourceOutcome(key, status=ERROR, error=GraphError(
            None, "InternalError", f"flowaudit failed while collecting: {type(exc).__name__}: {exc}"[:500]))
    if outcome is None:
        return None
    if outcome.error is not None and outcome.error.fatal and not outcome.partial:
        raise _Fatal(outcome.error)
    progress.finish(outcome.key, outcome.status, outcome.count, outcome.partial)
    return outcome


class _Fatal(Exception):
    def __init__(self, error: Any) -> None:
        super().__init__(str(error))
        self.error = error


def _fatal_message(error: Any, root: str, description: str, hint: str) -> str:
    if error.status == 401:
        return (f"authentication failed: Graph at {root} rejected the token from {description} "
                f"({error.code or 'HTTP 401'}; {hint})")
    return f"Graph unreachable at {root}: {error.message}"


def _write(dest: Path, outcomes: dict[str, Any], *, tenant_id: str, cloud: str, now: datetime,
           since: datetime, prior: Any) -> Path:
    from auditor.collect.incremental import merge
    from auditor.snapshot.writer import SnapshotWriter
    from auditor.sources import OK

    writer = SnapshotWriter(dest, tenant_id=tenant_id, collected_at=now, cloud=cloud, sign_in_window=(since, now))
    try:
        for key in COLLECTED_KEYS:
            outcome = outcomes.get(key)
            if outcome is None:  # What-If switched off: the source is not collected at all
                continue
            error = outcome.error.as_manifest_error() if outcome.error is not None else None
            records: Any = outcome.spool if outcome.spool is not None else outcome.records
            if outcome.status != OK and not outcome.count:
                writer.set_status(key, outcome.status, error=error)
            else:
                partial = outcome.partial
                if key == "signIns" and prior is not None and outcome.status == OK:
                    records = merge(records, prior, since)
                    partial = partial or prior.partial
                    outcome.add_note(f"incremental: merged with {prior.snapshot.path}")
                # A source in error keeps what it read before the fault, as partial data.
                count = writer.write_source(key, records, status=outcome.status, partial=partial, error=error)
                if key == "signIns":
                    outcome.merged_count = count
            writer.manifest["sources"][key].update(outcome.extra)
        return writer.close()
    except BaseException:
        writer.abort()
        raise


def _print_table(outcomes: dict[str, Any]) -> None:
    from auditor.collect.progress import render_table
    rows: list[tuple[str, str, int | None, bool, str]] = []
    for key in COLLECTED_KEYS:
        o = outcomes.get(key)
        if o is None:
            rows.append((key, "-", None, False, "not collected (--whatif-max-calls 0)"))
            continue
        note = o.note
        if o.error is not None and (o.status != "ok" or o.partial):
            note = (note + "; " if note else "") + str(o.error)[:120]
        count = getattr(o, "merged_count", None)
        rows.append((key, o.status, (count if count is not None else o.count) if o.count or o.status == "ok"
                     else None, o.partial, note))
    print(render_table(rows), end="", file=sys.stderr)
