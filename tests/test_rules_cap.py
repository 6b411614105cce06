"""CAP001-004: Conditional Access for the guests of each user flow, judged over the sign-in matrix."""

import json
from pathlib import Path

import pytest
from graphdata import (
    applied_policy,
    ca_policy,
    cross_tenant_default,
    flow,
    group,
    ip_location,
    listener,
    sign_in,
    strength,
    user,
    what_if,
)

from auditor.model.signin_matrix import CLIENTS, PLATFORMS
from auditor.shapes import service_principal

DATA = Path(__file__).parent / "data"
APP_A = "3dfff01b-0afb-4a07-967f-d1ccbd81102a"
APP_B = "b0e1638f-4c39-4cd1-82b3-91d1caef65f8"
OTP_FLOW = flow("B2X_1_Partner", providers=["AADSignup-OAUTH", "EmailOtpSignup-OAUTH"])
OTP_ONLY = flow("B2X_1_Partner", providers=["EmailOtpSignup-OAUTH"])
ENTRA_FLOW = flow("B2X_1_Entra", providers=["AADSignup-OAUTH"])
GUEST = "7c1f5a2e-9b8d-4e3f-a6c1-2b3d4e5f6a7b"
GUEST_2 = "8d2a6b3f-0c9e-4f40-b7d2-3c4e5f6a7b8c"
GROUP = "0d2f1a7e-0000-4000-8000-000000000002"
HQ = "1c5d0e1a-0000-4000-8000-00000000a001"
WIFI = "1c5d0e1a-0000-4000-8000-00000000a002"
REPORT_ONLY = "enabledForReportingButNotEnforced"
LOCATIONS = [ip_location(HQ, "Headquarters", ["203.0.113.0/24"], trusted=True),
             ip_location(WIFI, "Guest Wi-Fi", ["198.51.100.0/24"])]


def linked(flow_id="B2X_1_Partner", apps=(APP_A,)):
    return [listener(flow_id, list(apps))]


def strength_policy(**kwargs):
    return ca_policy("strength-1", name="Guests: phishing-resistant", controls=[], auth_strength=strength(), **kwargs)


def sources(policies, flows=None, links=None, **extra):
    return dict(b2xUserFlows=flows or [OTP_FLOW], userFlowApplications=linked() if links is None else links,
                conditionalAccessPolicies=policies, **extra)


def narrowed_by(finding, policy_id):
    return next(p["narrowedBy"] for p in finding.evidence["narrowedPolicies"] if p["id"] == policy_id)


# --- CAP002: the basics -----------------------------------------------------------------------------

def test_cap002_fails_without_any_policy(audit_rule):
    outcome, findings = audit_rule("CAP002", **sources([]))
    assert outcome.outcome == "fail"
    finding = findings[0]
    assert finding.resource.id == "B2X_1_Partner"
    assert finding.evidence["uncoveredApplications"] == [APP_A]
    assert finding.evidence["mailBasedProviders"] == ["EmailOtpSignup-OAUTH"]
    assert finding.evidence["unprotected"][0]["unprotected"] == "all sign-ins"
    assert finding.evidence["unprotected"][0]["guestKinds"] == ["emailOtp", "aadSignup"]
    assert "can sign in from the internet without MFA: all sign-ins" in finding.message
    assert "decided by the static evaluation" in outcome.reason


def test_cap002_passes_with_enforced_mfa_for_all_users(audit_rule):
    outcome, _ = audit_rule("CAP002", **sources([ca_policy("mfa-all")]))
    assert outcome.outcome == "pass"


def test_cap002_passes_with_microsofts_guest_mfa_shape(audit_rule):
    guests = ca_policy("guest-mfa", include_users=[], guest_types="internalGuest,b2bCollaborationGuest,"
                       "b2bCollaborationMember,b2bDirectConnectUser,otherExternalUser,serviceProvider")
    assert audit_rule("CAP002", **sources([guests]))[0].outcome == "pass"


def test_cap002_is_judged_per_application(audit_rule):
    links = linked(apps=(APP_A, APP_B))
    outcome, findings = audit_rule("CAP002", **sources([ca_policy("mfa-a", include_apps=[APP_A])], links=links))
    assert outcome.outcome == "fail"
    assert findings[0].evidence["uncoveredApplications"] == [APP_B]
    assert APP_B in findings[0].message and APP_A not in findings[0].message
    outcome, _ = audit_rule("CAP002", **sources([ca_policy("mfa-ab", include_apps=[APP_A, APP_B.upper()])],
                                                links=links))
    assert outcome.outcome == "pass"


