"""`flowaudit apply` through the console script against the Graph double (which now keeps state):
dry run, apply, refusal on changed preconditions, rollback of a failed multi-step change, secrets
from the environment, rollback.json, and the exit codes."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from collect_support import TOKEN, make_token, serve_tenant
from graph_double import GraphDouble
from graphdata import ca_policy, cert, connector, flow, listener, provider, strength, user
from plan_support import (
    PFX_PASSWORD,
    TOKEN_ENV,
    changes_of,
    edit_plan,
    findings_by_rule,
    live,
    load,
    make_pfx,
    run,
    serve_sample,
)

APP = "3dfff01b-0afb-4a07-967f-d1ccbd81102a"
EMAIL = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/email"
POLICIES = "/identity/conditionalAccess/policies"


@pytest.fixture
def double() -> Iterator[GraphDouble]:
    server = GraphDouble(TOKEN).start()
    yield server
    server.stop()


def collect_and_plan(tmp: Path, double: GraphDouble, *plan_args: str, name: str = "before") -> Path:
    """The real collect from the double, an audit, and a plan of it; returns the plan's path."""
    collected = run("collect", "-o", name, *live(double), "-q", cwd=tmp, env=TOKEN_ENV)
    assert collected.returncode == 0, collected.stderr
    audited = run("audit", "--snapshot", name, "--output-dir", f"{name}-out", "--fail-on", "none", "-q", cwd=tmp)
    assert audited.returncode == 0, audited.stderr
    planned = run("plan", f"{name}-out/result.json", "--snapshot", name, "-o", "plan.json", *plan_args, cwd=tmp)
    assert planned.returncode == 0, planned.stderr
    return tmp / "plan.json"


def audit_again(tmp: Path, double: GraphDouble, name: str) -> Path:
    collected = run("collect", "-o", name, *live(double), "-q", cwd=tmp, env=TOKEN_ENV)
    assert collected.returncode == 0, collected.stderr
    audited = run("audit", "--snapshot", name, "--output-dir", f"{name}-out", "--fail-on", "none", "-q", cwd=tmp)
    assert audited.returncode == 0, audited.stderr
    return tmp / f"{name}-out" / "result.json"


def apply(tmp: Path, double: GraphDouble, plan: str = "plan.json", *args: str,
          env: dict[str, str] | None = None) -> Any:
    return run("apply", plan, "--yes", *live(double), *args, cwd=tmp, env={**TOKEN_ENV, **(env or {})})


def log_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def one_line_error(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("flowaudit:")]
    assert len(lines) == 1, stderr
    return lines[0]


def _mail_tenant(double: GraphDouble, **overrides: Any) -> None:
    """Email OTP offered by a flow but disabled for external users (IDP001), one inactive guest (GST001)."""
    serve_tenant(double, **{
        "b2xUserFlows": [flow("B2X_1_Partners", providers=("EmailOtpSignup-OAUTH",))],
        "userFlowApplications": [listener("B2X_1_Partners", [APP])],
        "conditionalAccessPolicies": [ca_policy("p-mfa", include_users=["GuestsOrExternalUsers"])],
        "emailAuthenticationMethod": [{"@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration",
                                       "id": "Email", "state": "enabled", "allowExternalIdToUseEmailOtp": "disabled"}],
        "selfServiceSignUpUsers": [user("11111111-0000-4000-8000-000000000001", last_sign_in="2024-01-05T00:00:00Z",
                                        created="2023-06-01T00:00:00Z")],
        **overrides})


# --- dry run -------------------------------------------------------------------------------------

def test_dry_run_prints_what_would_be_sent_and_sends_nothing(tmp_path: Path, double: GraphDouble):
    serve_sample(double, "fabrikam")
    collect_and_plan(tmp_path, double)
    double.requests.clear()
    proc = run("apply", "plan.json", *live(double), cwd=tmp_path, env=TOKEN_ENV)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Dry run: nothing was sent")
    assert "would send: PATCH https://graph.microsoft.com/v1.0/policies/authenticationFlowsPolicy" in proc.stdout
    assert '{"selfServiceSignUp":{"isEnabled":false}}' in proc.stdout
    assert "would check: self-service sign-up is on" in proc.stdout
    assert double.requests == []
    assert not (tmp_path / "rollback.json").exists() and not (tmp_path / "apply-log.jsonl").exists()


# --- apply, log, rollback.json -------------------------------------------------------------------

