"""Audit Microsoft's documented response bodies (tests/data, copied from the docs) verbatim.

These are the shapes a tenant we have never seen will send, quirks included (PascalCase enums,
`@odata.type` without `#`, old provider shape, duplicate keys). Every rule must reach a real
outcome on them: no internal error, and the findings the documented data implies.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import DATA
from graphdata import ca_policy, write_snapshot

from auditor.engine import run_audit
from auditor.snapshot import open_snapshot

EXAMPLES = DATA


def _values(name: str) -> list[dict]:
    data = json.loads((EXAMPLES / name).read_text())
    return data.get("value", [data])


def _documented_tenant(tmp_path: Path, **overrides) -> Path:
    flows = _values("b2x-user-flows-list-expand-identityproviders.json")
    for flow in flows:
        flow["userFlowIdentityProviders"] = _values("b2x-user-flow-userflowidentityproviders-beta.json")
        flow["userAttributeAssignments"] = _values("b2x-user-flow-user-attribute-assignments-expand-userattribute.json")
        flow["apiConnectorConfiguration"] = json.loads(
            (EXAMPLES / "b2x-user-flow-api-connector-configuration.json").read_text())
    sources = dict(
        authenticationFlowsPolicy=_values("authentication-flows-policy.json"),
        b2xUserFlows=flows,
        userFlowAttributes=_values("user-flow-attributes-list.json"),
        apiConnectors=_values("api-connectors-list.json") + _values("api-connector-upload-client-certificate.json"),
        identityProviders=_values("identity-providers-list.json"),
        userFlowApplications=_values("onsignupstart-list-expand-userflow-beta.json"),
        conditionalAccessPolicies=_values("conditional-access-policies-list.json")
        + _values("conditional-access-policy-get.json"),
        authenticationStrengthPolicies=_values("authentication-strength-policies-list.json"),
        emailAuthenticationMethod=_values("email-authentication-method-configuration.json"),
        authorizationPolicy=_values("authorization-policy.json"),
        selfServiceSignUpUsers=[dict(u, creationType="SelfServiceSignUp")
                                for u in _values("users-list-signinactivity.json")],
        signIns=_values("signins-list-beta.json"),
    )
    sources.update(overrides)
    return write_snapshot(tmp_path / "documented", **sources)


def test_every_rule_reaches_an_outcome_on_the_documented_shapes(tmp_path: Path) -> None:
    result = run_audit(open_snapshot(_documented_tenant(tmp_path)))
    errors = [(r.id, r.reason) for r in result.rules if r.reason and "internal error" in r.reason]
    assert errors == []
    outcome = {r.id: r.outcome for r in result.rules}
    by_rule: dict[str, set[str]] = {}
    for f in result.findings:
        by_rule.setdefault(f.ruleId, set()).add(f.resource.id)
    # the documented connectors: one Basic, one certificate that expired in 2022
    assert by_rule["CON001"] == {"be1f769b-9b13-437e-b540-79a905c4932c"}
    assert by_rule["CON003"] == {"45715bb8-13f9-4bf6-927f-ef96c102d394"}
    # the documented flows offer Facebook ("Facebook-OAuth") and Google ("Google-OAuth", old shape);
    # the documented tenant configured Facebook only
    assert outcome["IDP002"] == "fail"
    # attribute assignments: a RadioSingleSelect built-in with values and a string custom attribute
    assert outcome["ATT001"] == "pass" and outcome["ATT006"] == "pass"
    # the documented listeners link two apps to B2X_1_Partner, which is not among the documented flows
    assert by_rule["APP002"] == {"B2X_1_PartnerSignUp", "B2X_1_ContosoSignUp"}
    # both documented users last signed in during 2021: inactive long before collectedAt
    assert by_rule["GST001"] == {"1aecaf40-dc3a-461f-88a8-d06994e12898", "f0662ee5-84b1-43d6-8338-769cce1bc141"}


def test_null_and_missing_nested_objects_are_tolerated(tmp_path: Path) -> None:
    """Session-only CA policies have grantControls null; users may have no identities or activity."""
    session_only = ca_policy("session-only")
    session_only["grantControls"] = None
    no_conditions = ca_policy("no-conditions")
    no_conditions["conditions"] = None
    users = [{"id": "u1", "creationType": "SelfServiceSignUp", "identities": None, "signInActivity": None,
              "createdDateTime": None}]
    listeners = [{"@odata.type": "#microsoft.graph.invokeUserFlowListener", "id": "l1", "sourceFilter": None,
                  "userFlow": None}]
    path = _documented_tenant(tmp_path, conditionalAccessPolicies=[session_only, no_conditions],
                              selfServiceSignUpUsers=users, userFlowApplications=listeners,
                              signIns=[{"id": "s1", "userId": "u1", "status": None,
                                        "appliedConditionalAccessPolicies": None}])
    result = run_audit(open_snapshot(path))
    errors = [(r.id, r.reason) for r in result.rules if r.reason and "internal error" in r.reason]
    assert errors == []