@pytest.mark.parametrize("policy", [
    ca_policy("off", state="disabled"),
    ca_policy("mfa", exclude_users=["GuestsOrExternalUsers"]),
    ca_policy("mfa", include_users=[], guest_types="internalGuest"),
    ca_policy("mfa", exclude_apps=[APP_A]),
])
def test_cap002_policies_that_do_not_reach_the_guests(audit_rule, policy):
    outcome, findings = audit_rule("CAP002", **sources([policy]))
    assert outcome.outcome == "fail"
    assert findings[0].evidence["uncoveredApplications"] == [APP_A]


def test_cap002_flow_without_linked_application_is_not_judged(audit_rule):
    outcome, findings = audit_rule("CAP002", **sources([], links=[]))
    assert outcome.outcome == "pass" and findings == []


def test_cap_rules_not_applicable_without_flows(audit_rule):
    for rule in ("CAP001", "CAP002", "CAP003", "CAP004"):
        outcome, _ = audit_rule(rule, conditionalAccessPolicies=[strength_policy()])
        assert outcome.outcome == "notApplicable", rule


def test_cap_rules_not_evaluated_without_policies(audit_rule):
    outcome, _ = audit_rule("CAP002", b2xUserFlows=[OTP_FLOW], conditionalAccessPolicies="unlicensed")
    assert outcome.outcome == "notEvaluated"
    assert "conditionalAccessPolicies" in outcome.reason


# --- CAP002: a policy narrowed by any one condition never passes an ordinary internet sign-in -------

PLATFORMS_AI = {"platforms": {"includePlatforms": ["android", "iOS"], "excludePlatforms": []}}
NARROWED = [
    ({"conditions": PLATFORMS_AI}, "only on Android and iOS", "all sign-ins on Windows, macOS and Linux"),
    ({"conditions": {"platforms": {"includePlatforms": ["all"], "excludePlatforms": ["windows"]}}},
     "not on Windows", "all sign-ins on Windows"),
    ({"conditions": {"clientAppTypes": ["mobileAppsAndDesktopClients"]}}, "only mobile and desktop apps",
     "browser sign-ins on every platform"),
    ({"conditions": {"clientAppTypes": ["browser"]}}, "only browser sign-ins",
     "mobile and desktop apps on every platform"),
    ({"conditions": {"signInRiskLevels": ["high"]}}, "only at high sign-in risk", "all sign-ins except high-risk ones"),
    ({"conditions": {"signInRiskLevels": ["medium", "high"]}}, "only at medium and high sign-in risk",
     "all sign-ins except medium and high-risk ones"),
    ({"conditions": {"userRiskLevels": ["high"]}}, "only at high user risk", "all sign-ins"),
    ({"conditions": {"insiderRiskLevels": "elevated"}}, "only at elevated insider risk", "all sign-ins"),
    ({"conditions": {"devices": {"deviceFilter": {"mode": "include", "rule": 'device.trustType -eq "AzureAD"'}}}},
     "which an unregistered device does not", "all sign-ins"),
    ({"conditions": {"devices": {"deviceFilter": {"mode": "exclude", "rule": 'device.extensionAttribute1 -ne "SAW"'}}}},
     "which an unregistered device does", "all sign-ins"),
    ({"conditions": {"authenticationFlows": {"transferMethods": "deviceCodeFlow"}}}, "only the device code flow",
     "all sign-ins"),
    ({"conditions": {"locations": {"includeLocations": ["AllTrusted"], "excludeLocations": []}}},
     "only from trusted locations", "all sign-ins"),
    ({"conditions": {"locations": {"includeLocations": [WIFI], "excludeLocations": []}}},
     "only from 'Guest Wi-Fi'", "all sign-ins"),
    ({"include_users": [], "guest_types": "b2bCollaborationGuest", "guest_tenants": ["9e6b2a5c-0000-4000-8000-1"]},
     "listed external tenant(s) (mail-based guests have no home tenant)", "all sign-ins"),
    ({"include_users": [GUEST]}, "includes only 1 named user(s)", "all sign-ins"),
    ({"include_users": [], "include_groups": [GROUP]},
     "group 'Partners' (static: a guest who signs up later is not a member)", "all sign-ins"),
    ({"controls": ["mfa"], "terms_of_use": ["tou-1"]}, "MFA is optional: accepting the terms of use", "all sign-ins"),
    ({"controls": ["mfa", "approvedApplication"]}, "MFA is optional: an approved client app is an alternative to MFA",
     "all sign-ins"),
]


