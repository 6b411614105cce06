"""``flowaudit report RESULT.json``: re-render a saved audit result (no Graph, no snapshot)."""

from __future__ import annotations

from pathlib import Path

import click

from auditor._format.output import write_outputs
from auditor.result import load_result


def run_report_command(result_path: Path, formats: list[str], output_dir: Path, quiet: bool = False) -> int:
    result = load_result(result_path)  # InputError naming the file when it is not a valid result
    # re-rendering adds files to the output set; it never removes the others (result.json may be its input)
    written = write_outputs(result, formats, output_dir, replace_set=False)
    if not quiet:
        for path in written:
            click.echo(str(path))
    return 0
