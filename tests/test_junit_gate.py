"""junit.xml agrees with the gate, through the real console script: a CI test tab shows as failures
exactly the findings that failed the run; the rest are listed as skipped with the reason."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from console_support import run
from graphdata import write_snapshot

from auditor.severity import SEVERITY_RANK

pytestmark = pytest.mark.usefixtures("clean_flowaudit_env")


def audit_junit(tmp_path: Path, *args: str) -> tuple[int, dict, ET.Element]:
    out = tmp_path / "out"
    proc = run("audit", *args, "--format", "junit,json", "-o", str(out), cwd=tmp_path)
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    return proc.returncode, result, ET.parse(out / "junit.xml").getroot()


def cases(root: ET.Element, child: str) -> list[ET.Element]:
    return [c for c in root.iter("testcase") if c.find(child) is not None]


def open_at_or_above(result: dict, level: str) -> list[dict]:
    return [f for f in result["findings"]
            if f["status"] == "open" and SEVERITY_RANK[f["severity"]] >= SEVERITY_RANK[level]]


def test_findings_below_fail_on_are_skipped_not_failures(tmp_path: Path) -> None:
    code, result, root = audit_junit(tmp_path, "--sample", "contoso", "--fail-on", "high")
    gating = open_at_or_above(result, "high")
    below = [f for f in result["findings"] if f["status"] == "open" and f not in gating]
    assert code == 1 and gating and below
    assert result["gate"] == {"failOn": "high", "requireComplete": False, "failOnNew": False}
    assert int(root.get("failures")) == len(cases(root, "failure")) == len(gating)
    skipped_findings = [c for c in cases(root, "skipped") if "not gating" in c.find("skipped").get("message")]
    assert len(skipped_findings) == len(below)
    for case in skipped_findings:
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert SEVERITY_RANK[props["severity"]] < SEVERITY_RANK["high"]
        assert props["gate"] == "--fail-on high"
        assert "below --fail-on high" in case.find("skipped").get("message")


def test_a_run_the_gate_passed_has_no_failure(tmp_path: Path) -> None:
    code, result, root = audit_junit(tmp_path, "--sample", "contoso", "--fail-on", "none")
    assert code == 0 and result["summary"]["open"] > 0
    assert cases(root, "failure") == [] and root.get("failures") == "0"
    assert all("--fail-on none" in c.find("skipped").get("message") for c in cases(root, "skipped")
               if "not gating" in c.find("skipped").get("message"))


def test_report_re_renders_with_the_stored_gate_or_an_override(tmp_path: Path) -> None:
    _, result, original = audit_junit(tmp_path, "--sample", "contoso", "--fail-on", "critical")
    saved = tmp_path / "out" / "result.json"
    same = run("report", str(saved), "--format", "junit", "-o", str(tmp_path / "again"), cwd=tmp_path)
    assert same.returncode == 0, same.stderr
    assert (tmp_path / "again" / "junit.xml").read_bytes() == (tmp_path / "out" / "junit.xml").read_bytes()
    assert len(cases(original, "failure")) == len(open_at_or_above(result, "critical"))
    stricter = run("report", str(saved), "--format", "junit", "--fail-on", "MEDIUM", "-o", str(tmp_path / "m"),
                   cwd=tmp_path)
    assert stricter.returncode == 0, stricter.stderr
    root = ET.parse(tmp_path / "m" / "junit.xml").getroot()
    assert len(cases(root, "failure")) == len(open_at_or_above(result, "medium"))


def test_fail_on_new_fails_only_new_findings(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "s")
    (tmp_path / "a").mkdir()
    first = run("audit", "--snapshot", str(snap), "--rules", "SSU001", "-o", str(tmp_path / "a" / "o"), cwd=tmp_path)
    assert first.returncode == 0
    code, result, root = audit_junit(tmp_path, "--snapshot", str(snap), "--fail-on", "low", "--fail-on-new",
                                     "--baseline", str(tmp_path / "a" / "o" / "result.json"))
    new = [f for f in result["findings"] if f["baseline"] == "new"]
    assert code == 1 and [f["ruleId"] for f in new] == ["SSU002"]
    assert [c.get("classname") for c in cases(root, "failure")] == ["SSU002"]


def test_require_complete_turns_rules_not_evaluated_into_errors(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "s", signIns="forbidden")
    code, result, root = audit_junit(tmp_path, "--snapshot", str(snap), "--require-complete")
    not_evaluated = sorted(r["id"] for r in result["rules"] if r["outcome"] == "notEvaluated")
    assert code == 3 and not_evaluated
    assert sorted(c.get("classname") for c in cases(root, "error")) == not_evaluated
    assert int(root.get("errors")) == len(not_evaluated)
    plain = run("audit", "--snapshot", str(snap), "--format", "junit", "-o", str(tmp_path / "p"), cwd=tmp_path)
    assert plain.returncode == 0
    assert cases(ET.parse(tmp_path / "p" / "junit.xml").getroot(), "error") == []
