"""APP001-002: application links of user flows (beta onSignupStart listeners)."""

from graphdata import flow, listener

from auditor.shapes import service_principal

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


# --- APP003 / APP004: the linked applications' service principals ---------------------------------

SP_A = {"id": "5a8f0b3c-2e1d-4c6b-9f7a-0d1e2f3a4b5c", "appId": APP_A, "displayName": "Partner Portal",
        "appRoleAssignmentRequired": False, "accountEnabled": True}
OPEN = flow("B2X_1_Partner", providers=("AADSignup-OAUTH", "EmailOtpSignup-OAUTH", "Google-OAUTH"))


def test_app003_names_the_flow_its_mail_based_providers_and_the_service_principal(audit_rule):
    outcome, findings = audit_rule("APP003", b2xUserFlows=[OPEN],
                                   userFlowApplications=[listener("B2X_1_Partner", [APP_A.upper()], listener_id="l-1")],
                                   linkedServicePrincipals=[SP_A])
    assert outcome.outcome == "fail" and len(findings) == 1
    finding = findings[0]
    assert (finding.resource.type, finding.resource.id, finding.resource.displayName) == \
        ("application", APP_A, "Partner Portal")
    assert finding.evidence["userFlows"][0]["mailBasedProviders"] == ["Email one-time passcode", "Google"]
    assert finding.evidence["servicePrincipal"]["appRoleAssignmentRequired"] is False
    assert finding.evidence["listeners"] == ["l-1"]


def test_app003_skips_apps_that_are_missing_or_disabled(audit_rule):
    links = [listener("B2X_1_Partner", [APP_A, APP_B])]
    outcome, _ = audit_rule("APP003", b2xUserFlows=[OPEN], userFlowApplications=links,
                            linkedServicePrincipals=[dict(SP_A, accountEnabled=False)])
    assert outcome.outcome == "pass"  # disabled and missing applications are APP004's


def test_app003_unknown_assignment_setting_is_a_gap(audit_rule):
    sp = {k: v for k, v in SP_A.items() if k != "appRoleAssignmentRequired"}
    outcome, _ = audit_rule("APP003", b2xUserFlows=[OPEN], userFlowApplications=[listener("B2X_1_Partner", [APP_A])],
                            linkedServicePrincipals=[sp])
    assert outcome.outcome == "notEvaluated" and "appRoleAssignmentRequired" in outcome.reason


def test_app004_evidence_says_which_problem(audit_rule):
    links = [listener("B2X_1_Partner", [APP_A, APP_B], listener_id="l-1")]
    outcome, findings = audit_rule("APP004", b2xUserFlows=[OPEN], userFlowApplications=links,
                                   linkedServicePrincipals=[dict(SP_A, accountEnabled=False)])
    assert outcome.outcome == "fail"
    problems = {f.resource.id: f.evidence["problem"] for f in findings}
    assert problems == {APP_A: "disabled", APP_B: "noServicePrincipal"}
    assert all(f.evidence["flows"] == ["B2X_1_Partner"] for f in findings)


def test_app001_names_the_application_by_its_service_principal_when_collected(audit_rule):
    links = [listener("B2X_1_Partner", [APP_A], listener_id="l-1"),
             listener("B2X_1_Suppliers", [APP_A], listener_id="l-2")]
    outcome, findings = audit_rule("APP001", b2xUserFlows=FLOWS, userFlowApplications=links,
                                   linkedServicePrincipals=[service_principal(APP_A, "Partner Portal")])
    assert findings[0].message.startswith("Application 'Partner Portal' is linked to 2 user flows")
    assert (findings[0].resource.id, findings[0].resource.displayName) == (APP_A, "Partner Portal")
