"""Auditing one snapshot twice gives byte-identical outputs (docs/architecture.md: same snapshot, same bytes).

Covers every format `auditor._format.registry.FORMAT_NAMES` can render in this build (formats not built yet are
left out), with SOURCE_DATE_EPOCH pinning the generation time. PDF is rendered from a small
snapshot because WeasyPrint takes seconds per document.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from graphdata import write_snapshot

from auditor._format.registry import FORMAT_NAMES, get_formatter
from auditor.cli import cli
from auditor.errors import InputError

EPOCH = "1790000000"  # 2026-09-21T...Z, any fixed value will do


pytestmark = pytest.mark.usefixtures("clean_flowaudit_env")


def available_formats() -> dict[str, str]:
    """format name -> output file name, for the formats this build can render."""
    names = {}
    for name in FORMAT_NAMES:
        try:
            names[name] = get_formatter(name).filename
        except InputError:
            continue
    return names


def pdf_renders() -> bool:
    if "pdf" not in available_formats():
        return False
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def audit_twice(tmp_path: Path, source: list[str], formats: list[str], env: dict[str, str], *extra: str):
    outputs = []
    for run_number in (1, 2):
        out = tmp_path / f"run{run_number}"
        run = CliRunner().invoke(cli, ["audit", *source, "--format", ",".join(formats), "--output-dir", str(out),
                                       "--fail-on", "none", "-q", *extra], env=env)
        assert run.exit_code == 0, run.output
        outputs.append(out)
    return outputs


def test_every_format_is_byte_identical_across_runs(tmp_path):
    formats = available_formats()
    formats.pop("pdf", None)  # see the PDF test below
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n"
                       "  - rule: SSU001\n    justification: accepted\n    expires: 2030-01-01\n"
                       "  - rule: APP002\n    resource: 'B2X_1_*'\n    justification: pilot\n    expires: 2020-01-01\n")
    # a baseline from another night, so baseline marks and resolved entries are covered too
    base = CliRunner().invoke(cli, ["audit", "--sample", "contoso", "--rules", "SSU001,SSU002,APP002",
                                    "--output-dir", str(tmp_path / "base"), "--fail-on", "none", "-q"])
    assert base.exit_code == 0, base.output
    first, second = audit_twice(tmp_path, ["--sample", "contoso"], list(formats), {"SOURCE_DATE_EPOCH": EPOCH},
                                "--waivers", str(waivers), "--baseline", str(tmp_path / "base" / "result.json"))
    for name, filename in formats.items():
        a, b = (first / filename).read_bytes(), (second / filename).read_bytes()
        assert a == b, f"{name} ({filename}) differs between two audits of the same snapshot"
    result = json.loads((first / "result.json").read_text())
    assert result["findings"], "the sample should produce findings, or this test proves little"


@pytest.mark.skipif(not pdf_renders(), reason="PDF formatter or WeasyPrint system libraries not available")
def test_pdf_is_byte_identical_with_source_date_epoch(tmp_path):
    snapshot = write_snapshot(tmp_path / "snap")
    first, second = audit_twice(tmp_path, ["--snapshot", str(snapshot)], ["pdf"], {"SOURCE_DATE_EPOCH": EPOCH})
    a, b = (first / "report.pdf").read_bytes(), (second / "report.pdf").read_bytes()
    assert a.startswith(b"%PDF") and a == b


def test_reproducible_flag_pins_generated_at_to_the_snapshot(tmp_path):
    snapshot = write_snapshot(tmp_path / "snap")
    first, second = audit_twice(tmp_path, ["--snapshot", str(snapshot)], ["json"], {}, "--reproducible")
    assert (first / "result.json").read_bytes() == (second / "result.json").read_bytes()
    result = json.loads((first / "result.json").read_text())
    assert result["generatedAt"] == result["collectedAt"]


def test_without_pinning_only_generated_at_can_differ(tmp_path):
    snapshot = write_snapshot(tmp_path / "snap")
    first, second = audit_twice(tmp_path, ["--snapshot", str(snapshot)], ["json"], {})
    a = json.loads((first / "result.json").read_text())
    b = json.loads((second / "result.json").read_text())
    a.pop("generatedAt")
    b.pop("generatedAt")
    assert a == b
