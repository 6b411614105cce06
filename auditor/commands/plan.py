"""``flowaudit plan``, ``plan show`` and ``apply``.

``plan`` and ``plan show`` are offline. ``apply`` without ``--yes`` is a dry run that imports no
Graph SDK and sends nothing; with ``--yes`` it authenticates like ``collect`` and hands the real
transport to :class:`auditor.plan.apply.Executor`.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import click

from auditor.errors import EXIT_FINDINGS, IncompleteAuditError, InputError, OutputError, UsageError
from auditor.plan import inputs as plan_inputs
from auditor.plan.model import Plan, load_plan, to_json
from auditor.requests import ApplyRequest, PlanRequest

LOG_NAME = "apply-log.jsonl"
ROLLBACK_NAME = "rollback.json"


# --- plan ----------------------------------------------------------------------------------------

def run_plan_command(request: PlanRequest) -> int:
    from auditor.plan.apply import write_atomic
    from auditor.plan.build import build_plan
    from auditor.plan.render import counts, permission_lines
    from auditor.result import load_result
    from auditor.snapshot import open_snapshot

    if request.snapshot and request.sample:
        raise UsageError("give either --snapshot or --sample, not both")
    if not request.snapshot and not request.sample:
        raise UsageError("--snapshot: give the snapshot the result was audited from (or --sample NAME)")
    if request.output is None and not request.permissions:
        raise UsageError("-o/--output: where to write the plan (or --permissions to only list them)")
    if request.sample:
        from auditor.commands.audit import resolve_sample

        snapshot_path = resolve_sample(request.sample)
    else:
        assert request.snapshot is not None
        snapshot_path = request.snapshot
    result = load_result(request.result)
    plan = build_plan(result, open_snapshot(snapshot_path), result_path=request.result, snapshot_path=snapshot_path,
                      rules=request.rules)
    if request.output is not None:
        if request.output.is_dir():
            raise OutputError(f"-o {request.output}: is a directory; give the plan file's path")
        try:
            write_atomic(request.output, to_json(plan))
        except OSError as exc:
            raise OutputError(f"-o {request.output}: cannot write the plan: {exc.strerror or exc}") from None
        if not request.quiet:
            tally = counts(plan, request.output.parent)
            click.echo(f"wrote {request.output}: {tally['changes']} change(s) ({tally['automatic']} automatic, "
                       f"{tally['needsInput']} waiting for input), {tally['notPlanned']} open finding(s) not "
                       "planned", err=True)
    if request.permissions:
        click.echo("\n".join(permission_lines(plan)))
    return 0


# --- plan show ------------------------------------------------------------------------------------

def run_plan_show(plan_path: Path, fmt: str) -> str:
    from auditor.plan.render import render_markdown, render_text

    plan = load_plan(plan_path)
    base = plan_path.parent
    return render_markdown(plan, base) if fmt == "md" else render_text(plan, base)


# --- apply ----------------------------------------------------------------------------------------

def _validate(plan: Plan, base_dir: Path, label: str) -> None:
    """Supplied inputs must be valid: a half-filled change is fine (it stays inert), a wrong one is not."""
    for change in plan.changes:
        problems = plan_inputs.problems(change, base_dir)
        if problems:
            raise InputError(f"{label}: change {change.id}: {problems[0]}")


def _ready(plan: Plan, base_dir: Path) -> list[Any]:
    return [c for c in plan.changes if plan_inputs.status(c, base_dir) == "ready"]


def _secrets_present(changes: list[Any], base_dir: Path, label: str) -> None:
    """Before anything is sent: every variable a ready change reads is set, every certificate opens."""
    from auditor.plan.apply import active_steps

    for change in changes:
        for step in active_steps(change):
            for name in plan_inputs.env_names(step.request.body, change.inputs):
                need = next((n for n in change.needs if change.inputs.get(n.name) == name), None)
                value = os.environ.get(name)
                if value is None or (value == "" and not (need and need.allowEmpty)):
                    raise InputError(f"{label}: change {change.id}: environment variable {name} is not set")
        for need in change.needs:
            if need.kind != "pkcs12File":
                continue
            variable = change.inputs.get(need.passwordNeed) if need.passwordNeed else None
            password = os.environ.get(variable) if isinstance(variable, str) else None
            if password is not None:
                path = plan_inputs.resolve_path(str(change.inputs[need.name]), base_dir)
                why = plan_inputs.inspect_pkcs12(path, password)
                if why:
                    raise InputError(f"{label}: change {change.id}: inputs.{need.name}: {why}")


def _free_name(directory: Path) -> Path:
    """rollback.json, or rollback-2.json, …: an earlier rollback plan is never overwritten."""
    candidate = directory / ROLLBACK_NAME
    number = 2
    while candidate.exists():
        candidate = directory / f"rollback-{number}.json"
        number += 1
    return candidate


def run_apply_command(request: ApplyRequest) -> int:
    from auditor.plan.render import render_dry_run

    plan = load_plan(request.plan)
    base_dir = request.plan.parent
    label = str(request.plan)
    _validate(plan, base_dir, label)
    if not request.yes:
        click.echo(render_dry_run(plan, base_dir), nl=False)
        return 0
    ready = _ready(plan, base_dir)
    if not ready:
        # nothing would be sent: no sign-in, no log, no rollback plan
        click.echo(f"nothing to apply: none of the {len(plan.changes)} change(s) is ready "
                   "(see `flowaudit plan show`)", err=True)
        return 0
    _secrets_present(ready, base_dir, label)
    if request.cloud_given and request.connection.cloud != plan.cloud:
        raise InputError(f"--cloud {request.connection.cloud}: the plan is for cloud {plan.cloud}")
    output_dir = request.output_dir or Path(".")
    if output_dir.exists() and not output_dir.is_dir():
        raise OutputError(f"--output-dir {output_dir}: is not a directory")
    return _apply_live(plan, request, ready, output_dir)


def _apply_live(plan: Plan, request: ApplyRequest, ready: list[Any], output_dir: Path) -> int:
    from datetime import datetime, timezone

    from auditor.collect.credentials import acquire_token, build_credential
    from auditor.collect.endpoints import resolve_endpoint
    from auditor.collect.settings import Settings
    from auditor.connection import ConnectionOptions
    from auditor.plan.apply import ApplyLog, Executor, Fatal, write_rollback
    from auditor.timefmt import iso_utc

    connection = request.connection
    endpoint = resolve_endpoint(ConnectionOptions(tenant=connection.tenant, cloud=plan.cloud,
                                                  graph_url=connection.graph_url, auth=connection.auth))
    choice = build_credential(connection, endpoint)
    claims = acquire_token(choice, endpoint)
    tid = claims.get("tid")
    if isinstance(tid, str) and plan_inputs.GUID.match(tid) and plan_inputs.GUID.match(plan.tenantId) \
            and tid.casefold() != plan.tenantId.casefold():
        raise InputError(f"{request.plan}: the plan is for tenant {plan.tenantId}, but the credential signs in to "
                         f"tenant {tid}")
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--output-dir {output_dir}: cannot create it: {exc.strerror or exc}") from None
    rollback_path = _free_name(output_dir)
    log = ApplyLog(output_dir / LOG_NAME)
    applied_at = iso_utc(datetime.now(timezone.utc))

    async def run() -> Executor:
        from auditor.collect.transport import GraphTransport

        transport = GraphTransport(endpoint, choice.credential, Settings.from_env())

        async def send(method: str, url: str, body: Any) -> tuple[int, Any]:
            # Plan URLs name the cloud's Graph root; --graph-url (a proxy, a test double) replaces it.
            if url.startswith(plan.graphRoot + "/"):
                url = endpoint.root + url[len(plan.graphRoot):]
            return await transport.send(method, url, body)

        executor = Executor(plan, request.plan.parent, send, log)
        try:
            for change in ready:
                await executor.run(change)
                write_rollback(plan, executor, request.plan, rollback_path, applied_at)
        finally:
            await transport.aclose()
            write_rollback(plan, executor, request.plan, rollback_path, applied_at)
        return executor

    executor: Executor | None = None
    fatal: str | None = None
    try:
        executor = asyncio.run(run())
    except Fatal as exc:
        fatal = str(exc)
    finally:
        log.close()
        close = getattr(choice.credential, "close", None)
        if callable(close):
            close()
    if fatal is not None:
        raise IncompleteAuditError(f"Graph unreachable or the token was rejected at {endpoint.root}: {fatal} "
                                   f"(what was applied before is undone by {rollback_path})")
    assert executor is not None
    return _report(plan, executor, rollback_path, output_dir / LOG_NAME, request)


def _report(plan: Plan, executor: Any, rollback_path: Path, log_path: Path, request: ApplyRequest) -> int:
    from auditor.plan.render import change_status
    from auditor.text import for_terminal

    by_status: dict[str, list[Any]] = {"applied": [], "refused": [], "failed": [], "skipped": []}
    for outcome in executor.outcomes:
        by_status[outcome.status].append(outcome)
    done = {o.change.id for o in executor.outcomes}
    waiting = [c for c in plan.changes if c.id not in done]
    lines = []
    for outcome in executor.outcomes:
        lines.append(f"{outcome.change.id}  {outcome.change.ruleId}  {outcome.status}"
                     + (" (rolled back)" if outcome.rolled_back else
                        " (rollback incomplete: see the rollback plan)" if outcome.rolled_back is False else ""))
        lines.extend(f"    {for_terminal(reason)}" for reason in outcome.reasons)
    for change in waiting:
        _, label = change_status(change, request.plan.parent)
        lines.append(f"{change.id}  {change.ruleId}  not applied: {label}")
    lines.append(f"{len(by_status['applied'])} applied, {len(by_status['refused'])} refused, "
                 f"{len(by_status['failed'])} failed, {len(waiting) + len(by_status['skipped'])} not applied "
                 "(waiting for input)")
    if not request.quiet:
        click.echo("\n".join(lines))
        click.echo(f"wrote {rollback_path} ({len(executor.undo)} change(s) to undo) and appended to {log_path}",
                   err=True)
    bad = by_status["refused"] + by_status["failed"]
    if bad:
        click.echo(f"flowaudit: {len(bad)} change(s) not applied: "
                   + ", ".join(f"{o.change.id} {o.status}" for o in bad), err=True)
        return EXIT_FINDINGS
    return 0
