"""GUE001-005: guest directory access, invitations, email-verified sign-up, sponsors, access reviews."""

import json
from pathlib import Path

import pytest
from graphdata import TENANT_ID, flow, listener, user, write_snapshot

from auditor.engine import run_audit
from auditor.errors import InputError
from auditor.snapshot import open_snapshot

MEMBER = "a0b1b346-4d3e-4e8b-98f8-753987be4970"
LIMITED = "10dae51f-b6af-4016-8d66-8c2a99b929b3"
RESTRICTED = "2af84b1e-32c8-42b7-82bc-daa82404023b"
SIGN_UP_OFF = [{"id": "authenticationFlowsPolicy", "selfServiceSignUp": {"isEnabled": False}}]


def policy(**values) -> list[dict]:
    quiet = {"id": "authorizationPolicy", "allowInvitesFrom": "adminsAndGuestInviters", "guestUserRoleId": LIMITED,
             "allowedToSignUpEmailBasedSubscriptions": False, "allowEmailVerifiedUsersToJoinOrganization": False}
    return [{k: v for k, v in {**quiet, **values}.items() if v is not ...}]


# --- GUE001 -----------------------------------------------------------------------------------

@pytest.mark.parametrize("role, expected", [(MEMBER, "fail"), (LIMITED, "pass"), (RESTRICTED, "pass")])
def test_gue001_only_member_level_guest_access_fails(audit_rule, role, expected):
    outcome, findings = audit_rule("GUE001", authorizationPolicy=policy(guestUserRoleId=role),
                                   b2xUserFlows=[flow("B2X_1_Partner")])
    assert outcome.outcome == expected
    if expected == "fail":
        assert (findings[0].resource.type, findings[0].resource.id) == ("authorizationPolicy", "authorizationPolicy")
        assert findings[0].evidence["guestAccessLevel"] == "Same as member users"
        assert findings[0].evidence["userFlows"] == ["B2X_1_Partner"]
        assert "enumerate" in findings[0].message


def test_gue001_sign_up_off_is_not_applicable(audit_rule):
    outcome, _ = audit_rule("GUE001", authorizationPolicy=policy(guestUserRoleId=MEMBER),
                            authenticationFlowsPolicy=SIGN_UP_OFF)
    assert outcome.outcome == "notApplicable" and "disabled" in outcome.reason


def test_gue001_missing_role_id_is_not_a_pass(audit_rule):
    outcome, findings = audit_rule("GUE001", authorizationPolicy=policy(guestUserRoleId=...))
    assert outcome.outcome == "notEvaluated" and findings == []
    assert "guestUserRoleId" in outcome.reason and "not the default" in outcome.reason


def test_gue001_null_role_id_is_not_a_pass(audit_rule):
    outcome, _ = audit_rule("GUE001", authorizationPolicy=policy(guestUserRoleId=None))
    assert outcome.outcome == "notEvaluated"


def test_gue001_reads_a_malformed_policy_as_a_gap_not_a_crash(audit_rule):
    outcome, _ = audit_rule("GUE001", authorizationPolicy=policy(guestUserRoleId=["not", "a", "guid"]))
    assert outcome.outcome == "notEvaluated" and "guestUserRoleId" in outcome.reason
    assert "internal error" not in outcome.reason


# --- GUE002 -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [("everyone", "fail"), ("Everyone", "fail"),
                                             ("adminsGuestInvitersAndAllMembers", "pass"),
                                             ("adminsAndGuestInviters", "pass"), ("none", "pass")])
def test_gue002_fails_only_when_guests_can_invite(audit_rule, value, expected):
    outcome, findings = audit_rule("GUE002", authorizationPolicy=policy(allowInvitesFrom=value))
    assert outcome.outcome == expected
    if findings:
        assert findings[0].evidence["allowInvitesFrom"] == value


def test_gue002_not_applicable_with_sign_up_off(audit_rule):
    outcome, _ = audit_rule("GUE002", authorizationPolicy=policy(allowInvitesFrom="everyone"),
                            authenticationFlowsPolicy=SIGN_UP_OFF)
    assert outcome.outcome == "notApplicable"


# --- GUE003 -----------------------------------------------------------------------------------

