"""``flowaudit report RESULT.json``: re-render a saved audit result (no Graph, no snapshot)."""

from __future__ import annotations

from pathlib import Path

import click

from auditor._format.output import resolve_output_dir, write_outputs
from auditor.result import GateSettings, load_result


def run_report_command(result_path: Path, formats: list[str], output_dir: Path, quiet: bool = False,
                       fail_on: str | None = None) -> int:
    result = load_result(result_path)  # InputError naming the file when it is not a valid result
    if fail_on is not None:  # render for another gate than the audit's own (e.g. a stricter JUnit view)
        stored = result.gate or GateSettings()
        result = result.model_copy(update={"gate": stored.model_copy(update={"failOn": fail_on})})
    # re-rendering adds files to the output set; it never removes the others (result.json may be its input)
    written = write_outputs(result, formats, resolve_output_dir(output_dir, result.tenantId, result.collectedAt),
                            replace_set=False)
    if not quiet:
        for path in written:
            click.echo(str(path))
    return 0
