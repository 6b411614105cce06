"""CAP001-003: Conditional Access for the guests of each user flow, judged per linked application."""

import json

from conftest import DATA
from graphdata import applied_policy, ca_policy, flow, listener, sign_in, strength, user

APP_A = "3dfff01b-0afb-4a07-967f-d1ccbd81102a"
APP_B = "b0e1638f-4c39-4cd1-82b3-91d1caef65f8"
OTP_FLOW = flow("B2X_1_Partner", providers=["AADSignup-OAUTH", "EmailOtpSignup-OAUTH"])
ENTRA_FLOW = flow("B2X_1_Entra", providers=["AADSignup-OAUTH"])
GUEST = "7c1f5a2e-9b8d-4e3f-a6c1-2b3d4e5f6a7b"
REPORT_ONLY = "enabledForReportingButNotEnforced"


def linked(flow_id="B2X_1_Partner", apps=(APP_A,)):
    return [listener(flow_id, list(apps))]


def strength_policy(**kwargs):
    return ca_policy("strength-1", name="Guests: phishing-resistant", controls=[], auth_strength=strength(), **kwargs)


# --- CAP002 ------------------------------------------------------------------------------------

def test_cap002_fails_without_any_policy(audit_rule):
    outcome, findings = audit_rule("CAP002", b2xUserFlows=[OTP_FLOW], userFlowApplications=linked())
    assert outcome.outcome == "fail"
    assert findings[0].resource.id == "B2X_1_Partner"
    assert findings[0].evidence["uncoveredApplications"] == [APP_A]
    assert findings[0].evidence["mailBasedProviders"] == ["EmailOtpSignup-OAUTH"]


def test_cap002_passes_with_enforced_mfa_for_all_users(audit_rule):
    outcome, _ = audit_rule("CAP002", b2xUserFlows=[OTP_FLOW], userFlowApplications=linked(),
                            conditionalAccessPolicies=[ca_policy("mfa-all")])
    assert outcome.outcome == "pass"


def test_cap002_is_judged_per_application(audit_rule):
    links = linked(apps=(APP_A, APP_B))
    outcome, findings = audit_rule("CAP002", b2xUserFlows=[OTP_FLOW], userFlowApplications=links,
                                   conditionalAccessPolicies=[ca_policy("mfa-a", include_apps=[APP_A])])
    assert outcome.outcome == "fail"
    assert findings[0].evidence["uncoveredApplications"] == [APP_B]
    assert APP_B in findings[0].message and APP_A not in findings[0].message

    outcome, _ = audit_rule("CAP002", b2xUserFlows=[OTP_FLOW], userFlowApplications=links,
                            conditionalAccessPolicies=[ca_policy("mfa-ab", include_apps=[APP_A, APP_B.upper()])])
    assert outcome.outcome == "pass"


def test_cap002_disabled_mfa_policy_does_not_count(audit_rule):
    outcome, _ = audit_rule("CAP002", b2xUserFlows=[OTP_FLOW], userFlowApplications=linked(),
                            conditionalAccessPolicies=[ca_policy("mfa-off", state="disabled")])
    assert outcome.outcome == "fail"


def test_cap002_guests_excluded_by_excludeusers(audit_rule):
    outcome, _ = audit_rule("CAP002", b2xUserFlows=[OTP_FLOW], userFlowApplications=linked(),
                            conditionalAccessPolicies=[ca_policy("mfa", exclude_users=["GuestsOrExternalUsers"])])
    assert outcome.outcome == "fail"


def test_cap002_guest_types_csv(audit_rule):
    with_b2b = ca_policy("mfa-guests", include_users=[], guest_types="internalGuest,b2bCollaborationGuest")
    outcome, _ = audit_rule("CAP002", b2xUserFlows=[OTP_FLOW], userFlowApplications=linked(),
                            conditionalAccessPolicies=[with_b2b])
    assert outcome.outcome == "pass"
    internal_only = ca_policy("mfa-internal", include_users=[], guest_types="internalGuest")
    outcome, _ = audit_rule("CAP002", b2xUserFlows=[OTP_FLOW], userFlowApplications=linked(),
                            conditionalAccessPolicies=[internal_only])
    assert outcome.outcome == "fail"