def test_gue003_names_each_enabled_setting(audit_rule):
    outcome, findings = audit_rule("GUE003", authorizationPolicy=policy(
        allowedToSignUpEmailBasedSubscriptions=True, allowEmailVerifiedUsersToJoinOrganization=True))
    assert outcome.outcome == "fail"
    evidence = findings[0].evidence
    assert evidence["allowedToSignUpEmailBasedSubscriptions"] is True
    assert evidence["allowEmailVerifiedUsersToJoinOrganization"] is True
    assert evidence["selfServiceSignUpViaUserFlowsEnabled"] is True
    assert "as members" in findings[0].message


def test_gue003_one_unknown_setting_keeps_the_rule_from_passing(audit_rule):
    outcome, _ = audit_rule("GUE003", authorizationPolicy=policy(allowEmailVerifiedUsersToJoinOrganization=...))
    assert outcome.outcome == "notEvaluated" and "allowEmailVerifiedUsersToJoinOrganization" in outcome.reason


def test_gue003_does_not_depend_on_user_flow_sign_up(audit_rule):
    outcome, _ = audit_rule("GUE003", authorizationPolicy=policy(allowEmailVerifiedUsersToJoinOrganization=True),
                            authenticationFlowsPolicy=SIGN_UP_OFF)
    assert outcome.outcome == "fail"


# --- GUE004 -----------------------------------------------------------------------------------

SPONSOR = [{"@odata.type": "#microsoft.graph.user", "id": "e2b1c0d9-8f7e-4a6b-9c5d-4e3f2a1b0c9d",
            "displayName": "Dana Sponsor"}]


def guest(uid: str, sponsors, created: str = "2026-01-10T09:00:00Z", creation_type: str = "SelfServiceSignUp"):
    item = user(uid, created=created, creation_type=creation_type, sponsors=None if sponsors is ... else sponsors)
    if sponsors is ...:
        del item["sponsors"]  # collected without sponsors
    return item


def test_gue004_one_tenant_finding_counts_all_and_lists_the_oldest(audit_rule):
    users = [guest(f"g{n:02d}-0000-4000-8000-000000000000", [], created=f"2026-0{1 + n % 9}-01T00:00:00Z")
             for n in range(25)] + [guest("sponsored-0000-4000-8000-000000000000", SPONSOR)]
    outcome, findings = audit_rule("GUE004", selfServiceSignUpUsers=users)
    assert outcome.outcome == "fail" and len(findings) == 1
    finding = findings[0]
    assert (finding.resource.type, finding.resource.id) == ("tenant", TENANT_ID)
    evidence = finding.evidence
    assert evidence["withoutSponsor"] == 25 and evidence["selfServiceSignUpGuests"] == 26
    assert evidence["listed"] == 20 and evidence["truncated"] is True and len(evidence["guests"]) == 20
    created = [g["createdDateTime"] for g in evidence["guests"]]
    assert created == sorted(created)
    assert "sponsored-0000-4000-8000-000000000000" not in {g["id"] for g in evidence["guests"]}
    assert "25 of 26" in finding.message


def test_gue004_orders_guests_with_and_without_a_time_zone_or_a_date(audit_rule):
    users = [guest("a-0000-4000-8000-000000000000", [], created="2026-03-01T00:00:00"),
             guest("b-0000-4000-8000-000000000000", [], created="2026-02-01T00:00:00Z"),
             guest("c-0000-4000-8000-000000000000", [])]
    del users[2]["createdDateTime"]
    outcome, findings = audit_rule("GUE004", selfServiceSignUpUsers=users)
    assert outcome.outcome == "fail"
    assert [g["id"][0] for g in findings[0].evidence["guests"]] == ["b", "a", "c"]


def test_gue004_max_ids_parameter(audit_rule):
    users = [guest(f"g{n}-0000-4000-8000-000000000000", []) for n in range(3)]
    _, findings = audit_rule("GUE004", parameters={"maxIds": 2}, selfServiceSignUpUsers=users)
    assert findings[0].evidence["listed"] == 2 and findings[0].evidence["withoutSponsor"] == 3
    with pytest.raises(InputError, match="GUE004"):
        audit_rule("GUE004", parameters={"maxIds": 0}, selfServiceSignUpUsers=users)


