"""``flowaudit report RESULT.json``: re-render a saved audit result (no Graph, no snapshot)."""

from __future__ import annotations

from pathlib import Path

import click

from auditor._format import parse_formats, write_outputs
from auditor.result import load_result


def run_report_command(result_path: Path, formats: str, output_dir: Path, quiet: bool = False) -> int:
    names = parse_formats(formats)
    result = load_result(result_path)  # InputError naming the file when it is not a valid result
    written = write_outputs(result, names, output_dir)
    if not quiet:
        for path in written:
            click.echo(str(path))
    return 0
