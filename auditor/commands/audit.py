"""``flowaudit audit``: snapshot (or live collection) → result → outputs → exit code."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import click

from auditor._format import parse_formats, write_outputs
from auditor.connection import ConnectionOptions
from auditor.console import render_summary
from auditor.engine import AuditOptions, run_audit
from auditor.errors import InputError
from auditor.gate import decide
from auditor.resources import sample_names, samples_dir
from auditor.snapshot import open_snapshot

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
    options = AuditOptions(
        only=_split_ids(opts.get("only_rules")),
        skip=_split_ids(opts.get("skip_rules")) or set(),
        reproducible=bool(opts.get("reproducible")),
    )
    if opts.get("sample"):
        snapshot_path = resolve_sample(opts["sample"])
    elif opts.get("snapshot_path"):
        snapshot_path = opts["snapshot_path"]
    else:
        snapshot_path = _collect_live(opts)
    snapshot = open_snapshot(snapshot_path)
    result = run_audit(snapshot, options)
    output_dir: Path = opts["output_dir"]
    written = write_outputs(result, formats, output_dir)
    if not opts.get("quiet"):
        click.echo(render_summary(result), nl=False)
        for path in written:
            click.echo(f"wrote {path}", err=True)
    decision = decide(result, fail_on=opts["fail_on"], require_complete=bool(opts.get("require_complete")),
                      fail_on_new=bool(opts.get("fail_on_new")))
    if decision.reason:
        click.echo(f"flowaudit: {decision.reason}", err=True)
    return decision.exit_code


def _collect_live(opts: dict[str, Any]) -> Path:
    from auditor.collect import collect  # imports msgraph/azure: only on the live path

    connection = ConnectionOptions(tenant=opts.get("tenant"), cloud=opts["cloud"], graph_url=opts.get("graph_url"),
                                   auth=opts["auth"])
    target = opts.get("save_snapshot")
    if target is None:
        target = Path(tempfile.mkdtemp(prefix="flowaudit-")) / "snapshot"
    return collect(connection, Path(target), signin_days=opts["signin_days"], quiet=bool(opts.get("quiet")))