def test_apply_switches_sign_up_off_and_rollback_json_switches_it_on_again(tmp_path: Path, double: GraphDouble):
    serve_sample(double, "fabrikam")
    collect_and_plan(tmp_path, double)
    before = findings_by_rule(tmp_path / "before-out" / "result.json")
    assert before["SSU002"] == 1
    proc = apply(tmp_path, double)
    assert proc.returncode == 0, proc.stderr
    assert "C001  SSU002  applied" in proc.stdout and "1 applied, 0 refused, 0 failed" in proc.stdout
    assert double.current("/policies/authenticationFlowsPolicy")["selfServiceSignUp"] == {"isEnabled": False}
    [write] = double.writes()
    assert (write.method, write.path, write.body, write.status) == (
        "PATCH", "/v1.0/policies/authenticationFlowsPolicy", {"selfServiceSignUp": {"isEnabled": False}}, 204)
    assert write.authorization == f"Bearer {TOKEN}"

    log = log_lines(tmp_path / "apply-log.jsonl")
    assert [(e["phase"], e["method"], e["status"]) for e in log] == [
        ("check", "GET", 200), ("check", "GET", 200), ("apply", "PATCH", 204)]
    assert all(e["time"].endswith("Z") and e["change"] == "C001" for e in log)
    assert TOKEN not in (tmp_path / "apply-log.jsonl").read_text(encoding="utf-8")
    assert findings_by_rule(audit_again(tmp_path, double, "after"))["SSU002"] == 0

    rollback = load(tmp_path / "rollback.json")
    assert rollback["kind"] == "rollback" and rollback["source"]["plan"]["path"] == "plan.json"
    [undo] = rollback["changes"]
    assert undo["automatic"] and undo["steps"][0]["request"]["body"] == {"selfServiceSignUp": {"isEnabled": True}}
    undone = apply(tmp_path, double, "rollback.json", "--output-dir", "undo")
    assert undone.returncode == 0, undone.stderr
    assert double.current("/policies/authenticationFlowsPolicy")["selfServiceSignUp"] == {"isEnabled": True}
    assert findings_by_rule(audit_again(tmp_path, double, "undone")) == before
    assert (tmp_path / "undo" / "rollback.json").exists()  # the undo of the undo


def test_an_earlier_rollback_plan_is_never_overwritten(tmp_path: Path, double: GraphDouble):
    serve_sample(double, "fabrikam")
    collect_and_plan(tmp_path, double)
    assert apply(tmp_path, double).returncode == 0
    first = (tmp_path / "rollback.json").read_text(encoding="utf-8")
    again = apply(tmp_path, double)  # sign-up is off now: the change is refused
    assert again.returncode == 1
    assert (tmp_path / "rollback.json").read_text(encoding="utf-8") == first
    assert load(tmp_path / "rollback-2.json")["changes"] == []
    assert "rollback-2.json" in again.stderr


# --- refusal -------------------------------------------------------------------------------------

def test_a_change_whose_precondition_no_longer_holds_is_refused_with_the_current_value(tmp_path: Path,
                                                                                       double: GraphDouble):
    _mail_tenant(double)
    plan = load(collect_and_plan(tmp_path, double))
    [idp] = changes_of(plan, "IDP001")
    [gst] = changes_of(plan, "GST001")
    double.current(EMAIL)["allowExternalIdToUseEmailOtp"] = "enabled"  # someone fixed it since the snapshot
    double.requests.clear()
    proc = apply(tmp_path, double)
    assert proc.returncode == 1
    assert f"{idp['id']}  IDP001  refused" in proc.stdout
    assert '/allowExternalIdToUseEmailOtp is "enabled", the plan expects "disabled"' in proc.stdout
    assert f"{gst['id']}  GST001  applied" in proc.stdout
    assert f"{idp['id']} refused" in one_line_error(proc.stderr)
    assert not [w for w in double.writes() if w.path == f"/v1.0{EMAIL}"]  # nothing was sent for it
    [disabled] = [w for w in double.writes() if w.path.startswith("/v1.0/users/")]
    assert disabled.body == {"accountEnabled": False}
    assert [c["ruleId"] for c in load(tmp_path / "rollback.json")["changes"]] == ["GST001"]


