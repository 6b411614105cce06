"""`flowaudit plan` and `plan show` through the console script: what the plan says for each remedy,
on the bundled samples and on small tenants built for the case (GUE findings from synthetic results)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from graphdata import TENANT_ID, ca_policy, connector, flow, listener, user, write_snapshot
from plan_support import SAMPLES, changes_of, edit_plan, load, make_pfx, run
from report_support import SECRETS, hostile_tenant

from auditor.plan.remedies import load_remedies

GRAPH = "https://graph.microsoft.com"
SAS_SIGNATURE = "Qm9ndXNTYW1wbGVTaWduYXR1cmVOb3RBU2VjcmV0MDEyMzQ1"  # the contoso Logic App's sig=


def _plan_sample(tmp: Path, name: str) -> tuple[dict[str, Any], dict[str, Any], Path]:
    audit = run("audit", "--sample", name, "--output-dir", "out", "--fail-on", "none", "-q", cwd=tmp)
    assert audit.returncode == 0, audit.stderr
    proc = run("plan", "out/result.json", "--sample", name, "-o", "plan.json", cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    assert "wrote plan.json" in proc.stderr
    return load(tmp / "out" / "result.json"), load(tmp / "plan.json"), tmp / "plan.json"


@pytest.fixture(scope="module")
def contoso(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any], Path]:
    return _plan_sample(tmp_path_factory.mktemp("contoso"), "contoso")


def _steps(change: dict[str, Any]) -> list[dict[str, Any]]:
    return change["steps"]


def _checks(step: dict[str, Any]) -> dict[str, Any]:
    return {c["pointer"] or c["op"]: c for c in step["precondition"]}


# --- the whole plan ------------------------------------------------------------------------------

def test_every_open_finding_is_planned_or_says_why(contoso):
    result, plan, _ = contoso
    assert plan["format"] == "flowaudit-plan" and plan["version"] == 1 and plan["kind"] == "plan"
    assert plan["tenantId"] == result["tenantId"] and plan["cloud"] == "global" and plan["graphRoot"] == GRAPH
    assert plan["source"]["result"]["collectedAt"] == result["collectedAt"]
    planned = {link["fingerprint"] for c in plan["changes"] for link in c["findings"]}
    skipped = {n["fingerprint"]: n for n in plan["notPlanned"]}
    remedied = set(load_remedies())
    for finding in (f for f in result["findings"] if f["status"] == "open"):
        if finding["ruleId"] in remedied:
            assert finding["fingerprint"] in planned, finding["ruleId"]  # contoso has the data for each
        else:
            assert skipped[finding["fingerprint"]]["reason"].startswith("no automatic remedy")
    assert planned.isdisjoint(skipped)
    # every remedy the catalog's contoso story exercises (GUE rules are planned from synthetic results below)
    assert {c["ruleId"] for c in plan["changes"]} >= {"IDP001", "CAP001", "CAP002", "CAP003", "CON001", "CON002",
                                                     "CON003", "CON004", "CON005", "CON006", "GST001", "APP001"}


def test_changes_that_need_a_person_say_what_and_stay_inert(contoso):
    _, plan, path = contoso
    needs = {c["ruleId"]: [n["name"] for n in c["needs"]] for c in plan["changes"] if c["needs"]}
    assert needs["APP001"] == ["keep"]
    assert needs["CON002"] == needs["CON005"] == ["targetUrl"]
    for rule in ("CON001", "CON003", "CON004"):
        assert needs[rule] == ["pkcs12Path", "pkcs12PasswordEnv"]
    assert needs["CAP003"] == needs["CAP001"] == ["confirmed"]
    for change in plan["changes"]:
        assert change["automatic"] is (not change["needs"])
        assert all(value is None for value in change["inputs"].values())
    shown = run("plan", "show", str(path), cwd=path.parent)
    assert shown.returncode == 0, shown.stderr
    assert "needs input: targetUrl" in shown.stdout and "ready (automatic)" in shown.stdout


def test_no_secret_reaches_the_plan_file(contoso):
    _, _, path = contoso
    text = path.read_text(encoding="utf-8")
    assert SAS_SIGNATURE not in text
    assert "sig=REDACTED" in text  # the precondition compares the URL with its secret redacted
    assert "******" not in text  # Graph's masked Basic password is never copied as if it were one


# --- one remedy at a time -------------------------------------------------------------------------

def test_idp001_one_tenant_switch_fixes_every_flow(contoso):
    _, plan, _ = contoso
    [change] = changes_of(plan, "IDP001")
    assert {f["resource"]["id"] for f in change["findings"]} == {"B2X_1_EventsRegistration", "B2X_1_PartnerPortal",
                                                                 "B2X_1_SupplierOnboarding"}
    [step] = _steps(change)
    email = f"{GRAPH}/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/email"
    assert step["request"] == {"method": "PATCH", "url": email, "body": {
        "@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration",
        "allowExternalIdToUseEmailOtp": "enabled"}}
    assert step["permission"] == "Policy.ReadWrite.AuthenticationMethod"
    assert _checks(step)["/allowExternalIdToUseEmailOtp"]["value"] == "disabled"
    assert step["rollback"][0]["request"]["body"]["allowExternalIdToUseEmailOtp"] == "disabled"


def test_cap002_creates_a_report_only_policy_for_the_uncovered_applications(contoso):
    result, plan, _ = contoso
    uncovered = {f["resource"]["id"]: f["evidence"]["uncoveredApplications"] for f in result["findings"]
                 if f["ruleId"] == "CAP002"}
    changes = changes_of(plan, "CAP002")
    assert len(changes) == len(uncovered) == 2
    for change in changes:
        assert change["automatic"]
        [step] = _steps(change)
        body = step["request"]["body"]
        assert step["request"]["method"] == "POST"
        assert step["request"]["url"] == f"{GRAPH}/v1.0/identity/conditionalAccess/policies"
        assert body["state"] == "enabledForReportingButNotEnforced"
        assert body["grantControls"]["builtInControls"] == ["mfa"]
        assert body["conditions"]["users"]["includeGuestsOrExternalUsers"]["guestOrExternalUserTypes"] == \
            "b2bCollaborationGuest"
        flow_id = change["findings"][0]["resource"]["id"]
        assert body["conditions"]["applications"]["includeApplications"] == uncovered[flow_id]
        assert step["permission"] == "Policy.ReadWrite.ConditionalAccess"
        assert step["precondition"][0]["op"] == "noneMatch"
        # the rollback deletes exactly the policy the step created (its id comes from the response)
        assert step["rollback"][0]["request"] == {"method": "DELETE",
                                                  "url": f"{GRAPH}/v1.0/identity/conditionalAccess/policies/"
                                                         "{step:s1:/id}"}


def test_cap003_enables_the_report_only_policy_only_when_confirmed(contoso):
    _, plan, _ = contoso
    [change] = changes_of(plan, "CAP003")
    assert not change["automatic"] and change["needs"][0]["kind"] == "confirm"
    [step] = _steps(change)
    assert step["request"]["method"] == "PATCH" and step["request"]["body"] == {"state": "enabled"}
    assert step["request"]["url"].endswith("/policies/a1b2c3d4-0003-4e5f-8a9b-0c1d2e3f4a5b")
    checks = _checks(step)
    assert checks["/state"]["value"] == "enabledForReportingButNotEnforced"
    assert "/conditions" in checks and "/grantControls" in checks  # what was reviewed is what gets enforced


def test_cap001_is_one_ordered_change_create_then_exclude(contoso):
    _, plan, _ = contoso
    [change] = changes_of(plan, "CAP001")
    create, exclude = _steps(change)
    assert create["request"]["method"] == "POST"
    assert create["request"]["body"]["state"] == "enabledForReportingButNotEnforced"
    assert create["request"]["body"]["conditions"]["applications"]["includeApplications"] == [
        "3dfff01b-0afb-4a07-967f-d1ccbd81102a"]
    assert exclude["request"]["method"] == "PATCH"
    assert exclude["request"]["url"].endswith("/policies/a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a5b")
    users = exclude["request"]["body"]["conditions"]["users"]
    assert users["excludeGuestsOrExternalUsers"]["guestOrExternalUserTypes"] == "b2bCollaborationGuest"
    assert users["includeGuestsOrExternalUsers"]["guestOrExternalUserTypes"] == \
        "b2bCollaborationGuest,b2bCollaborationMember"  # the rest of the users condition is kept
    assert _checks(exclude)["/conditions/users"]["value"]["excludeGuestsOrExternalUsers"] is None
    # lifting an enforced requirement waits for a person
    assert change["needs"][0]["name"] == "confirmed"


def test_con006_deletes_and_its_rollback_needs_the_write_only_secret(contoso):
    _, plan, _ = contoso
    [change] = changes_of(plan, "CON006")
    [step] = _steps(change)
    assert change["automatic"]
    assert step["request"] == {"method": "DELETE",
                               "url": f"{GRAPH}/v1.0/identity/apiConnectors/1f2e3d4c-5b6a-4798-8a6b-5c4d3e2f1a0b"}
    ops = {(c["op"], c["pointer"]) for c in step["precondition"]}
    assert ("notEquals", "/postAttributeCollection/id") in ops and ("idsEqual", "") in ops
    [recreate] = step["rollback"]
    body = recreate["request"]["body"]
    assert recreate["request"]["method"] == "POST"
    assert body["targetUrl"] == "https://onboarding-v1.contoso.example/hooks/signup"
    assert body["authenticationConfiguration"] == {"@odata.type": "#microsoft.graph.pkcs12Certificate",
                                                   "pkcs12Value": {"$file": "pkcs12Path"},
                                                   "password": {"$env": "pkcs12PasswordEnv"}}
    assert [n["name"] for n in step["rollbackNeeds"]] == ["pkcs12Path", "pkcs12PasswordEnv"]


def test_gst001_disables_never_deletes(contoso):
    result, plan, _ = contoso
    changes = changes_of(plan, "GST001")
    assert len(changes) == sum(1 for f in result["findings"] if f["ruleId"] == "GST001")
    for change in changes:
        [step] = _steps(change)
        assert step["request"]["method"] == "PATCH" and step["request"]["body"] == {"accountEnabled": False}
        assert step["permission"] == "User.EnableDisableAccount.All"
        assert _checks(step)["/accountEnabled"]["value"] is True
        assert "/signInActivity/lastSignInDateTime" in _checks(step)  # a guest who signed in since is refused
        assert step["rollback"][0]["request"]["body"] == {"accountEnabled": True}
    assert not any(s["request"]["method"] == "DELETE" and "/users/" in s["request"]["url"]
                   for c in plan["changes"] for s in c["steps"])


def test_app001_removes_the_application_from_every_listener_but_the_kept_one(contoso):
    _, plan, _ = contoso
    [change] = changes_of(plan, "APP001")
    choices = [c["value"] for c in change["needs"][0]["choices"]]
    assert len(choices) == 2
    for step in _steps(change):
        assert step["when"]["notEquals"] in choices
        assert "b0e1638f-4c39-4cd1-82b3-91d1caef65f8" not in \
            step["request"]["body"]["sourceFilter"]["includeApplications"]
        assert step["request"]["url"].startswith(f"{GRAPH}/beta/identity/events/onSignupStart/")
        assert step["permission"] == "Policy.ReadWrite.ApplicationConfiguration"


def test_connector_url_and_certificate_changes(contoso):
    _, plan, _ = contoso
    [con002] = changes_of(plan, "CON002")
    [step] = _steps(con002)
    assert step["request"]["body"] == {"targetUrl": {"$input": "targetUrl"}}
    assert step["rollback"][0]["request"]["body"] == {
        "targetUrl": "http://crm-legacy.contoso.example:8080/api/validate-supplier"}
    [con005] = changes_of(plan, "CON005")
    [step] = _steps(con005)
    # the original URL carried a SAS signature: restoring it reads it from a variable, never the file
    assert step["rollback"][0]["request"]["body"] == {"targetUrl": {"$env": "originalUrlEnv"}}
    for rule in ("CON003", "CON004"):
        for change in changes_of(plan, rule):
            [step] = _steps(change)
            assert step["request"]["method"] == "POST" and step["request"]["url"].endswith("/uploadClientCertificate")
            assert step["request"]["body"] == {"pkcs12Value": {"$file": "pkcs12Path"},
                                               "password": {"$env": "pkcs12PasswordEnv"}}
    [con001] = changes_of(plan, "CON001")
    [step] = _steps(con001)
    assert step["request"]["body"]["authenticationConfiguration"]["@odata.type"] == "#microsoft.graph.pkcs12Certificate"
    assert _checks(step)["/authenticationConfiguration/@odata.type"]["op"] == "typeIs"


def test_fabrikam_ssu002_switches_sign_up_off(tmp_path: Path):
    _, plan, _ = _plan_sample(tmp_path, "fabrikam")
    [change] = [c for c in plan["changes"] if c["ruleId"] == "SSU002"]
    assert change["automatic"]
    [step] = _steps(change)
    assert step["request"] == {"method": "PATCH", "url": f"{GRAPH}/v1.0/policies/authenticationFlowsPolicy",
                               "body": {"selfServiceSignUp": {"isEnabled": False}}}
    assert step["permission"] == "Policy.ReadWrite.AuthenticationFlows"
    checks = _checks(step)
    assert checks["/selfServiceSignUp/isEnabled"]["value"] is True
    assert checks["idsEqual"]["value"] == []  # a flow created since would make switching off break it
    assert step["rollback"][0]["request"]["body"] == {"selfServiceSignUp": {"isEnabled": True}}


# --- GUE findings from a synthetic result --------------------------------------------------------

def _synthetic_result(tmp: Path, snapshot: Path, findings: list[dict[str, Any]]) -> Path:
    """Audit the snapshot, then add findings of rules that may not exist yet (GUE: another engineer's)."""
    audit = run("audit", "--snapshot", str(snapshot), "--output-dir", "out", "--fail-on", "none", "-q", cwd=tmp)
    assert audit.returncode == 0, audit.stderr
    result = load(tmp / "out" / "result.json")
    result["findings"] += [{"severity": "high", "title": f["ruleId"], "status": "open", "message": "synthetic",
                            "evidence": {}, "fingerprint": f"fp-{f['ruleId']}",
                            "resource": {"type": "authorizationPolicy", "id": "authorizationPolicy",
                                         "displayName": "Authorization Policy"}, **f} for f in findings]
    (tmp / "out" / "result.json").write_text(json.dumps(result), encoding="utf-8")
    return tmp / "out" / "result.json"


def test_gue_remedies_restrict_the_authorization_policy(tmp_path: Path):
    snapshot = write_snapshot(tmp_path / "snap", authorizationPolicy=[{
        "id": "authorizationPolicy", "allowInvitesFrom": "everyone", "allowedToSignUpEmailBasedSubscriptions": True,
        "allowEmailVerifiedUsersToJoinOrganization": False, "guestUserRoleId": "a0b1b346-4d3e-4e8b-98f8-753987be4970"}])
    result = _synthetic_result(tmp_path, snapshot, [{"ruleId": "GUE001"}, {"ruleId": "GUE002"}, {"ruleId": "GUE003"}])
    proc = run("plan", str(result), "--snapshot", str(snapshot), "-o", "plan.json", "--rules", "GUE001,GUE002,GUE003",
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    plan = load(tmp_path / "plan.json")
    bodies = {c["ruleId"]: c["steps"][0] for c in plan["changes"]}
    url = f"{GRAPH}/v1.0/policies/authorizationPolicy"
    assert bodies["GUE001"]["request"] == {"method": "PATCH", "url": url,
                                           "body": {"guestUserRoleId": "2af84b1e-32c8-42b7-82bc-daa82404023b"}}
    assert bodies["GUE002"]["request"]["body"] == {"allowInvitesFrom": "adminsGuestInvitersAndAllMembers"}
    # only the email-verified setting that is on is switched off
    assert bodies["GUE003"]["request"]["body"] == {"allowedToSignUpEmailBasedSubscriptions": False}
    for rule, expected in (("GUE001", {"/guestUserRoleId": "a0b1b346-4d3e-4e8b-98f8-753987be4970"}),
                           ("GUE002", {"/allowInvitesFrom": "everyone"}),
                           ("GUE003", {"/allowedToSignUpEmailBasedSubscriptions": True})):
        step = bodies[rule]
        assert {c["pointer"]: c["value"] for c in step["precondition"]} == expected
        assert step["permission"] == "Policy.ReadWrite.Authorization"
        assert step["rollback"][0]["request"]["body"] == {k.lstrip("/"): v for k, v in expected.items()}
    assert all(c["automatic"] for c in plan["changes"])
    assert not plan["notPlanned"]  # --rules: the quiet tenant's SSU002 is not considered


def test_a_rule_without_remedy_data_is_not_planned_with_the_reason(tmp_path: Path):
    snapshot = write_snapshot(tmp_path / "snap", authorizationPolicy=[{
        "id": "authorizationPolicy", "allowInvitesFrom": "adminsAndGuestInviters"}])
    result = _synthetic_result(tmp_path, snapshot, [{"ruleId": "GUE002"}])
    proc = run("plan", str(result), "--snapshot", str(snapshot), "-o", "plan.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    plan = load(tmp_path / "plan.json")
    # never "restrict" to something wider than what the tenant has
    assert not changes_of(plan, "GUE002")
    [skipped] = [n for n in plan["notPlanned"] if n["ruleId"] == "GUE002"]
    assert "everyone" in skipped["reason"]


def test_urls_are_for_the_snapshot_cloud(tmp_path: Path):
    snapshot = write_snapshot(tmp_path / "snap")
    manifest = load(snapshot / "manifest.json")
    manifest["cloud"] = "usgov"
    (snapshot / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    audit = run("audit", "--snapshot", str(snapshot), "--output-dir", "out", "--fail-on", "none", "-q", cwd=tmp_path)
    assert audit.returncode == 0, audit.stderr
    proc = run("plan", "out/result.json", "--snapshot", str(snapshot), "-o", "plan.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    plan = load(tmp_path / "plan.json")
    assert plan["graphRoot"] == "https://graph.microsoft.us"
    [change] = changes_of(plan, "SSU002")
    assert change["steps"][0]["request"]["url"] == "https://graph.microsoft.us/v1.0/policies/authenticationFlowsPolicy"


# --- options and inputs --------------------------------------------------------------------------

def test_permissions_lists_the_readwrite_permissions_per_change(contoso, tmp_path: Path):
    proc = run("plan", str(contoso[2].parent / "out" / "result.json"), "--sample", "contoso", "--permissions",
               "--rules", "GST001,CAP002", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "User.EnableDisableAccount.All" in proc.stdout and "Policy.ReadWrite.ConditionalAccess" in proc.stdout
    assert "Policy.ReadWrite.AuthenticationMethod" not in proc.stdout  # IDP001 was not selected
    assert not (tmp_path / "plan.json").exists()


def test_a_result_from_another_snapshot_is_refused(contoso, tmp_path: Path):
    proc = run("plan", str(contoso[2].parent / "out" / "result.json"), "--sample", "fabrikam", "-o", "plan.json",
               cwd=tmp_path)
    assert proc.returncode == 2
    assert "tenant" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "plan.json").exists()


def test_unknown_rule_in_rules_is_a_usage_error(contoso, tmp_path: Path):
    proc = run("plan", str(contoso[2].parent / "out" / "result.json"), "--sample", "contoso", "-o", "p.json",
               "--rules", "NOPE001", cwd=tmp_path)
    assert proc.returncode == 2 and "NOPE001" in proc.stderr


@pytest.mark.parametrize(("need", "value", "why"), [
    ("targetUrl", "http://crm.contoso.example/validate", "https"),
    ("targetUrl", "https://prod.logic.azure.com/invoke?sig=abc123", "secret"),
    ("targetUrl", "https://user:pw@crm.contoso.example/", "user name"),
])
def test_invalid_inputs_are_shown_and_refused_before_anything_is_sent(contoso, tmp_path: Path, need: str, value: str,
                                                                      why: str):
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(contoso[2].read_text(encoding="utf-8"), encoding="utf-8")
    change_id = changes_of(load(plan_file), "CON002")[0]["id"]
    edit_plan(plan_file, change_id, **{need: value})
    shown = run("plan", "show", str(plan_file), cwd=tmp_path)
    assert shown.returncode == 0 and f"{change_id}  CON002  invalid input" in shown.stdout
    applied = run("apply", str(plan_file), cwd=tmp_path)
    assert applied.returncode == 2
    assert why in applied.stderr and change_id in applied.stderr and "Traceback" not in applied.stderr


def test_certificate_inputs_are_checked(contoso, tmp_path: Path):
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(contoso[2].read_text(encoding="utf-8"), encoding="utf-8")
    change_id = changes_of(load(plan_file), "CON004")[0]["id"]
    edit_plan(plan_file, change_id, pkcs12Path="missing.pfx", pkcs12PasswordEnv="CONNECTOR_PFX_PASSWORD")
    assert "no such file" in run("plan", "show", str(plan_file), cwd=tmp_path).stdout
    (tmp_path / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    edit_plan(plan_file, change_id, pkcs12Path="cert.pem")
    assert "not a PKCS#12" in run("plan", "show", str(plan_file), cwd=tmp_path).stdout
    make_pfx(tmp_path / "connector.pfx")
    edit_plan(plan_file, change_id, pkcs12Path="connector.pfx", pkcs12PasswordEnv="AZURE_CLIENT_SECRET")
    shown = run("plan", "show", str(plan_file), cwd=tmp_path).stdout
    assert "flowaudit's own credentials" in shown  # a plan cannot make apply send the app's own secret
    edit_plan(plan_file, change_id, pkcs12PasswordEnv="CONNECTOR_PFX_PASSWORD")
    assert f"{change_id}  CON004  ready (inputs supplied)" in run("plan", "show", str(plan_file), cwd=tmp_path).stdout


@pytest.mark.parametrize("tamper", ["enforced-policy", "delete-user", "foreign-host", "unknown-key"])
def test_a_hand_edited_plan_cannot_break_the_promises(contoso, tmp_path: Path, tamper: str):
    plan = load(contoso[2])
    cap002 = changes_of(plan, "CAP002")[0]["steps"][0]
    gst001 = changes_of(plan, "GST001")[0]["steps"][0]
    if tamper == "enforced-policy":
        cap002["request"]["body"]["state"] = "enabled"
    elif tamper == "delete-user":
        gst001["request"]["method"] = "DELETE"
    elif tamper == "foreign-host":
        gst001["request"]["url"] = "https://attacker.example/v1.0/users/x"
    else:
        gst001["inputz"] = {}
    (tmp_path / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    proc = run("plan", "show", "plan.json", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("flowaudit: plan.json: invalid plan") and "Traceback" not in proc.stderr


def test_show_markdown_escapes_tenant_text(tmp_path: Path):
    snapshot = hostile_tenant(tmp_path / "snap")
    audit = run("audit", "--snapshot", str(snapshot), "--output-dir", "out", "--fail-on", "none", "-q", cwd=tmp_path)
    assert audit.returncode == 0, audit.stderr
    assert run("plan", "out/result.json", "--snapshot", str(snapshot), "-o", "plan.json", cwd=tmp_path).returncode == 0
    text = (tmp_path / "plan.json").read_text(encoding="utf-8")
    assert not any(secret in text for secret in SECRETS)  # URL secrets of the connectors stay out
    md = run("plan", "show", "plan.json", "--format", "md", cwd=tmp_path)
    assert md.returncode == 0, md.stderr
    assert "<script>" not in md.stdout and "\\<script\\>" in md.stdout
    assert md.stdout.startswith("# Change plan for tenant") and "## Permissions" in md.stdout
    assert not any(secret in md.stdout for secret in SECRETS)


def test_plan_sample_paths_and_snapshot_options(tmp_path: Path):
    audit = run("audit", "--sample", "fabrikam", "--output-dir", "out", "--fail-on", "none", "-q", cwd=tmp_path)
    assert audit.returncode == 0
    by_path = run("plan", "out/result.json", "--snapshot", str(SAMPLES / "fabrikam"), "-o", "a.json", cwd=tmp_path)
    assert by_path.returncode == 0, by_path.stderr
    both = run("plan", "out/result.json", "--snapshot", str(SAMPLES / "fabrikam"), "--sample", "fabrikam", "-o",
               "b.json", cwd=tmp_path)
    assert both.returncode == 2 and "either" in both.stderr
    neither = run("plan", "out/result.json", "-o", "c.json", cwd=tmp_path)
    assert neither.returncode == 2 and "--snapshot" in neither.stderr


def test_one_change_fixes_con002_and_con005_on_one_connector(tmp_path: Path):
    # A connector flagged CON002 whose URL also carries a key: one change fixes both findings.
    bad = connector("conn-1", name="Both", url="http://api.contoso.example/hook?code=abc123")
    snapshot = write_snapshot(tmp_path / "snap", apiConnectors=[bad],
                              b2xUserFlows=[flow("B2X_1_A", post_federation_signup=bad)],
                              userFlowApplications=[listener("B2X_1_A", ["3dfff01b-0afb-4a07-967f-d1ccbd81102a"])],
                              conditionalAccessPolicies=[ca_policy("p1", include_users=["GuestsOrExternalUsers"])],
                              selfServiceSignUpUsers=[user("11111111-2222-4333-8444-555555555555")])
    audit = run("audit", "--snapshot", str(snapshot), "--output-dir", "out", "--fail-on", "none", "-q", cwd=tmp_path)
    assert audit.returncode == 0, audit.stderr
    assert run("plan", "out/result.json", "--snapshot", str(snapshot), "-o", "plan.json", cwd=tmp_path).returncode == 0
    plan = load(tmp_path / "plan.json")
    [change] = [c for c in plan["changes"] if c["ruleId"] in ("CON002", "CON005")]
    assert {f["ruleId"] for f in change["findings"]} == {"CON002", "CON005"}
    assert "abc123" not in (tmp_path / "plan.json").read_text(encoding="utf-8")
    assert plan["tenantId"] == TENANT_ID
