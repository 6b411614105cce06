"""``flowaudit audit``: snapshot (or live collection) → result → outputs → exit code."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click

from auditor._format.output import check_output_template, resolve_output_dir, write_outputs
from auditor.baseline import compare
from auditor.catalog import load_catalog
from auditor.commands._outputs import echo_written
from auditor.console import render_summary
from auditor.engine import AuditOptions, assemble, run_rules, select_rules
from auditor.errors import InputError, UsageError
from auditor.gate import GateView, decide_with
from auditor.model.tenant import Tenant
from auditor.progress import AuditProgress, Stopwatch, make_audit_progress, observe, snapshot_counts
from auditor.requests import AuditRequest
from auditor.resources import sample_names, samples_dir
from auditor.result import AuditResult, GateSettings, load_result
from auditor.snapshot import open_snapshot
from auditor.waivers import Waiver, apply_waivers, load_waiver_file, parse_waivers

log = logging.getLogger(__name__)


def resolve_sample(name: str) -> Path:
    names = sample_names()
    if name not in names:
        raise InputError(f"--sample: unknown sample {name!r} (available: {', '.join(names)})")
    return samples_dir() / name


def _check(request: AuditRequest) -> None:
    if request.snapshot and request.sample:
        raise UsageError("give either --snapshot or --sample, not both")
    if request.save_snapshot and not request.live:
        raise UsageError("--save-snapshot keeps the snapshot of a live audit; with --snapshot/--sample there "
                         "is nothing to save")
    if request.gate.fail_on_new and not request.baseline:
        raise UsageError("--fail-on-new needs --baseline (the previous result.json)")
    check_output_template(request.output_dir)


def _load_waivers(request: AuditRequest) -> list[Waiver] | None:
    """--waivers FILE (command line, environment or a path in the config file), else inline config waivers."""
    if request.waivers is None and request.inline_waivers is None:
        return None
    known = load_catalog().ids
    if request.waivers is not None:
        return load_waiver_file(request.waivers, known)
    return parse_waivers(request.inline_waivers, f"{request.config_path}: waivers", known)


@dataclass(frozen=True)
class AuditInputs:
    """What an audit reads besides its snapshot, read and validated before any (slow) collection."""

    options: AuditOptions
    waivers: list[Waiver] | None
    previous: AuditResult | None


def prepare(request: AuditRequest) -> AuditInputs:
    """Check the request and read its rule selection, waivers and baseline (exit 2 on a bad one)."""
    _check(request)
    options = AuditOptions(only=set(request.rules.only) if request.rules.only is not None else None,
                           skip=set(request.rules.skip), parameters=request.rules.parameters,
                           severities=request.rules.severities, reproducible=request.reproducible)
    # validate the selection and every input file before the (possibly live, slow) audit starts
    try:
        select_rules(load_catalog(), options)
    except UsageError as exc:
        raise UsageError(f"{exc} (config file {request.config_path})" if request.config_path else str(exc)) from None
    waivers = _load_waivers(request)
    previous = load_result(request.baseline) if request.baseline else None
    return AuditInputs(options, waivers, previous)


def audit(request: AuditRequest, progress: AuditProgress | None = None) -> AuditResult:
    """Run the audit the request asks for and return its result (no output written)."""
    progress = progress or AuditProgress()
    inputs = prepare(request)
    scratch: Path | None = None
    try:
        if request.sample:
            snapshot_path = resolve_sample(request.sample)
        elif request.snapshot:
            snapshot_path = request.snapshot
        else:
            if request.save_snapshot is None:
                scratch = Path(tempfile.mkdtemp(prefix="flowaudit-"))
            snapshot_path = _collect_live(request, request.save_snapshot or scratch / "snapshot")  # type: ignore[operator]
        return audit_snapshot(request, inputs, snapshot_path, progress)
    finally:
        if scratch is not None:  # a live audit without --save-snapshot keeps no tenant data on disk
            shutil.rmtree(scratch, ignore_errors=True)


def audit_snapshot(request: AuditRequest, inputs: AuditInputs, snapshot_path: Path,
                   progress: AuditProgress | None = None) -> AuditResult:
    """Audit the snapshot at ``snapshot_path`` (given, or just collected) as the request asks."""
    progress = progress or AuditProgress()
    options, waivers, previous = inputs.options, inputs.waivers, inputs.previous
    snapshot = open_snapshot(snapshot_path)
    progress.snapshot_opened(snapshot_path.name, *snapshot_counts(snapshot))
    total = len(select_rules(load_catalog(), options))
    progress.rules_started(total)
    clock = Stopwatch()
    run = run_rules(Tenant(observe(snapshot, progress)), options, on_rule=progress.rule_started)
    progress.rules_done(total, clock.seconds)
    findings, report = (apply_waivers(run.findings, waivers, run.outcomes, snapshot.manifest.collected_at_iso)
                        if waivers is not None else (run.findings, None))
    comparison = None
    if previous is not None:
        if previous.tenantId.casefold() != snapshot.manifest.tenantId.casefold():
            raise InputError(f"{request.baseline}: baseline is for tenant {previous.tenantId}, this audit is "
                             f"for {snapshot.manifest.tenantId}")
        comparison = compare(previous, findings, run.outcomes)
    result = assemble(run, snapshot, options, waivers=report, comparison=comparison, findings=findings)
    for rule_id, seconds in sorted(run.seconds.items(), key=lambda item: -item[1]):
        log.info("rule %s took %.3f s", rule_id, seconds)
    gate = request.gate  # recorded so JUnit and `flowaudit report` agree with this exit code
    return result.model_copy(update={"gate": GateSettings(failOn=gate.fail_on, requireComplete=gate.require_complete,
                                                           failOnNew=gate.fail_on_new)})


def run_audit_command(request: AuditRequest) -> int:
    progress = make_audit_progress(request.quiet)
    try:
        result = audit(request, progress)
        output_dir = resolve_output_dir(request.output_dir, result.tenantId, result.collectedAt)
        written = write_outputs(result, request.formats, output_dir, progress=progress)
    finally:
        progress.close()
    decision = decide_with(result, GateView.of(result.gate))
    if not request.quiet:
        click.echo(render_summary(result), nl=False)
        _warn_waivers(result)
        echo_written(written, ("report.html", "report.pdf"))
        click.echo(decision.verdict)
    # The verdict already said why on this screen; a pipeline (stdout and stderr apart) still gets
    # the "flowaudit: ..." line on stderr.
    if decision.reason and (request.quiet or not _same_terminal()):
        click.echo(f"flowaudit: {decision.reason}", err=True)
    return decision.exit_code


def _same_terminal() -> bool:
    try:
        out, err = sys.stdout.fileno(), sys.stderr.fileno()
        return os.isatty(out) and os.isatty(err) and os.path.samestat(os.fstat(out), os.fstat(err))
    except (OSError, ValueError, AttributeError):  # no real file descriptors (e.g. click's CliRunner)
        return False


def _warn_waivers(result: AuditResult) -> None:
    """Expired and stale waivers need a person: say so on stderr (they are in the result too)."""
    for w in result.waivers.expired:
        owner = f", owner {w.owner}" if w.owner else ""
        click.echo(f"flowaudit: waiver entry {w.entry} ({w.rule} {w.resource}{owner}) expired on {w.expires}: "
                   f"{w.findings} finding(s) open again", err=True)
    for w in result.waivers.stale:
        click.echo(f"flowaudit: waiver entry {w.entry} ({w.rule} {w.resource}) matches no finding "
                   "(stale: remove it)", err=True)
    for w in result.waivers.notRun:
        click.echo(f"flowaudit: waiver entry {w.entry} ({w.rule} {w.resource}) is not applicable to this run: "
                   f"rule {w.rule} did not run to a conclusion", err=True)


def _collect_live(request: AuditRequest, target: Path) -> Path:
    from auditor.collect import collect  # imports msgraph/azure: only on the live path

    return collect(request.connection, Path(target), signin_days=request.connection.signin_days,
                   quiet=request.quiet, whatif_max_calls=request.connection.whatif_max_calls)
