"""``flowaudit diff OLD.json NEW.json``: print the differences, exit 1 on new findings at/above --fail-on."""

from __future__ import annotations

from pathlib import Path

import click

from auditor.diff import RENDERERS, diff_results
from auditor.result import load_result


def run_diff_command(old_path: Path, new_path: Path, fmt: str, fail_on: str) -> int:
    old = load_result(old_path)
    new = load_result(new_path)
    diff = diff_results(old, new)
    click.echo(RENDERERS[fmt](diff), nl=False)
    gating = diff.gating(fail_on)
    if gating:
        rules = ", ".join(sorted({f.ruleId for f in gating}))
        click.echo(f"flowaudit: {len(gating)} new open finding(s) at or above {fail_on} ({rules})", err=True)
        return 1
    return 0
