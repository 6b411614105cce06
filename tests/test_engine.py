"""The engine: rule/check pairing, not-evaluated sources, partial data, determinism."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphdata import flow, write_snapshot

from auditor.catalog import load_catalog
from auditor.checks import load_checks
from auditor.engine import AuditOptions, run_audit, verify_pairing
from auditor.errors import InputError
from auditor.result import to_json
from auditor.snapshot import open_snapshot


def test_every_rule_file_has_a_check_and_every_check_a_rule_file() -> None:
    catalog = load_catalog()
    checks = load_checks()
    assert {r.id for r in catalog} == set(checks)
    verify_pairing(catalog, checks)


def test_pairing_mismatch_is_reported() -> None:
    catalog = load_catalog()
    checks = dict(load_checks())
    checks["ZZZ999"] = lambda ctx: []
    with pytest.raises(InputError, match="checks without a rule file: ZZZ999"):
        verify_pairing(catalog, checks)
    with pytest.raises(InputError, match=f"rule files without a check: {catalog.rules[0].id}"):
        verify_pairing(catalog, {k: v for k, v in checks.items() if k not in (catalog.rules[0].id, "ZZZ999")})


def test_rule_definitions_carry_what_a_reviewer_needs() -> None:
    for rule in load_catalog():
        assert len(rule.rationale.split()) >= 25, rule.id
        assert rule.remediation.portal.strip() and rule.remediation.graph.strip(), rule.id
        learn = [ref for ref in rule.references if ref.url.startswith("https://learn.microsoft.com/")]
        assert learn and rule.references[0] in learn, rule.id  # Microsoft's documentation first
        for ref in rule.references:  # anything else is a named practitioner source that says what it is
            assert ref in learn or ("practitioner" in ref.title and ref.url.startswith("https://")), (rule.id, ref)


def test_missing_source_makes_dependent_rules_not_evaluated_and_others_still_run(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "s", b2xUserFlows="forbidden")
    result = run_audit(open_snapshot(snap))
    outcomes = {r.id: r for r in result.rules}
    catalog = load_catalog()
    for rule in catalog:
        if "b2xUserFlows" in rule.sources:
            assert outcomes[rule.id].outcome == "notEvaluated", rule.id
            assert "b2xUserFlows is forbidden" in outcomes[rule.id].reason
            assert "IdentityUserFlow.Read.All" in outcomes[rule.id].reason
    independent = [r for r in catalog if "b2xUserFlows" not in r.sources]
    if independent:
        assert any(outcomes[r.id].outcome != "notEvaluated" for r in independent)


def test_source_absent_from_manifest_is_not_evaluated(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "s", authenticationFlowsPolicy=None)
    result = run_audit(open_snapshot(snap), AuditOptions(only={"SSU002"}))
    assert result.rules[0].outcome == "notEvaluated"
    assert "authenticationFlowsPolicy was not collected" in result.rules[0].reason


def test_partial_source_cannot_pass(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "s", b2xUserFlows=[flow("B2X_1_a")], partial=("b2xUserFlows",))
    result = run_audit(open_snapshot(snap), AuditOptions(only={"SSU002"}))
    assert result.rules[0].outcome == "notEvaluated"
    assert "partial" in result.rules[0].reason


def test_a_crashing_check_is_not_evaluated_not_passed(tmp_path: Path, monkeypatch) -> None:
    import auditor.checks as checks_pkg

    load_checks()

    def broken(ctx):
        raise KeyError("surprise")

    monkeypatch.setitem(checks_pkg.CHECKS, "SSU002", broken)
    result = run_audit(open_snapshot(write_snapshot(tmp_path / "s")), AuditOptions(only={"SSU002"}))
    assert result.rules[0].outcome == "notEvaluated"
    assert "internal error" in result.rules[0].reason


def test_same_snapshot_gives_byte_identical_result(tmp_path: Path) -> None:
    snap = open_snapshot(write_snapshot(tmp_path / "s", b2xUserFlows=[flow("B2X_1_b"), flow("B2X_1_a")]))
    first = to_json(run_audit(snap, AuditOptions(reproducible=True)))
    second = to_json(run_audit(snap, AuditOptions(reproducible=True)))
    assert first == second
    assert '"generatedAt": "2026-11-01T06:00:00Z"' in first


def test_source_date_epoch_pins_generated_at(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    result = run_audit(open_snapshot(write_snapshot(tmp_path / "s")))
    assert result.generatedAt == "2026-01-01T00:00:00Z"


def test_fingerprint_is_stable_across_message_changes() -> None:
    from auditor.result import fingerprint

    assert fingerprint("CON001", "apiConnector", "ABC") == fingerprint("CON001", "apiConnector", "abc")
    assert fingerprint("CON001", "apiConnector", "abc") != fingerprint("CON002", "apiConnector", "abc")


def test_a_data_gap_turns_no_finding_into_not_evaluated_but_keeps_findings(tmp_path: Path) -> None:
    """One flow's providers missing: IDP003 still reports the flow it can see, never passes blind."""
    known = flow("B2X_1_known", providers=("AADSignup-OAUTH",))
    unknown = flow("B2X_1_unknown")
    del unknown["userFlowIdentityProviders"]
    blind = run_audit(open_snapshot(write_snapshot(tmp_path / "a", b2xUserFlows=[
        flow("B2X_1_known", providers=("EmailOtpSignup-OAUTH",)), unknown])), AuditOptions(only={"IDP003"}))
    assert blind.rules[0].outcome == "notEvaluated"
    assert "B2X_1_unknown" in blind.rules[0].reason
    seen = run_audit(open_snapshot(write_snapshot(tmp_path / "b", b2xUserFlows=[known, unknown])),
                     AuditOptions(only={"IDP003"}))
    assert seen.rules[0].outcome == "fail"
    assert [f.resource.id for f in seen.findings] == ["B2X_1_known"]
    assert "B2X_1_unknown" in seen.rules[0].reason


def test_source_graph_declared_not_applicable_makes_rules_not_applicable(tmp_path: Path) -> None:
    """b2xUserFlows answers "self service sign up is not enabled": its rules are notApplicable, not gaps."""
    from auditor.gate import decide

    snap = write_snapshot(tmp_path / "s", b2xUserFlows="notApplicable")
    result = run_audit(open_snapshot(snap))
    dependent = [r for r in result.rules if "b2xUserFlows" in r.sources]
    assert dependent and all(r.outcome == "notApplicable" for r in dependent)
    assert "self service sign up is not enabled" in dependent[0].reason
    assert decide(result, fail_on="none", require_complete=True).exit_code == 0
    # a source that is missing for another reason still is a gap
    mixed = run_audit(open_snapshot(write_snapshot(tmp_path / "m", b2xUserFlows="notApplicable",
                                                   conditionalAccessPolicies="forbidden")),
                      AuditOptions(only={"CAP002"}))
    assert mixed.rules[0].outcome == "notEvaluated"
