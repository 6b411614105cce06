"""APP001-002: application links of user flows (beta onSignupStart listeners)."""

from graphdata import flow, listener

APP_A = "3dfff01b-0afb-4a07-967f-d1ccbd81102a"
APP_B = "b0e1638f-4c39-4cd1-82b3-91d1caef65f8"
FLOWS = [flow("B2X_1_Partner"), flow("B2X_1_Suppliers")]


def test_app001_fails_when_an_app_is_linked_to_two_flows(audit_rule):
    links = [listener("B2X_1_Partner", [APP_A], listener_id="l-1"),
             listener("B2X_1_Suppliers", [APP_A.upper(), APP_B], listener_id="l-2")]
    outcome, findings = audit_rule("APP001", b2xUserFlows=FLOWS, userFlowApplications=links)
    assert outcome.outcome == "fail" and len(findings) == 1
    finding = findings[0]
    assert (finding.resource.type, finding.resource.id) == ("application", APP_A)
    assert [(f["flow"], f["listeners"]) for f in finding.evidence["flows"]] == [
        ("B2X_1_Partner", ["l-1"]), ("B2X_1_Suppliers", ["l-2"])]


def test_app001_same_app_twice_in_one_flow_does_not_fire(audit_rule):
    links = [listener("B2X_1_Partner", [APP_A], listener_id="l-1"),
             listener("B2X_1_Partner", [APP_A, APP_A], listener_id="l-2"),
             listener("B2X_1_Suppliers", [APP_B], listener_id="l-3")]
    outcome, findings = audit_rule("APP001", b2xUserFlows=FLOWS, userFlowApplications=links)
    assert outcome.outcome == "pass" and findings == []


def test_app002_fails_for_a_flow_without_listener(audit_rule):
    outcome, findings = audit_rule("APP002", b2xUserFlows=FLOWS,
                                   userFlowApplications=[listener("B2X_1_Partner", [APP_A])])
    assert outcome.outcome == "fail"
    assert [f.resource.id for f in findings] == ["B2X_1_Suppliers"]
    assert findings[0].resource.type == "userFlow"


def test_app002_passes_when_every_flow_is_linked(audit_rule):
    links = [listener("B2X_1_Partner", [APP_A]), listener("b2x_1_suppliers", [APP_B])]
    outcome, _ = audit_rule("APP002", b2xUserFlows=FLOWS, userFlowApplications=links)
    assert outcome.outcome == "pass"


def test_app_rules_not_evaluated_without_links(audit_rule):
    for rule in ("APP001", "APP002"):
        outcome, _ = audit_rule(rule, b2xUserFlows=FLOWS, userFlowApplications="forbidden")
        assert outcome.outcome == "notEvaluated", rule
        assert "userFlowApplications" in outcome.reason and "forbidden" in outcome.reason


def test_app_rules_not_evaluated_when_listeners_lack_their_flow(audit_rule):
    unexpanded = {k: v for k, v in listener("B2X_1_Partner", [APP_A]).items() if k != "userFlow"}
    outcome, _ = audit_rule("APP002", b2xUserFlows=FLOWS, userFlowApplications=[unexpanded])
    assert outcome.outcome == "notEvaluated"
    assert "userFlow" in outcome.reason


def test_app_rules_not_applicable_without_flows(audit_rule):
    outcome, _ = audit_rule("APP002", userFlowApplications=[])
    assert outcome.outcome == "notApplicable"