@pytest.mark.parametrize(("narrowing", "words", "unprotected"), NARROWED)
def test_cap002_a_narrowed_policy_never_passes(audit_rule, narrowing, words, unprotected):
    policy = ca_policy("narrow", name="Guests: MFA (narrowed)", **narrowing)
    outcome, findings = audit_rule("CAP002", **sources(
        [policy], flows=[OTP_ONLY], namedLocations=LOCATIONS, conditionalAccessGroups=[group(GROUP, "Partners", [GUEST])],
        crossTenantAccessPolicy=[cross_tenant_default()], selfServiceSignUpUsers=[user(GUEST)]))
    assert outcome.outcome == "fail"
    finding = findings[0]
    assert any(words in text for text in narrowed_by(finding, "narrow")), narrowed_by(finding, "narrow")
    assert finding.evidence["unprotected"][0]["unprotected"] == unprotected
    assert unprotected in finding.message


@pytest.mark.parametrize("apps", [
    {"includeApplications": [], "excludeApplications": [], "includeUserActions": ["urn:user:registersecurityinfo"]},
    {"includeApplications": [], "excludeApplications": [], "includeAuthenticationContextClassReferences": ["c1"]},
])
def test_cap002_user_actions_and_authentication_contexts_are_not_application_sign_ins(audit_rule, apps):
    policy = ca_policy("actions")
    policy["conditions"]["applications"] = apps
    outcome, findings = audit_rule("CAP002", **sources([policy]))
    assert outcome.outcome == "fail"
    assert narrowed_by(findings[0], "actions")[0].startswith("targets only")


def test_cap002_application_filter_is_undecided_never_protection(audit_rule):
    policy = ca_policy("filter", include_apps=[])
    policy["conditions"]["applications"]["applicationFilter"] = {
        "mode": "include", "rule": 'CustomSecurityAttribute.Engineering_Project -eq "Baker"'}
    outcome, findings = audit_rule("CAP002", **sources([policy]))
    assert outcome.outcome == "fail"
    item = findings[0].evidence["unprotected"][0]
    assert item["undecided"] == "all sign-ins" and "unprotected" not in item
    assert item["undecidedBecause"][0]["condition"] == "applications"
    assert "cannot be shown" in findings[0].message


def test_cap002_narrow_policies_together_protect_every_context(audit_rule):
    browser = ca_policy("browser", conditions={"clientAppTypes": ["browser"]})
    apps = ca_policy("apps", conditions={"clientAppTypes": ["mobileAppsAndDesktopClients"]})
    assert audit_rule("CAP002", **sources([browser, apps]))[0].outcome == "pass"


def test_cap002_names_mobile_and_desktop_apps_on_android_and_ios(audit_rule):
    browser = ca_policy("browser", conditions={"clientAppTypes": ["browser"]})
    desktop = ca_policy("desktop", conditions={"clientAppTypes": ["mobileAppsAndDesktopClients"], "platforms": {
        "includePlatforms": ["windows", "macOS", "linux"], "excludePlatforms": []}})
    outcome, findings = audit_rule("CAP002", **sources([browser, desktop]))
    assert outcome.outcome == "fail"
    assert findings[0].evidence["unprotected"][0]["unprotected"] == "mobile and desktop apps on Android and iOS"
    assert narrowed_by(findings[0], "desktop") == ["only on Windows, macOS and Linux"]


def test_cap002_authentication_strength_does_not_count_for_mail_based_guests(audit_rule):
    outcome, findings = audit_rule("CAP002", **sources([strength_policy()], crossTenantAccessPolicy=[
        cross_tenant_default(mfa=True)]))
    assert outcome.outcome == "fail"
    assert findings[0].evidence["unprotected"][0]["guestKinds"] == ["emailOtp"]  # Entra ID guests: MFA trust
    assert [p["id"] for p in findings[0].evidence["strengthOnlyPolicies"]] == ["strength-1"]


# --- CAP002: groups ---------------------------------------------------------------------------------------

def test_cap002_dynamic_group_with_every_guest_protects_future_sign_ups(audit_rule):
    policy = ca_policy("grp", include_users=[], include_groups=[GROUP])
    dynamic = group(GROUP, "All guests", [GUEST], rule='(user.userType -eq "Guest") -and '
                                                       '(user.creationType -eq "SelfServiceSignUp")')
    assert audit_rule("CAP002", **sources([policy], conditionalAccessGroups=[dynamic]))[0].outcome == "pass"


def test_cap002_static_group_with_todays_guests_does_not_protect_future_sign_ups(audit_rule):
    policy = ca_policy("grp", name="Guests: MFA (group)", include_users=[], include_groups=[GROUP])
    static = group(GROUP, "Partner guests", [GUEST, GUEST_2])
    outcome, findings = audit_rule("CAP002", **sources([policy], conditionalAccessGroups=[static],
                                                       selfServiceSignUpUsers=[user(GUEST), user(GUEST_2)]))
    assert outcome.outcome == "fail"
    assert narrowed_by(findings[0], "grp") == [
        "includes only group 'Partner guests' (static: a guest who signs up later is not a member)"]


