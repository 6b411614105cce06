"""The real ``flowaudit collect`` (real msgraph-core/kiota transport, --auth token) against the Graph double."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from collect_support import TOKEN, make_token, manifest, records, run_collect, serve_tenant, unreachable_graph
from graph_double import GraphDouble
from graphdata import (
    assignment,
    attribute,
    ca_policy,
    connector,
    flow,
    listener,
    sign_in,
    user,
    write_snapshot,
)

from auditor.engine import AuditOptions, run_audit
from auditor.snapshot import open_snapshot

FLOW_PATH = "/identity/b2xUserFlows"


@pytest.fixture
def graph() -> Iterator[GraphDouble]:
    """A Graph double of this test's own: nothing is shared between tests, and it is stopped after."""
    with GraphDouble(TOKEN) as server:
        yield server


def _recent(minutes_ago: int = 60) -> str:
    from datetime import datetime, timedelta, timezone

    moment = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _all_bytes(snapshot: Path) -> bytes:
    data = b""
    for path in snapshot.iterdir():
        raw = path.read_bytes()
        data += gzip.decompress(raw) if path.suffix == ".gz" else raw
    return data


def test_collect_writes_raw_graph_objects_with_flow_children(graph: GraphDouble, tmp_path: Path) -> None:
    conn = connector("c1", url="https://api.contoso.example/hook?code=SECRETVALUE")
    flows = [flow(f"B2X_1_f{i}", attributes=[assignment("extension_abc_Tier")], post_attribute_collection=conn)
             for i in range(3)]
    signins = [sign_in("u1", created=_recent(10)), sign_in("u2", created=_recent(20)),
               sign_in("u3", created=_recent(60 * 24 * 40))]  # 40 days old: outside the window
    serve_tenant(graph, b2xUserFlows=flows, apiConnectors=[conn], signIns=signins,
                 selfServiceSignUpUsers=[user("u1"), user("u2")],
                 userFlowApplications=[listener("B2X_1_f0", ["app-1"])])
    out = tmp_path / "snap"
    result = run_collect(out, graph)
    assert result.exit_code == 0, result.output
    man = manifest(out)
    assert {entry["status"] for entry in man["sources"].values()} == {"ok"}
    assert man["tenantId"] == "0b6e6b8c-1d0e-4e59-9a57-2f1c7f0f1a11"  # from the token's tid claim
    assert set(man["signInWindow"]) == {"from", "to"}
    collected = records(out, "b2xUserFlows")
    assert [f["id"] for f in collected] == ["B2X_1_f0", "B2X_1_f1", "B2X_1_f2"]
    for item in collected:
        assert [p["id"] for p in item["userFlowIdentityProviders"]] == ["AADSignup-OAUTH", "EmailOtpSignup-OAUTH"]
        assert item["userAttributeAssignments"][0]["userAttribute"]["dataType"] == "string"
        # children's @odata.context annotations are stripped, the connector itself is kept verbatim
        assert item["apiConnectorConfiguration"] == {"postFederationSignup": None, "postAttributeCollection": conn}
    # 9 children fetched through one $batch, not 9 GETs; every child URL carried its $expand
    assert len(graph.hits("/$batch")) == 1
    inner = [r for r in graph.requests if r.batch_item]
    assert len(inner) == 9
    assert all("$expand=userAttribute" in r.query for r in inner if r.path.endswith("userAttributeAssignments"))
    # sign-ins: gzip file, beta endpoint, unquoted DateTimeOffset filter, $top and $select
    assert man["sources"]["signIns"]["file"] == "signIns.jsonl.gz"
    assert {r["userId"] for r in records(out, "signIns")} == {"u1", "u2"}
    (signin_request,) = graph.hits("/auditLogs/signIns", api="beta")
    assert f"createdDateTime ge {man['signInWindow']['from']}" in _unquote(signin_request.query)
    assert "$top=1000" in signin_request.query and "authenticationRequirement" in _unquote(signin_request.query)
    users_request = graph.hits("/users")[0]
    assert "creationType eq 'SelfServiceSignUp'" in _unquote(users_request.query)
    assert "signInActivity" in _unquote(users_request.query)
    # a raw object keeps fields the models don't know, exactly as served
    assert records(out, "userFlowApplications")[0]["sourceFilter"] == {"includeApplications": ["app-1"]}
    # every request carried the bearer token; the token reaches no file and no output
    outer = [r for r in graph.requests if not r.batch_item]
    assert outer and all(r.authorization == f"Bearer {TOKEN}" for r in outer)
    assert TOKEN.encode() not in _all_bytes(out)
    assert TOKEN.split(".")[2] not in result.output
    # without a terminal: one log line per source and the closing table, all on stderr
    assert "flowaudit: signIns: ok, 2 records" in result.stderr
    assert "source" in result.stderr and "status" in result.stderr
    assert result.stdout == ""


