"""Waivers through the real CLI: waive, expire, stale, and every invalid shape exits 2 naming the entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from graphdata import COLLECTED_AT, write_snapshot

from auditor.cli import cli

SNAPSHOT_DAY = COLLECTED_AT[:10]  # 2026-11-01: waivers are judged against the snapshot date


pytestmark = pytest.mark.usefixtures("clean_flowaudit_env")


def audit(tmp_path: Path, waivers: str | None, *extra: str):
    """Audit the quiet tenant (SSU002 fails, severity low) with --fail-on low; return (result, run)."""
    snapshot = write_snapshot(tmp_path / "snap")
    args = ["audit", "--snapshot", str(snapshot), "--rules", "SSU001,SSU002", "--fail-on", "low",
            "--output-dir", str(tmp_path / "out"), *extra]
    if waivers is not None:
        path = tmp_path / "waivers.yaml"
        path.write_text(waivers, encoding="utf-8")
        args += ["--waivers", str(path)]
    run = CliRunner().invoke(cli, args)
    result_file = tmp_path / "out" / "result.json"
    result = json.loads(result_file.read_text()) if result_file.exists() else None
    return result, run


def ssu002(result: dict) -> dict:
    return next(f for f in result["findings"] if f["ruleId"] == "SSU002")


def waiver(rule: str = "SSU002", resource: str = "authenticationFlowsPolicy", expires: str = "2026-12-31",
           extra: str = "") -> str:
    return (f"waivers:\n  - rule: {rule}\n    resource: {resource}\n    justification: Flows are being built\n"
            f"    expires: {expires}\n    owner: iam-team@contoso.example\n{extra}")


def test_without_waiver_the_low_finding_gates(tmp_path):
    result, run = audit(tmp_path, None)
    assert run.exit_code == 1
    assert ssu002(result)["status"] == "open" and ssu002(result)["waiver"] is None


def test_matching_waiver_waives_and_does_not_gate(tmp_path):
    result, run = audit(tmp_path, waiver())
    assert run.exit_code == 0, run.output
    finding = ssu002(result)
    assert finding["status"] == "waived"
    assert finding["waiver"] == {"entry": 1, "rule": "SSU002", "resource": "authenticationFlowsPolicy",
                                 "justification": "Flows are being built", "owner": "iam-team@contoso.example",
                                 "expires": "2026-12-31", "expired": False}
    assert result["summary"]["waived"] == 1 and result["summary"]["open"] == 0
    assert result["waivers"]["stale"] == [] and result["waivers"]["expired"] == []


def test_glob_matches_resource_id_case_insensitively(tmp_path):
    result, run = audit(tmp_path, waiver(resource="'AUTHENTICATIONFLOWS*'"))
    assert run.exit_code == 0
    assert ssu002(result)["status"] == "waived"


def test_display_name_does_not_match(tmp_path):
    # display names are tenant-chosen text: only the resource id may select what a waiver covers
    result, run = audit(tmp_path, waiver(resource="'Authentication flows policy'"))
    assert run.exit_code == 1
    assert ssu002(result)["status"] == "open"
    assert [w["rule"] for w in result["waivers"]["stale"]] == ["SSU002"]


def test_waiver_is_valid_through_its_expiry_day(tmp_path):
    result, run = audit(tmp_path, waiver(expires=SNAPSHOT_DAY))
    assert run.exit_code == 0
    assert ssu002(result)["status"] == "waived"


def test_expired_waiver_reopens_the_finding_and_is_reported(tmp_path):
    result, run = audit(tmp_path, waiver(expires="2026-10-31"))
    assert run.exit_code == 1
    finding = ssu002(result)
    assert finding["status"] == "open"
    assert finding["waiver"]["expired"] is True and finding["waiver"]["expires"] == "2026-10-31"
    expired = result["waivers"]["expired"]
    assert [(w["rule"], w["entry"], w["findings"]) for w in expired] == [("SSU002", 1, 1)]
    assert "expired on 2026-10-31" in run.stderr


def test_stale_waiver_is_reported(tmp_path):
    text = waiver() + ("  - rule: ssu001\n    justification: no longer needed\n    expires: 2027-01-01\n")
    result, run = audit(tmp_path, text)
    assert run.exit_code == 0
    stale = result["waivers"]["stale"]
    assert [(w["rule"], w["resource"], w["entry"]) for w in stale] == [("SSU001", "*", 2)]
    assert "waiver entry 2" in run.stderr and "stale" in run.stderr


def test_waiver_for_a_rule_that_did_not_run_is_not_called_stale(tmp_path):
    # SSU001 is not selected: its waiver is not applicable to this run, not something to remove
    text = waiver() + ("  - rule: IDP001\n    justification: tracked in CHG-7\n    expires: 2027-01-01\n")
    result, run = audit(tmp_path, text)
    assert run.exit_code == 0
    assert result["waivers"]["stale"] == []
    assert [(w["rule"], w["entry"]) for w in result["waivers"]["notRun"]] == [("IDP001", 2)]
    assert "waiver entry 2 (IDP001 *) is not applicable to this run" in run.stderr
    assert "stale" not in run.stderr


def test_expired_waiver_without_owner_names_no_owner(tmp_path):
    text = "waivers:\n  - rule: SSU002\n    justification: old\n    expires: 2026-01-01\n"
    _, run = audit(tmp_path, text)
    assert run.exit_code == 1
    assert "expired on 2026-01-01" in run.stderr and "owner" not in run.stderr


def test_empty_waiver_list_is_accepted(tmp_path):
    result, run = audit(tmp_path, "waivers: []\n")
    assert run.exit_code == 1 and ssu002(result)["status"] == "open"


VALID = ("  - rule: SSU002\n    resource: '*'\n    justification: ok\n    expires: 2027-01-01\n")

INVALID = {
    "not a mapping": ("- rule: SSU002\n", ["top-level 'waivers:' list"]),
    "waivers not a list": ("waivers:\n  rule: SSU002\n", ["'waivers' must be a list"]),
    "entry not a mapping": ("waivers:\n  - SSU002\n", ["waiver entry 1", "must be a mapping"]),
    "missing justification": ("waivers:\n" + VALID + "  - rule: SSU002\n    expires: 2027-01-01\n",
                              ["waiver entry 2 (rule SSU002)", "'justification' is required"]),
    "empty justification": ("waivers:\n  - rule: SSU002\n    justification: '  '\n    expires: 2027-01-01\n",
                            ["waiver entry 1 (rule SSU002)", "'justification' is required"]),
    "missing expiry": ("waivers:\n  - rule: SSU002\n    justification: ok\n",
                       ["waiver entry 1 (rule SSU002)", "'expires' is required"]),
    "bad date": ("waivers:\n  - rule: SSU002\n    justification: ok\n    expires: 2026-13-01\n",
                 ["waiver entry 1 (rule SSU002)", "'expires' '2026-13-01' is not a date"]),
    "not a date at all": ("waivers:\n  - rule: SSU002\n    justification: ok\n    expires: next year\n",
                          ["waiver entry 1", "is not a date"]),
    "unknown rule": ("waivers:\n" + VALID + "  - rule: XYZ999\n    justification: ok\n    expires: 2027-01-01\n",
                     ["waiver entry 2 (rule XYZ999)", "unknown rule id XYZ999"]),
    "missing rule": ("waivers:\n  - justification: ok\n    expires: 2027-01-01\n", ["waiver entry 1", "'rule'"]),
    "unknown key": ("waivers:\n  - rule: SSU002\n    justification: ok\n    expiry: 2027-01-01\n",
                    ["waiver entry 1 (rule SSU002)", "unknown key(s) expiry"]),
    "unknown top-level key": ("waivers: []\nexceptions: []\n", ["unknown top-level key(s) exceptions"]),
    "invalid yaml": ("waivers: [\n", ["invalid YAML"]),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_waiver_file_exits_2_naming_file_and_entry(tmp_path, case):
    text, expected = INVALID[case]
    result, run = audit(tmp_path, text)
    assert run.exit_code == 2, run.output
    assert result is None  # nothing was audited or written
    message = run.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in run.output
    assert "waivers.yaml" in message
    for part in expected:
        assert part in message


def test_missing_waiver_file_exits_2(tmp_path):
    snapshot = write_snapshot(tmp_path / "snap")
    run = CliRunner().invoke(cli, ["audit", "--snapshot", str(snapshot), "--waivers", str(tmp_path / "nope.yaml"),
                                   "--output-dir", str(tmp_path / "out")])
    assert run.exit_code == 2
    assert "nope.yaml" in run.stderr and "not found" in run.stderr


def test_inline_waivers_in_config_file(tmp_path):
    config = tmp_path / "flowaudit.yaml"
    config.write_text(waiver(), encoding="utf-8")
    result, run = audit(tmp_path, None, "--config", str(config))
    assert run.exit_code == 0
    assert ssu002(result)["status"] == "waived"


def test_invalid_inline_waiver_names_config_file_and_entry(tmp_path):
    config = tmp_path / "flowaudit.yaml"
    config.write_text("waivers:\n  - rule: SSU002\n    expires: 2027-01-01\n", encoding="utf-8")
    _, run = audit(tmp_path, None, "--config", str(config))
    assert run.exit_code == 2
    assert "flowaudit.yaml" in run.stderr and "waiver entry 1 (rule SSU002)" in run.stderr