def test_cap002_excluded_application_is_uncovered(audit_rule):
    outcome, findings = audit_rule("CAP002", b2xUserFlows=[OTP_FLOW], userFlowApplications=linked(),
                                   conditionalAccessPolicies=[ca_policy("mfa", exclude_apps=[APP_A])])
    assert outcome.outcome == "fail"
    assert findings[0].evidence["uncoveredApplications"] == [APP_A]


def test_cap002_group_scoped_policy_is_not_coverage_and_is_named(audit_rule):
    scoped = ca_policy("mfa-group", include_users=[], include_groups=["0d2f1a7e-0000-4000-8000-000000000002"])
    outcome, findings = audit_rule("CAP002", b2xUserFlows=[OTP_FLOW], userFlowApplications=linked(),
                                   conditionalAccessPolicies=[scoped])
    assert outcome.outcome == "fail"
    assert [p["id"] for p in findings[0].evidence["groupOrRoleScopedPolicies"]] == ["mfa-group"]


def test_cap002_flow_without_linked_application_is_not_judged(audit_rule):
    outcome, findings = audit_rule("CAP002", b2xUserFlows=[OTP_FLOW], userFlowApplications=[])
    assert outcome.outcome == "pass" and findings == []


def test_cap_rules_not_applicable_without_flows(audit_rule):
    for rule in ("CAP001", "CAP002", "CAP003"):
        outcome, _ = audit_rule(rule, conditionalAccessPolicies=[strength_policy()])
        assert outcome.outcome == "notApplicable", rule


def test_cap_rules_not_evaluated_without_policies(audit_rule):
    outcome, _ = audit_rule("CAP002", b2xUserFlows=[OTP_FLOW], conditionalAccessPolicies="unlicensed")
    assert outcome.outcome == "notEvaluated"
    assert "conditionalAccessPolicies" in outcome.reason


# --- CAP003 ------------------------------------------------------------------------------------

def test_report_only_mfa_fails_cap002_and_cap003(audit_rule):
    sources = dict(b2xUserFlows=[OTP_FLOW], userFlowApplications=linked(),
                   conditionalAccessPolicies=[ca_policy("mfa-ro", name="Guest MFA (pilot)", state=REPORT_ONLY)])
    outcome, findings = audit_rule("CAP002", **sources)
    assert outcome.outcome == "fail"
    assert [p["id"] for p in findings[0].evidence["reportOnlyPolicies"]] == ["mfa-ro"]
    outcome, findings = audit_rule("CAP003", **sources)
    assert outcome.outcome == "fail"
    assert findings[0].resource.id == "B2X_1_Partner"
    assert findings[0].evidence["applications"] == [APP_A]
    assert findings[0].evidence["reportOnlyPolicies"][0]["displayName"] == "Guest MFA (pilot)"


def test_enforced_mfa_passes_cap002_and_cap003(audit_rule):
    sources = dict(b2xUserFlows=[OTP_FLOW], userFlowApplications=linked(),
                   conditionalAccessPolicies=[ca_policy("mfa-ro", state=REPORT_ONLY), ca_policy("mfa-on")])
    assert audit_rule("CAP002", **sources)[0].outcome == "pass"
    assert audit_rule("CAP003", **sources)[0].outcome == "pass"


def test_cap003_passes_without_any_policy(audit_rule):
    outcome, _ = audit_rule("CAP003", b2xUserFlows=[OTP_FLOW], userFlowApplications=linked())
    assert outcome.outcome == "pass"


def test_cap003_report_only_for_the_other_app_only(audit_rule):
    policies = [ca_policy("mfa-a", include_apps=[APP_A]),
                ca_policy("mfa-b-ro", include_apps=[APP_B], state=REPORT_ONLY)]
    outcome, findings = audit_rule("CAP003", b2xUserFlows=[OTP_FLOW],
                                   userFlowApplications=linked(apps=(APP_A, APP_B)), conditionalAccessPolicies=policies)
    assert outcome.outcome == "fail"
    assert findings[0].evidence["applications"] == [APP_B]


# --- CAP001 ------------------------------------------------------------------------------------