def test_a_guest_who_signed_in_since_the_snapshot_is_not_disabled(tmp_path: Path, double: GraphDouble):
    _mail_tenant(double)
    collect_and_plan(tmp_path, double, "--rules", "GST001")
    [guest] = double.current("/users")
    guest["signInActivity"]["lastSignInDateTime"] = "2026-11-30T08:00:00Z"
    proc = apply(tmp_path, double)
    assert proc.returncode == 1 and "GST001  refused" in proc.stdout
    assert "no sign-in since the snapshot" in proc.stdout and "2026-11-30T08:00:00Z" in proc.stdout
    assert double.writes() == [] and guest["accountEnabled"] is True


# --- a failed multi-step change ------------------------------------------------------------------

def test_a_failed_step_rolls_back_the_steps_before_it(tmp_path: Path, double: GraphDouble):
    strength_policy = ca_policy("p-strength", name="Guests - phishing-resistant", controls=[],
                                auth_strength=strength(), guest_types="b2bCollaborationGuest", include_users=[],
                                include_apps=[APP])
    _mail_tenant(double, conditionalAccessPolicies=[strength_policy])
    plan_path = collect_and_plan(tmp_path, double, "--rules", "CAP001")
    [change] = changes_of(load(plan_path), "CAP001")
    edit_plan(plan_path, change["id"], confirmed=True)
    double.fail_write("PATCH", f"{POLICIES}/p-strength", "server")
    proc = apply(tmp_path, double)
    assert proc.returncode == 1
    assert f"{change['id']}  CAP001  failed (rolled back)" in proc.stdout
    assert "step s2" in proc.stdout and "InternalServerError" in proc.stdout and "step s1 rolled back" in proc.stdout
    writes = [(w.method, w.path, w.status) for w in double.writes()]
    created = double.writes()[0]
    assert created.body["state"] == "enabledForReportingButNotEnforced"
    [policy_id] = [p["id"] for p in double.current(POLICIES) if p["id"] != "p-strength"] or [None]
    assert policy_id is None  # the report-only policy the failed change created is gone again
    assert writes[0][:1] == ("POST",) and writes[1] == ("PATCH", f"/v1.0{POLICIES}/p-strength", 500)
    assert writes[2][0] == "DELETE" and writes[2][2] == 204
    assert double.current(f"{POLICIES}/p-strength")["conditions"]["users"]["excludeGuestsOrExternalUsers"] is None
    assert load(tmp_path / "rollback.json")["changes"] == []  # nothing of it is left to undo


def test_the_confirmed_cap001_change_fixes_the_strength_finding(tmp_path: Path, double: GraphDouble):
    strength_policy = ca_policy("p-strength", name="Guests - phishing-resistant", controls=[],
                                auth_strength=strength(), guest_types="b2bCollaborationGuest", include_users=[],
                                include_apps=[APP])
    _mail_tenant(double, conditionalAccessPolicies=[strength_policy])
    plan_path = collect_and_plan(tmp_path, double, "--rules", "CAP001")
    assert findings_by_rule(tmp_path / "before-out" / "result.json")["CAP001"] == 1
    edit_plan(plan_path, changes_of(load(plan_path), "CAP001")[0]["id"], confirmed=True)
    assert apply(tmp_path, double).returncode == 0
    assert findings_by_rule(audit_again(tmp_path, double, "after"))["CAP001"] == 0
    assert apply(tmp_path, double, "rollback.json", "--output-dir", "undo").returncode == 0
    assert findings_by_rule(audit_again(tmp_path, double, "undone"))["CAP001"] == 1
    assert [p["id"] for p in double.current(POLICIES)] == ["p-strength"]


# --- secrets from the environment ----------------------------------------------------------------

def _expired_connector_tenant(double: GraphDouble) -> None:
    old = connector("conn-cert", name="Persist attributes", certs=[cert(not_after="2025-06-01T00:00:00Z")])
    _mail_tenant(double, apiConnectors=[old],
                 b2xUserFlows=[flow("B2X_1_Partners", providers=("EmailOtpSignup-OAUTH",),
                                    post_attribute_collection=old)])


