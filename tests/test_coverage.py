"""Unit tests of the Conditional Access coverage logic shared by the CAP rules."""

import json

from conftest import DATA
from graphdata import ca_policy, flow, strength

from auditor.checks._coverage import UNKNOWN_APPS, PolicyView
from auditor.model.graph import ConditionalAccessPolicy, UserFlow

APP_A = "3dfff01b-0afb-4a07-967f-d1ccbd81102a"
APP_B = "b0e1638f-4c39-4cd1-82b3-91d1caef65f8"


def policy(**kwargs) -> PolicyView:
    return PolicyView.of(ConditionalAccessPolicy.model_validate(ca_policy("p1", **kwargs)))


def test_all_users_and_all_apps_cover_any_linked_app():
    assert policy().covers(APP_A)


def test_only_enforced_policies_cover_unless_report_only_is_asked_for():
    assert not policy(state="disabled").covers(APP_A)
    assert not policy(state="enabledForReportingButNotEnforced").covers(APP_A)
    assert policy(state="enabledForReportingButNotEnforced").covers(APP_A, report_only=True)
    assert not policy(state="disabled").covers(APP_A, report_only=True)


def test_guests_literal_includes_and_excludes():
    assert policy(include_users=["GuestsOrExternalUsers"]).covers_guests
    assert policy(include_users=["guestsorexternalusers"]).covers_guests  # enum compared case-insensitively
    assert not policy(exclude_users=["GuestsOrExternalUsers"]).covers_guests
    assert not policy(include_users=["a702a13d-a437-4a07-8a7e-8c052de62dfd"]).covers_guests


def test_guest_types_csv_counts_only_with_b2b_collaboration_guest():
    assert policy(include_users=[], guest_types="internalGuest,b2bCollaborationGuest").covers_guests
    assert not policy(include_users=[], guest_types="internalGuest").covers_guests
    assert not policy(exclude_guest_types="b2bCollaborationGuest,b2bDirectConnectUser").covers_guests
    assert policy(exclude_guest_types="internalGuest").covers_guests


def test_enumerated_external_tenants_cannot_include_mail_based_guests():
    assert not policy(include_users=[], guest_types="b2bCollaborationGuest",
                                    guest_tenants=["9e6b2a5c-0000-4000-8000-000000000001"]).covers_guests


def test_group_scoped_policy_is_not_coverage_but_is_named_unresolved():
    scoped = policy(include_users=[], include_groups=["0d2f1a7e-0000-4000-8000-000000000002"])
    assert not scoped.covers_guests
    assert scoped.unresolved_scope
    assert not policy().unresolved_scope


def test_applications_include_and_exclude_per_app_case_insensitively():
    only_a = policy(include_apps=[APP_A.upper()])
    assert only_a.targets_app(APP_A) and not only_a.targets_app(APP_B)
    all_but_a = policy(exclude_apps=[APP_A.upper()])
    assert not all_but_a.targets_app(APP_A) and all_but_a.targets_app(APP_B)


def test_fallback_counts_only_policies_that_target_all_applications():
    assert policy().targets_app(UNKNOWN_APPS)
    assert policy(exclude_apps=[APP_A]).targets_app(UNKNOWN_APPS)  # exclusions cannot be judged
    assert not policy(include_apps=[APP_A]).targets_app(UNKNOWN_APPS)


def test_authentication_strength_counts_as_mfa_only_without_mail_based_providers():
    by_strength = policy(controls=[], auth_strength=strength())
    assert not by_strength.satisfies_mfa(mail_based=True)
    assert by_strength.satisfies_mfa(mail_based=False)
    assert policy(controls=["mfa"]).satisfies_mfa(mail_based=True)
    assert not policy(controls=["compliantDevice"]).satisfies_mfa(mail_based=False)


def test_strength_is_harmless_only_with_mfa_as_an_or_alternative():
    assert policy(controls=[], auth_strength=strength()).strength_without_mfa_alternative
    assert policy(controls=["mfa"], operator="AND", auth_strength=strength()).strength_without_mfa_alternative
    assert not policy(controls=["mfa"], operator="OR", auth_strength=strength()).strength_without_mfa_alternative
    assert not policy(controls=["mfa"]).strength_without_mfa_alternative


def test_real_graph_policy_excluding_guests_does_not_cover_them():
    raw = json.loads((DATA / "conditional-access-policy-get.json").read_text())
    real = PolicyView.of(ConditionalAccessPolicy.model_validate({**raw, "state": "enabled"}))
    assert not real.covers_guests  # excludeUsers carries "GuestsOrExternalUsers"
    assert not real.covers(APP_A)
    assert real.mfa_control and not real.has_strength


def test_mail_based_providers_of_a_flow():
    assert UserFlow.model_validate(flow("B2X_1_x", providers=["AADSignup-OAUTH", "Google-OAUTH"])).mail_based_providers()
    assert not UserFlow.model_validate(flow("B2X_1_x", providers=["AADSignup-OAUTH"])).mail_based_providers()
