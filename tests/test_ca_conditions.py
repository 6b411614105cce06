"""The Conditional Access evaluator, condition by condition and grant by grant, each both ways.

A "protected" context is one where an enabled policy applies and blocks or demands MFA the guest kind
can perform. ``unknown`` never counts as protection.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from graphdata import (
    ca_policy,
    country_location,
    cross_tenant_default,
    cross_tenant_partner,
    group,
    ip_location,
)

from auditor.conditional_access import (
    UNKNOWN_APP,
    Audience,
    CrossTenantTrust,
    Directory,
    Evaluator,
    Tri,
    device_rule_matches_unregistered,
    grant_verdict,
    rule_contains_every_guest,
)
from auditor.model.conditional_access import (
    AuthenticationStrengthPolicy,
    ConditionalAccessGroup,
    ConditionalAccessPolicy,
    CrossTenantAccessPolicyConfiguration,
    GrantControls,
    NamedLocation,
)
from auditor.model.signin_matrix import CLIENTS, EMAIL_OTP, ENTRA_ID, GOOGLE, MICROSOFT_ACCOUNT, PLATFORMS

DATA = Path(__file__).parent / "data"
APP_A = "3dfff01b-0afb-4a07-967f-d1ccbd81102a"
APP_B = "b0e1638f-4c39-4cd1-82b3-91d1caef65f8"
GUEST = "7c1f5a2e-9b8d-4e3f-a6c1-2b3d4e5f6a7b"
HQ = "1c5d0e1a-0000-4000-8000-00000000a001"
CAFE = "1c5d0e1a-0000-4000-8000-00000000a002"
CH = "1c5d0e1a-0000-4000-8000-00000000a003"
MISSING = "1c5d0e1a-0000-4000-8000-00000000a0ff"
STATIC_GROUP = "0d2f1a7e-0000-4000-8000-000000000002"
DYNAMIC_GROUP = "0d2f1a7e-0000-4000-8000-000000000003"
ALL_INTERNET = {(p, c) for p in PLATFORMS for c in CLIENTS}
MFA_STRENGTH, PHISHING = (json.loads((DATA / "authentication-strength-policies-list.json").read_text())["value"][i]
                          for i in (0, 2))


def directory(locations: list[dict[str, Any]] | None = None, groups: list[dict[str, Any]] | None = None,
              trust: list[dict[str, Any]] | None = None) -> Directory:
    return Directory(
        named_locations=None if locations is None else
        {item["id"].casefold(): NamedLocation.model_validate(item) for item in locations},
        groups=None if groups is None else
        {item["id"].casefold(): ConditionalAccessGroup.model_validate(item) for item in groups},
        trust=None if trust is None else
        CrossTenantTrust.of([CrossTenantAccessPolicyConfiguration.model_validate(t) for t in trust]),
        strengths={s["id"]: AuthenticationStrengthPolicy.model_validate(s) for s in (MFA_STRENGTH, PHISHING)},
        unavailable={"namedLocations": "source namedLocations was not collected"} if locations is None else {})


def protected(policies: list[dict[str, Any]] | dict[str, Any], kind: str = EMAIL_OTP, app: str = APP_A,
              directory_: Directory | None = None, user_id: str | None = None,
              location: str = "internet") -> dict[Tri, set[tuple[str, str]]]:
    """Contexts from ``location`` by answer: {YES: {(platform, client)...}, NO: ..., UNKNOWN: ...}."""
    items = [policies] if isinstance(policies, dict) else policies
    evaluator = Evaluator([ConditionalAccessPolicy.model_validate(p) for p in items], directory_ or directory([]))
    cell = evaluator.cell(app.casefold() if app != UNKNOWN_APP else app, Audience(kind, user_id))
    out: dict[Tri, set[tuple[str, str]]] = {Tri.YES: set(), Tri.NO: set(), Tri.UNKNOWN: set()}
    for index, context in enumerate(evaluator.contexts):
        if context.location.casefold() == location.casefold():
            out[cell.state(index)].add((context.platform, context.client))
    return out


def everywhere(answer: dict[Tri, set[tuple[str, str]]]) -> Tri | None:
    """The one answer every context got, or None when they differ."""
    states = [state for state, cells in answer.items() if cells]
    return states[0] if len(states) == 1 else None


def reasons(policy: dict[str, Any], kind: str = EMAIL_OTP, directory_: Directory | None = None) -> list[str]:
    evaluator = Evaluator([ConditionalAccessPolicy.model_validate(policy)], directory_ or directory([]))
    facts = evaluator.policies[0]
    audience = Audience(kind)
    texts = [r.text for r in facts.app(APP_A).reasons + facts.users(audience).reasons + facts.static.reasons]
    texts += [r.text for v in facts.context_verdicts for r in v.reasons]
    texts += [r.text for r in facts.grant(audience).protects.reasons]
    return texts


# --- users --------------------------------------------------------------------------------------------

GUEST_TYPES_ALL = "internalGuest,b2bCollaborationGuest,b2bCollaborationMember,b2bDirectConnectUser,otherExternalUser"


@pytest.mark.parametrize(("policy", "kind", "expected"), [
    (ca_policy("p"), EMAIL_OTP, Tri.YES),  # All users
    (ca_policy("p", include_users=["GuestsOrExternalUsers"]), EMAIL_OTP, Tri.YES),
    (ca_policy("p", include_users=["guestsorexternalusers"]), GOOGLE, Tri.YES),  # literals compared case-insensitively
    (ca_policy("p", include_users=[], guest_types=GUEST_TYPES_ALL), EMAIL_OTP, Tri.YES),  # one CSV string
    (ca_policy("p", include_users=[], guest_types="b2bCollaborationGuest"), ENTRA_ID, Tri.YES),
    (ca_policy("p", include_users=[], guest_types="internalGuest,b2bCollaborationMember"), EMAIL_OTP, Tri.NO),
    (ca_policy("p", include_users=[], guest_types="b2bCollaborationGuest", guest_tenants=["t1"]), EMAIL_OTP, Tri.NO),
    (ca_policy("p", include_users=[], guest_types="b2bCollaborationGuest", guest_tenants=["t1"]), ENTRA_ID,
     Tri.UNKNOWN),
    (ca_policy("p", include_users=["None"]), EMAIL_OTP, Tri.NO),
    (ca_policy("p", include_users=[GUEST]), EMAIL_OTP, Tri.NO),  # a named user is not a future sign-up
    (ca_policy("p", exclude_users=["GuestsOrExternalUsers"]), EMAIL_OTP, Tri.NO),
    (ca_policy("p", exclude_guest_types="b2bCollaborationGuest,b2bDirectConnectUser"), EMAIL_OTP, Tri.NO),
    (ca_policy("p", exclude_guest_types="internalGuest"), EMAIL_OTP, Tri.YES),
    (ca_policy("p", exclude_users=[GUEST]), EMAIL_OTP, Tri.YES),  # excluding one current guest spares the others
])
def test_users_condition(policy, kind, expected):
    assert everywhere(protected(policy, kind)) is expected


def test_enumerated_tenant_exclusion_is_unknown_for_entra_guests_only():
    policy = ca_policy("p", exclude_guest_types="b2bCollaborationGuest")
    policy["conditions"]["users"]["excludeGuestsOrExternalUsers"]["externalTenants"] = {
        "@odata.type": "#microsoft.graph.conditionalAccessEnumeratedExternalTenants", "membershipKind": "enumerated",
        "members": ["9e6b2a5c-0000-4000-8000-000000000001"]}
    assert everywhere(protected(policy, EMAIL_OTP)) is Tri.YES  # mail-based guests have no home tenant to list
    assert everywhere(protected(policy, ENTRA_ID)) is Tri.UNKNOWN


def test_roles_never_include_self_service_guests():
    policy = ca_policy("p", include_users=[])
    policy["conditions"]["users"]["includeRoles"] = ["62e90394-69f5-4237-9190-012177145e10"]
    assert everywhere(protected(policy)) is Tri.NO
    assert any("directory roles" in text for text in reasons(policy))


def test_excluded_current_guest_is_exempt_and_others_are_not():
    policy = ca_policy("p", exclude_users=[GUEST.upper()])
    assert everywhere(protected(policy, user_id=GUEST)) is Tri.NO
    assert everywhere(protected(policy, user_id="aaaaaaaa-0000-4000-8000-000000000001")) is Tri.YES


# --- groups -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rule", "covers_future_guests"), [
    ('user.userType -eq "Guest"', True),
    ('(user.userType -eq "Guest") -and (user.creationType -eq "SelfServiceSignUp")', True),
    ('user.creationType -eq "SelfServiceSignUp" -and user.userType -eq "Guest"', True),
    ('  USER.USERTYPE   -EQ   "guest" ', True),
    ("(user.userType -eq 'Guest')", True),
    ('user.userType -eq "Guest" -or user.department -eq "Sales"', False),
    ('user.userType -ne "Member"', False),
    ('user.userType -eq "Guest" -and user.country -eq "DE"', False),
    ('user.creationType -eq "SelfServiceSignUp"', False),  # not one of the recognised forms
    ('-not (user.userType -eq "Member")', False),
    ("", False),
])
def test_membership_rule_recognition(rule, covers_future_guests):
    assert rule_contains_every_guest(rule) is covers_future_guests


@pytest.mark.parametrize(("groups", "expected_new", "expected_member"), [
    ([group(STATIC_GROUP, "Partners", [GUEST])], Tri.NO, Tri.YES),  # static: today's members only
    ([group(STATIC_GROUP, "Partners", [GUEST], rule='user.userType -eq "Guest"')], Tri.YES, Tri.YES),
    ([group(STATIC_GROUP, "Partners", [GUEST], rule='user.userType -eq "Guest"', processing="Paused")],
     Tri.NO, Tri.YES),
    ([group(STATIC_GROUP, "Partners", [GUEST], rule='user.department -eq "Partners"')], Tri.UNKNOWN, Tri.YES),
    ([group(STATIC_GROUP, "Partners", None)], Tri.NO, Tri.UNKNOWN),  # members not collected
    ([], Tri.UNKNOWN, Tri.UNKNOWN),  # the group is not in the source
    (None, Tri.UNKNOWN, Tri.UNKNOWN),  # conditionalAccessGroups not collected
])
def test_included_group_for_future_sign_ups_and_current_members(groups, expected_new, expected_member):
    policy = ca_policy("p", include_users=[], include_groups=[STATIC_GROUP])
    found = directory([], groups=groups)
    assert everywhere(protected(policy, directory_=found)) is expected_new
    assert everywhere(protected(policy, directory_=found, user_id=GUEST)) is expected_member


def test_excluded_group_exempts_its_members_and_a_provable_dynamic_group_exempts_everyone():
    static = directory([], groups=[group(STATIC_GROUP, "Break glass and pilots", [GUEST])])
    policy = ca_policy("p", exclude_groups=[STATIC_GROUP])
    assert everywhere(protected(policy, directory_=static)) is Tri.YES
    assert everywhere(protected(policy, directory_=static, user_id=GUEST)) is Tri.NO
    dynamic = directory([], groups=[group(STATIC_GROUP, "All guests", [], rule='user.userType -eq "Guest"')])
    assert everywhere(protected(policy, directory_=dynamic)) is Tri.NO
    unknown_rule = directory([], groups=[group(STATIC_GROUP, "Some", [], rule='user.city -eq "Oslo"')])
    assert everywhere(protected(policy, directory_=unknown_rule)) is Tri.UNKNOWN
    assert everywhere(protected(policy, directory_=directory([], groups=None))) is Tri.UNKNOWN


# --- applications ------------------------------------------------------------------------------------

def _apps(**fields: Any) -> dict[str, Any]:
    policy = ca_policy("p")
    policy["conditions"]["applications"] = {"includeApplications": [], "excludeApplications": [],
                                            "includeUserActions": [], **fields}
    return policy


@pytest.mark.parametrize(("policy", "app", "expected"), [
    (_apps(includeApplications=["All"]), APP_A, Tri.YES),
    (_apps(includeApplications=[APP_A.upper()]), APP_A, Tri.YES),
    (_apps(includeApplications=[APP_B]), APP_A, Tri.NO),
    (_apps(includeApplications=["All"], excludeApplications=[APP_A]), APP_A, Tri.NO),
    (_apps(includeApplications=["Office365"]), APP_A, Tri.NO),
    (_apps(includeApplications=["None"]), APP_A, Tri.NO),
    (_apps(includeUserActions=["urn:user:registersecurityinfo"]), APP_A, Tri.NO),
    (_apps(includeAuthenticationContextClassReferences=["c1"]), APP_A, Tri.NO),
    (_apps(applicationFilter={"mode": "include", "rule": 'CustomSecurityAttribute.Risk -eq "High"'}), APP_A,
     Tri.UNKNOWN),
    (_apps(includeApplications=["All"], applicationFilter={"mode": "exclude", "rule": "CustomSecurityAttribute.x -eq \"y\""}),
     APP_A, Tri.UNKNOWN),
    (_apps(includeApplications=[APP_A], applicationFilter={"mode": "include", "rule": "CustomSecurityAttribute.x -eq \"y\""}),
     APP_A, Tri.YES),  # already included by id; an include filter only adds
    # Fallback (application links unknown): only All counts, and exclusions cannot be judged.
    (_apps(includeApplications=["All"]), UNKNOWN_APP, Tri.YES),
    (_apps(includeApplications=["All"], excludeApplications=[APP_B]), UNKNOWN_APP, Tri.UNKNOWN),
    (_apps(includeApplications=[APP_A]), UNKNOWN_APP, Tri.NO),
])
def test_applications_condition(policy, app, expected):
    assert everywhere(protected(policy, app=app)) is expected


def test_workload_identity_policy_does_not_apply_to_guests():
    policy = ca_policy("p")
    policy["conditions"]["clientApplications"] = {"includeServicePrincipals": ["ServicePrincipalsInMyTenant"],
                                                  "excludeServicePrincipals": []}
    assert everywhere(protected(policy)) is Tri.NO


# --- client apps, platforms ----------------------------------------------------------------------------

@pytest.mark.parametrize(("conditions", "open_cells"), [
    ({"clientAppTypes": ["all"]}, set()),
    ({"clientAppTypes": []}, set()),  # not configured: all client app types
    ({"clientAppTypes": ["mobileAppsAndDesktopClients"]}, {(p, "browser") for p in PLATFORMS}),
    ({"clientAppTypes": ["browser"]}, {(p, "mobileAppsAndDesktopClients") for p in PLATFORMS}),
    ({"clientAppTypes": ["exchangeActiveSync", "other"]}, ALL_INTERNET),  # legacy only: not these sign-ins
    ({"platforms": None}, set()),
    ({"platforms": {"includePlatforms": ["all"], "excludePlatforms": []}}, set()),
    ({"platforms": {"includePlatforms": ["android", "iOS"], "excludePlatforms": []}},
     {(p, c) for p in ("windows", "macOS", "linux") for c in CLIENTS}),
    ({"platforms": {"includePlatforms": ["all"], "excludePlatforms": ["iOS", "windowsPhone"]}},
     {("iOS", c) for c in CLIENTS}),
])
def test_client_app_types_and_platforms(conditions, open_cells):
    answer = protected(ca_policy("p", conditions=conditions))
    assert answer[Tri.NO] == open_cells
    assert answer[Tri.YES] == ALL_INTERNET - open_cells


# --- locations -----------------------------------------------------------------------------------------

LOCATIONS = [ip_location(HQ, "Headquarters", ["203.0.113.0/24"], trusted=True),
             ip_location(CAFE, "Guest Wi-Fi", ["198.51.100.0/24"]), country_location(CH, "Switzerland", ["CH"])]


def _where(include: list[str], exclude: list[str] | None = None) -> dict[str, Any]:
    return ca_policy("p", conditions={"locations": {"includeLocations": include, "excludeLocations": exclude or []}})


@pytest.mark.parametrize(("policy", "location", "expected"), [
    (_where(["All"], ["AllTrusted"]), "internet", Tri.YES),
    (_where(["All"], ["AllTrusted"]), HQ, Tri.NO),  # trusted: exempt
    (_where(["All"], ["AllTrusted"]), CAFE, Tri.YES),  # not trusted
    (_where(["All"], ["AllTrusted"]), CH, Tri.YES),  # a country location is never trusted
    (_where(["AllTrusted"]), "internet", Tri.NO),
    (_where(["AllTrusted"]), HQ, Tri.YES),
    (_where([CAFE]), "internet", Tri.NO),
    (_where([CAFE]), CAFE, Tri.YES),
    (_where([CAFE]), HQ, Tri.NO),
    (_where(["All"], [CH]), CH, Tri.NO),
    (_where(["All"], [CH]), "internet", Tri.YES),
    (_where(["All"], [MISSING]), "internet", Tri.YES),
    (_where(["All"], [MISSING]), MISSING, Tri.NO),  # named by the policy, absent from the snapshot: still excluded
    (_where([MISSING, "AllTrusted"]), "internet", Tri.NO),
    (_where(["All"], ["00000000-0000-0000-0000-000000000000"]), "00000000-0000-0000-0000-000000000000", Tri.NO),
    (_where([]), "internet", Tri.UNKNOWN),
])
def test_locations_condition(policy, location, expected):
    assert everywhere(protected(policy, directory_=directory(LOCATIONS), location=location)) is expected


def test_trusted_exclusion_of_a_location_missing_from_the_snapshot_is_unknown():
    policy = _where(["All"], ["AllTrusted"])
    other = ca_policy("q", controls=["block"], include_apps=[APP_B], conditions={
        "locations": {"includeLocations": [MISSING], "excludeLocations": []}})
    answer = protected([policy, other], directory_=directory(LOCATIONS), location=MISSING)
    assert everywhere(answer) is Tri.UNKNOWN
    # Without any named location collected, the internet is still judged: it is inside no named location.
    assert everywhere(protected(policy, directory_=directory(None))) is Tri.YES


# --- risk, devices, flows --------------------------------------------------------------------------------

@pytest.mark.parametrize(("conditions", "expected"), [
    ({"signInRiskLevels": ["high"]}, Tri.NO),
    ({"signInRiskLevels": ["medium", "high"]}, Tri.NO),
    ({"signInRiskLevels": ["none", "low", "medium", "high"]}, Tri.YES),  # "no risk" is a level of its own
    ({"signInRiskLevels": []}, Tri.YES),
    ({"userRiskLevels": ["high"]}, Tri.NO),
    ({"insiderRiskLevels": "minor,moderate,elevated"}, Tri.NO),  # a flags enum: one CSV string
    ({"insiderRiskLevels": None}, Tri.YES),
    ({"authenticationFlows": {"transferMethods": "deviceCodeFlow"}}, Tri.NO),
    ({"authenticationFlows": {"transferMethods": "deviceCodeFlow,authenticationTransfer"}}, Tri.NO),
    ({"authenticationFlows": {"transferMethods": "none"}}, Tri.YES),
    ({"authenticationFlows": None}, Tri.YES),
])
def test_risk_and_authentication_flows(conditions, expected):
    assert everywhere(protected(ca_policy("p", conditions=conditions))) is expected


@pytest.mark.parametrize(("mode", "rule", "expected"), [
    ("include", 'device.trustType -eq "ServerAD"', Tri.NO),  # positive operator: an unregistered device never matches
    ("include", 'device.extensionAttribute1 -ne "SAW"', Tri.YES),  # negative operator: it does
    ("exclude", 'device.isCompliant -eq "True"', Tri.YES),  # not excluded
    # Microsoft's documented Graph example: exclude devices that are not SAWs -> excludes unregistered ones too.
    ("exclude", 'device.extensionAttribute1 -ne "SAW"', Tri.NO),
    ("exclude", '(device.trustType -eq "AzureAD") -or (device.trustType -eq "ServerAD")', Tri.YES),
    ("exclude", '(device.model -notContains "Surface") -and (device.trustType -eq "AzureAD")', Tri.YES),
    ("include", 'device.operatingSystem -in ["Windows", "iOS"]', Tri.NO),
    ("include", "device.physicalIds -any (_ -contains \"[ZTDId]\")", Tri.UNKNOWN),  # not understood: unknown
    ("sideways", 'device.trustType -eq "AzureAD"', Tri.UNKNOWN),
])
def test_device_filter_for_an_unregistered_device(mode, rule, expected):
    policy = ca_policy("p", conditions={"devices": {"deviceFilter": {"mode": mode, "rule": rule}}})
    assert everywhere(protected(policy)) is expected


def test_device_rule_semantics():
    assert device_rule_matches_unregistered('-not (device.trustType -eq "AzureAD")') is True
    assert device_rule_matches_unregistered('device.trustType -eq "AzureAD" -and') is None
    assert device_rule_matches_unregistered('(device.trustType -eq "AzureAD"') is None


# --- grants -----------------------------------------------------------------------------------------------

NO_TRUST = [cross_tenant_default()]
MFA_TRUST = [cross_tenant_default(mfa=True)]
DEVICE_TRUST = [cross_tenant_default(compliant=True, hybrid=True)]


@pytest.mark.parametrize(("grant", "kind", "trust", "expected"), [
    ({"controls": ["mfa"]}, EMAIL_OTP, None, Tri.YES),
    ({"controls": ["block"]}, GOOGLE, None, Tri.YES),  # closed: protected
    ({"controls": []}, EMAIL_OTP, None, Tri.NO),  # no grant control at all
    ({"controls": ["compliantDevice"]}, EMAIL_OTP, None, Tri.NO),  # unsatisfiable, but not MFA
    ({"controls": ["mfa", "compliantDevice"], "operator": "OR"}, EMAIL_OTP, None, Tri.YES),
    ({"controls": ["mfa", "compliantDevice"], "operator": "OR"}, ENTRA_ID, NO_TRUST, Tri.YES),
    ({"controls": ["mfa", "compliantDevice"], "operator": "OR"}, ENTRA_ID, DEVICE_TRUST, Tri.NO),
    ({"controls": ["mfa", "compliantDevice"], "operator": "OR"}, ENTRA_ID, None, Tri.UNKNOWN),
    ({"controls": ["mfa", "domainJoinedDevice"], "operator": "OR"}, MICROSOFT_ACCOUNT, DEVICE_TRUST, Tri.YES),
    ({"controls": ["mfa", "domainJoinedDevice"], "operator": "OR"}, ENTRA_ID, DEVICE_TRUST, Tri.NO),
    ({"controls": ["mfa", "approvedApplication"], "operator": "OR"}, EMAIL_OTP, None, Tri.NO),
    ({"controls": ["mfa", "compliantApplication"], "operator": "OR"}, EMAIL_OTP, None, Tri.NO),
    ({"controls": ["mfa"], "terms_of_use": ["tou-1"], "operator": "OR"}, EMAIL_OTP, None, Tri.NO),
    ({"controls": ["mfa"], "terms_of_use": ["tou-1"], "operator": "AND"}, EMAIL_OTP, None, Tri.YES),
    ({"controls": ["mfa", "compliantDevice"], "operator": "AND"}, EMAIL_OTP, None, Tri.YES),
    ({"controls": ["mfa", "passwordChange"], "operator": "AND"}, EMAIL_OTP, None, Tri.YES),
    ({"controls": [], "auth_strength": MFA_STRENGTH}, EMAIL_OTP, None, Tri.NO),  # strengths: never mail-based
    ({"controls": [], "auth_strength": MFA_STRENGTH}, ENTRA_ID, None, Tri.YES),  # SMS/voice/push registrable
    ({"controls": [], "auth_strength": PHISHING}, ENTRA_ID, None, Tri.UNKNOWN),  # needs trust: not collected
    ({"controls": [], "auth_strength": PHISHING}, ENTRA_ID, NO_TRUST, Tri.NO),
    ({"controls": [], "auth_strength": PHISHING}, ENTRA_ID, MFA_TRUST, Tri.YES),
    ({"controls": [], "auth_strength": PHISHING}, ENTRA_ID,
     [cross_tenant_default(), cross_tenant_partner("9e6b2a5c-0000-4000-8000-000000000001", mfa=True)], Tri.YES),
    ({"controls": ["mfa"], "auth_strength": PHISHING, "operator": "OR"}, EMAIL_OTP, None, Tri.YES),
    ({"controls": ["mfa"], "auth_strength": PHISHING, "operator": "AND"}, EMAIL_OTP, None, Tri.YES),
    ({"controls": [], "auth_strength": {**MFA_STRENGTH, "requirementsSatisfied": "none"}}, ENTRA_ID, None, Tri.NO),
])
def test_grant(grant, kind, trust, expected):
    found = directory([])
    found.trust = None if trust is None else directory([], trust=trust).trust
    assert everywhere(protected(ca_policy("p", **grant), kind, directory_=found)) is expected


@pytest.mark.parametrize(("grant", "kind", "trust", "locks_out"), [
    ({"controls": [], "auth_strength": PHISHING}, EMAIL_OTP, None, Tri.YES),
    ({"controls": [], "auth_strength": MFA_STRENGTH}, GOOGLE, None, Tri.YES),
    ({"controls": ["mfa"], "auth_strength": PHISHING, "operator": "AND"}, EMAIL_OTP, None, Tri.YES),
    ({"controls": ["mfa"], "auth_strength": PHISHING, "operator": "OR"}, EMAIL_OTP, None, Tri.NO),
    ({"controls": ["compliantDevice"], "auth_strength": PHISHING, "operator": "OR"}, EMAIL_OTP, None, Tri.YES),
    ({"controls": [], "auth_strength": PHISHING}, ENTRA_ID, NO_TRUST, Tri.YES),
    ({"controls": [], "auth_strength": PHISHING}, ENTRA_ID, MFA_TRUST, Tri.NO),
    ({"controls": [], "auth_strength": PHISHING}, ENTRA_ID, None, Tri.UNKNOWN),
    ({"controls": [], "auth_strength": MFA_STRENGTH}, ENTRA_ID, NO_TRUST, Tri.NO),
    ({"controls": ["mfa"]}, EMAIL_OTP, None, Tri.NO),
])
def test_strength_that_locks_guests_out(grant, kind, trust, locks_out):
    found = directory([], trust=trust) if trust is not None else directory([])
    verdict = grant_verdict(GrantControls.model_validate(ca_policy("p", **grant)["grantControls"]), Audience(kind),
                            found)
    assert verdict.strength_unsatisfiable is locks_out


def test_strength_combinations_are_read_from_the_strength_policies_when_the_grant_omits_them():
    inline = {"id": MFA_STRENGTH["id"], "displayName": "Multifactor authentication"}
    assert everywhere(protected(ca_policy("p", controls=[], auth_strength=inline), ENTRA_ID)) is Tri.YES


# --- states and combinations ---------------------------------------------------------------------------

def test_report_only_and_disabled_policies_never_protect_the_enforced_cell():
    for state in ("enabledForReportingButNotEnforced", "disabled"):
        assert everywhere(protected(ca_policy("p", state=state))) is Tri.NO
    evaluator = Evaluator([ConditionalAccessPolicy.model_validate(
        ca_policy("p", state="enabledForReportingButNotEnforced"))], directory([]))
    pilot = evaluator.cell(APP_A, Audience(EMAIL_OTP), report_only=True)
    assert all(pilot.state(i) is Tri.YES for i in range(len(evaluator.contexts)))


def test_narrow_policies_together_can_cover_every_context():
    browser = ca_policy("b", conditions={"clientAppTypes": ["browser"]})
    apps = ca_policy("m", conditions={"clientAppTypes": ["mobileAppsAndDesktopClients"]})
    assert everywhere(protected([browser, apps])) is Tri.YES
    assert protected([browser])[Tri.NO] == {(p, "mobileAppsAndDesktopClients") for p in PLATFORMS}


def test_an_undecided_policy_never_fills_a_gap_a_decided_one_leaves():
    narrow = ca_policy("n", conditions={"platforms": {"includePlatforms": ["android"], "excludePlatforms": []}})
    undecided = ca_policy("u", include_users=[], include_groups=[STATIC_GROUP])
    answer = protected([narrow, undecided], directory_=directory([], groups=None))
    assert answer[Tri.YES] == {("android", c) for c in CLIENTS}
    assert answer[Tri.UNKNOWN] == ALL_INTERNET - answer[Tri.YES]


# --- Microsoft's documented policies -----------------------------------------------------------------------

def test_documented_policy_get_example_excludes_guests_and_is_narrowed():
    raw = {**json.loads((DATA / "conditional-access-policy-get.json").read_text()), "state": "enabled"}
    assert everywhere(protected(raw)) is Tri.NO  # one named user and directory roles only
    texts = reasons(raw)
    assert "includes only directory roles (a self-service guest who signs up holds none) and 1 named user(s)" in texts
    assert "only at low and medium sign-in risk" in texts
    assert "not on iOS and Windows Phone" in texts
    assert "only from trusted locations" in texts
    assert any(t.startswith("MFA is optional") for t in texts)  # OR with an approved app, terms of use
    # Included as All users, its excludeUsers "GuestsOrExternalUsers" still leaves every guest out.
    raw["conditions"]["users"]["includeUsers"] = ["All"]
    assert everywhere(protected(raw)) is Tri.NO
    assert "excludes all guest and external users" in reasons(raw)


def test_documented_list_example_targets_nobody():
    body = json.loads((DATA / "conditional-access-policies-list.json").read_text())
    policies = [{**p, "state": "enabled"} for p in body["value"]]
    assert everywhere(protected(policies)) is Tri.NO  # includeUsers/includeApplications are "None"


def test_documented_what_if_response_parses_with_its_flags():
    from auditor.model.conditional_access import WhatIfRecord

    record = WhatIfRecord.model_validate({
        "request": json.loads((DATA / "conditional-access-evaluate-request.json").read_text()),
        "value": json.loads((DATA / "conditional-access-evaluate-response.json").read_text())["value"]})
    result = record.value[0]
    assert result.policyApplies is True and result.is_report_only
    assert result.analysisReasons == ["notSet"]
    assert result.grantControls.controls == {"mfa", "passwordchange"}
