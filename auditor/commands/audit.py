"""``flowaudit audit``: snapshot (or live collection) → result → outputs → exit code."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import click

from auditor._format import parse_formats, write_outputs
from auditor.baseline import apply_baseline
from auditor.catalog import load_catalog
from auditor.config import Config, active_config
from auditor.connection import ConnectionOptions
from auditor.console import render_summary
from auditor.engine import AuditOptions, run_audit
from auditor.errors import InputError
from auditor.gate import decide
from auditor.resources import sample_names, samples_dir
from auditor.result import load_result
from auditor.snapshot import open_snapshot
from auditor.waivers import Waiver, apply_waivers, load_waiver_file, parse_waivers

log = logging.getLogger(__name__)


def _split_ids(value: str | None) -> set[str] | None:
    if value is None:
        return None
    return {part.strip().upper() for part in value.split(",") if part.strip()}


def resolve_sample(name: str) -> Path:
    names = sample_names()
    if name not in names:
        raise InputError(f"--sample: unknown sample {name!r} (available: {', '.join(names)})")
    return samples_dir() / name


def run_audit_command(opts: dict[str, Any]) -> int:
    formats = parse_formats(opts["formats"])
    if opts.get("snapshot_path") and opts.get("sample"):
        raise InputError("give either --snapshot or --sample, not both")
    config = active_config()
    options = AuditOptions(
        only=_split_ids(opts.get("only_rules")),
        skip=_split_ids(opts.get("skip_rules")) or set(),
        parameters=config.parameters,
        severities=config.severities,
        reproducible=bool(opts.get("reproducible")),
    )
    # read and validate every input file before the (possibly live, slow) audit starts
    waivers = _load_waivers(opts.get("waivers"), config)
    if opts.get("fail_on_new") and not opts.get("baseline"):
        raise InputError("--fail-on-new needs --baseline (the previous result.json)")
    baseline = load_result(opts["baseline"]) if opts.get("baseline") else None
    scratch: Path | None = None
    try:
        if opts.get("sample"):
            snapshot_path = resolve_sample(opts["sample"])
        elif opts.get("snapshot_path"):
            snapshot_path = opts["snapshot_path"]
        else:
            if opts.get("save_snapshot") is None:
                scratch = Path(tempfile.mkdtemp(prefix="flowaudit-"))
            snapshot_path = _collect_live(opts, opts.get("save_snapshot") or scratch / "snapshot")
        result = run_audit(open_snapshot(snapshot_path), options)
    finally:
        if scratch is not None:  # a live audit without --save-snapshot keeps no tenant data on disk
            shutil.rmtree(scratch, ignore_errors=True)
    if waivers is not None:
        apply_waivers(result, waivers)
    if baseline is not None:
        apply_baseline(result, baseline, str(opts["baseline"]))
    output_dir: Path = opts["output_dir"]
    written = write_outputs(result, formats, output_dir)
    if not opts.get("quiet"):
        click.echo(render_summary(result), nl=False)
        _warn_waivers(result.summary)
        for path in written:
            click.echo(f"wrote {path}", err=True)
    decision = decide(result, fail_on=opts["fail_on"], require_complete=bool(opts.get("require_complete")),
                      fail_on_new=bool(opts.get("fail_on_new")))
    if decision.reason:
        click.echo(f"flowaudit: {decision.reason}", err=True)
    return decision.exit_code


def _load_waivers(path: Path | None, config: Config) -> list[Waiver] | None:
    """--waivers FILE (command line, environment or a path in the config file), else inline config waivers."""
    if path is None and config.inline_waivers is None:
        return None
    known = {rule.id for rule in load_catalog()}
    if path is not None:
        return load_waiver_file(path, known)
    return parse_waivers(config.inline_waivers, f"{config.path}: waivers", known)


def _warn_waivers(summary: dict[str, Any]) -> None:
    """Expired and stale waivers need a person: say so on stderr (they are in the result too)."""
    for w in summary.get("expiredWaivers", []):
        click.echo(f"flowaudit: waiver entry {w['entry']} ({w['rule']} {w['resource']}, owner {w['owner']}) "
                   f"expired on {w['expires']}: {w['findings']} finding(s) open again", err=True)
    for w in summary.get("staleWaivers", []):
        click.echo(f"flowaudit: waiver entry {w['entry']} ({w['rule']} {w['resource']}) matches no finding "
                   "(stale: remove it)", err=True)


def _collect_live(opts: dict[str, Any], target: Path) -> Path:
    from auditor.collect import collect  # imports msgraph/azure: only on the live path

    connection = ConnectionOptions(tenant=opts.get("tenant"), cloud=opts["cloud"], graph_url=opts.get("graph_url"),
                                   auth=opts["auth"])
    return collect(connection, Path(target), signin_days=opts["signin_days"], quiet=bool(opts.get("quiet")),
                   whatif_max_calls=opts.get("whatif_max_calls", 400))