def test_gue004_an_invited_guest_in_the_self_service_source_is_not_counted_and_passes_nothing(audit_rule):
    # The source asks Graph for creationType SelfServiceSignUp only: an invited guest there is not
    # what Graph returns, so the record is set aside and the rule cannot conclude a pass.
    users = [guest("invited-0000-4000-8000-000000000000", [], creation_type="Invitation"),
             guest("sssu-0000-4000-8000-000000000000", SPONSOR)]
    outcome, findings = audit_rule("GUE004", selfServiceSignUpUsers=users)
    assert outcome.outcome == "notEvaluated" and findings == []
    assert "field 'creationType'" in (outcome.reason or "")


def test_gue004_partly_unknown_sponsors_report_what_is_known_and_never_pass(audit_rule):
    known_gap = [guest("a-0000-4000-8000-000000000000", []), guest("b-0000-4000-8000-000000000000", ...)]
    outcome, findings = audit_rule("GUE004", selfServiceSignUpUsers=known_gap)
    assert outcome.outcome == "fail" and findings[0].evidence["sponsorsUnknown"] == 1
    only_gap = [guest("a-0000-4000-8000-000000000000", SPONSOR), guest("b-0000-4000-8000-000000000000", ...)]
    outcome, _ = audit_rule("GUE004", selfServiceSignUpUsers=only_gap)
    assert outcome.outcome == "notEvaluated" and "sponsors of 1" in outcome.reason


# --- GUE005 -----------------------------------------------------------------------------------

GUESTS_IN_M365 = "./members/microsoft.graph.user/?$count=true&$filter=(userType eq 'Guest')"
QUARTERLY = {"pattern": {"type": "absoluteMonthly", "interval": 3},
             "range": {"type": "numbered", "numberOfOccurrences": 0, "startDate": "2026-04-27",
                       "endDate": "9999-12-31"}}


def review(rid: str, query: str = GUESTS_IN_M365, recurrence=QUARTERLY, auto: bool = True) -> dict:
    return {"id": rid, "displayName": rid, "status": "InProgress",
            "scope": {"@odata.type": "#microsoft.graph.accessReviewQueryScope", "query": query,
                      "queryType": "MicrosoftGraph"},
            "instanceEnumerationScope": {"@odata.type": "#microsoft.graph.accessReviewQueryScope",
                                         "query": "/groups?$filter=(groupTypes/any(c:c eq 'Unified'))",
                                         "queryType": "MicrosoftGraph"},
            "settings": {"autoApplyDecisionsEnabled": auto, "recurrence": recurrence}}


def app_review(rid: str, sp_id: str) -> dict:
    item = review(rid)
    del item["instanceEnumerationScope"]
    item["scope"] = {"@odata.type": "#microsoft.graph.principalResourceMembershipsScope",
                     "principalScopes": [{"@odata.type": "#microsoft.graph.accessReviewQueryScope",
                                          "query": "/users?$filter=(userType eq 'Guest')",
                                          "queryType": "MicrosoftGraph"}],
                     "resourceScopes": [{"@odata.type": "#microsoft.graph.accessReviewQueryScope",
                                         "query": f"/servicePrincipals/{sp_id}", "queryType": "MicrosoftGraph"}]}
    return item


FLOWS = [flow("B2X_1_Partner")]
APP = "3dfff01b-0afb-4a07-967f-d1ccbd81102a"
SP_ID = "5a8f0b3c-2e1d-4c6b-9f7a-0d1e2f3a4b5c"
OTHER_SP = "0d0d0d0d-1111-4222-8333-444444444444"
LINKED = dict(userFlowApplications=[listener("B2X_1_Partner", [APP])],
              linkedServicePrincipals=[{"id": SP_ID, "appId": APP, "displayName": "Partner Portal",
                                        "appRoleAssignmentRequired": False, "accountEnabled": True}])


def test_gue005_evidence_lists_the_reviews_that_do_not_count_and_why(audit_rule):
    reviews = [review("once", recurrence=None), review("members", query="./members/microsoft.graph.user"),
               review("ended", recurrence={"pattern": {"type": "weekly", "interval": 1},
                                           "range": {"type": "endDate", "startDate": "2025-01-06",
                                                     "endDate": "2026-06-30"}})]
    outcome, findings = audit_rule("GUE005", b2xUserFlows=FLOWS, accessReviewDefinitions=reviews)
    assert outcome.outcome == "fail"
    assert (findings[0].resource.type, findings[0].resource.id) == ("tenant", TENANT_ID)
    evidence = findings[0].evidence
    assert evidence["accessReviewDefinitions"] == 3
    not_counted = {r["id"]: r["notCounted"] for r in evidence["guestReviewsNotCounted"]}
    assert not_counted == {"once": "one-off: no recurrence", "ended": "its recurrence has ended"}


