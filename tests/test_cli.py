"""End to end through the installed console script: exit codes 0/1/2 and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from graphdata import flow, write_snapshot

FLOWAUDIT = str(Path(sys.executable).with_name("flowaudit"))


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLOWAUDIT, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("flowaudit:")]
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], proc.stderr


def test_exit_1_when_a_finding_reaches_fail_on(tmp_path: Path) -> None:
    # The quiet tenant has sign-up enabled and no flow: SSU002 (low) fires.
    snap = write_snapshot(tmp_path / "s")
    proc = run("audit", "--snapshot", str(snap), "--fail-on", "low", "--output-dir", str(tmp_path / "o"))
    assert proc.returncode == 1, proc.stderr
    assert "SSU002" in proc.stdout
    assert_one_line_error(proc, "at or above low", "SSU002")
    result = json.loads((tmp_path / "o" / "result.json").read_text())
    assert result["format"] == "flowaudit-result"
    assert any(f["ruleId"] == "SSU002" for f in result["findings"])


def test_exit_0_when_findings_are_below_fail_on(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "s")
    proc = run("audit", "--snapshot", str(snap), "--rules", "SSU002", "--fail-on", "high",
               "--output-dir", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr


def test_fail_on_none_never_gates(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "s")
    proc = run("audit", "--snapshot", str(snap), "--fail-on", "none", "--output-dir", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr


def test_rules_and_skip_rules_select_what_runs(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "s")
    proc = run("audit", "--snapshot", str(snap), "--skip-rules", "SSU002", "--fail-on", "low",
               "--rules", "SSU001,SSU002", "--output-dir", str(tmp_path / "o"))
    result = json.loads((tmp_path / "o" / "result.json").read_text())
    assert [r["id"] for r in result["rules"]] == ["SSU001"]
    assert proc.returncode == 0


@pytest.mark.parametrize("args, fragments", [
    (["audit", "--snapshot", "does-not-exist"], ["does-not-exist", "snapshot not found"]),
    (["audit", "--sample", "nope"], ["unknown sample 'nope'"]),
    (["audit", "--snapshot", "{snap}", "--rules", "XYZ999"], ["unknown rule id(s) XYZ999"]),
    (["audit", "--snapshot", "{snap}", "--format", "docx"], ["unknown format(s) docx"]),
    (["rules", "show", "NOPE01"], ["unknown rule 'NOPE01'"]),
])
def test_usage_errors_exit_2_with_one_line(tmp_path: Path, args: list[str], fragments: list[str]) -> None:
    snap = write_snapshot(tmp_path / "s")
    proc = run(*[a.replace("{snap}", str(snap)) for a in args], "--output-dir", str(tmp_path / "o")) \
        if args[0] == "audit" else run(*args)
    assert proc.returncode == 2, proc.stderr
    assert_one_line_error(proc, *fragments)


def test_bad_option_value_is_a_usage_error() -> None:
    proc = run("audit", "--fail-on", "severe")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "severe" in proc.stderr


def _manifest_edit(snap: Path, change) -> None:
    data = json.loads((snap / "manifest.json").read_text())
    change(data)
    (snap / "manifest.json").write_text(json.dumps(data))


@pytest.mark.parametrize("breakage, fragments", [
    ("no-manifest", ["no manifest.json"]),
    ("bad-version", ["unsupported snapshot version 9"]),
    ("bad-line", ["b2xUserFlows.jsonl: line 2: invalid JSON"]),
    ("missing-file", ["b2xUserFlows.jsonl: missing from the snapshot"]),
    ("not-a-zip", ["not a snapshot directory or zip file"]),
])
def test_malformed_snapshot_exits_2_naming_file_and_problem(tmp_path: Path, breakage: str,
                                                             fragments: list[str]) -> None:
    snap = write_snapshot(tmp_path / "s", b2xUserFlows=[flow("B2X_1_a"), flow("B2X_1_b")])
    target = snap
    if breakage == "no-manifest":
        (snap / "manifest.json").unlink()
    elif breakage == "bad-version":
        _manifest_edit(snap, lambda d: d.update(version=9))
    elif breakage == "bad-line":
        path = snap / "b2xUserFlows.jsonl"
        path.write_text(path.read_text().splitlines()[0] + "\n{\"id\": \n")
    elif breakage == "missing-file":
        (snap / "b2xUserFlows.jsonl").unlink()
    elif breakage == "not-a-zip":
        target = tmp_path / "snapshot.zip"
        target.write_bytes(b"PK\x03\x04 this is not really a zip")
    proc = run("audit", "--snapshot", str(target), "--output-dir", str(tmp_path / "o"))
    assert proc.returncode == 2, proc.stderr
    assert_one_line_error(proc, *fragments)
    assert not (tmp_path / "o" / "result.json").exists()


def test_a_record_of_the_wrong_shape_is_not_judged_and_passes_nothing(tmp_path: Path) -> None:
    # Not what Graph returns: the record is set aside, and every rule reading the source says so
    # (file, line, field) instead of passing over data it could not read.
    snap = write_snapshot(tmp_path / "s", b2xUserFlows=[flow("B2X_1_a")])
    (snap / "b2xUserFlows.jsonl").write_text(json.dumps({"id": "B2X_1_x", "userFlowType": "signUpOrSignIn",
                                                         "userAttributeAssignments": "oops"}) + "\n")
    proc = run("audit", "--snapshot", str(snap), "--output-dir", str(tmp_path / "o"), "--rules", "ATT001,ATT005")
    assert proc.returncode == 0, proc.stderr
    rules = {r["id"]: r for r in json.loads((tmp_path / "o" / "result.json").read_text())["rules"]}
    for rule in rules.values():
        assert rule["outcome"] == "notEvaluated"
        assert "b2xUserFlows.jsonl: line 1 (id 'B2X_1_x'): field 'userAttributeAssignments'" in rule["reason"]


def test_python_dash_m_auditor_works() -> None:
    proc = subprocess.run([sys.executable, "-m", "auditor", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "flowaudit" in proc.stdout


def test_rules_list_and_show_cover_the_catalog() -> None:
    from auditor.catalog import load_catalog

    listing = run("rules", "list")
    assert listing.returncode == 0
    catalog = load_catalog()
    for rule in catalog:
        assert rule.id in listing.stdout and rule.title in listing.stdout
    shown = run("rules", "show", catalog.rules[0].id.lower())
    assert shown.returncode == 0
    assert "Rationale" in shown.stdout and "Remediation (Graph)" in shown.stdout and "https://learn.microsoft.com" in shown.stdout
