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
import logging
import re
import shutil
import sys
from collections.abc import Awaitable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from auditor.connection import ConnectionOptions
from auditor.errors import FlowauditError, IncompleteAuditError, InputError
from auditor.sources import SOURCE_KEYS

log = logging.getLogger(__name__)
COLLECTED_KEYS = SOURCE_KEYS
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DEFAULT_WHATIF_MAX_CALLS = 400


def collect(connection: ConnectionOptions, dest: Path, *, signin_days: int, quiet: bool,
            previous: Path | None = None, whatif_max_calls: int = DEFAULT_WHATIF_MAX_CALLS) -> Path:
    """Collect every source into a snapshot at ``dest`` (a directory, or a zip when it ends .zip)."""
    from auditor.collect.credentials import acquire_token, build_credential
    from auditor.collect.endpoints import resolve_endpoint
    from auditor.collect.incremental import load_previous
    from auditor.collect.progress import make_progress
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
    from auditor.collect.fetch import spool_directory

    spool_dir = spool_directory(dest)  # also proves the parent directory is writable
    choice = None
    progress = None
    try:
        choice = build_credential(connection, endpoint)
        claims = acquire_token(choice, endpoint)
        tenant_id = _tenant_id(connection, claims)
        if prior is not None and GUID.match(tenant_id) and GUID.match(prior.tenant_id) \
                and prior.tenant_id.lower() != tenant_id.lower():
            raise InputError(f"--previous {previous}: snapshot is of tenant {prior.tenant_id}, not {tenant_id}")
        now = datetime.now(timezone.utc).replace(microsecond=0)
        since = now - timedelta(days=signin_days)
        progress = make_progress(quiet)
        try:
            outcomes = asyncio.run(_fetch_all(endpoint, choice.credential, settings, progress, spool_dir,
                                              since=since, until=now, prior=prior,
                                              whatif_max_calls=whatif_max_calls))
        except _Fatal as fatal:
            progress.close()
            raise IncompleteAuditError(_fatal_message(fatal.error, endpoint.root, choice.description,
                                                      choice.hint)) from None
        progress.close()
        path = _write(dest, outcomes, tenant_id=tenant_id, cloud=connection.cloud, now=now, since=since,
                      prior=prior)
    finally:
        if progress is not None:
            progress.close()
        shutil.rmtree(spool_dir, ignore_errors=True)
        close = getattr(choice.credential, "close", None) if choice is not None else None
        if callable(close):
            close()
    if not quiet:
        _print_table(outcomes)
    return path


def _tenant_id(connection: ConnectionOptions, claims: dict[str, Any]) -> str:
    if connection.tenant and GUID.match(connection.tenant):
        return connection.tenant.lower()
    tid = claims.get("tid")
    if isinstance(tid, str) and GUID.match(tid):
        return tid.lower()
    return connection.tenant or "unknown"


async def _fetch_all(endpoint: Any, credential: Any, settings: Any, progress: Any, spool_dir: Path, *,
                     since: datetime, until: datetime, prior: Any, whatif_max_calls: int) -> dict[str, Any]:
    from auditor.collect.fetch import Fetcher
    from auditor.collect.transport import GraphTransport
    from auditor.collect.whatif import collect_what_if

    transport = GraphTransport(endpoint, credential, settings)
    fetcher = Fetcher(transport, endpoint, settings, progress, spool_dir)
    fetch_since = max(since, prior.window_to) if prior is not None else since
    tasks: dict[str, asyncio.Future[Any]] = {}

    def start(key: str, coroutine: Awaitable[Any]) -> None:
        tasks[key] = asyncio.ensure_future(_guarded(key, coroutine, progress))

    def after(key: str) -> Awaitable[Any]:
        # A dependent waits for a source without being able to cancel it.
        return asyncio.shield(tasks[key])

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