def test_strength_on_email_otp_flow_fails_cap001_and_cap002(audit_rule):
    sources = dict(b2xUserFlows=[OTP_FLOW], userFlowApplications=linked(),
                   conditionalAccessPolicies=[strength_policy()])
    outcome, findings = audit_rule("CAP001", **sources)
    assert outcome.outcome == "fail"
    finding = findings[0]
    assert (finding.resource.type, finding.resource.id) == ("conditionalAccessPolicy", "strength-1")
    assert finding.evidence["authenticationStrength"] == "Phishing resistant MFA"
    assert finding.evidence["affectedFlows"] == [
        {"flow": "B2X_1_Partner", "mailBasedProviders": ["EmailOtpSignup-OAUTH"], "applications": [APP_A]}]
    outcome, findings = audit_rule("CAP002", **sources)
    assert outcome.outcome == "fail"
    assert [p["id"] for p in findings[0].evidence["strengthOnlyPolicies"]] == ["strength-1"]


def test_strength_on_entra_only_flow_passes_cap001_and_cap002(audit_rule):
    sources = dict(b2xUserFlows=[ENTRA_FLOW], userFlowApplications=linked("B2X_1_Entra"),
                   conditionalAccessPolicies=[strength_policy()])
    assert audit_rule("CAP001", **sources)[0].outcome == "pass"
    assert audit_rule("CAP002", **sources)[0].outcome == "pass"


def test_strength_with_mfa_or_alternative_passes_cap001(audit_rule):
    either = ca_policy("strength-or-mfa", controls=["mfa"], operator="OR", auth_strength=strength())
    outcome, _ = audit_rule("CAP001", b2xUserFlows=[OTP_FLOW], userFlowApplications=linked(),
                            conditionalAccessPolicies=[either])
    assert outcome.outcome == "pass"


def test_cap001_ignores_report_only_and_policies_for_other_apps(audit_rule):
    policies = [strength_policy(state=REPORT_ONLY) | {"id": "ro"}, strength_policy(include_apps=[APP_B])]
    outcome, _ = audit_rule("CAP001", b2xUserFlows=[OTP_FLOW], userFlowApplications=linked(),
                            conditionalAccessPolicies=policies)
    assert outcome.outcome == "pass"


def test_cap001_one_finding_per_policy_with_google_and_msa_flows(audit_rule):
    flows = [flow("B2X_1_Social", providers=["Google-OAUTH"]), flow("B2X_1_Msa", providers=["MSASignup-OAUTH"]),
             ENTRA_FLOW]
    links = linked("B2X_1_Social", (APP_A,)) + linked("B2X_1_Msa", (APP_B,)) + linked("B2X_1_Entra", (APP_B,))
    outcome, findings = audit_rule("CAP001", b2xUserFlows=flows, userFlowApplications=links,
                                   conditionalAccessPolicies=[strength_policy()])
    assert outcome.outcome == "fail" and len(findings) == 1
    assert [f["flow"] for f in findings[0].evidence["affectedFlows"]] == ["B2X_1_Msa", "B2X_1_Social"]


def test_cap001_counts_guest_sign_ins_failing_the_policy(audit_rule):
    member = "11111111-2222-4333-8444-555555555555"
    failing = applied_policy("strength-1", with_strength=True)
    outcome, findings = audit_rule(
        "CAP001", b2xUserFlows=[OTP_FLOW], userFlowApplications=linked(),
        conditionalAccessPolicies=[strength_policy()],
        selfServiceSignUpUsers=[user(GUEST)],
        signIns=[sign_in(GUEST, error_code=53003, applied=[failing]),
                 sign_in(GUEST, error_code=53003, applied=[failing]),
                 sign_in(member, error_code=53003, applied=[failing])])
    assert outcome.outcome == "fail"
    failures = findings[0].evidence["guestSignInFailures"]
    assert failures["available"] is True
    assert (failures["failedSignIns"], failures["distinctUsers"], failures["failedOnAuthenticationStrength"]) == (2, 1, 2)


def test_cap001_says_when_sign_ins_are_unavailable(audit_rule):
    outcome, findings = audit_rule("CAP001", b2xUserFlows=[OTP_FLOW], userFlowApplications=linked(),
                                   conditionalAccessPolicies=[strength_policy()], signIns="unlicensed")
    assert outcome.outcome == "fail"
    assert findings[0].evidence["guestSignInFailures"] == {"available": False, "reason": "signIns is unlicensed"}