def _unquote(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text)


def test_each_error_kind_ends_in_its_status(graph: GraphDouble, tmp_path: Path) -> None:
    serve_tenant(graph)
    graph.fail("/identity/identityProviders", "forbidden")
    graph.fail("/auditLogs/signIns", "unlicensed", api="beta")
    graph.fail("/identity/events/onSignupStart", "notFound", api="beta")
    graph.fail(FLOW_PATH, "ssuDisabled")
    graph.fail("/identity/apiConnectors", "server")
    out = tmp_path / "snap"
    result = run_collect(out, graph)
    assert result.exit_code == 0, result.output
    sources = manifest(out)["sources"]
    assert sources["identityProviders"]["status"] == "forbidden"
    assert sources["identityProviders"]["permission"] == "IdentityProvider.Read.All"
    assert sources["identityProviders"]["error"]["code"] == "Authorization_RequestDenied"
    assert sources["signIns"]["status"] == "unlicensed"
    assert sources["userFlowApplications"]["status"] == "unavailable"
    assert sources["b2xUserFlows"]["status"] == "notApplicable"
    assert sources["apiConnectors"]["status"] == "error"
    assert sources["apiConnectors"]["error"]["httpStatus"] == 500
    for key in ("identityProviders", "signIns", "userFlowApplications", "b2xUserFlows", "apiConnectors"):
        assert "file" not in sources[key]
    # the others were still collected
    assert sources["authorizationPolicy"]["status"] == "ok"
    assert "identityProviders" in result.stderr and "forbidden" in result.stderr


def test_unlicensed_sign_in_activity_falls_back_to_users_without_it(graph: GraphDouble, tmp_path: Path) -> None:
    serve_tenant(graph, selfServiceSignUpUsers=[user("u1", with_activity=False)])
    graph.gate_select("/users", "signInActivity", "unlicensed")
    out = tmp_path / "snap"
    assert run_collect(out, graph).exit_code == 0
    entry = manifest(out)["sources"]["selfServiceSignUpUsers"]
    assert entry["status"] == "ok" and entry["count"] == 1
    assert entry["omitted"]["signInActivity"]["code"] == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    assert "signInActivity" not in records(out, "selfServiceSignUpUsers")[0]
    assert len(graph.hits("/users")) == 2


def test_paging_follows_empty_pages_and_keeps_pages_before_a_failure(graph: GraphDouble, tmp_path: Path) -> None:
    serve_tenant(graph, conditionalAccessPolicies=[ca_policy(f"p{i}") for i in range(4)], page_size=2)
    graph.collection("/identity/userFlowAttributes", pages=[[attribute("city", custom=False)], [],
                                                            [attribute("extension_abc_Tier")]])
    graph.fail("/identity/conditionalAccess/policies", "server", page=1)
    out = tmp_path / "snap"
    assert run_collect(out, graph).exit_code == 0
    assert [a["id"] for a in records(out, "userFlowAttributes")] == ["city", "extension_abc_Tier"]
    entry = manifest(out)["sources"]["conditionalAccessPolicies"]
    assert entry["partial"] is True and entry["status"] == "ok" and entry["count"] == 2
    assert entry["error"]["httpStatus"] == 500
    assert [p["id"] for p in records(out, "conditionalAccessPolicies")] == ["p0", "p1"]
    # nextLinks were followed verbatim: absolute, on the same host, carrying the original query
    assert [r.query for r in graph.hits("/identity/userFlowAttributes")] == ["", "$skiptoken=1", "$skiptoken=2"]


