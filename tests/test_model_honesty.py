"""Data that is not what Graph returns never passes (docs/snapshot-format.md, "Records").

Each case starts from a tenant where the rule fails, then breaks one record the way a damaged or
hand-edited snapshot would: a field Graph always returns removed, set to a wrong type, or to an
impossible value. The rule must then be ``notEvaluated`` naming the file, line and field (or still
``fail``), never ``pass`` or ``notApplicable``, and never crash. A field Graph documents as nullable
may be null: that is data, and the rule treats it as unknown.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from graphdata import (
    COLLECTED_AT,
    DEFAULT_SOURCES,
    TENANT_ID,
    assignment,
    attribute,
    ca_policy,
    cert,
    connector,
    flow,
    listener,
    sign_in,
    user,
    write_snapshot,
)

from auditor.engine import AuditOptions, run_rules
from auditor.model.tenant import Tenant
from auditor.result import RuleOutcome
from auditor.shapes import service_principal

APP = "3dfff01b-0afb-4a07-967f-d1ccbd81102a"
GUEST = "7c1f5a2e-9b8d-4e3f-a6c1-2b3d4e5f6a7b"
AGREE = "extension_d09380e2b4c6429a203fb816a04a7ad_Agree"
LONG_AGO = "2025-01-01T00:00:00Z"


def _run(rule_id: str, sources: dict[str, Any]) -> RuleOutcome:
    tenant = Tenant.from_records({**DEFAULT_SOURCES, **sources}, tenant_id=TENANT_ID,
                                 collected_at=datetime.fromisoformat(COLLECTED_AT.replace("Z", "+00:00")))
    return run_rules(tenant, AuditOptions(only={rule_id})).outcomes[0]


# Each tenant fails its rule as built; a mutation then edits (a deep copy of) one of its records.
def _connectors_expired() -> dict[str, Any]:
    return {"apiConnectors": [connector("conn-1", certs=[cert(not_after="2026-09-01T00:00:00Z")])]}


def _connectors_expiring() -> dict[str, Any]:
    return {"apiConnectors": [connector("conn-1", certs=[cert(not_after="2026-11-11T00:00:00Z")])]}


def _connectors_basic() -> dict[str, Any]:
    return {"apiConnectors": [connector("conn-1", auth="basic")]}


def _two_flows_one_app() -> dict[str, Any]:
    return {"b2xUserFlows": [flow("B2X_1_a"), flow("B2X_1_b")],
            "userFlowApplications": [listener("B2X_1_a", [APP], listener_id="l-a"),
                                     listener("B2X_1_b", [APP], listener_id="l-b")]}


def _boolean_attribute_defined() -> dict[str, Any]:
    return {"userFlowAttributes": [attribute(AGREE, "boolean")], "b2xUserFlows": [flow("B2X_1_a")]}


def _optional_attribute() -> dict[str, Any]:
    return {"b2xUserFlows": [flow("B2X_1_a", attributes=[assignment(AGREE, optional=True)])]}


def _choice_without_values() -> dict[str, Any]:
    return {"b2xUserFlows": [flow("B2X_1_a", attributes=[assignment(AGREE, input_type="DropdownSingleSelect")])]}


def _inactive_guest() -> dict[str, Any]:
    return {"selfServiceSignUpUsers": [user(GUEST, created=LONG_AGO, last_sign_in=LONG_AGO)]}


def _single_factor_sign_in() -> dict[str, Any]:
    return {"selfServiceSignUpUsers": [user(GUEST)], "signIns": [sign_in(GUEST)]}


def _sign_up_without_flows() -> dict[str, Any]:
    return {}


def _open_sign_up_to_app() -> dict[str, Any]:
    return {"b2xUserFlows": [flow("B2X_1_a")], "userFlowApplications": [listener("B2X_1_a", [APP])],
            "linkedServicePrincipals": [service_principal(APP, "Supplier Portal")]}


def _mfa_policy_excluding_guests() -> dict[str, Any]:
    return {"b2xUserFlows": [flow("B2X_1_a")], "userFlowApplications": [listener("B2X_1_a", [APP])],
            "conditionalAccessPolicies": [ca_policy("p-1", "MFA for everyone but guests",
                                                    exclude_guest_types="b2bCollaborationGuest")]}


def _mfa_policy_excluding_guests_by_keyword() -> dict[str, Any]:
    return {"b2xUserFlows": [flow("B2X_1_a")], "userFlowApplications": [listener("B2X_1_a", [APP])],
            "conditionalAccessPolicies": [ca_policy("p-1", "MFA for everyone but guests",
                                                    exclude_users=["GuestsOrExternalUsers"])]}


def _report_only_mfa_pilot() -> dict[str, Any]:
    return {"b2xUserFlows": [flow("B2X_1_a")], "userFlowApplications": [listener("B2X_1_a", [APP])],
            "conditionalAccessPolicies": [ca_policy("p-1", "Guest MFA pilot", include_apps=[APP],
                                                    state="enabledForReportingButNotEnforced")]}


def _guest_exclusion(record: dict[str, Any]) -> dict[str, Any]:
    return record["conditions"]["users"]["excludeGuestsOrExternalUsers"]


def _everyone_can_invite() -> dict[str, Any]:
    return {"authorizationPolicy": [{**DEFAULT_SOURCES["authorizationPolicy"][0], "allowInvitesFrom": "everyone"}]}


def _cert(record: dict[str, Any]) -> dict[str, Any]:
    return record["authenticationConfiguration"]["certificateList"][0]


def _del(container: Callable[[dict[str, Any]], dict[str, Any]], name: str) -> Callable[[dict[str, Any]], None]:
    return lambda record: container(record).pop(name)


def _set(container: Callable[[dict[str, Any]], dict[str, Any]], name: str,
         value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda record: container(record).__setitem__(name, value)


def _self(record: dict[str, Any]) -> dict[str, Any]:
    return record


CASES: list[tuple[str, str, Callable[[], dict[str, Any]], str, Callable[[dict[str, Any]], None], str]] = [
    # rule, case, tenant, source, mutation of its first record, text the reason must carry
    ("CON001", "no authenticationConfiguration", _connectors_basic, "apiConnectors",
     _del(_self, "authenticationConfiguration"), "field 'authenticationConfiguration'"),
    ("CON001", "authenticationConfiguration null", _connectors_basic, "apiConnectors",
     _set(_self, "authenticationConfiguration", None), "authenticate is unknown"),
    ("CON001", "@odata.type empty", _connectors_basic, "apiConnectors",
     _set(lambda r: r["authenticationConfiguration"], "@odata.type", ""), "authenticate is unknown"),
    ("CON001", "no @odata.type", _connectors_basic, "apiConnectors",
     _del(lambda r: r["authenticationConfiguration"], "@odata.type"), "authenticationConfiguration.@odata.type"),
    ("CON001", "authenticationConfiguration a string", _connectors_basic, "apiConnectors",
     _set(_self, "authenticationConfiguration", "basic"), "field 'authenticationConfiguration'"),
    ("CON003", "no notAfter", _connectors_expired, "apiConnectors",
     _del(_cert, "notAfter"), "certificateList.0.notAfter"),
    ("CON003", "notAfter null", _connectors_expired, "apiConnectors",
     _set(_cert, "notAfter", None), "certificateList.0.notAfter"),
    ("CON003", "notAfter 1e30", _connectors_expired, "apiConnectors",
     _set(_cert, "notAfter", 1e30), "certificateList.0.notAfter"),
    ("CON003", "notAfter 10**30", _connectors_expired, "apiConnectors",
     _set(_cert, "notAfter", 10**30), "certificateList.0.notAfter"),
    ("CON003", "notAfter a string", _connectors_expired, "apiConnectors",
     _set(_cert, "notAfter", "1772323200"), "certificateList.0.notAfter"),
    ("CON003", "no certificateList", _connectors_expired, "apiConnectors",
     _del(lambda r: r["authenticationConfiguration"], "certificateList"), "certificateList is missing"),
    ("CON003", "authenticationConfiguration null", _connectors_expired, "apiConnectors",
     _set(_self, "authenticationConfiguration", None), "authenticate is unknown"),
    ("CON004", "no notAfter", _connectors_expiring, "apiConnectors",
     _del(_cert, "notAfter"), "certificateList.0.notAfter"),
    ("CON004", "notAfter 1e30", _connectors_expiring, "apiConnectors",
     _set(_cert, "notAfter", 1e30), "certificateList.0.notAfter"),
    ("CON004", "isActive 'yes'", _connectors_expiring, "apiConnectors",
     _set(_cert, "isActive", "yes"), "certificateList.0.isActive"),
    ("CON005", "targetUrl null", lambda: {"apiConnectors": [connector("c", url="https://x.example/?sig=abc")]},
     "apiConnectors", _set(_self, "targetUrl", None), "null targetUrl"),
    ("CON005", "targetUrl not a URL", lambda: {"apiConnectors": [connector("c", url="https://x.example/?sig=abc")]},
     "apiConnectors", _set(_self, "targetUrl", "h"), "not a URL"),
    ("CON002", "no targetUrl", lambda: {"apiConnectors": [connector("c", url="http://x.example/")]},
     "apiConnectors", _del(_self, "targetUrl"), "lacks 'targetUrl'"),
    ("APP001", "no sourceFilter", _two_flows_one_app, "userFlowApplications",
     _del(_self, "sourceFilter"), "lacks 'sourceFilter'"),
    ("APP001", "sourceFilter null", _two_flows_one_app, "userFlowApplications",
     _set(_self, "sourceFilter", None), "lacks 'sourceFilter'"),
    ("APP001", "includeApplications missing", _two_flows_one_app, "userFlowApplications",
     _del(lambda r: r["sourceFilter"], "includeApplications"), "sourceFilter.includeApplications"),
    ("APP001", "includeApplications a string", _two_flows_one_app, "userFlowApplications",
     _set(lambda r: r["sourceFilter"], "includeApplications", APP), "sourceFilter.includeApplications"),
    ("APP001", "userFlow null", _two_flows_one_app, "userFlowApplications",
     _set(_self, "userFlow", None), "field 'userFlow'"),
    ("APP001", "flow id with a lone surrogate", _two_flows_one_app, "b2xUserFlows",
     _set(_self, "id", "B2X_1_a\ud800"), "field 'id'"),
    ("APP001", "listener's flow id padded", _two_flows_one_app, "userFlowApplications",
     _set(lambda r: r["userFlow"], "id", " B2X_1_a"), "userFlow.id"),
    ("APP001", "listener's flow id without B2X_1_", _two_flows_one_app, "userFlowApplications",
     _set(lambda r: r["userFlow"], "id", "a"), "userFlow.id"),
    ("APP001", "userFlow id empty", _two_flows_one_app, "userFlowApplications",
     _set(lambda r: r["userFlow"], "id", ""), "userFlow.id"),
    ("ATT003", "no dataType", _boolean_attribute_defined, "userFlowAttributes",
     _del(_self, "dataType"), "lacks 'dataType'"),
    ("ATT003", "dataType null", _boolean_attribute_defined, "userFlowAttributes",
     _set(_self, "dataType", None), "lacks 'dataType'"),
    ("ATT003", "dataType an integer", _boolean_attribute_defined, "userFlowAttributes",
     _set(_self, "dataType", 3), "field 'dataType'"),
    ("ATT003", "dataType with a lone surrogate", _boolean_attribute_defined, "userFlowAttributes",
     _set(_self, "dataType", "bool\ud800ean"), "field 'dataType'"),
    ("ATT003", "dataType empty", _boolean_attribute_defined, "userFlowAttributes",
     _set(_self, "dataType", ""), "field 'dataType'"),
    ("ATT005", "isOptional 'true'", _optional_attribute, "b2xUserFlows",
     _set(lambda r: r["userAttributeAssignments"][0], "isOptional", "true"), "isOptional"),
    ("ATT005", "isOptional missing", _optional_attribute, "b2xUserFlows",
     _del(lambda r: r["userAttributeAssignments"][0], "isOptional"), "isOptional"),
    ("ATT006", "userInputType missing", _choice_without_values, "b2xUserFlows",
     _del(lambda r: r["userAttributeAssignments"][0], "userInputType"), "userInputType"),
    ("GST001", "createdDateTime year 9999", _inactive_guest, "selfServiceSignUpUsers",
     lambda r: (r.update(createdDateTime="9999-12-31T23:59:59Z"), r.update(signInActivity=None)), "createdDateTime"),
    ("GST001", "createdDateTime an integer", _inactive_guest, "selfServiceSignUpUsers",
     lambda r: (r.update(createdDateTime=0), r.update(signInActivity=None)), "createdDateTime"),
    ("GST001", "lastSignInDateTime year 1 (not the sentinel)", _inactive_guest, "selfServiceSignUpUsers",
     _set(lambda r: r["signInActivity"], "lastSignInDateTime", "0001-06-01T00:00:00Z"), "lastSignInDateTime"),
    ("GST001", "created after the snapshot", _inactive_guest, "selfServiceSignUpUsers",
     lambda r: (r.update(createdDateTime="2099-01-01T00:00:00Z"), r.update(signInActivity=None)),
     "after the snapshot was taken"),
    ("GST001", "creationType null", _inactive_guest, "selfServiceSignUpUsers",
     _set(_self, "creationType", None), "creationType"),
    ("GST001", "accountEnabled 'yes'", _inactive_guest, "selfServiceSignUpUsers",
     _set(_self, "accountEnabled", "yes"), "accountEnabled"),
    ("SIG001", "status missing", _single_factor_sign_in, "signIns", _del(_self, "status"), "field 'status'"),
    ("SIG001", "errorCode '0'", _single_factor_sign_in, "signIns",
     _set(lambda r: r["status"], "errorCode", "0"), "status.errorCode"),
    ("SIG001", "authenticationRequirement null", _single_factor_sign_in, "signIns",
     _set(_self, "authenticationRequirement", None), "authenticationRequirement"),
    ("SIG001", "userId an integer", _single_factor_sign_in, "signIns", _set(_self, "userId", 7), "userId"),
    ("SIG001", "userId with a lone surrogate", _single_factor_sign_in, "signIns",
     _set(_self, "userId", GUEST + "\ud800"), "userId"),
    ("GST001", "user id with a lone surrogate", _inactive_guest, "selfServiceSignUpUsers",
     _set(_self, "id", GUEST + "\ud800"), "field 'id'"),
    ("APP001", "appId with a lone surrogate", _two_flows_one_app, "userFlowApplications",
     _set(lambda r: r["sourceFilter"], "includeApplications", [APP + "\udfff"]), "sourceFilter.includeApplications"),
    ("SIG003", "conditionalAccessStatus missing",
     lambda: {"selfServiceSignUpUsers": [user(GUEST)], "signIns": [sign_in(GUEST, ca_status="notApplied")]},
     "signIns", _del(_self, "conditionalAccessStatus"), "conditionalAccessStatus"),
    ("SSU002", "isEnabled 'yes'", _sign_up_without_flows, "authenticationFlowsPolicy",
     _set(lambda r: r["selfServiceSignUp"], "isEnabled", "yes"), "selfServiceSignUp.isEnabled"),
    ("SSU002", "selfServiceSignUp null", _sign_up_without_flows, "authenticationFlowsPolicy",
     _set(_self, "selfServiceSignUp", None), "selfServiceSignUp is null"),
    ("IDP001", "allowExternalIdToUseEmailOtp 0",
     lambda: {"b2xUserFlows": [flow("B2X_1_a")],
              "emailAuthenticationMethod": [{**DEFAULT_SOURCES["emailAuthenticationMethod"][0],
                                             "allowExternalIdToUseEmailOtp": "disabled"}]},
     "emailAuthenticationMethod", _set(_self, "allowExternalIdToUseEmailOtp", 0), "allowExternalIdToUseEmailOtp"),
    ("IDP001", "allowExternalIdToUseEmailOtp not a member",
     lambda: {"b2xUserFlows": [flow("B2X_1_a")],
              "emailAuthenticationMethod": [{**DEFAULT_SOURCES["emailAuthenticationMethod"][0],
                                             "allowExternalIdToUseEmailOtp": "disabled"}]},
     "emailAuthenticationMethod", _set(_self, "allowExternalIdToUseEmailOtp", "disab\ud800led"),
     "allowExternalIdToUseEmailOtp"),
    ("SIG001", "authenticationRequirement not a member", _single_factor_sign_in, "signIns",
     _set(_self, "authenticationRequirement", "singleFactorAuthentication "), "authenticationRequirement"),
    # found by the snapshot fuzzer (seed 7): a lax bool read 1 / "true" as "assignment required"
    ("APP003", "appRoleAssignmentRequired 1", _open_sign_up_to_app, "linkedServicePrincipals",
     _set(_self, "appRoleAssignmentRequired", 1), "field 'appRoleAssignmentRequired'"),
    ("APP003", "appRoleAssignmentRequired 'true'", _open_sign_up_to_app, "linkedServicePrincipals",
     _set(_self, "appRoleAssignmentRequired", "true"), "field 'appRoleAssignmentRequired'"),
    # a collection that is not strings was read as other strings ("7"): the exclusion vanished and
    # the policy seemed to cover guests
    ("CAP002", "excluded guest types an integer", _mfa_policy_excluding_guests, "conditionalAccessPolicies",
     _set(_guest_exclusion, "guestOrExternalUserTypes", 7), "guestOrExternalUserTypes"),
    ("CAP002", "excludeUsers a list of integers", _mfa_policy_excluding_guests_by_keyword,
     "conditionalAccessPolicies", _set(lambda r: r["conditions"]["users"], "excludeUsers", [7]), "excludeUsers"),
    ("CAP003", "state not a member", _report_only_mfa_pilot, "conditionalAccessPolicies",
     _set(_self, "state", "enabledForReporting"), "field 'state'"),
    ("GUE002", "allowInvitesFrom not a member", _everyone_can_invite, "authorizationPolicy",
     _set(_self, "allowInvitesFrom", "every\ud800one"), "not one of the documented values"),
    ("GUE002", "allowInvitesFrom unknownFutureValue", _everyone_can_invite, "authorizationPolicy",
     _set(_self, "allowInvitesFrom", "unknownFutureValue"), "not one of the documented values"),
]


@pytest.mark.parametrize("rule_id, case, tenant, source, mutate, reason", CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_data_that_is_not_what_graph_returns_never_passes(rule_id: str, case: str, tenant: Callable[[], dict[str, Any]],
                                                         source: str, mutate: Callable[[dict[str, Any]], None],
                                                         reason: str) -> None:
    sources = tenant()
    assert _run(rule_id, sources).outcome == "fail", f"{rule_id} must fail on the unbroken tenant"
    broken = copy.deepcopy({**DEFAULT_SOURCES, **sources})
    mutate(broken[source][0])
    outcome = _run(rule_id, broken)
    assert outcome.outcome in ("notEvaluated", "fail"), (case, outcome.outcome, outcome.reason)
    assert reason in (outcome.reason or ""), (case, outcome.reason)
    if reason.startswith(("field", "lacks")) or reason in ("creationType", "userInputType", "isOptional"):
        assert f"{source}.jsonl: line 1" in outcome.reason  # a record set aside: names the file and the line


def test_a_flow_name_is_free_text() -> None:
    # Flow names are the tenant's free text: markup and spaces are kept (and escaped by every output).
    hostile = "B2X_1_partners <img src=x onerror=\"alert(1)\">"
    outcome = _run("APP002", {"b2xUserFlows": [flow(hostile)]})
    assert outcome.outcome == "fail" and not outcome.reason


def test_nullable_fields_in_graphs_own_examples_still_read() -> None:
    # Graph's documented connector shapes carry no null: both read as before, nothing set aside.
    basic = {"id": "be1f769b-9b13-437e-b540-79a905c4932c", "displayName": "Test API",
             "targetUrl": "https://someapi.com/api/endpoint",
             "authenticationConfiguration": {"@odata.type": "#microsoft.graph.basicAuthentication",
                                             "username": "<USERNAME>", "password": "******"}}
    outcome = _run("CON001", {"apiConnectors": [basic]})
    assert outcome.outcome == "fail" and not outcome.reason


def test_a_certificate_valid_forever_is_not_an_impossible_date() -> None:
    forever = connector("c", certs=[cert(not_after="9999-12-31T23:59:59Z")])
    assert _run("CON003", {"apiConnectors": [forever]}).outcome == "pass"
    assert _run("CON004", {"apiConnectors": [forever]}).outcome == "pass"


def test_the_never_signed_in_sentinel_is_data() -> None:
    # 0001-01-01T00:00:00Z is how signInActivity says "never": judged by creation date, not damage.
    never = user(GUEST, created=LONG_AGO, last_sign_in="0001-01-01T00:00:00Z")
    outcome = _run("GST001", {"selfServiceSignUpUsers": [never]})
    assert outcome.outcome == "fail" and "not judged" not in (outcome.reason or "")


# --- lone surrogates: kept, and written safely by every output ------------------------------------

def test_lone_surrogates_are_written_safely_by_every_output_and_the_console(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "snap", apiConnectors=[connector("c1", auth="basic")],
                          b2xUserFlows=[flow("B2X_1_a")], userFlowApplications="forbidden",
                          selfServiceSignUpUsers=[user(GUEST, created=LONG_AGO, last_sign_in=LONG_AGO)])
    # The writer encodes UTF-8 (it cannot hold a lone surrogate); Graph sends them \\u-escaped, like this.
    bad_connector = {**json.loads((snap / "apiConnectors.jsonl").read_text()),
                     "displayName": "Bad \ud800 name", "targetUrl": "https://api.example/\udfff"}
    (snap / "apiConnectors.jsonl").write_text(json.dumps(bad_connector) + "\n")
    guest = {**json.loads((snap / "selfServiceSignUpUsers.jsonl").read_text()), "displayName": "Guest \udc80"}
    (snap / "selfServiceSignUpUsers.jsonl").write_text(json.dumps(guest) + "\n")
    manifest = json.loads((snap / "manifest.json").read_text())
    manifest["tenantId"] = "tenant-\ud800"
    manifest["tool"]["version"] = "0.1\udc80"
    manifest["sources"]["userFlowApplications"]["error"]["message"] = "refused \ud800"
    manifest["sources"]["userFlowApplications"]["permission"] = "Policy.Read.\ud801"
    (snap / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "out"
    proc = subprocess.run([str(Path(sys.executable).with_name("flowaudit")), "audit", "--snapshot", str(snap),
                           "--format", "json,html,sarif,junit,md", "--output-dir", str(out), "--fail-on", "none"],
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "UnicodeEncodeError" not in proc.stderr
    assert "\ufffd" in proc.stdout or "Bad" in proc.stdout  # the console summary was written
    for name in ("result.json", "report.html", "results.sarif", "junit.xml", "summary.md"):
        text = (out / name).read_text(encoding="utf-8")  # strict UTF-8: no surrogate reached a file
        assert "\ufffd" in text, name
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert result["tenantId"] == "tenant-\ufffd"
    assert result["snapshot"]["collectedBy"]["version"] == "0.1\ufffd"
    assert result["snapshot"]["sources"]["userFlowApplications"]["error"]["message"] == "refused \ufffd"
    con = next(f for f in result["findings"] if f["ruleId"] == "CON001")
    assert con["resource"]["displayName"] == "Bad \ufffd name"
    assert con["evidence"]["targetUrl"] == "https://api.example/\ufffd"