# --- fallback without application links -------------------------------------------------------------

FALLBACK = "application links unavailable (userFlowApplications forbidden)"


def test_fallback_cap002_judged_on_all_apps_policies_with_note(audit_rule):
    outcome, findings = audit_rule("CAP002", b2xUserFlows=[OTP_FLOW], userFlowApplications="forbidden",
                                   conditionalAccessPolicies=[ca_policy("mfa-a", include_apps=[APP_A])])
    assert outcome.outcome == "fail"
    assert FALLBACK in outcome.reason
    assert FALLBACK in findings[0].evidence["applicationLinks"]

    outcome, _ = audit_rule("CAP002", b2xUserFlows=[OTP_FLOW], userFlowApplications="forbidden",
                            conditionalAccessPolicies=[ca_policy("mfa-all", exclude_apps=[APP_B])])
    assert outcome.outcome == "pass"
    assert FALLBACK in outcome.reason


def test_fallback_cap002_names_exclusions_it_could_not_judge(audit_rule):
    policies = [ca_policy("mfa-all-but-b", name="MFA except B", exclude_apps=[APP_B])]
    outcome, _ = audit_rule("CAP002", b2xUserFlows=[OTP_FLOW], userFlowApplications="unavailable",
                            conditionalAccessPolicies=policies)
    assert outcome.outcome == "pass"
    assert "MFA except B (1 excluded)" in outcome.reason

    policies.append(strength_policy())
    outcome, findings = audit_rule("CAP001", b2xUserFlows=[OTP_FLOW], userFlowApplications="unavailable",
                                   conditionalAccessPolicies=policies)
    assert outcome.outcome == "fail"
    assert findings[0].evidence["policiesWithExcludedApplications"] == [
        {"id": "mfa-all-but-b", "displayName": "MFA except B", "excludeApplications": [APP_B]}]


def test_fallback_cap001_and_cap003_still_evaluated(audit_rule):
    outcome, findings = audit_rule("CAP001", b2xUserFlows=[OTP_FLOW], userFlowApplications="forbidden",
                                   conditionalAccessPolicies=[strength_policy()])
    assert outcome.outcome == "fail"
    assert FALLBACK in outcome.reason and FALLBACK in findings[0].evidence["applicationLinks"]
    assert findings[0].evidence["affectedFlows"][0]["applications"] == [
        "all applications (application links unavailable)"]

    outcome, findings = audit_rule("CAP003", b2xUserFlows=[OTP_FLOW], userFlowApplications="forbidden",
                                   conditionalAccessPolicies=[ca_policy("ro", state=REPORT_ONLY)])
    assert outcome.outcome == "fail"
    assert FALLBACK in findings[0].evidence["applicationLinks"]


def test_cap002_on_real_listener_shape_names_the_uncovered_app(audit_rule):
    body = json.loads((DATA / "onsignupstart-list-expand-userflow-beta.json").read_text())
    # The documented example links B2X_1_Partner to two applications through two listeners.
    outcome, findings = audit_rule("CAP002", b2xUserFlows=[OTP_FLOW], userFlowApplications=body["value"],
                                   conditionalAccessPolicies=[ca_policy("mfa-a", include_apps=[APP_A])])
    assert outcome.outcome == "fail"
    assert findings[0].evidence["linkedApplications"] == sorted([APP_A, APP_B])
    assert findings[0].evidence["uncoveredApplications"] == [APP_B]


def test_cap001_not_evaluated_when_a_flows_providers_are_unknown_and_nothing_fails(audit_rule):
    unknown = flow("B2X_1_unknown")
    del unknown["userFlowIdentityProviders"]
    policy = ca_policy("p-strength", controls=[], auth_strength=strength())
    outcome, findings = audit_rule("CAP001", b2xUserFlows=[unknown], conditionalAccessPolicies=[policy],
                                   userFlowApplications=[listener("B2X_1_unknown", [APP_A])])
    assert outcome.outcome == "notEvaluated" and findings == []
    assert "B2X_1_unknown" in outcome.reason
