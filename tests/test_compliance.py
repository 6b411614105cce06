"""The compliance view through the real console script: findings.csv (one row per finding, safe to
open in a spreadsheet) and the framework controls in the HTML and PDF reports."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest
from console_support import run
from graphdata import connector, user, write_snapshot

from auditor._format.csv import COLUMNS

pytestmark = pytest.mark.usefixtures("clean_flowaudit_env")
FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR"]


def rows(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: Excel reads it as UTF-8
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_csv_has_one_row_per_finding_with_gate_and_frameworks(tmp_path: Path) -> None:
    proc = run("audit", "--sample", "contoso", "--format", "csv,json", "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    result = json.loads((tmp_path / "o" / "result.json").read_text(encoding="utf-8"))
    table = rows(tmp_path / "o" / "findings.csv")
    assert list(table[0]) == list(COLUMNS)
    assert [(r["ruleId"], r["resourceId"]) for r in table] == \
        [(f["ruleId"], f["resource"]["id"]) for f in result["findings"]]
    rules = {r["id"]: r for r in result["rules"]}
    for row, finding in zip(table, result["findings"], strict=True):
        assert row["severity"] == finding["severity"] and row["status"] == finding["status"]
        assert row["fingerprint"] == finding["fingerprint"] and row["tenantId"] == result["tenantId"]
        assert row["gating"] == ("yes" if finding["severity"] in ("critical", "high") else "no")
        for name, ids in rules[finding["ruleId"]]["frameworks"].items():
            assert f"{name}: {', '.join(ids)}" in row["frameworks"]
        assert "\n" not in row["remediation"]
    raw = (tmp_path / "o" / "findings.csv").read_bytes()
    assert b"\r\n" in raw and b"sig=REDACTED" in raw


def test_csv_cells_that_a_spreadsheet_would_evaluate_are_neutralised(tmp_path: Path) -> None:
    connectors = [connector(f"conn-{i}", name=name) for i, name in enumerate(FORMULAS)]
    guests = [user("00000000-0000-4000-8000-000000000001", name="=1+1", last_sign_in=None,
                   created="2024-01-01T00:00:00Z")]
    snap = write_snapshot(tmp_path / "s", apiConnectors=connectors, selfServiceSignUpUsers=guests)
    proc = run("audit", "--snapshot", str(snap), "--format", "csv", "--fail-on", "none", "-o", str(tmp_path / "o"),
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = rows(tmp_path / "o" / "findings.csv")
    names = {r["resourceId"]: r["resourceName"] for r in table}
    expected = ["'" + name for name in FORMULAS[:-1]] + [" CR"]  # a line break becomes a space first
    assert [names[f"conn-{i}"] for i in range(len(FORMULAS))] == expected
    assert names["00000000-0000-4000-8000-000000000001"] == "'=1+1"
    for row in table:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def expected_controls(result: dict) -> dict[str, dict[str, str]]:
    """Framework → control → status, computed here independently of the report code."""
    opened = {f["ruleId"] for f in result["findings"] if f["status"] == "open"}

    def rule_status(rule: dict) -> str:
        if rule["outcome"] == "fail":
            return "fail" if rule["id"] in opened and rule["severity"] != "info" else "pass"
        return rule["outcome"]

    statuses: dict[str, dict[str, set[str]]] = {}
    for rule in result["rules"]:
        for framework, controls in rule["frameworks"].items():
            for control in controls:
                statuses.setdefault(framework, {}).setdefault(control, set()).add(rule_status(rule))
    order = ("fail", "notEvaluated", "pass", "notApplicable")
    return {fw: {c: next(o for o in order if o in s) for c, s in controls.items()}
            for fw, controls in statuses.items()}


def test_html_maps_rules_to_framework_controls_with_a_status_each(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "s", signIns="forbidden", apiConnectors=[connector("idle")])
    proc = run("audit", "--snapshot", str(snap), "--format", "html,json", "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "o" / "result.json").read_text(encoding="utf-8"))
    expected = expected_controls(result)
    statuses = {s for controls in expected.values() for s in controls.values()}
    assert {"fail", "notEvaluated", "pass"} <= statuses, "the tenant exercises each control status"
    html = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    section = html.split('<section id="frameworks">')[1].split("</section>")[0]
    for framework, controls in expected.items():
        table = section.split(f'data-framework="{framework}"')[1].split("</table>")[0]
        found = dict(re.findall(r'data-control="([^"]+)" data-control-status="([^"]+)"', table))
        assert {unescape(k): v for k, v in found.items()} == controls
        for status in ("fail", "notEvaluated", "pass", "notApplicable"):
            count = sum(1 for v in controls.values() if v == status)
            assert f'<span data-count="control-{status}">{count}</span>' in section


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_pdf_has_the_framework_chapter(tmp_path: Path) -> None:
    proc = run("audit", "--sample", "contoso", "--format", "pdf,json", "-o", str(tmp_path / "o"), cwd=tmp_path)
    if proc.returncode == 2 and "Pango" in proc.stderr:
        pytest.skip("WeasyPrint's system libraries are missing")
    result = json.loads((tmp_path / "o" / "result.json").read_text(encoding="utf-8"))
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "o" / "report.pdf"), "-"], capture_output=True,
                          text=True, timeout=60).stdout
    # from the chapter's heading (the first mention is the table of contents) to the next appendix
    start = text.index("Framework controls", text.index("Framework controls") + 1)
    chapter = text[start:text.index("Appendix A", start)]
    for framework, controls in expected_controls(result).items():
        assert framework in chapter
        for control, status in controls.items():
            label = {"fail": "Fail", "pass": "Pass", "notEvaluated": "Not evaluated",
                     "notApplicable": "Not applicable"}[status]
            assert re.search(rf"^\s*{re.escape(control)}\s+{label}\b", chapter, re.MULTILINE), (control, label)
