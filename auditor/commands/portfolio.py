"""``flowaudit portfolio run`` and ``portfolio merge``: many tenants, one merged view, one exit code.

stdout carries the table of tenants, where the report is and the verdict line (as ``audit`` does for
one tenant); each tenant's line as it finishes goes to stderr. The exit code is the worst tenant's,
by precedence 2 (invalid input) > 3 (incomplete) > 1 (findings) > 0.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from auditor.commands._outputs import echo_written
from auditor.portfolio.model import Portfolio
from auditor.severity import SEVERITIES
from auditor.text import for_terminal

PREFIX = "flowaudit portfolio: "


def _say(quiet: bool) -> Callable[[str], None]:
    def say(line: str) -> None:
        if not quiet:
            click.echo(PREFIX + for_terminal(line), err=True)
    return say


def render_table(portfolio: Portfolio) -> str:
    """One line per tenant: name, status, exit code, open findings by severity (first letters)."""
    rows = [("tenant", "status", "exit", " ".join(s[0].upper() for s in SEVERITIES), "verdict / reason")]
    for t in portfolio.tenants:
        counts = " ".join(str(t.openBySeverity.get(s, 0)) for s in SEVERITIES) if t.status == "audited" else "-"
        said = t.verdict if t.status == "audited" else t.reason
        rows.append((for_terminal(t.name)[:40], t.status, str(t.exitCode), counts, for_terminal(said or "")[:160]))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "".join(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:<{widths[3]}}  {r[4]}"
                   .rstrip() + "\n" for r in rows)


def _finish(portfolio: Portfolio, written: list[Path], quiet: bool) -> int:
    summary = portfolio.summary
    if not quiet:
        click.echo(render_table(portfolio), nl=False)
        echo_written(written, ("portfolio.html", "portfolio.pdf"))
        click.echo(for_terminal(summary.verdict))
    if summary.exitCode and (quiet or not sys.stdout.isatty()):
        click.echo(f"flowaudit: {for_terminal(summary.verdict)}", err=True)
    return summary.exitCode


def run_portfolio_command(tenants_file: Path, formats: list[str], output_dir: Path, parallel: int,
                          quiet: bool) -> int:
    from auditor.portfolio.run import RunOptions, run_portfolio

    options = RunOptions(tenants_file=tenants_file, formats=formats, output_dir=output_dir, parallel=parallel,
                         quiet=quiet)
    portfolio, written = run_portfolio(options, _say(quiet))
    return _finish(portfolio, written, quiet)


def run_merge_command(folders: list[Path], formats: list[str], output_dir: Path, quiet: bool) -> int:
    from auditor.portfolio.merge import read_folder
    from auditor.portfolio.model import build_portfolio
    from auditor.portfolio.output import generated_at, resolve_portfolio_dir, write_portfolio
    from auditor.portfolio.run import check_output_dir, preflight_pdf

    out = resolve_portfolio_dir(output_dir)
    preflight_pdf(formats)
    check_output_dir(out)
    say = _say(quiet)
    tenants = []
    for index, folder in enumerate(folders, start=1):
        row, worst = read_folder(folder, out)
        said = row.verdict if row.status == "audited" else f"failed (exit {row.exitCode}): {row.reason}"
        say(f"[{index}/{len(folders)}] {row.name}: {said}")
        tenants.append((row, worst))
    portfolio = build_portfolio(tenants, generated_at=generated_at())
    return _finish(portfolio, write_portfolio(portfolio, formats, out), quiet)