def test_upload_client_certificate_reads_the_password_from_the_named_variable(tmp_path: Path, double: GraphDouble):
    _expired_connector_tenant(double)
    plan_path = collect_and_plan(tmp_path, double, "--rules", "CON003")
    assert findings_by_rule(tmp_path / "before-out" / "result.json")["CON003"] == 1
    [change] = changes_of(load(plan_path), "CON003")
    make_pfx(tmp_path / "new.pfx")
    edit_plan(plan_path, change["id"], pkcs12Path="new.pfx", pkcs12PasswordEnv="CONNECTOR_PFX_PASSWORD")

    missing = apply(tmp_path, double)
    assert missing.returncode == 2 and "CONNECTOR_PFX_PASSWORD is not set" in one_line_error(missing.stderr)
    wrong = apply(tmp_path, double, env={"CONNECTOR_PFX_PASSWORD": "not-the-password"})
    assert wrong.returncode == 2 and "cannot open the PKCS#12 file" in one_line_error(wrong.stderr)
    assert double.writes() == []  # neither run sent anything

    proc = apply(tmp_path, double, env={"CONNECTOR_PFX_PASSWORD": PFX_PASSWORD})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [upload] = double.writes()
    assert upload.method == "POST" and upload.path == "/v1.0/identity/apiConnectors/conn-cert/uploadClientCertificate"
    assert upload.body["password"] == PFX_PASSWORD and len(upload.body["pkcs12Value"]) > 100
    for written in (tmp_path / "apply-log.jsonl", tmp_path / "rollback.json", plan_path):
        text = written.read_text(encoding="utf-8")
        assert PFX_PASSWORD not in text and upload.body["pkcs12Value"][:40] not in text
    assert "<secret from $CONNECTOR_PFX_PASSWORD>" in (tmp_path / "apply-log.jsonl").read_text(encoding="utf-8")
    [undo] = load(tmp_path / "rollback.json")["changes"]
    assert not undo["automatic"] and undo["inputs"]["previousPkcs12Path"] is None  # the old key is not ours to have
    assert Path(undo["inputs"]["pkcs12Path"]).is_absolute()  # the redo still finds the file from anywhere
    certificates = double.current("/identity/apiConnectors/conn-cert")["authenticationConfiguration"]["certificateList"]
    assert [c["isActive"] for c in certificates] == [False, True]
    assert findings_by_rule(audit_again(tmp_path, double, "after"))["CON003"] == 0


def test_an_unused_connector_that_a_flow_calls_by_now_is_not_deleted(tmp_path: Path, double: GraphDouble):
    idle = connector("conn-idle", name="Old webhook")
    _mail_tenant(double, apiConnectors=[idle])
    collect_and_plan(tmp_path, double, "--rules", "CON006")
    wiring = double.current("/identity/b2xUserFlows/B2X_1_Partners/apiConnectorConfiguration")
    wiring["postAttributeCollection"] = idle  # attached since the snapshot
    proc = apply(tmp_path, double)
    assert proc.returncode == 1 and "CON006  refused" in proc.stdout
    assert "user flow B2X_1_Partners does not call it at postAttributeCollection" in proc.stdout
    assert double.writes() == [] and double.current("/identity/apiConnectors/conn-idle") is not None


# --- inputs that pick or supply a value ----------------------------------------------------------

def test_app001_keeps_the_application_on_the_chosen_flow_only(tmp_path: Path, double: GraphDouble):
    other = "6a3c9e1d-2b7f-4e8a-9c5d-0f1e2d3c4b5a"
    flows = [flow("B2X_1_A", providers=("EmailOtpSignup-OAUTH",)), flow("B2X_1_B", providers=("EmailOtpSignup-OAUTH",))]
    _mail_tenant(double, b2xUserFlows=flows, userFlowApplications=[
        listener("B2X_1_A", [APP], listener_id="L-a"), listener("B2X_1_B", [other, APP], listener_id="L-b")])
    plan_path = collect_and_plan(tmp_path, double, "--rules", "APP001")
    [change] = changes_of(load(plan_path), "APP001")
    edit_plan(plan_path, change["id"], keep="L-a")
    assert apply(tmp_path, double).returncode == 0
    [write] = double.writes()
    assert write.path == "/beta/identity/events/onSignupStart/L-b"
    assert double.current("/identity/events/onSignupStart/L-b", api="beta")["sourceFilter"]["includeApplications"] == \
        [other]
    assert double.current("/identity/events/onSignupStart/L-a", api="beta")["sourceFilter"]["includeApplications"] == \
        [APP]
    assert findings_by_rule(audit_again(tmp_path, double, "after"))["APP001"] == 0
    assert apply(tmp_path, double, "rollback.json", "--output-dir", "undo").returncode == 0
    assert double.current("/identity/events/onSignupStart/L-b", api="beta")["sourceFilter"]["includeApplications"] == \
        [other, APP]


