"""The console through the real console script: the summary says what fails where, informational
and waived rules stand apart, the last stdout line is the verdict, tenant text cannot drive the
terminal; and the waiver messages a person acts on.

Nothing here assumes which rules fire in a sample (the catalog grows): expectations are derived
from the result.json written by the same run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from console_support import on_terminal, run, section
from graphdata import connector, write_snapshot

from auditor.console import RESOURCES_PER_RULE
from auditor.severity import SEVERITY_RANK

pytestmark = pytest.mark.usefixtures("clean_flowaudit_env")


def audited(tmp_path: Path, *args: str, env: dict[str, str] | None = None):
    out = tmp_path / "out"
    proc = run("audit", *args, "--output-dir", str(out), cwd=tmp_path, env=env)
    result_file = out / "result.json"
    return proc, json.loads(result_file.read_text(encoding="utf-8")) if result_file.exists() else None


def open_by_rule(result: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for f in result["findings"]:
        if f["status"] == "open":
            found.setdefault(f["ruleId"], []).append(f)
    return found


def test_failing_rules_list_their_resources_capped_per_rule(tmp_path: Path) -> None:
    proc, result = audited(tmp_path, "--sample", "contoso")
    assert proc.returncode == 1, proc.stderr
    failing = section(proc.stdout, "Failing rules:")
    rule_lines = [line for line in failing if not line.startswith(" " * 11)]
    opened = open_by_rule(result)
    expected = [r for r in result["rules"] if r["severity"] != "info" and opened.get(r["id"])]
    assert [line.split()[1] for line in rule_lines] == [r["id"] for r in sorted(
        expected, key=lambda r: (-SEVERITY_RANK[r["severity"]], r["id"]))]
    capped = 0
    for rule in expected:
        block = failing[failing.index(next(line for line in rule_lines if line.split()[1] == rule["id"])):]
        findings = opened[rule["id"]]
        shown = findings[:RESOURCES_PER_RULE]
        lines = block[1:1 + len(shown)]
        for finding, line in zip(shown, lines, strict=True):
            assert f"({finding['resource']['id']})" in line or f"- {finding['resource']['id']}:" in line
            assert line.endswith(finding["message"][-40:])
        if len(findings) > RESOURCES_PER_RULE:
            capped += 1
            assert block[1 + RESOURCES_PER_RULE].strip() == f"… and {len(findings) - RESOURCES_PER_RULE} more"
    assert capped, "the sample has a rule with more findings than the cap (GST001)"


def test_info_rules_are_informational_not_failed_and_the_verdict_ends_stdout(tmp_path: Path) -> None:
    proc, result = audited(tmp_path, "--sample", "clean")
    assert proc.returncode == 0, proc.stderr
    info_failing = [r["id"] for r in result["rules"] if r["outcome"] == "fail" and r["severity"] == "info"]
    assert info_failing, "the clean sample keeps its informational findings"
    assert "Failing rules:" not in proc.stdout
    assert f"Rules: 0 failed, {len(info_failing)} informational, " in proc.stdout
    informational = section(proc.stdout, "Informational (facts to know, not failures):")
    assert [line.split()[1] for line in informational if not line.startswith(" " * 11)] == sorted(info_failing)
    open_count = sum(1 for f in result["findings"] if f["status"] == "open")
    assert proc.stdout.splitlines()[-1] == f"PASS: no open finding at or above high; {open_count} other open findings " \
                                           "(below high)"


def test_fail_verdict_counts_gating_findings_and_stderr_keeps_its_one_line(tmp_path: Path) -> None:
    proc, result = audited(tmp_path, "--sample", "contoso", "--fail-on", "critical")
    gating = [f for f in result["findings"] if f["status"] == "open" and f["severity"] == "critical"]
    rules = sorted({f["ruleId"] for f in gating})
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-1] == f"FAIL: {len(gating)} open findings at or above critical ({', '.join(rules)})"
    assert [line for line in proc.stderr.splitlines() if line.startswith("flowaudit:")] == [
        f"flowaudit: {len(gating)} open finding(s) at or above critical ({', '.join(rules)})"]


def test_incomplete_verdict_with_require_complete(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "s", signIns="forbidden")
    proc, result = audited(tmp_path, "--snapshot", str(snap), "--require-complete")
    not_evaluated = sorted(r["id"] for r in result["rules"] if r["outcome"] == "notEvaluated")
    assert proc.returncode == 3 and not_evaluated
    verdict = proc.stdout.splitlines()[-1]
    assert verdict.startswith(f"INCOMPLETE: {len(not_evaluated)} rules not evaluated ({not_evaluated[0]}, ")
    assert verdict.split(") and ")[1].startswith("--require-complete is set")


def test_a_fully_waived_rule_moves_to_the_waived_line(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "s")  # the quiet tenant: SSU002 (low) fails
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - rule: SSU002\n    justification: flows are being built\n"
                       "    expires: 2027-01-01\n", encoding="utf-8")
    proc, _ = audited(tmp_path, "--snapshot", str(snap), "--fail-on", "low", "--waivers", str(waivers))
    assert proc.returncode == 0, proc.stderr
    assert "Waived: 1 finding; fully waived rules: SSU002 (1)" in proc.stdout
    assert "Failing rules:" not in proc.stdout and "0 failed" in proc.stdout and "1 fully waived" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "PASS: no open finding at or above low"


def test_baseline_counts_new_resolved_and_not_reassessed(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    _, before = audited(tmp_path / "a", "--sample", "contoso", "--fail-on", "none")
    baseline = tmp_path / "a" / "out" / "result.json"
    proc, after = audited(tmp_path / "b", "--sample", "contoso", "--fail-on", "none", "--skip-rules", "GST001",
                          "--baseline", str(baseline))
    skipped = sum(1 for f in before["findings"] if f["ruleId"] == "GST001")
    assert skipped and after["summary"]["notReassessed"] == skipped
    assert f"Against the baseline ({before['collectedAt']}): 0 new, 0 resolved, {skipped} not reassessed" \
        in proc.stdout


def test_tenant_text_cannot_drive_the_terminal(tmp_path: Path) -> None:
    evil = "Evil\x1b[2J\x1b]0;pwned\x07 name\nsecond line"
    snap = write_snapshot(tmp_path / "s", apiConnectors=[connector("conn-evil", name=evil)])
    proc, result = audited(tmp_path, "--snapshot", str(snap), "--fail-on", "none")
    assert any(f["ruleId"] == "CON006" for f in result["findings"])
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    line = next(line for line in proc.stdout.splitlines() if "(conn-evil)" in line)
    assert "Evil?[2J?]0;pwned? name?second line (conn-evil)" in line


def test_on_a_terminal_the_verdict_is_said_once(tmp_path: Path) -> None:
    shown = on_terminal("audit", "--sample", "contoso", "--format", "json", "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert shown.returncode == 1
    # stdout and stderr are the same screen: the verdict says why, the stderr copy would repeat it
    assert shown.terminal.count("at or above high") == 1
    assert shown.terminal.splitlines()[-1].startswith("FAIL: ")


# --- waiver messages (the lead's fix, seen through the console script) ---------------------------

def test_waiver_messages_for_a_rule_not_run_and_an_expired_waiver_without_owner(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "s")
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n"
                       "  - rule: SSU002\n    justification: old\n    expires: 2026-01-01\n"
                       "  - rule: IDP001\n    justification: tracked in CHG-7\n    expires: 2027-01-01\n",
                       encoding="utf-8")
    proc, _ = audited(tmp_path, "--snapshot", str(snap), "--rules", "SSU001,SSU002", "--waivers", str(waivers))
    assert "flowaudit: waiver entry 1 (SSU002 *) expired on 2026-01-01: 1 finding(s) open again" in proc.stderr
    assert "waiver entry 2 (IDP001 *) is not applicable to this run" in proc.stderr
    assert "stale" not in proc.stderr and "owner" not in proc.stderr
