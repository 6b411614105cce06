"""What a command that wrote outputs says about them (audit and portfolio run/merge alike)."""

from __future__ import annotations

from pathlib import Path

import click


def echo_written(written: list[Path], reports: tuple[str, ...]) -> None:
    """Each file written (stderr), a blank line, then where the first of ``reports`` (the files for
    people, by name, best first) is, if it was written (stdout, just above the verdict)."""
    for path in written:
        click.echo(f"wrote {path}", err=True)
    click.echo("")
    report = next((p for name in reports for p in written if p.name == name), None)
    if report is not None:
        click.echo(f"Report: {report}")
