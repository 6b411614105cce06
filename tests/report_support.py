"""Results for the report tests: a rich tenant whose free text is hostile, audited for real.

The rule catalog grows while these tests exist, so nothing here assumes which rules fire: tests
derive what they expect from the result itself. Waivers are applied by hand to a copy of the result
(the waiver file machinery is tested elsewhere); the dicts follow the result.json waiver shape.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphdata import (
    applied_policy,
    assignment,
    attribute,
    ca_policy,
    cert,
    connector,
    flow,
    listener,
    sign_in,
    strength,
    user,
    write_snapshot,
)

from auditor.engine import AuditOptions, run_audit
from auditor.result import AuditResult
from auditor.snapshot import open_snapshot

SCRIPT = "<script>document.title='pwned'</script>"
IMG = "<img src=x onerror=\"document.title='pwned'\">"
SECRETS = ("PlantedSecret123", "PlantedCode456")
DATA = Path(__file__).resolve().parent / "data"


def hostile_tenant(dest: Path, *, server: str = "http://127.0.0.1:9", guests: int = 6,
                   sign_up_enabled: bool = True, **overrides: Any) -> Path:
    """A tenant exercising most rules, with markup, local URLs and secrets in every free-text field."""
    remote_img = f"<img src=\"{server}/x.png\">"
    bad_flow = f"B2X_1_{SCRIPT}"
    img_flow = f"B2X_1_partners{IMG}"
    basic = connector("conn-basic", name=f"Persist {SCRIPT} {remote_img}", auth="basic",
                      url=f"https://prod-01.logic.azure.com/workflows/1/invoke?api-version=2016&sig={SECRETS[0]}")
    plain = connector("conn-http", name=f"Legacy {IMG}",
                      url=f"http://func.contoso.example/api/persist?code={SECRETS[1]}",
                      certs=[cert(not_after="2026-01-01T00:00:00Z")])
    flows = [
        flow(bad_flow, providers=("EmailOtpSignup-OAUTH", "Google-OAUTH"),
             attributes=[assignment("extension_abc_IsPartner", "boolean"),
                         assignment("extension_abc_Region", optional=True, input_type="DropdownSingleSelect")],
             post_attribute_collection=None, post_federation_signup=basic),
        flow(img_flow, providers=("AADSignup-OAUTH", "EmailOtpSignup-OAUTH", "Facebook-OAUTH"),
             attributes=[assignment("extension_abc_Age", "int64")], post_attribute_collection=plain),
    ]
    users = [user(f"{i:08d}-0000-4000-8000-{i:012d}", name=(f"{SCRIPT} {i}" if i % 2 else f"{IMG} {remote_img}"),
                  last_sign_in="2025-01-02T00:00:00Z" if i % 3 else None, created="2024-05-01T00:00:00Z")
             for i in range(guests)]
    # The successful sign-in lists its policy: a log without any would mean the details were withheld.
    sign_ins = [sign_in(users[0]["id"], app_name=f"Portal {SCRIPT}",
                        applied=[applied_policy("ca-strength", result="success", name=f"Guests strength {SCRIPT}")]),
                sign_in(users[1]["id"], ca_status="notApplied")]
    sources: dict[str, Any] = dict(
        authenticationFlowsPolicy=[{"id": "authenticationFlowsPolicy", "displayName": "Authentication flows policy",
                                    "selfServiceSignUp": {"isEnabled": sign_up_enabled}}],
        b2xUserFlows=flows,
        userFlowAttributes=[attribute("extension_abc_IsPartner", "boolean"), attribute("extension_abc_Age", "int64"),
                            attribute("extension_abc_Unused", "boolean")],
        apiConnectors=[basic, plain, connector("conn-idle", name=f"Idle {remote_img}")],
        userFlowApplications=[listener(bad_flow, ["11111111-1111-1111-1111-111111111111"]),
                              listener(img_flow, ["11111111-1111-1111-1111-111111111111"])],
        conditionalAccessPolicies=[ca_policy("ca-strength", name=f"Guests strength {SCRIPT}", controls=[],
                                             auth_strength=strength(), guest_types="b2bCollaborationGuest",
                                             include_users=[])],
        selfServiceSignUpUsers=users,
        signIns=sign_ins,
    )
    return write_snapshot(dest, **{**sources, **overrides})


def audit(snapshot: Path) -> AuditResult:
    return run_audit(open_snapshot(snapshot), AuditOptions(reproducible=True))


def with_waivers(result: AuditResult) -> AuditResult:
    """Waive the first finding and give the second an expired waiver (stays open)."""
    data = result.model_dump(mode="json")
    findings = data["findings"]
    if findings:
        first = findings[0]
        first["status"] = "waived"
        first["waiver"] = {"entry": 1, "rule": first["ruleId"], "resource": first["resource"]["id"], "expired": False,
                           "justification": f"Accepted by CAB-42 {SCRIPT}", "owner": f"iam-team {IMG}",
                           "expires": "2027-03-31"}
    if len(findings) > 1:
        second = findings[1]
        second["waiver"] = {"entry": 2, "rule": second["ruleId"], "resource": second["resource"]["id"],
                            "expired": True, "justification": "Temporary exception", "owner": "iam-team",
                            "expires": "2026-06-30"}
    return AuditResult.model_validate(data)  # the summary is counted from the content


class RecordingServer:
    """A live HTTP server on 127.0.0.1 that records every request path (must stay empty)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        requests = self.requests = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def many_findings(result: AuditResult, count: int) -> AuditResult:
    """The result with ``count`` findings cloned from its first one (a huge tenant, cheaply)."""
    data = result.model_dump(mode="json")
    template = data["findings"][0]
    clones = []
    for i in range(count):
        item = dict(template, fingerprint=f"{i:032x}", status="open", waiver=None)
        item["resource"] = {**template["resource"], "id": f"user-{i:06d}", "displayName": f"Guest {i} {SCRIPT}"}
        item["evidence"] = {**template["evidence"], "lastSignIn": "2025-01-02T00:00:00Z", "daysInactive": 300 + i % 7,
                            "groups": [f"group-{j}" for j in range(12)]}
        clones.append(item)
    data["findings"] = clones
    for rule in data["rules"]:
        rule["findings"] = count if rule["id"] == template["ruleId"] else 0
        if rule["outcome"] == "fail" and rule["id"] != template["ruleId"]:
            rule["outcome"] = "pass"
    return AuditResult.model_validate(data)