def test_con002_points_the_connector_at_the_new_url_and_rollback_restores_the_old(tmp_path: Path, double: GraphDouble):
    plain = connector("conn-http", name="Legacy", url="http://crm.contoso.example/validate")
    _mail_tenant(double, apiConnectors=[plain],
                 b2xUserFlows=[flow("B2X_1_Partners", providers=("EmailOtpSignup-OAUTH",),
                                    post_federation_signup=plain)])
    plan_path = collect_and_plan(tmp_path, double, "--rules", "CON002")
    edit_plan(plan_path, changes_of(load(plan_path), "CON002")[0]["id"], targetUrl="https://crm.contoso.example/v2")
    assert apply(tmp_path, double).returncode == 0
    assert double.current("/identity/apiConnectors/conn-http")["targetUrl"] == "https://crm.contoso.example/v2"
    [undo] = load(tmp_path / "rollback.json")["changes"]
    assert undo["steps"][0]["request"]["body"] == {"targetUrl": "http://crm.contoso.example/validate"}
    assert undo["steps"][0]["precondition"][0]["value"] == "https://crm.contoso.example/v2"  # the input, written in
    assert apply(tmp_path, double, "rollback.json", "--output-dir", "undo").returncode == 0
    assert double.current("/identity/apiConnectors/conn-http")["targetUrl"] == "http://crm.contoso.example/validate"


# --- exit codes ----------------------------------------------------------------------------------

def test_nothing_ready_needs_no_sign_in(tmp_path: Path, double: GraphDouble):
    plain = connector("conn-http", name="Legacy", url="http://crm.contoso.example/validate")
    _mail_tenant(double, apiConnectors=[plain],
                 b2xUserFlows=[flow("B2X_1_Partners", providers=("EmailOtpSignup-OAUTH",),
                                    post_federation_signup=plain)])
    collect_and_plan(tmp_path, double, "--rules", "CON002")
    double.requests.clear()
    proc = run("apply", "plan.json", "--yes", "--graph-url", double.url, "--auth", "token", cwd=tmp_path)
    assert proc.returncode == 0 and "nothing to apply" in proc.stderr
    assert double.requests == [] and not (tmp_path / "rollback.json").exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_exit_3_when_graph_is_unreachable_or_rejects_the_token(tmp_path: Path, double: GraphDouble):
    serve_sample(double, "fabrikam")
    collect_and_plan(tmp_path, double)
    closed = run("apply", "plan.json", "--yes", "--graph-url", f"http://127.0.0.1:{_free_port()}", "--auth", "token",
                 cwd=tmp_path, env=TOKEN_ENV)
    assert closed.returncode == 3 and "unreachable" in one_line_error(closed.stderr).lower()
    rejected = run("apply", "plan.json", "--yes", *live(double), "--output-dir", "r2", cwd=tmp_path,
                   env={"FLOWAUDIT_ACCESS_TOKEN": make_token(expires_in=600).replace("c2Vj", "Zm9v")})
    assert rejected.returncode == 3 and "token" in one_line_error(rejected.stderr)
    assert double.writes() == []


def test_a_plan_for_another_tenant_is_refused(tmp_path: Path, double: GraphDouble):
    serve_sample(double, "fabrikam")
    collect_and_plan(tmp_path, double)
    other = make_token(tenant_id="99999999-8888-4777-8666-555555555555")
    double.token = other
    proc = run("apply", "plan.json", "--yes", *live(double), cwd=tmp_path, env={"FLOWAUDIT_ACCESS_TOKEN": other})
    assert proc.returncode == 2 and "the credential signs in to tenant 99999999" in one_line_error(proc.stderr)
    assert double.requests == [] or all(r.method == "GET" for r in double.requests)
    assert double.writes() == []


def test_cloud_must_match_the_plan(tmp_path: Path, double: GraphDouble):
    serve_sample(double, "fabrikam")
    collect_and_plan(tmp_path, double)
    proc = run("apply", "plan.json", "--yes", "--cloud", "china", *live(double), cwd=tmp_path, env=TOKEN_ENV)
    assert proc.returncode == 2 and "the plan is for cloud global" in one_line_error(proc.stderr)


def test_provider_shapes_are_served(double: GraphDouble):
    # guards the helpers above: the double serves an item of a collection by id (apply's re-read)
    serve_tenant(double, identityProviders=[provider("Google-OAUTH")])
    assert double.current("/identity/identityProviders/Google-OAUTH")["id"] == "Google-OAUTH"