def test_throttling_is_retried_with_and_without_retry_after(graph: GraphDouble, tmp_path: Path) -> None:
    serve_tenant(graph, b2xUserFlows=[flow("B2X_1_a"), flow("B2X_1_b")])
    graph.fail("/policies/authorizationPolicy", "throttled", times=1, retry_after="1")
    graph.fail("/identity/conditionalAccess/policies", "throttled", times=1)  # CA sends no Retry-After
    graph.fail(f"{FLOW_PATH}/B2X_1_b/userFlowIdentityProviders", "throttled", times=1, retry_after="1",
               batch_only=True)
    out = tmp_path / "snap"
    result = run_collect(out, graph)
    assert result.exit_code == 0, result.output
    sources = manifest(out)["sources"]
    assert sources["authorizationPolicy"]["status"] == "ok"
    assert sources["conditionalAccessPolicies"]["status"] == "ok"
    auth_hits = graph.hits("/policies/authorizationPolicy")
    assert [h.retry_attempt for h in auth_hits] == [None, "1"]
    assert auth_hits[1].at - auth_hits[0].at >= 0.9  # Retry-After honoured
    assert len(graph.hits("/identity/conditionalAccess/policies")) == 2
    flows = {f["id"]: f for f in records(out, "b2xUserFlows")}
    assert [p["id"] for p in flows["B2X_1_b"]["userFlowIdentityProviders"]] == ["AADSignup-OAUTH", "EmailOtpSignup-OAUTH"]
    assert len(graph.hits("/$batch")) == 2  # the second batch carries only the throttled item
    assert "children" not in sources["b2xUserFlows"]


def test_failed_child_is_omitted_and_recorded(graph: GraphDouble, tmp_path: Path) -> None:
    serve_tenant(graph, b2xUserFlows=[flow("B2X_1_a"), flow("B2X_1_b")])
    graph.fail(f"{FLOW_PATH}/B2X_1_b/apiConnectorConfiguration", "forbidden")
    out = tmp_path / "snap"
    assert run_collect(out, graph).exit_code == 0
    flows = {f["id"]: f for f in records(out, "b2xUserFlows")}
    assert "apiConnectorConfiguration" in flows["B2X_1_a"]
    assert "apiConnectorConfiguration" not in flows["B2X_1_b"]
    entry = manifest(out)["sources"]["b2xUserFlows"]
    assert entry["status"] == "ok"
    child = entry["children"]["apiConnectorConfiguration"]
    assert child["status"] == "forbidden" and child["flows"] == ["B2X_1_b"]
    assert child["permission"] == "IdentityUserFlow.ReadWrite.All"
    assert open_snapshot(out).status("b2xUserFlows") == "ok"  # the reader accepts the extra keys


def test_incremental_collect_fetches_only_newer_sign_ins_and_merges(graph: GraphDouble, tmp_path: Path) -> None:
    old = sign_in("u1", created=_recent(60 * 24 * 3), sign_in_id="old-3-days")
    kept = sign_in("u1", created=_recent(120), sign_in_id="two-hours")
    serve_tenant(graph, signIns=[kept, old])
    first = tmp_path / "first"
    assert run_collect(first, graph).exit_code == 0
    boundary = manifest(first)["signInWindow"]["to"]
    graph.reset()
    newer = sign_in("u2", created=boundary, sign_in_id="new")
    again = {**kept, "createdDateTime": boundary}  # the same sign-in seen again at the boundary: one copy
    serve_tenant(graph, signIns=[newer, again, kept, old])
    second = tmp_path / "second"
    result = run_collect(second, graph, "--previous", str(first), "--signin-days", "1")
    assert result.exit_code == 0, result.output
    (request,) = graph.hits("/auditLogs/signIns", api="beta")
    assert f"createdDateTime ge {boundary}" in _unquote(request.query)  # only what is newer
    merged = records(second, "signIns")
    assert [r["id"] for r in merged] == ["new", "two-hours"]  # deduped; the 3-day-old one left the 1-day window
    man = manifest(second)
    assert man["sources"]["signIns"]["count"] == 2


