from graphdata import flow


def test_ssu001_fails_when_flows_exist_but_sign_up_is_off(audit_rule):
    outcome, findings = audit_rule(
        "SSU001", b2xUserFlows=[flow("B2X_1_Partner")],
        authenticationFlowsPolicy=[{"id": "authenticationFlowsPolicy", "selfServiceSignUp": {"isEnabled": False}}])
    assert outcome.outcome == "fail"
    assert findings[0].evidence["userFlows"] == ["B2X_1_Partner"]


def test_ssu001_passes_when_sign_up_is_on(audit_rule):
    outcome, findings = audit_rule("SSU001", b2xUserFlows=[flow("B2X_1_Partner")])
    assert outcome.outcome == "pass" and findings == []


def test_ssu001_not_evaluated_when_policy_forbidden(audit_rule):
    outcome, _ = audit_rule("SSU001", authenticationFlowsPolicy="forbidden")
    assert outcome.outcome == "notEvaluated"
    assert "authenticationFlowsPolicy" in outcome.reason and "forbidden" in outcome.reason


def test_ssu002_fails_when_enabled_without_flows(audit_rule):
    outcome, findings = audit_rule("SSU002")
    assert outcome.outcome == "fail" and len(findings) == 1


def test_ssu002_passes_with_a_flow(audit_rule):
    outcome, _ = audit_rule("SSU002", b2xUserFlows=[flow("B2X_1_Partner")])
    assert outcome.outcome == "pass"