def test_cap002_group_scoped_policy_without_the_groups_source_is_undecided(audit_rule):
    policy = ca_policy("grp", include_users=[], include_groups=[GROUP])
    outcome, findings = audit_rule("CAP002", **sources([policy], conditionalAccessGroups=None))
    assert outcome.outcome == "fail"
    because = findings[0].evidence["unprotected"][0]["undecidedBecause"][0]
    assert because["policy"] == "grp" and "conditionalAccessGroups was not collected" in because["reason"]
    assert "conditionalAccessGroups was not collected" in outcome.reason


def test_cap002_group_with_an_unprovable_rule_is_undecided(audit_rule):
    policy = ca_policy("grp", include_users=[], include_groups=[GROUP])
    dynamic = group(GROUP, "Partners", [GUEST], rule='user.companyName -eq "Fabrikam"')
    outcome, findings = audit_rule("CAP002", **sources([policy], conditionalAccessGroups=[dynamic]))
    assert outcome.outcome == "fail"
    assert "cannot be proven to contain every guest" in \
        findings[0].evidence["unprotected"][0]["undecidedBecause"][0]["reason"]


# --- CAP004: exemptions ---------------------------------------------------------------------------------

EXCEPT_TRUSTED = ca_policy("mfa-untrusted", name="Guests: MFA outside the office", conditions={
    "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}})


def test_trusted_location_exemption_passes_cap002_and_fails_cap004(audit_rule):
    found = sources([EXCEPT_TRUSTED], namedLocations=LOCATIONS, selfServiceSignUpUsers=[user(GUEST)])
    assert audit_rule("CAP002", **found)[0].outcome == "pass"
    outcome, findings = audit_rule("CAP004", **found)
    assert outcome.outcome == "fail"
    location = findings[0].evidence["locations"][0]
    assert (location["id"], location["displayName"], location["trusted"]) == (HQ, "Headquarters", True)
    exemption = location["exemptions"][0]
    assert exemption["unprotected"] == "all sign-ins"
    assert exemption["policies"][0]["exemptedBy"] == ["not from trusted locations"]
    assert "'Headquarters' (trusted)" in findings[0].message
    assert WIFI not in json.dumps(findings[0].evidence)  # untrusted: still protected


def test_cap004_without_named_locations_cannot_judge_trusted_exemptions(audit_rule):
    outcome, findings = audit_rule("CAP004", **sources([EXCEPT_TRUSTED], selfServiceSignUpUsers=[user(GUEST)],
                                                       namedLocations=None))
    assert outcome.outcome == "notEvaluated" and findings == []
    assert "named locations were not collected" in outcome.reason


def test_cap004_exclusion_of_a_location_the_snapshot_lacks_is_still_an_exemption(audit_rule):
    missing = "1c5d0e1a-0000-4000-8000-00000000a0ff"
    policy = ca_policy("mfa", conditions={"locations": {"includeLocations": ["All"], "excludeLocations": [missing]}})
    outcome, findings = audit_rule("CAP004", **sources([policy], namedLocations=LOCATIONS))
    assert outcome.outcome == "fail"
    assert findings[0].evidence["locations"][0]["id"] == missing
    assert "not in the snapshot" in findings[0].evidence["locations"][0]["displayName"]


def test_cap004_excluded_guest_by_id(audit_rule):
    users = [user(GUEST), user(GUEST_2)]
    found = sources([ca_policy("mfa", name="Guests: MFA", exclude_users=[GUEST])], namedLocations=LOCATIONS,
                    selfServiceSignUpUsers=users)
    assert audit_rule("CAP002", **found)[0].outcome == "pass"  # a guest who signs up later is not excluded
    outcome, findings = audit_rule("CAP004", **found)
    assert outcome.outcome == "fail"
    excluded = findings[0].evidence["excludedGuests"]
    assert (excluded["count"], excluded["ids"]) == (1, [GUEST])
    assert excluded["excludedBy"] == ["Guests: MFA: excludes this guest by user id"]
    assert "1 current guest(s) are excluded" in findings[0].message


def test_cap004_excluded_group_lists_its_guests_and_counts_them(audit_rule):
    members = [f"{i:08x}-0000-4000-8000-000000000000" for i in range(25)]
    found = sources([ca_policy("mfa", exclude_groups=[GROUP])], namedLocations=LOCATIONS,
                    conditionalAccessGroups=[group(GROUP, "MFA pilot exceptions", members)],
                    selfServiceSignUpUsers=[user(m) for m in members] + [user(GUEST)])
    assert audit_rule("CAP002", **found)[0].outcome == "pass"
    outcome, findings = audit_rule("CAP004", **found)
    excluded = findings[0].evidence["excludedGuests"]
    assert excluded["count"] == 25 and len(excluded["ids"]) == 20 and GUEST not in excluded["ids"]
    assert "excludes group 'MFA pilot exceptions' (this guest is a member)" in excluded["excludedBy"][0]


def test_cap004_guest_excluded_from_one_policy_but_protected_by_another_is_not_exempt(audit_rule):
    policies = [ca_policy("a", exclude_users=[GUEST]), ca_policy("b")]
    outcome, _ = audit_rule("CAP004", **sources(policies, namedLocations=LOCATIONS,
                                                selfServiceSignUpUsers=[user(GUEST)]))
    assert outcome.outcome == "pass"


def test_cap004_passes_without_exemptions(audit_rule):
    outcome, findings = audit_rule("CAP004", **sources([ca_policy("mfa")], namedLocations=LOCATIONS,
                                                       selfServiceSignUpUsers=[user(GUEST)]))
    assert outcome.outcome == "pass" and findings == []


# --- What-If ---------------------------------------------------------------------------------------

def _answers(app, kind, guest, applying, skip=(), location="internet", annotate=True):
    return [what_if(app, kind, guest, p, c, [] if (p, c) in skip else applying, location=location, annotate=annotate)
            for p in PLATFORMS for c in CLIENTS]


def test_what_if_that_agrees_decides_and_says_so(audit_rule):
    policy = ca_policy("mfa", name="Guests: MFA")
    outcome, _ = audit_rule("CAP002", **sources([policy], flows=[OTP_ONLY], selfServiceSignUpUsers=[user(GUEST)],
                                                conditionalAccessWhatIf=_answers(APP_A, "emailOtp", GUEST, [policy])))
    assert outcome.outcome == "pass"
    assert "decided by Microsoft's What-If answers" in outcome.reason
    assert "disagree" not in outcome.reason


def test_what_if_that_disagrees_overrides_the_static_answer_and_is_recorded(audit_rule):
    policy = ca_policy("mfa", name="Guests: MFA")
    answers = _answers(APP_A, "emailOtp", GUEST, [policy], skip={("windows", "browser")})
    outcome, findings = audit_rule("CAP002", **sources([policy], flows=[OTP_ONLY], selfServiceSignUpUsers=[user(GUEST)],
                                                       conditionalAccessWhatIf=answers))
    assert outcome.outcome == "fail"
    evidence = findings[0].evidence
    assert evidence["unprotected"][0]["unprotectedContexts"] == [
        {"platform": "windows", "client": "browser", "location": "internet"}]
    assert evidence["unprotected"][0]["unprotected"] == "browser sign-ins on Windows"
    assert evidence["decidedBy"] == "What-If"
    assert evidence["whatIfDisagreements"] == [{
        "policy": {"id": "mfa", "displayName": "Guests: MFA", "state": "enabled"},
        "context": {"platform": "windows", "client": "browser", "location": "internet"}, "guest": GUEST,
        "static": "yes", "whatIf": "does not apply", "staticReasons": [], "analysisReasons": []}]


def test_what_if_settles_what_the_static_evaluation_cannot(audit_rule):
    policy = ca_policy("filter", include_apps=[])
    policy["conditions"]["applications"]["applicationFilter"] = {"mode": "include",
                                                                 "rule": 'CustomSecurityAttribute.Tier -eq "Guest"'}
    found = sources([policy], flows=[OTP_ONLY], selfServiceSignUpUsers=[user(GUEST)],
                    conditionalAccessWhatIf=_answers(APP_A, "emailOtp", GUEST, [policy]))
    outcome, _ = audit_rule("CAP002", **found)
    assert outcome.outcome == "pass"
    assert "What-If and the static evaluation disagree on 10" in outcome.reason
    assert "static unknown, What-If applies" in outcome.reason


def test_what_if_about_todays_group_member_does_not_cover_future_sign_ups(audit_rule):
    policy = ca_policy("grp", include_users=[], include_groups=[GROUP])
    found = sources([policy], flows=[OTP_ONLY], selfServiceSignUpUsers=[user(GUEST)],
                    conditionalAccessGroups=[group(GROUP, "Partner guests", [GUEST])],
                    conditionalAccessWhatIf=_answers(APP_A, "emailOtp", GUEST, [policy]))
    outcome, findings = audit_rule("CAP002", **found)
    assert outcome.outcome == "fail"
    assert "static: a guest who signs up later is not a member" in narrowed_by(findings[0], "grp")[0]


def test_what_if_record_without_annotation_is_placed_from_its_request(audit_rule):
    policy = ca_policy("mfa-untrusted", conditions={"locations": {"includeLocations": ["All"],
                                                                  "excludeLocations": ["AllTrusted"]}})
    # Microsoft says the policy applies from Headquarters too (e.g. the range is no longer trusted live).
    answers = [what_if(APP_A, "emailOtp", GUEST, p, c, [policy], annotate=False, ip="203.0.113.7")
               for p in PLATFORMS for c in CLIENTS]
    found = sources([policy], flows=[OTP_ONLY], namedLocations=LOCATIONS,
                    selfServiceSignUpUsers=[user(GUEST)], conditionalAccessWhatIf=answers)
    outcome, _ = audit_rule("CAP004", **found)
    assert outcome.outcome == "pass"
    assert "disagree" in outcome.reason and "from 1c5d0e1a-0000-4000-8000-00000000a001" in outcome.reason


# --- CAP003 ----------------------------------------------------------------------------------------

def test_report_only_mfa_fails_cap002_and_cap003(audit_rule):
    found = sources([ca_policy("mfa-ro", name="Guest MFA (pilot)", state=REPORT_ONLY)])
    outcome, findings = audit_rule("CAP002", **found)
    assert outcome.outcome == "fail"
    assert [p["id"] for p in findings[0].evidence["reportOnlyPolicies"]] == ["mfa-ro"]
    outcome, findings = audit_rule("CAP003", **found)
    assert outcome.outcome == "fail"
    assert findings[0].resource.id == "B2X_1_Partner"
    assert findings[0].evidence["applications"] == [APP_A]
    assert findings[0].evidence["reportOnlyPolicies"][0]["displayName"] == "Guest MFA (pilot)"
    assert findings[0].evidence["wouldClose"][0]["wouldProtect"] == "all sign-ins"


def test_enforced_mfa_passes_cap002_and_cap003(audit_rule):
    found = sources([ca_policy("mfa-ro", state=REPORT_ONLY), ca_policy("mfa-on")])
    assert audit_rule("CAP002", **found)[0].outcome == "pass"
    assert audit_rule("CAP003", **found)[0].outcome == "pass"


def test_cap003_passes_without_any_policy(audit_rule):
    assert audit_rule("CAP003", **sources([]))[0].outcome == "pass"


def test_cap003_report_only_for_the_other_app_only(audit_rule):
    policies = [ca_policy("mfa-a", include_apps=[APP_A]), ca_policy("mfa-b-ro", include_apps=[APP_B], state=REPORT_ONLY)]
    outcome, findings = audit_rule("CAP003", **sources(policies, links=linked(apps=(APP_A, APP_B))))
    assert outcome.outcome == "fail"
    assert findings[0].evidence["applications"] == [APP_B]


def test_cap003_narrowed_report_only_policy_closes_only_its_contexts(audit_rule):
    pilot = ca_policy("ro-apps", state=REPORT_ONLY, conditions={"clientAppTypes": ["mobileAppsAndDesktopClients"]})
    outcome, findings = audit_rule("CAP003", **sources([pilot], flows=[OTP_ONLY]))
    assert outcome.outcome == "fail"
    assert findings[0].evidence["wouldClose"][0]["wouldProtect"] == "mobile and desktop apps on every platform"


# --- CAP001 ----------------------------------------------------------------------------------------

def test_strength_on_email_otp_flow_fails_cap001_and_cap002(audit_rule):
    found = sources([strength_policy()], crossTenantAccessPolicy=[cross_tenant_default(mfa=True)])
    outcome, findings = audit_rule("CAP001", **found)
    assert outcome.outcome == "fail"
    finding = findings[0]
    assert (finding.resource.type, finding.resource.id) == ("conditionalAccessPolicy", "strength-1")
    assert finding.evidence["authenticationStrength"] == "Phishing resistant MFA"
    assert finding.evidence["affectedFlows"] == [
        {"flow": "B2X_1_Partner", "guestKinds": ["emailOtp"], "mailBasedProviders": ["EmailOtpSignup-OAUTH"],
         "applications": [APP_A]}]
    assert "mail-based guests (Email one-time passcode)" in finding.message
    assert audit_rule("CAP002", **found)[0].outcome == "fail"


def test_cap001_entra_id_guests_without_inbound_mfa_trust(audit_rule):
    base = sources([strength_policy()], flows=[ENTRA_FLOW], links=linked("B2X_1_Entra"))
    outcome, findings = audit_rule("CAP001", **base, crossTenantAccessPolicy=[cross_tenant_default()])
    assert outcome.outcome == "fail"
    assert findings[0].evidence["guestKinds"] == ["aadSignup"]
    assert "inbound MFA trust is not accepted" in findings[0].message
    assert audit_rule("CAP002", **base, crossTenantAccessPolicy=[cross_tenant_default()])[0].outcome == "fail"
    # Trusting their home tenant's MFA lets them satisfy it: both rules pass.
    trusted = dict(base, crossTenantAccessPolicy=[cross_tenant_default(mfa=True)])
    assert audit_rule("CAP001", **trusted)[0].outcome == "pass"
    assert audit_rule("CAP002", **trusted)[0].outcome == "pass"


def test_cap001_entra_id_guests_cannot_be_judged_without_the_cross_tenant_settings(audit_rule):
    outcome, findings = audit_rule("CAP001", **sources([strength_policy()], flows=[ENTRA_FLOW],
                                                       links=linked("B2X_1_Entra"), crossTenantAccessPolicy=None))
    assert outcome.outcome == "notEvaluated" and findings == []
    assert "crossTenantAccessPolicy was not collected" in outcome.reason


def test_cap001_mfa_strength_entra_guests_can_register_for_passes(audit_rule):
    mfa_strength = strength("00000000-0000-0000-0000-000000000002", "Multifactor authentication")
    mfa_strength["allowedCombinations"] = ["password,sms", "password,microsoftAuthenticatorPush", "fido2"]
    policy = ca_policy("s", controls=[], auth_strength=mfa_strength)
    found = sources([policy], flows=[ENTRA_FLOW], links=linked("B2X_1_Entra"))
    assert audit_rule("CAP001", **found)[0].outcome == "pass"
    assert audit_rule("CAP002", **found)[0].outcome == "pass"


def test_strength_with_mfa_or_alternative_passes_cap001(audit_rule):
    either = ca_policy("strength-or-mfa", controls=["mfa"], operator="OR", auth_strength=strength())
    assert audit_rule("CAP001", **sources([either], flows=[OTP_ONLY]))[0].outcome == "pass"


def test_strength_and_mfa_under_and_still_locks_mail_based_guests_out(audit_rule):
    both = ca_policy("strength-and-mfa", controls=["mfa"], operator="AND", auth_strength=strength())
    assert audit_rule("CAP001", **sources([both], flows=[OTP_ONLY]))[0].outcome == "fail"


def test_cap001_ignores_report_only_and_policies_for_other_apps(audit_rule):
    policies = [strength_policy(state=REPORT_ONLY) | {"id": "ro"}, strength_policy(include_apps=[APP_B])]
    assert audit_rule("CAP001", **sources(policies, flows=[OTP_ONLY]))[0].outcome == "pass"


def test_cap001_narrowed_strength_policy_still_locks_out_where_it_applies(audit_rule):
    policy = strength_policy(conditions=PLATFORMS_AI)
    assert audit_rule("CAP001", **sources([policy], flows=[OTP_ONLY]))[0].outcome == "fail"
    risky = strength_policy(conditions={"signInRiskLevels": ["high"]})
    assert audit_rule("CAP001", **sources([risky], flows=[OTP_ONLY]))[0].outcome == "pass"  # not in the matrix


def test_cap001_one_finding_per_policy_with_google_and_msa_flows(audit_rule):
    flows = [flow("B2X_1_Social", providers=["Google-OAUTH"]), flow("B2X_1_Msa", providers=["MSASignup-OAUTH"]),
             ENTRA_FLOW]
    links = linked("B2X_1_Social", (APP_A,)) + linked("B2X_1_Msa", (APP_B,)) + linked("B2X_1_Entra", (APP_B,))
    outcome, findings = audit_rule("CAP001", **sources([strength_policy()], flows=flows, links=links,
                                                       crossTenantAccessPolicy=[cross_tenant_default(mfa=True)]))
    assert outcome.outcome == "fail" and len(findings) == 1
    assert [f["flow"] for f in findings[0].evidence["affectedFlows"]] == ["B2X_1_Msa", "B2X_1_Social"]


def test_cap001_counts_guest_sign_ins_failing_the_policy(audit_rule):
    member = "11111111-2222-4333-8444-555555555555"
    failing = applied_policy("strength-1", with_strength=True)
    outcome, findings = audit_rule("CAP001", **sources(
        [strength_policy()], flows=[OTP_ONLY], selfServiceSignUpUsers=[user(GUEST)],
        signIns=[sign_in(GUEST, error_code=53003, applied=[failing]), sign_in(GUEST, error_code=53003, applied=[failing]),
                 sign_in(member, error_code=53003, applied=[failing])]))
    assert outcome.outcome == "fail"
    failures = findings[0].evidence["guestSignInFailures"]
    assert failures["available"] is True
    assert (failures["failedSignIns"], failures["distinctUsers"], failures["failedOnAuthenticationStrength"]) == (2, 1, 2)


def test_cap001_sign_in_evidence_not_evaluated_when_policy_details_are_withheld(audit_rule):
    withheld = [sign_in(GUEST, error_code=53003, ca_status="failure"), sign_in(GUEST, ca_status="success")]
    outcome, findings = audit_rule("CAP001", **sources([strength_policy()], flows=[OTP_ONLY],
                                                       selfServiceSignUpUsers=[user(GUEST)], signIns=withheld))
    assert outcome.outcome == "fail"
    failures = findings[0].evidence["guestSignInFailures"]
    assert failures["available"] is False and failures["outcome"] == "notEvaluated"
    assert "Policy.Read.All or Policy.Read.ConditionalAccess" in failures["reason"]
    assert "failedSignIns" not in failures


def test_cap001_says_when_sign_ins_are_unavailable(audit_rule):
    outcome, findings = audit_rule("CAP001", **sources([strength_policy()], flows=[OTP_ONLY], signIns="unlicensed"))
    assert outcome.outcome == "fail"
    assert findings[0].evidence["guestSignInFailures"] == {"available": False, "reason": "signIns is unlicensed"}


def test_cap001_not_evaluated_when_a_flows_providers_are_unknown_and_nothing_fails(audit_rule):
    unknown = flow("B2X_1_unknown")
    del unknown["userFlowIdentityProviders"]
    outcome, findings = audit_rule("CAP001", **sources([strength_policy()], flows=[unknown],
                                                       links=[listener("B2X_1_unknown", [APP_A])]))
    assert outcome.outcome == "notEvaluated" and findings == []
    assert "B2X_1_unknown" in outcome.reason


# --- fallback without application links ----------------------------------------------------------------

FALLBACK = "application links unavailable (userFlowApplications forbidden)"


def test_fallback_cap002_never_passes(audit_rule):
    outcome, findings = audit_rule("CAP002", **sources([ca_policy("mfa-all")], links="forbidden"))
    assert outcome.outcome == "notEvaluated" and findings == []
    assert FALLBACK in outcome.reason


def test_fallback_cap002_fails_on_policies_for_selected_apps(audit_rule):
    outcome, findings = audit_rule("CAP002", **sources([ca_policy("mfa-a", include_apps=[APP_A])], links="forbidden"))
    assert outcome.outcome == "fail"
    assert FALLBACK in outcome.reason and FALLBACK in findings[0].evidence["applicationLinks"]
    assert findings[0].evidence["uncoveredApplications"] == ["all applications (application links unavailable)"]


def test_fallback_cap002_application_exclusions_are_undecided(audit_rule):
    outcome, findings = audit_rule("CAP002", **sources([ca_policy("mfa", exclude_apps=[APP_B])], links="unavailable"))
    assert outcome.outcome == "fail"
    assert "a flow's applications may be among them" in \
        findings[0].evidence["unprotected"][0]["undecidedBecause"][0]["reason"]


def test_fallback_cap001_cap003_cap004_still_find(audit_rule):
    outcome, findings = audit_rule("CAP001", **sources([strength_policy()], flows=[OTP_ONLY], links="forbidden"))
    assert outcome.outcome == "fail"
    assert findings[0].evidence["affectedFlows"][0]["applications"] == [
        "all applications (application links unavailable)"]
    outcome, findings = audit_rule("CAP003", **sources([ca_policy("ro", state=REPORT_ONLY)], links="forbidden"))
    assert outcome.outcome == "fail" and FALLBACK in findings[0].evidence["applicationLinks"]
    outcome, _ = audit_rule("CAP004", **sources([EXCEPT_TRUSTED], links="forbidden", namedLocations=LOCATIONS))
    assert outcome.outcome == "fail"


def test_cap002_on_real_listener_shape_names_the_uncovered_app(audit_rule):
    body = json.loads((DATA / "onsignupstart-list-expand-userflow-beta.json").read_text())
    # The documented example links B2X_1_Partner to two applications through two listeners.
    outcome, findings = audit_rule("CAP002", **sources([ca_policy("mfa-a", include_apps=[APP_A])], links=body["value"]))
    assert outcome.outcome == "fail"
    assert findings[0].evidence["linkedApplications"] == sorted([APP_A, APP_B])
    assert findings[0].evidence["uncoveredApplications"] == [APP_B]


def test_cap002_names_the_application_by_its_service_principal_when_collected(audit_rule):
    links = linked(apps=(APP_A, APP_B))
    outcome, findings = audit_rule(
        "CAP002", **sources([ca_policy("mfa-a", include_apps=[APP_A])], links=links,
                            linkedServicePrincipals=[service_principal(APP_B, "Supplier Invoicing")]))
    assert outcome.outcome == "fail"
    assert "on 'Supplier Invoicing'" in findings[0].message
    # the evidence keeps the id: the fix plan targets the policy at it
    assert findings[0].evidence["uncoveredApplications"] == [APP_B]
