"""SARIF, JUnit and Markdown read back; secrets in no output; determinism; the report command."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema.validators import validator_for
from report_support import DATA, SECRETS, audit, hostile_tenant, with_waivers

from auditor._format.junit import JunitFormat
from auditor._format.output import write_outputs
from auditor.catalog import SEVERITIES
from auditor.cli import cli
from auditor.result import AuditResult, load_result
from auditor.severity import SEVERITY_RANK

MACHINE = ["json", "sarif", "junit", "md", "html"]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("machine")
    result = with_waivers(audit(hostile_tenant(root / "snap")))
    write_outputs(result, MACHINE, root / "out")
    return result, root / "out"


def test_sarif_validates_against_the_official_schema(outputs):
    result, out = outputs
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    sarif = json.loads((out / "results.sarif").read_text(encoding="utf-8"))
    validator = validator_for(schema)(schema)  # the schema declares draft-04
    errors = sorted(validator.iter_errors(sarif), key=str)
    assert not errors, errors[0].message
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(r.id for r in result.rules)
    assert all(float(r["properties"]["security-severity"]) > 0 and r["help"]["markdown"] for r in rules)
    assert len(run["results"]) == len(result.findings)
    by_fp = {r["partialFingerprints"]["flowauditFingerprint/v1"]: r for r in run["results"]}
    for finding in result.findings:
        item = by_fp[finding.fingerprint]
        assert rules[item["ruleIndex"]]["id"] == finding.ruleId
        assert item["level"] == {"critical": "error", "high": "error", "medium": "warning"}.get(finding.severity, "note")
        location = item["locations"][0]
        assert location["physicalLocation"]["artifactLocation"]["uriBaseId"] == "SNAPSHOT"
        uri = location["physicalLocation"]["artifactLocation"]["uri"]
        files = {s.file for s in result.snapshot.sources.values()}
        assert uri in files or uri == "manifest.json"
        assert location["logicalLocations"][0]["fullyQualifiedName"].startswith(finding.resource.type + "/")
        assert ("suppressions" in item) == (finding.status == "waived")
    waived = [r for r in run["results"] if "suppressions" in r]
    assert waived[0]["suppressions"][0]["kind"] == "external"
    assert waived[0]["suppressions"][0]["justification"].startswith("Accepted by CAB-42")


def test_junit_counts_match_the_result(outputs):
    result, out = outputs
    root = ET.parse(out / "junit.xml").getroot()
    cases = root.findall(".//testcase")
    failures = root.findall(".//testcase/failure")
    skipped = root.findall(".//testcase/skipped")
    waived = [c for c in cases if c.find("properties/property[@name='waiver']") is not None]
    passing_rules = [r for r in result.rules if r.outcome == "pass"]
    not_run = [r for r in result.rules if r.outcome in ("notEvaluated", "notApplicable")]
    # no gate stored (library result): the default --fail-on high decides what is a failure
    assert result.gate is None
    gating = [f for f in result.open_findings() if SEVERITY_RANK[f.severity] >= SEVERITY_RANK["high"]]
    assert 0 < len(failures) == len(gating) < result.summary.open
    assert len(waived) == result.summary.waived == 1
    assert len(skipped) == len(not_run) + result.summary.open - len(gating)
    assert len(cases) == len(result.findings) + len(passing_rules) + len(not_run)
    assert int(root.get("tests")) == len(cases) and int(root.get("failures")) == len(failures)
    families = {r.family for r in result.rules}
    assert len(root.findall("testsuite")) == len(families)
    for case in cases:
        rule = result.rule(case.get("classname"))
        assert rule is not None
    failure = failures[0]
    assert "Remediation (portal):" in failure.text and failure.get("message")


def test_junit_skips_rules_not_evaluated_with_the_reason(tmp_path):
    result = audit(hostile_tenant(tmp_path / "snap"))
    data = result.model_dump(mode="json")
    # mark one rule not evaluated the way the engine does, to see it in JUnit
    data["rules"][0].update(outcome="notEvaluated", reason="source signIns is forbidden; grant AuditLog.Read.All")
    data["findings"] = [f for f in data["findings"] if f["ruleId"] != data["rules"][0]["id"]]
    root = ET.fromstring(JunitFormat().format(AuditResult.model_validate(data)))
    skipped = [s for s in root.findall(".//skipped") if s.get("message").startswith("not evaluated")]
    assert len(skipped) == 1 and "grant AuditLog.Read.All" in skipped[0].get("message")


def test_markdown_shows_the_counts_and_links_failing_rules(outputs):
    result, out = outputs
    text = (out / "summary.md").read_text(encoding="utf-8")
    for sev in SEVERITIES:
        row = next(line for line in text.splitlines() if line.startswith("| ") and f" {sev} |" in line)
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1:] == [str(result.summary.openBySeverity[sev]), str(result.summary.waivedBySeverity[sev])]
    assert f"**{result.summary.open} open**" in text
    for rule in (r for r in result.rules if r.outcome == "fail"):
        assert f"**{rule.id}**" in text and f"]({rule.references[0].url})" in text
    assert "<script" not in text and "<img" not in text
    assert len(text.splitlines()) < 60


def test_markdown_is_appended_to_the_github_step_summary(outputs, tmp_path, monkeypatch):
    result, out = outputs
    step = tmp_path / "step-summary.md"
    step.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    write_outputs(result, ["md"], tmp_path / "o")
    assert step.read_text(encoding="utf-8") == "earlier step\n" + (out / "summary.md").read_text(encoding="utf-8")


def test_no_secret_in_any_output(outputs):
    _, out = outputs
    files = sorted(f for f in out.iterdir() if not f.name.startswith("."))
    assert {f.name for f in files} == {"result.json", "results.sarif", "junit.xml", "summary.md", "report.html"}
    for path in files:
        data = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, f"{secret} leaked into {path.name}"
    assert b"sig=REDACTED" in (out / "result.json").read_bytes()


def test_outputs_are_byte_identical_for_the_same_result(outputs, tmp_path):
    _, out = outputs
    result = load_result(out / "result.json")
    write_outputs(result, MACHINE, tmp_path / "again")
    for name in ("result.json", "results.sarif", "junit.xml", "summary.md", "report.html"):
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes(), name


def test_report_command_re_renders_a_saved_result(outputs, tmp_path):
    _, out = outputs
    run = CliRunner().invoke(cli, ["report", str(out / "result.json"), "--format", "sarif,md,junit",
                                   "--output-dir", str(tmp_path / "r")])
    assert run.exit_code == 0, run.output
    assert sorted(p.name for p in (tmp_path / "r").iterdir() if not p.name.startswith(".")) == \
        ["junit.xml", "results.sarif", "summary.md"]
    assert (tmp_path / "r" / "summary.md").read_bytes() == (out / "summary.md").read_bytes()


@pytest.mark.parametrize("content, problem", [
    ('{"format": "flowaudit-result", "version": 1', "invalid JSON"),
    ('{"format": "something-else"}', "not a flowaudit result"),
    ('{"format": "flowaudit-result", "version": 1, "tool": {}}', "field"),
])
def test_report_rejects_a_malformed_result_naming_the_file(tmp_path: Path, content: str, problem: str):
    bad = tmp_path / "broken-result.json"
    bad.write_text(content, encoding="utf-8")
    run = CliRunner().invoke(cli, ["report", str(bad), "--format", "html", "--output-dir", str(tmp_path / "o")])
    assert run.exit_code == 2
    assert "broken-result.json" in run.output and problem in run.output
    assert "Traceback" not in run.output
    assert not (tmp_path / "o").exists()


def test_report_rejects_an_unknown_format(outputs, tmp_path):
    _, out = outputs
    run = CliRunner().invoke(cli, ["report", str(out / "result.json"), "--format", "docx"])
    assert run.exit_code == 2 and "unknown format" in run.output


def test_html_lists_rules_not_evaluated_with_what_to_grant_and_the_waivers(tmp_path):
    from auditor._format.html import HtmlFormat

    result = with_waivers(audit(hostile_tenant(tmp_path / "snap", signIns="forbidden")))
    html = HtmlFormat().format(result).decode("utf-8")
    section = html.split('id="not-evaluated"')[1].split("</section>")[0]
    not_evaluated = [r for r in result.rules if r.outcome == "notEvaluated"]
    assert not_evaluated and all(f'data-rule="{r.id}"' in section for r in not_evaluated)
    assert "Grant AuditLog.Read.All to the collecting identity for signIns." in section
    waivers = html.split('id="waivers"')[1].split("</section>")[0]
    assert len(result.findings) > 1
    assert "Accepted by CAB-42 &lt;script&gt;" in waivers and "2027-03-31" in waivers
    assert "waiver expired on 2026-06-30" in waivers
