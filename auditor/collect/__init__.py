"""Live collection from Microsoft Graph into a snapshot (SPEC §4–§5).

The only package that imports msgraph / azure / kiota / httpx, and only when :func:`collect` runs,
so offline commands stay fast.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from auditor.connection import ConnectionOptions
from auditor.errors import IncompleteAuditError, InputError
from auditor.sources import SOURCE_KEYS

log = logging.getLogger(__name__)
# The v2 sources are added to the collector one by one; until then they are absent from the manifest
# and the rules that read them say "not collected".
_PENDING = {"namedLocations", "conditionalAccessGroups", "conditionalAccessWhatIf", "crossTenantAccessPolicy",
            "linkedServicePrincipals", "accessReviewDefinitions"}
COLLECTED_KEYS = tuple(key for key in SOURCE_KEYS if key not in _PENDING)
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def collect(connection: ConnectionOptions, dest: Path, *, signin_days: int, quiet: bool,
            previous: Path | None = None) -> Path:
    """Collect every source into a snapshot at ``dest`` (a directory, or a zip when it ends .zip)."""
    from auditor.collect.credentials import acquire_token, build_credential
    from auditor.collect.endpoints import resolve_endpoint
    from auditor.collect.incremental import load_previous
    from auditor.collect.progress import make_progress
    from auditor.collect.settings import Settings

    if not 1 <= signin_days <= 30:
        raise InputError(f"--signin-days: must be between 1 and 30 (Graph keeps 30 days), got {signin_days}")
    settings = Settings.from_env()
    endpoint = resolve_endpoint(connection)
    prior = load_previous(previous) if previous else None
    choice = build_credential(connection, endpoint)
    claims = acquire_token(choice, endpoint)
    tenant_id = _tenant_id(connection, claims)
    if prior is not None and GUID.match(tenant_id) and GUID.match(prior.tenant_id) \
            and prior.tenant_id.lower() != tenant_id.lower():
        raise InputError(f"--previous {previous}: snapshot is of tenant {prior.tenant_id}, not {tenant_id}")

    now = datetime.now(timezone.utc).replace(microsecond=0)
    since = now - timedelta(days=signin_days)
    progress = make_progress(quiet)
    from auditor.collect.fetch import spool_directory

    spool_dir = spool_directory(Path(dest))
    try:
        try:
            outcomes = asyncio.run(_fetch_all(endpoint, choice.credential, settings, progress, spool_dir,
                                              since=since, until=now, prior=prior))
        except _Fatal as fatal:
            progress.close()
            raise IncompleteAuditError(_fatal_message(fatal.error, endpoint.root, choice.description,
                                                      choice.hint)) from None
        progress.close()
        path = _write(Path(dest), outcomes, tenant_id=tenant_id, cloud=connection.cloud, now=now, since=since,
                      prior=prior)
    finally:
        progress.close()
        shutil.rmtree(spool_dir, ignore_errors=True)
        close = getattr(choice.credential, "close", None)
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
                     since: datetime, until: datetime, prior: Any) -> dict[str, Any]:
    from auditor.collect.fetch import Fetcher
    from auditor.collect.transport import GraphTransport
    transport = GraphTransport(endpoint, credential, settings)
    fetcher = Fetcher(transport, endpoint, settings, progress, spool_dir)
    fetch_since = max(since, prior.window_to) if prior is not None else since
    special = {
        "b2xUserFlows": fetcher.user_flows(),
        "selfServiceSignUpUsers": fetcher.users(),
        "signIns": fetcher.sign_ins(fetch_since, until),
    }
    coroutines = [special.pop(key) if key in special else fetcher.simple(key) for key in COLLECTED_KEYS]

    async def reported(coroutine: Any) -> Any:
        outcome = await coroutine
        if outcome.error is not None and outcome.error.fatal and not outcome.partial:
            raise _Fatal(outcome.error)
        progress.finish(outcome.key, outcome.status, outcome.count, outcome.partial)
        return outcome

    tasks = [asyncio.ensure_future(reported(c)) for c in coroutines]
    try:
        # Each source ends in a status; only a fatal error (token rejected, Graph unreachable) stops them all.
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        outcomes = {task.result().key: task.result() for task in tasks}
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await transport.aclose()
    log.info("collect: %d requests to %s", transport.requests, endpoint.root)
    return outcomes


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
            outcome = outcomes[key]
            error = outcome.error.as_manifest_error() if outcome.error is not None else None
            if outcome.status != OK:
                writer.set_status(key, outcome.status, error=error)
                continue
            records: Any = outcome.spool if outcome.spool is not None else outcome.records
            partial = outcome.partial
            if key == "signIns" and prior is not None:
                records = merge(records, prior, since)
                partial = partial or prior.partial
                outcome.note = f"incremental: merged with {prior.snapshot.path}"
            count = writer.write_source(key, records, partial=partial, error=error)
            if key == "signIns":
                outcome.merged_count = count
            writer.manifest["sources"][key].update(outcome.extra)
        return writer.close()
    except BaseException:
        writer.abort()
        raise


def _print_table(outcomes: dict[str, Any]) -> None:
    from auditor.collect.progress import render_table
    rows = []
    for key in COLLECTED_KEYS:
        o = outcomes[key]
        note = o.note
        if o.error is not None and (o.status != "ok" or o.partial):
            note = (note + "; " if note else "") + str(o.error)[:120]
        count = getattr(o, "merged_count", None)
        rows.append((key, o.status, (count if count is not None else o.count) if o.status == "ok" else None,
                     o.partial, note))
    print(render_table(rows), end="", file=sys.stderr)