def test_gue005_single_occurrence_is_one_off(audit_rule):
    once = {"pattern": {"type": "weekly", "interval": 1},
            "range": {"type": "numbered", "numberOfOccurrences": 1, "startDate": "2026-05-01"}}
    outcome, _ = audit_rule("GUE005", b2xUserFlows=FLOWS, accessReviewDefinitions=[review("one", recurrence=once)])
    assert outcome.outcome == "fail"


def test_gue005_recurring_guest_review_passes_and_notes_manual_decisions(audit_rule):
    outcome, findings = audit_rule("GUE005", b2xUserFlows=FLOWS,
                                   accessReviewDefinitions=[review("guests", auto=False)])
    assert outcome.outcome == "pass" and findings == []
    assert "do not apply decisions automatically" in outcome.reason


def test_gue005_application_review_counts_only_for_a_linked_application(audit_rule):
    outcome, _ = audit_rule("GUE005", b2xUserFlows=FLOWS, accessReviewDefinitions=[app_review("app", SP_ID)], **LINKED)
    assert outcome.outcome == "pass"
    outcome, findings = audit_rule("GUE005", b2xUserFlows=FLOWS,
                                   accessReviewDefinitions=[app_review("other", OTHER_SP)], **LINKED)
    assert outcome.outcome == "fail"
    assert findings[0].evidence["guestReviewsNotCounted"][0]["notCounted"] == \
        "reviews an application that is not linked to a user flow"


def test_gue005_application_review_with_links_unknown_is_not_a_fail_or_a_pass(audit_rule):
    outcome, findings = audit_rule("GUE005", b2xUserFlows=FLOWS, accessReviewDefinitions=[app_review("app", SP_ID)],
                                   linkedServicePrincipals="forbidden")
    # nothing else counts, so a finding is reported, with the gap named
    assert outcome.outcome == "fail"
    assert "service principals were not collected" in outcome.reason
    assert findings[0].evidence["guestReviewsNotCounted"][0]["notCounted"].startswith("reviews an application whose")


def test_gue005_unlicensed_names_the_source_and_the_licence(audit_rule):
    outcome, findings = audit_rule("GUE005", b2xUserFlows=FLOWS, accessReviewDefinitions="unlicensed")
    assert outcome.outcome == "notEvaluated" and findings == []
    assert "accessReviewDefinitions is unlicensed" in outcome.reason
    assert any("Governance" in action or "P2" in action for action in outcome.actions)


def test_gue005_existing_guests_keep_it_applicable_after_sign_up_is_switched_off(audit_rule):
    outcome, _ = audit_rule("GUE005", authenticationFlowsPolicy=SIGN_UP_OFF, b2xUserFlows=FLOWS,
                            selfServiceSignUpUsers=[user("g1-0000-4000-8000-000000000000")],
                            accessReviewDefinitions=[])
    assert outcome.outcome == "fail"
    outcome, _ = audit_rule("GUE005", authenticationFlowsPolicy=SIGN_UP_OFF, b2xUserFlows=FLOWS,
                            selfServiceSignUpUsers=[], accessReviewDefinitions=[])
    assert outcome.outcome == "notApplicable"


# --- Microsoft's documented bodies --------------------------------------------------------------

