"""Unit tests of the Conditional Access coverage logic shared by the CAP rules."""

import json

from conftest import SHARED
from graphdata import ca_policy, flow, strength

from auditor.checks._coverage import (
    UNKNOWN_APPS,
    covers,
    covers_guests,
    satisfies_mfa,
    strength_without_mfa_alternative,
    targets_app,
    unresolved_scope,
)
from auditor.model.graph import ConditionalAccessPolicy, UserFlow

APP_A = "3dfff01b-0afb-4a07-967f-d1ccbd81102a"
APP_B = "b0e1638f-4c39-4cd1-82b3-91d1caef65f8"


def policy(**kwargs) -> ConditionalAccessPolicy:
    return ConditionalAccessPolicy.model_validate(ca_policy("p1", **kwargs))


def test_all_users_and_all_apps_cover_any_linked_app():
    assert covers(policy(), APP_A)


def test_only_enforced_policies_cover_unless_report_only_is_asked_for():
    assert not covers(policy(state="disabled"), APP_A)
    assert not covers(policy(state="enabledForReportingButNotEnforced"), APP_A)
    assert covers(policy(state="enabledForReportingButNotEnforced"), APP_A, report_only=True)
    assert not covers(policy(state="disabled"), APP_A, report_only=True)


def test_guests_literal_includes_and_excludes():
    assert covers_guests(policy(include_users=["GuestsOrExternalUsers"]))
    assert covers_guests(policy(include_users=["guestsorexternalusers"]))  # enum compared case-insensitively
    assert not covers_guests(policy(exclude_users=["GuestsOrExternalUsers"]))
    assert not covers_guests(policy(include_users=["a702a13d-a437-4a07-8a7e-8c052de62dfd"]))


def test_guest_types_csv_counts_only_with_b2b_collaboration_guest():
    assert covers_guests(policy(include_users=[], guest_types="internalGuest,b2bCollaborationGuest"))
    assert not covers_guests(policy(include_users=[], guest_types="internalGuest"))
    assert not covers_guests(policy(exclude_guest_types="b2bCollaborationGuest,b2bDirectConnectUser"))
    assert covers_guests(policy(exclude_guest_types="internalGuest"))


def test_enumerated_external_tenants_cannot_include_mail_based_guests():
    assert not covers_guests(policy(include_users=[], guest_types="b2bCollaborationGuest",
                                    guest_tenants=["9e6b2a5c-0000-4000-8000-000000000001"]))


def test_group_scoped_policy_is_not_coverage_but_is_named_unresolved():
    scoped = policy(include_users=[], include_groups=["0d2f1a7e-0000-4000-8000-000000000002"])
    assert not covers_guests(scoped)
    assert unresolved_scope(scoped)
    assert not unresolved_scope(policy())


def test_applications_include_and_exclude_per_app_case_insensitively():
    only_a = policy(include_apps=[APP_A.upper()])
    assert targets_app(only_a, APP_A) and not targets_app(only_a, APP_B)
    all_but_a = policy(exclude_apps=[APP_A.upper()])
    assert not targets_app(all_but_a, APP_A) and targets_app(all_but_a, APP_B)


def test_fallback_counts_only_policies_that_target_all_applications():
    assert targets_app(policy(), UNKNOWN_APPS)
    assert targets_app(policy(exclude_apps=[APP_A]), UNKNOWN_APPS)  # exclusions cannot be judged
    assert not targets_app(policy(include_apps=[APP_A]), UNKNOWN_APPS)


def test_authentication_strength_counts_as_mfa_only_without_mail_based_providers():
    by_strength = policy(controls=[], auth_strength=strength())
    assert not satisfies_mfa(by_strength, mail_based=True)
    assert satisfies_mfa(by_strength, mail_based=False)
    assert satisfies_mfa(policy(controls=["mfa"]), mail_based=True)
    assert not satisfies_mfa(policy(controls=["compliantDevice"]), mail_based=False)


def test_strength_is_harmless_only_with_mfa_as_an_or_alternative():
    assert strength_without_mfa_alternative(policy(controls=[], auth_strength=strength()))
    assert strength_without_mfa_alternative(policy(controls=["mfa"], operator="AND", auth_strength=strength()))
    assert not strength_without_mfa_alternative(policy(controls=["mfa"], operator="OR", auth_strength=strength()))
    assert not strength_without_mfa_alternative(policy(controls=["mfa"]))


def test_real_graph_policy_excluding_guests_does_not_cover_them():
    raw = json.loads((SHARED / "graph-examples" / "conditional-access-policy-get.json").read_text())
    real = ConditionalAccessPolicy.model_validate({**raw, "state": "enabled"})
    assert not covers_guests(real)  # excludeUsers carries "GuestsOrExternalUsers"
    assert not covers(real, APP_A)


def test_mail_based_providers_of_a_flow():
    assert UserFlow.model_validate(flow("B2X_1_x", providers=["AADSignup-OAUTH", "Google-OAUTH"])).mail_based_providers()
    assert not UserFlow.model_validate(flow("B2X_1_x", providers=["AADSignup-OAUTH"])).mail_based_providers()
