"""Baselines, `flowaudit diff` and --require-complete through the real CLI.

Two nightly snapshots of one tenant: the first has an Email OTP problem (IDP001) that is fixed by the
second, the second switches sign-up off while a flow exists (SSU001, new); IDP003 is in both.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from graphdata import DEFAULT_SOURCES, flow, write_snapshot

from auditor.cli import cli

RULES = "SSU001,SSU002,IDP001,IDP003"


pytestmark = pytest.mark.usefixtures("clean_flowaudit_env")


def night_one(tmp_path: Path) -> Path:
    email = dict(DEFAULT_SOURCES["emailAuthenticationMethod"][0], allowExternalIdToUseEmailOtp="disabled")
    return write_snapshot(tmp_path / "night1", b2xUserFlows=[flow("B2X_1_Partner")],
                          emailAuthenticationMethod=[email], collected_at="2026-11-01T02:00:00Z")


def night_two(tmp_path: Path, **sources) -> Path:
    sign_up_off = [{"id": "authenticationFlowsPolicy", "selfServiceSignUp": {"isEnabled": False}}]
    merged = {"b2xUserFlows": [flow("B2X_1_Partner")], "authenticationFlowsPolicy": sign_up_off, **sources}
    return write_snapshot(tmp_path / "night2", collected_at="2026-11-02T02:00:00Z", **merged)


def audit(snapshot: Path, out: Path, *extra: str, rules: str = RULES):
    run = CliRunner().invoke(cli, ["audit", "--snapshot", str(snapshot), "--rules", rules, "--output-dir", str(out),
                                   "-q", *extra])
    path = out / "result.json"
    return (json.loads(path.read_text()) if path.exists() else None), run


@pytest.fixture
def two_results(tmp_path: Path) -> tuple[Path, Path]:
    _, run1 = audit(night_one(tmp_path), tmp_path / "out1", "--fail-on", "none")
    assert run1.exit_code == 0, run1.output
    _, run2 = audit(night_two(tmp_path), tmp_path / "out2", "--fail-on", "none")
    assert run2.exit_code == 0, run2.output
    return tmp_path / "out1" / "result.json", tmp_path / "out2" / "result.json"


def by_rule(result: dict) -> dict[str, str | None]:
    return {f["ruleId"]: f["baseline"] for f in result["findings"]}


def test_baseline_marks_new_existing_and_resolved(tmp_path, two_results):
    first, _ = two_results
    result, run = audit(night_two(tmp_path), tmp_path / "out3", "--baseline", str(first), "--fail-on", "none")
    assert run.exit_code == 0, run.output
    assert by_rule(result) == {"SSU001": "new", "IDP003": "existing"}
    assert [(r["ruleId"], r["resource"]["id"]) for r in result["resolved"]] == [("IDP001", "B2X_1_Partner")]
    assert set(result["resolved"][0]) >= {"ruleId", "severity", "title", "resource", "fingerprint"}
    assert result["summary"]["new"] == 1 and result["summary"]["resolved"] == 1


def test_without_baseline_nothing_is_marked(two_results):
    _, second = two_results
    result = json.loads(second.read_text())
    assert set(by_rule(result).values()) == {None} and result["resolved"] == []


def test_fail_on_new_gates_only_on_new_findings(tmp_path, two_results):
    first, second = two_results
    # against itself every finding exists already: nothing new, exit 0 even with --fail-on info
    _, same = audit(night_two(tmp_path), tmp_path / "o", "--baseline", str(second), "--fail-on", "info",
                    "--fail-on-new")
    assert same.exit_code == 0, same.output
    # against night one, SSU001 (low) is new: it gates at low ...
    _, new = audit(night_two(tmp_path), tmp_path / "o", "--baseline", str(first), "--fail-on", "low",
                   "--fail-on-new")
    assert new.exit_code == 1 and "SSU001" in new.stderr and "IDP003" not in new.stderr
    # ... but not at medium, though it would gate without --fail-on-new at info (IDP003)
    _, above = audit(night_two(tmp_path), tmp_path / "o", "--baseline", str(first), "--fail-on", "medium",
                     "--fail-on-new")
    assert above.exit_code == 0


def test_fail_on_new_without_baseline_is_a_usage_error(tmp_path):
    _, run = audit(night_two(tmp_path), tmp_path / "o", "--fail-on-new")
    assert run.exit_code == 2 and "--baseline" in run.stderr


def test_previous_finding_of_a_rule_not_run_is_not_claimed_resolved(tmp_path, two_results):
    first, _ = two_results
    result, run = audit(night_two(tmp_path), tmp_path / "o", "--baseline", str(first), "--fail-on", "none",
                        rules="SSU001,IDP003")
    assert run.exit_code == 0
    assert result["resolved"] == []
    assert [e["ruleId"] for e in result["notReassessed"]] == ["IDP001"]


@pytest.mark.parametrize("content, expected", [
    ("{not json", "invalid JSON"),
    ('{"format": "something-else"}', "not a flowaudit result"),
    ('{"format": "flowaudit-result", "version": 1}', "field"),
])
def test_malformed_baseline_exits_2(tmp_path, content, expected):
    bad = tmp_path / "previous.json"
    bad.write_text(content)
    result, run = audit(night_two(tmp_path), tmp_path / "o", "--baseline", str(bad))
    assert run.exit_code == 2 and result is None
    assert "previous.json" in run.stderr and expected in run.stderr


def test_baseline_of_another_tenant_exits_2(tmp_path, two_results):
    first, _ = two_results
    other = json.loads(first.read_text())
    other["tenantId"] = "11111111-2222-3333-4444-555555555555"
    path = tmp_path / "other.json"
    path.write_text(json.dumps(other))
    _, run = audit(night_two(tmp_path), tmp_path / "o", "--baseline", str(path))
    assert run.exit_code == 2 and "tenant" in run.stderr


# --- diff -----------------------------------------------------------------------------------------

def diff(*args: str):
    return CliRunner().invoke(cli, ["diff", *args])


def test_diff_table_lists_new_resolved_unchanged_and_rule_changes(two_results):
    first, second = two_results
    run = diff(str(first), str(second))
    assert run.exit_code == 0, run.output  # SSU001 is low, the default --fail-on is high
    out = run.stdout
    sections = {}
    current = None
    for line in out.splitlines():
        if line and not line.startswith(" "):
            current = line
            sections[current] = []
        elif current and line.strip():
            sections[current].append(line)
    assert "SSU001" in "".join(sections["New findings (1)"])
    assert "IDP001" in "".join(sections["Resolved findings (1)"])
    assert "IDP003" in "".join(sections["Unchanged findings (1)"])
    changes = [line.split()[:3] for line in sections["Rule outcomes changed (2)"][1:]]
    assert changes == [["IDP001", "fail", "pass"], ["SSU001", "pass", "fail"]]


def test_diff_exit_code_follows_fail_on(two_results):
    first, second = two_results
    gated = diff(str(first), str(second), "--fail-on", "low")
    assert gated.exit_code == 1 and "SSU001" in gated.stderr
    assert diff(str(first), str(second), "--fail-on", "none").exit_code == 0
    # going back: IDP001 comes back (medium) -> new at medium
    assert diff(str(second), str(first), "--fail-on", "medium").exit_code == 1
    assert diff(str(second), str(first), "--fail-on", "high").exit_code == 0


def test_diff_json_and_markdown(two_results):
    first, second = two_results
    data = json.loads(diff(str(first), str(second), "--format", "json").stdout)
    assert data["summary"] == {"new": 1, "resolved": 1, "notReassessed": 0, "unchanged": 1, "ruleChanges": 2}
    assert [f["ruleId"] for f in data["newFindings"]] == ["SSU001"]
    assert [f["ruleId"] for f in data["resolvedFindings"]] == ["IDP001"]
    assert {"id": "SSU001", "title": data["ruleChanges"][1]["title"], "before": "pass", "after": "fail"} \
        in data["ruleChanges"]
    md = diff(str(first), str(second), "--format", "md").stdout
    assert "### New findings (1)" in md and "| low | SSU001 |" in md
    assert "B2X\\_1\\_Partner" in md  # tenant text is escaped in Markdown


def test_diff_of_identical_results_is_empty(two_results):
    first, _ = two_results
    data = json.loads(diff(str(first), str(first), "--format", "json").stdout)
    assert data["summary"] == {"new": 0, "resolved": 0, "notReassessed": 0, "unchanged": 2, "ruleChanges": 0}


def test_diff_escapes_control_characters_in_tenant_text(tmp_path, two_results):
    first, second = two_results
    data = json.loads(second.read_text())
    data["findings"][0]["resource"]["displayName"] = "evil\x1b[2J\nname"
    data["findings"][0]["fingerprint"] = "f" * 32  # make it a new finding
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(data))
    out = diff(str(first), str(path)).stdout
    assert "\x1b" not in out and "evil?[2J?name" in out


@pytest.mark.parametrize("content", ["{", "[]", '{"format": "flowaudit-result", "version": 9}'])
def test_diff_malformed_input_exits_2(tmp_path, two_results, content):
    first, _ = two_results
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    run = diff(str(first), str(bad))
    assert run.exit_code == 2 and "bad.json" in run.stderr and "Traceback" not in run.output
    assert diff(str(tmp_path / "missing.json"), str(first)).exit_code == 2


# --- --require-complete ---------------------------------------------------------------------------

def test_require_complete_exits_3_naming_rules_and_sources(tmp_path):
    snapshot = write_snapshot(tmp_path / "partial", b2xUserFlows="forbidden")
    result, run = audit(snapshot, tmp_path / "o", "--require-complete", "--fail-on", "low", rules="SSU001,SSU002")
    assert run.exit_code == 3, run.output  # 3 beats 1
    line = run.stderr.strip().splitlines()[-1]
    assert "SSU001" in line and "SSU002" in line and "b2xUserFlows" in line
    assert result is not None  # outputs are still written for the people who read them
    _, without = audit(snapshot, tmp_path / "o", "--fail-on", "low", rules="SSU001,SSU002")
    assert without.exit_code == 0  # not evaluated is not a finding


def test_invalid_input_beats_incomplete(tmp_path):
    snapshot = write_snapshot(tmp_path / "partial", b2xUserFlows="forbidden")
    bad = tmp_path / "w.yaml"
    bad.write_text("waivers: 3\n")
    _, run = audit(snapshot, tmp_path / "o", "--require-complete", "--waivers", str(bad))
    assert run.exit_code == 2