# Verbatim from the Graph docs, "List definitions" (accessreviewset-list-definitions), examples 1 and 2.
DOCUMENTED_REVIEWS = json.loads("""[
  {"id": "98dcebed-c7f6-46f4-bcf3-4a3fccdb3e2a", "displayName": "Access Review",
   "scope": {"@odata.type": "#microsoft.graph.accessReviewQueryScope",
             "query": "/groups/119cc181-22f0-4e18-8537-264e7524ee0b/transitiveMembers", "queryType": "MicrosoftGraph"},
   "instanceEnumerationScope": {"@odata.type": "#microsoft.graph.accessReviewQueryScope",
             "query": "/groups/119cc181-22f0-4e18-8537-264e7524ee0b", "queryType": "MicrosoftGraph"},
   "reviewers": [{"query": "./manager", "queryType": "MicrosoftGraph", "queryRoot": "decisions"}],
   "settings": {"mailNotificationsEnabled": true, "reminderNotificationsEnabled": true,
                "justificationRequiredOnApproval": true, "defaultDecisionEnabled": false, "defaultDecision": "None",
                "instanceDurationInDays": 0, "autoApplyDecisionsEnabled": false, "recommendationsEnabled": true,
                "recurrence": {"pattern": {"type": "weekly", "interval": 1, "month": 0, "dayOfMonth": 0,
                                           "daysOfWeek": [], "firstDayOfWeek": "sunday", "index": "first"},
                               "range": {"type": "numbered", "numberOfOccurrences": 0, "recurrenceTimeZone": null,
                                         "startDate": "2020-09-11", "endDate": "9999-12-31"}}}},
  {"id": "cc701697-762c-439a-81f5-f58d680fde76", "displayName": "Review guest access across Microsoft 365 groups",
   "status": "InProgress",
   "scope": {"@odata.type": "#microsoft.graph.accessReviewQueryScope",
             "query": "./members/microsoft.graph.user/?$count=true&$filter=(userType eq 'Guest')",
             "queryType": "MicrosoftGraph"},
   "instanceEnumerationScope": {"@odata.type": "#microsoft.graph.accessReviewQueryScope",
             "query": "/groups?$filter=(groupTypes/any(c:c+eq+'Unified'))&$count=true", "queryType": "MicrosoftGraph"},
   "reviewers": [{"query": "./manager", "queryType": "MicrosoftGraph", "queryRoot": "decisions"}],
   "settings": {"mailNotificationsEnabled": true, "reminderNotificationsEnabled": true,
                "justificationRequiredOnApproval": true, "defaultDecisionEnabled": true,
                "defaultDecision": "Recommendation", "instanceDurationInDays": 25, "autoApplyDecisionsEnabled": true,
                "recommendationsEnabled": true,
                "recurrence": {"pattern": {"type": "absoluteMonthly", "interval": 3, "month": 0, "dayOfMonth": 0,
                                           "daysOfWeek": [], "firstDayOfWeek": "sunday", "index": "first"},
                               "range": {"type": "numbered", "numberOfOccurrences": 0, "recurrenceTimeZone": null,
                                         "startDate": "2021-04-27", "endDate": "9999-12-31"}},
                "applyActions": [{"@odata.type": "#microsoft.graph.removeAccessApplyAction"}]},
   "instances": []}
]""")


# Verbatim from the Graph docs, "Get authorizationPolicy" (v1.0): note it has no guestUserRoleId.
DOCUMENTED_POLICY = json.loads("""{
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/authorizationPolicy/$entity",
    "id": "authorizationPolicy", "allowInvitesFrom": "everyone", "allowedToSignUpEmailBasedSubscriptions": true,
    "allowedToUseSSPR": true, "allowEmailVerifiedUsersToJoinOrganization": true,
    "allowUserConsentForRiskyApps": false, "blockMsolPowerShell": null, "displayName": "Authorization Policy",
    "description": "Used to manage authorization related settings across the company.",
    "defaultUserRolePermissions": {"allowedToCreateApps": true, "allowedToCreateSecurityGroups": true,
                                   "allowedToReadOtherUsers": true,
                                   "permissionGrantPoliciesAssigned": ["just-user-read"]}
}""")


def test_documented_authorization_policy_and_review_bodies(tmp_path: Path):
    """The docs example policy has no guestUserRoleId, allowInvitesFrom everyone and both email flags on;
    the documented reviews include a quarterly review of guests across Microsoft 365 groups."""
    snapshot = write_snapshot(tmp_path / "doc", authorizationPolicy=[DOCUMENTED_POLICY], b2xUserFlows=FLOWS,
                              accessReviewDefinitions=DOCUMENTED_REVIEWS)
    outcome = {r.id: r for r in run_audit(open_snapshot(snapshot)).rules}
    assert outcome["GUE001"].outcome == "notEvaluated" and "guestUserRoleId" in outcome["GUE001"].reason
    assert outcome["GUE002"].outcome == "fail" and outcome["GUE003"].outcome == "fail"
    assert outcome["GUE005"].outcome == "pass"
    only_first = write_snapshot(tmp_path / "doc1", b2xUserFlows=FLOWS, accessReviewDefinitions=DOCUMENTED_REVIEWS[:1])
    assert {r.id: r.outcome for r in run_audit(open_snapshot(only_first)).rules}["GUE005"] == "fail"