def test_collected_snapshot_audits_like_the_hand_built_one(graph: GraphDouble, tmp_path: Path) -> None:
    conn_basic = connector("c-basic", auth="basic", url="https://hooks.example/persist?sig=abc")
    tenant = {
        "b2xUserFlows": [flow("B2X_1_partners", providers=("AADSignup-OAUTH", "EmailOtpSignup-OAUTH", "Google-OAUTH"),
                              attributes=[assignment("extension_abc_IsVip", data_type="boolean")],
                              post_attribute_collection=conn_basic),
                         flow("B2X_1_lonely")],
        "apiConnectors": [conn_basic, connector("c-unused")],
        "userFlowApplications": [listener("B2X_1_partners", ["app-1"]), listener("B2X_1_lonely", ["app-1"])],
        "conditionalAccessPolicies": [ca_policy("p-report", state="enabledForReportingButNotEnforced")],
        "selfServiceSignUpUsers": [user("u-active", last_sign_in=_recent(60)),
                                   user("u-stale", created="2025-01-01T00:00:00Z", last_sign_in="2025-02-01T00:00:00Z")],
        "signIns": [sign_in("u-active", created=_recent(30))],
    }
    serve_tenant(graph, **tenant)
    collected = tmp_path / "collected"
    assert run_collect(collected, graph).exit_code == 0
    hand_built = write_snapshot(tmp_path / "hand", collected_at=manifest(collected)["collectedAt"], **tenant)
    live = run_audit(open_snapshot(collected), AuditOptions())
    offline = run_audit(open_snapshot(hand_built), AuditOptions())
    assert [(r.id, r.outcome) for r in live.rules] == [(r.id, r.outcome) for r in offline.rules]
    assert sorted(f.fingerprint for f in live.findings) == sorted(f.fingerprint for f in offline.findings)
    assert len(live.findings) > 3  # the tenant is not quiet: the comparison means something


def test_rejected_token_exits_3_with_one_line(graph: GraphDouble, tmp_path: Path) -> None:
    serve_tenant(graph)
    wrong = make_token(expires_in=600).replace("c2VjcmV0", "d3Jvbmc")
    result = run_collect(tmp_path / "snap", graph, token=wrong)
    assert result.exit_code == 3
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "authentication failed" in lines[0] and "FLOWAUDIT_ACCESS_TOKEN" in lines[0]
    assert "Traceback" not in result.output and wrong not in result.output
    assert not (tmp_path / "snap").exists()  # no half-written snapshot


def test_expired_token_and_missing_token(graph: GraphDouble, tmp_path: Path) -> None:
    stale = make_token(expires_in=-60)
    expired = run_collect(tmp_path / "snap", graph, token=stale)
    assert expired.exit_code == 3 and "expired" in expired.stderr
    assert not [r for r in graph.requests if r.authorization == f"Bearer {stale}"]  # failed before any request
    missing = run_collect(tmp_path / "snap", graph, token=None)
    assert missing.exit_code == 2 and "FLOWAUDIT_ACCESS_TOKEN" in missing.stderr


def test_unreachable_graph_exits_3(tmp_path: Path) -> None:
    result = run_collect(tmp_path / "snap", unreachable_graph())
    assert result.exit_code == 3
    assert "Graph unreachable" in result.stderr and "Traceback" not in result.output


def test_zip_output(graph: GraphDouble, tmp_path: Path) -> None:
    serve_tenant(graph)
    out = tmp_path / "snap.zip"
    result = run_collect(out, graph, "--quiet")
    assert result.exit_code == 0 and result.stderr == ""
    snapshot = open_snapshot(out)
    assert snapshot.status("authorizationPolicy") == "ok"
    assert json.loads(json.dumps(snapshot.first_record("authorizationPolicy")))["allowInvitesFrom"] == "adminsAndGuestInviters"


def test_live_audit_collects_then_audits(graph: GraphDouble, tmp_path: Path) -> None:
    from click.testing import CliRunner
    from collect_support import FAST_ENV

    from auditor.cli import cli

    serve_tenant(graph, b2xUserFlows=[flow("B2X_1_a", attributes=[assignment("extension_abc_V", data_type="boolean")])])
    saved = tmp_path / "saved"
    result = CliRunner().invoke(cli, ["audit", "--graph-url", graph.url, "--auth", "token", "--save-snapshot",
                                      str(saved), "--output-dir", str(tmp_path / "out"), "--fail-on", "none"],
                                env={**FAST_ENV, "FLOWAUDIT_ACCESS_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    assert open_snapshot(saved).status("b2xUserFlows") == "ok"
    audit = json.loads((tmp_path / "out" / "result.json").read_text())
    assert "ATT001" in {f["ruleId"] for f in audit["findings"]}
