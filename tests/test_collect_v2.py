"""The v2 sources and What-If, collected by the real collector (real msgraph-core/kiota transport,
--auth token) from the Graph double: the requests sent, what is stored, and every failure status."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from collect_support import (
    EVALUATE,
    MEMBERS,
    TOKEN,
    manifest,
    records,
    run_collect,
    serve_tenant,
)
from graph_double import DATA, GraphDouble
from graphdata import ca_policy, flow, listener, user

from auditor.model.signin_matrix import CLIENTS, PLATFORMS
from auditor.shapes import (
    access_review,
    country_location,
    cross_tenant_default,
    group,
    ip_location,
    member,
    partner,
    service_principal,
    sponsor,
)

APPS = [f"{i:08d}-1111-4111-8111-111111111111" for i in range(20)]
GUEST_OTP = "aaaaaaaa-0000-4000-8000-000000000001"
GUEST_OTP_OLDER = "aaaaaaaa-0000-4000-8000-000000000002"
GUEST_GOOGLE = "bbbbbbbb-0000-4000-8000-000000000001"


@pytest.fixture
def graph() -> Iterator[GraphDouble]:
    with GraphDouble(TOKEN) as server:
        yield server


def _unquote(text: str) -> str:
    return unquote(text)


def _sources(result: Any, out: Path) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return manifest(out)["sources"]


# -- namedLocations, conditionalAccessGroups, crossTenantAccessPolicy, linkedServicePrincipals, reviews --

def test_v2_sources_are_collected_as_graph_returns_them(graph: GraphDouble, tmp_path: Path) -> None:
    locations = [ip_location("loc-office", ["203.0.113.0/24"], trusted=True), country_location("loc-de", ["DE"])]
    members = [member(f"g1-user-{i}") for i in range(5)]
    serve_tenant(
        graph, page_size=2,
        conditionalAccessPolicies=[ca_policy("p1", include_groups=["g1", "g-deleted"]),
                                   {**ca_policy("p2"), "conditions": {**ca_policy("p2")["conditions"], "users": {
                                       **ca_policy("p2")["conditions"]["users"], "excludeGroups": ["G1", "g2"]}}}],
        conditionalAccessGroups=[group("g1", members), group("g2", rule='user.userType -eq "Guest"'),
                                 group("g-unused")],
        namedLocations=locations,
        crossTenantAccessPolicy=[cross_tenant_default(mfa=True), partner("t1"), partner("t2"), partner("t3")],
        userFlowApplications=[listener("B2X_1_a", APPS[:18]), listener("B2X_1_b", APPS[18:] + [APPS[0].upper()])],
        b2xUserFlows=[flow("B2X_1_a"), flow("B2X_1_b")],
        linkedServicePrincipals=[service_principal(a) for a in APPS[:17]] + [service_principal("not-linked")],
        accessReviewDefinitions=[access_review(f"review-{i:03d}") for i in range(150)],
    )
    out = tmp_path / "snap"
    sources = _sources(run_collect(out, graph, "--whatif-max-calls", "0"), out)
    for key in ("namedLocations", "conditionalAccessGroups", "crossTenantAccessPolicy", "linkedServicePrincipals",
                "accessReviewDefinitions"):
        assert sources[key]["status"] == "ok" and sources[key]["partial"] is False, (key, sources[key])
    # named locations: raw, paged
    assert records(out, "namedLocations") == locations
    # groups: only those a policy names (g1 once, although named twice in two cases), members nested and
    # paged; the deleted one is recorded, not fatal
    groups = {g["id"]: g for g in records(out, "conditionalAccessGroups")}
    assert sorted(groups) == ["g1", "g2"]
    assert groups["g1"]["transitiveMembers"] == members
    assert groups["g2"]["membershipRule"] == 'user.userType -eq "Guest"' and groups["g2"]["transitiveMembers"] == []
    assert sources["conditionalAccessGroups"]["notFound"] == ["g-deleted"]
    # the OData cast to microsoft.graph.user is an advanced query: header and $count on every page
    member_hits = [r for r in graph.requests if r.path.endswith(MEMBERS)]
    assert len(member_hits) >= 4 and {r.headers.get("consistencylevel") for r in member_hits} == {"eventual"}
    assert all("$count=true" in r.query for r in member_hits)
    assert all("$select=id,userType,creationType" in _unquote(r.query) for r in member_hits)
    # cross-tenant settings: the default, then each partner, one line each
    assert [r.get("tenantId") for r in records(out, "crossTenantAccessPolicy")] == [None, "t1", "t2", "t3"]
    assert records(out, "crossTenantAccessPolicy")[0]["inboundTrust"]["isMfaAccepted"] is True
    # service principals: the 20 linked appIds (one listed twice in other case), at most 15 per `in`
    sp_hits = graph.hits("/servicePrincipals")
    filters = [_unquote(r.query).split("$filter=")[1].split("&")[0] for r in sp_hits]
    asked = [v for f in filters for v in f.removeprefix("appId in (").removesuffix(")").replace("'", "").split(",")]
    assert sorted(asked) == sorted(APPS) and all(f.count("'") // 2 <= 15 for f in filters)
    assert all("$select=id,appId,displayName,appRoleAssignmentRequired,accountEnabled" in _unquote(r.query)
               for r in sp_hits)
    assert sorted(sp["appId"] for sp in records(out, "linkedServicePrincipals")) == sorted(APPS[:17])
    # access reviews: Graph pages them by $skip here (no nextLink): every definition, none twice
    reviews = records(out, "accessReviewDefinitions")
    assert len(reviews) == 150 == len({r["id"] for r in reviews})
    assert [r.query for r in graph.hits("/identityGovernance/accessReviews/definitions")] == [
        "$top=100&$skip=0", "$top=100&$skip=100"]
    assert records(out, "accessReviewDefinitions")[0]["scope"]["query"] == "/users?$filter=(userType eq 'Guest')"


def test_nothing_to_read_ends_ok_and_empty(graph: GraphDouble, tmp_path: Path) -> None:
    serve_tenant(graph)  # no listener, no policy naming a group
    out = tmp_path / "snap"
    sources = _sources(run_collect(out, graph), out)
    for key in ("conditionalAccessGroups", "linkedServicePrincipals", "conditionalAccessWhatIf"):
        assert sources[key]["status"] == "ok" and sources[key]["count"] == 0, key
    assert graph.hits("/servicePrincipals") == [] and graph.evaluations() == []
    assert not [r for r in graph.requests if r.path.startswith("/v1.0/groups/")]


@pytest.mark.parametrize(("key", "path", "kind", "status"), [
    ("namedLocations", "/identity/conditionalAccess/namedLocations", "forbidden", "forbidden"),
    ("namedLocations", "/identity/conditionalAccess/namedLocations", "server", "error"),
    ("crossTenantAccessPolicy", "/policies/crossTenantAccessPolicy/default", "forbidden", "forbidden"),
    ("crossTenantAccessPolicy", "/policies/crossTenantAccessPolicy/default", "badRequest", "error"),
    ("accessReviewDefinitions", "/identityGovernance/accessReviews/definitions", "premium", "unlicensed"),
    ("accessReviewDefinitions", "/identityGovernance/accessReviews/definitions", "unlicensed", "unlicensed"),
    ("accessReviewDefinitions", "/identityGovernance/accessReviews/definitions", "forbidden", "forbidden"),
    ("accessReviewDefinitions", "/identityGovernance/accessReviews/definitions", "server", "error"),
    ("linkedServicePrincipals", "/servicePrincipals", "forbidden", "forbidden"),
    ("linkedServicePrincipals", "/servicePrincipals", "badRequest", "error"),
    ("conditionalAccessGroups", "/groups/g1", "forbidden", "forbidden"),
    ("conditionalAccessGroups", f"/groups/g1{MEMBERS}", "forbidden", "forbidden"),
    ("conditionalAccessGroups", "/groups/g1", "server", "error"),
])
def test_each_v2_source_ends_in_its_failure_status(graph: GraphDouble, tmp_path: Path, key: str, path: str,
                                                   kind: str, status: str) -> None:
    serve_tenant(graph, conditionalAccessPolicies=[ca_policy("p1", include_groups=["g1"])],
                 conditionalAccessGroups=[group("g1", [member("u1")])],
                 userFlowApplications=[listener("B2X_1_a", APPS[:2])], b2xUserFlows=[flow("B2X_1_a")],
                 linkedServicePrincipals=[service_principal(APPS[0])])
    graph.fail(path, kind)
    out = tmp_path / "snap"
    sources = _sources(run_collect(out, graph, "--whatif-max-calls", "0"), out)
    entry = sources[key]
    assert entry["status"] == status and "file" not in entry and entry["error"]["httpStatus"] is not None
    # every other source was still collected
    assert {k: e["status"] for k, e in sources.items() if k != key and e["status"] != "ok"} == {}


def test_an_access_review_refusal_naming_the_licence_is_unlicensed(graph: GraphDouble, tmp_path: Path) -> None:
    serve_tenant(graph)
    graph.fail("/identityGovernance/accessReviews/definitions", status=403, code="Forbidden",
               message="The tenant does not have a valid license for Microsoft Entra ID Governance.")
    out = tmp_path / "snap"
    entry = _sources(run_collect(out, graph), out)["accessReviewDefinitions"]
    assert entry["status"] == "unlicensed" and entry["permission"] == "AccessReview.Read.All"


@pytest.mark.parametrize(("fault", "dependent", "status"), [
    (("/identity/conditionalAccess/policies", "forbidden", "v1.0"), "conditionalAccessGroups", "error"),
    (("/identity/conditionalAccess/policies", "unlicensed", "v1.0"), "conditionalAccessGroups", "unlicensed"),
    (("/identity/events/onSignupStart", "notFound", "beta"), "linkedServicePrincipals", "unavailable"),
    (("/identity/events/onSignupStart", "server", "beta"), "linkedServicePrincipals", "error"),
])
def test_a_source_computed_from_another_follows_its_failure(graph: GraphDouble, tmp_path: Path,
                                                            fault: tuple[str, str, str], dependent: str,
                                                            status: str) -> None:
    serve_tenant(graph)
    path, kind, api = fault
    graph.fail(path, kind, api=api)
    out = tmp_path / "snap"
    entry = _sources(run_collect(out, graph, "--whatif-max-calls", "0"), out)[dependent]
    assert entry["status"] == status and entry["error"]["code"] == "DependsOnSource"
    assert "file" not in entry


# -- sponsors and signInActivity on users ------------------------------------------------------

def _guests() -> list[dict[str, Any]]:
    return [{**user("u1"), "sponsors": [sponsor("s1", "Ann")]}, user("u2"),
            {**user("u3"), "sponsors": [sponsor("s2"), sponsor("s3")]}]


def test_sponsors_come_expanded_beside_sign_in_activity(graph: GraphDouble, tmp_path: Path) -> None:
    serve_tenant(graph, selfServiceSignUpUsers=_guests())
    out = tmp_path / "snap"
    entry = _sources(run_collect(out, graph), out)["selfServiceSignUpUsers"]
    assert entry["signInActivity"] is True and entry["sponsors"] is True and "omitted" not in entry
    (request,) = graph.hits("/users")
    assert "$expand=sponsors($select=id,displayName)" in _unquote(request.query)
    assert "signInActivity" in _unquote(request.query)
    assert {u["id"]: [s["id"] for s in u["sponsors"]] for u in records(out, "selfServiceSignUpUsers")} == {
        "u1": ["s1"], "u2": [], "u3": ["s2", "s3"]}


@pytest.mark.parametrize("how", ["refused", "ignored"])
def test_sponsors_are_read_per_user_when_the_expand_does_not_work(graph: GraphDouble, tmp_path: Path,
                                                                  how: str) -> None:
    serve_tenant(graph, selfServiceSignUpUsers=_guests())
    if how == "refused":  # Graph refuses $expand=sponsors beside signInActivity
        graph.gate_query("/users", ("$expand=sponsors", "signInActivity"), "badRequest")
    else:  # Graph silently leaves the expand out
        graph.routes["/v1.0/users"].honour_expand = False
    out = tmp_path / "snap"
    entry = _sources(run_collect(out, graph), out)["selfServiceSignUpUsers"]
    assert entry["status"] == "ok" and entry["signInActivity"] is True and entry["sponsors"] is True
    users = records(out, "selfServiceSignUpUsers")
    # the same shape as the expanded one: sponsors nested under each user
    assert {u["id"]: [s["id"] for s in u["sponsors"]] for u in users} == {"u1": ["s1"], "u2": [], "u3": ["s2", "s3"]}
    assert all("signInActivity" in u for u in users)
    sponsor_hits = [r for r in graph.requests if r.path.endswith("/sponsors")]
    assert len(sponsor_hits) == 3 and all(r.batch_item for r in sponsor_hits)  # through $batch
    assert all(r.query == "$select=id,displayName" for r in sponsor_hits)


def test_users_without_sign_in_activity_say_so(graph: GraphDouble, tmp_path: Path) -> None:
    serve_tenant(graph, selfServiceSignUpUsers=[user("u1", with_activity=False)])
    graph.gate_select("/users", "signInActivity", "forbidden")  # AuditLog.Read.All not granted
    out = tmp_path / "snap"
    entry = _sources(run_collect(out, graph), out)["selfServiceSignUpUsers"]
    assert entry["status"] == "ok" and entry["signInActivity"] is False and entry["sponsors"] is True
    assert entry["omitted"]["signInActivity"]["code"] == "Authorization_RequestDenied"


def test_failed_sponsor_reads_are_recorded(graph: GraphDouble, tmp_path: Path) -> None:
    serve_tenant(graph, selfServiceSignUpUsers=_guests())
    graph.routes["/v1.0/users"].honour_expand = False
    graph.fail("/users/u2/sponsors", "forbidden")
    out = tmp_path / "snap"
    entry = _sources(run_collect(out, graph), out)["selfServiceSignUpUsers"]
    assert entry["status"] == "ok" and entry["sponsors"] is False
    assert entry["omitted"]["sponsors"]["users"] == 1 and entry["omitted"]["sponsors"]["httpStatus"] == 403


# -- national clouds ---------------------------------------------------------------------------

@pytest.mark.parametrize("cloud", ["usgov", "usgov-dod"])
def test_api_connector_configuration_is_not_applicable_in_us_gov(graph: GraphDouble, tmp_path: Path,
                                                                 cloud: str) -> None:
    serve_tenant(graph, b2xUserFlows=[flow("B2X_1_a"), flow("B2X_1_b")])
    out = tmp_path / "snap"
    entry = _sources(run_collect(out, graph, "--cloud", cloud), out)["b2xUserFlows"]
    assert entry["status"] == "ok"
    child = entry["children"]["apiConnectorConfiguration"]
    assert child["status"] == "notApplicable" and child["flows"] == ["B2X_1_a", "B2X_1_b"] and "error" not in child
    assert not [r for r in graph.requests if r.path.endswith("/apiConnectorConfiguration")]
    assert all("apiConnectorConfiguration" not in f for f in records(out, "b2xUserFlows"))
    assert manifest(out)["cloud"] == cloud


# -- What-If ----------------------------------------------------------------------------------

def _what_if_tenant(graph: GraphDouble, **overrides: Any) -> None:
    guests = [user(GUEST_OTP_OLDER, created="2026-01-01T00:00:00Z"), user(GUEST_OTP, created="2026-03-01T00:00:00Z"),
              user(GUEST_GOOGLE, issuer="google.com"),
              user("cccccccc-0000-4000-8000-000000000001", issuer="contoso.example")]  # no sign-up kind
    tenant: dict[str, Any] = dict(
        b2xUserFlows=[flow("B2X_1_a"), flow("B2X_1_b")],
        userFlowApplications=[listener("B2X_1_a", [APPS[0]]), listener("B2X_1_b", [APPS[1], APPS[0]]),
                              {**listener("B2X_1_a", [APPS[5]]), "userFlow": None}],  # no flow: not asked
        selfServiceSignUpUsers=guests,
        namedLocations=[ip_location("loc-office", ["203.0.113.0/24", "10.0.0.0/8"]),
                        country_location("loc-de", ["DE", "AT"])],
    )
    tenant.update(overrides)
    serve_tenant(graph, **tenant)


def _policy_answer(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Microsoft's documented whatIfAnalysisResult, applying to browser sign-ins only."""
    result = json.loads((DATA / "conditional-access-evaluate-response.json").read_text())["value"][0]
    return [{**result, "policyApplies": body["signInConditions"]["clientAppType"] == "browser"}]


def test_what_if_asks_the_matrix_and_stores_the_answers(graph: GraphDouble, tmp_path: Path) -> None:
    _what_if_tenant(graph)
    graph.evaluate(_policy_answer)
    out = tmp_path / "snap"
    entry = _sources(run_collect(out, graph), out)["conditionalAccessWhatIf"]
    cells = len(PLATFORMS) * len(CLIENTS)
    planned = 2 * 2 * cells * 3  # 2 apps × 2 kinds × 10 cells × (internet + 2 named locations)
    assert entry["status"] == "ok" and entry["partial"] is False and entry["count"] == planned
    assert entry["plannedCalls"] == entry["calls"] == planned and entry["skippedCalls"] == 0
    bodies = graph.evaluations()  # in arrival order: a few calls are in flight at once
    assert len(bodies) == planned
    lines = records(out, "conditionalAccessWhatIf")  # in the order of the plan
    assert sorted(json.dumps(line["request"], sort_keys=True) for line in lines) == sorted(
        json.dumps(b, sort_keys=True) for b in bodies)  # each answer stored with the request it answers
    planned_bodies = [line["request"] for line in lines]
    documented = json.loads((DATA / "conditional-access-evaluate-request.json").read_text())
    for body in bodies:
        # the documented shape, without risk levels, authentication flow or device info
        assert set(body) == set(documented) and body["appliedPoliciesOnly"] is True
        assert body["signInIdentity"] == {"@odata.type": "#microsoft.graph.userSignIn",
                                          "userId": body["signInIdentity"]["userId"]}
        assert body["signInContext"]["@odata.type"] == "#microsoft.graph.applicationContext"
        assert set(body["signInConditions"]) <= {"devicePlatform", "clientAppType", "ipAddress", "country"}
    # the newest guest of each kind; a guest of no sign-up kind and the flowless listener are never asked
    assert {b["signInIdentity"]["userId"] for b in bodies} == {GUEST_OTP, GUEST_GOOGLE}
    assert {b["signInContext"]["includeApplications"][0] for b in bodies} == {APPS[0], APPS[1]}
    # internet first: a documentation address outside every IP range, a country in no country location
    internet = planned_bodies[: 2 * 2 * cells]
    assert {json.dumps({k: v for k, v in b["signInConditions"].items() if k in ("ipAddress", "country")})
            for b in internet} == {json.dumps({"ipAddress": "198.51.100.10", "country": "US"})}
    assert {(b["signInConditions"]["devicePlatform"], b["signInConditions"]["clientAppType"])
            for b in internet} == {(p, c) for p in PLATFORMS for c in CLIENTS}
    rest = [b["signInConditions"] for b in planned_bodies[len(internet):]]
    assert sum(1 for c in rest if c == {**c, "country": "DE"} and "ipAddress" not in c) == 2 * 2 * cells
    assert sum(1 for c in rest if c.get("ipAddress") == "203.0.113.1" and "country" not in c) == 2 * 2 * cells
    assert entry["internetConditions"] == {"ipAddress": "198.51.100.10", "country": "US"}
    # each answer stored as one line: context, the request sent, the value received
    for line in lines:
        context = line["context"]
        assert set(context) == {"applicationId", "guestKind", "userId", "platform", "client", "location"}
        assert context["client"] == line["request"]["signInConditions"]["clientAppType"]
        assert line["value"][0]["policyApplies"] is (context["client"] == "browser")
        assert line["value"][0]["id"] == "37d51c45-8c60-4f82-98e0-6e1451cecf7c"
    assert {line["context"]["guestKind"] for line in lines} == {"emailOtp", "google"}
    assert {line["context"]["location"] for line in lines} == {"internet", "loc-office", "loc-de"}


def test_the_call_bound_cuts_named_locations_first(graph: GraphDouble, tmp_path: Path) -> None:
    _what_if_tenant(graph)
    out = tmp_path / "snap"
    entry = _sources(run_collect(out, graph, "--whatif-max-calls", "25"), out)["conditionalAccessWhatIf"]
    assert entry["status"] == "ok" and entry["partial"] is True
    assert entry["calls"] == 25 and entry["skippedCalls"] == 120 - 25 and entry["maxCalls"] == 25
    assert len(graph.evaluations()) == 25
    assert {line["context"]["location"] for line in records(out, "conditionalAccessWhatIf")} == {"internet"}


def test_what_if_bound_from_the_environment_and_zero_switches_it_off(graph: GraphDouble, tmp_path: Path) -> None:
    _what_if_tenant(graph)
    out = tmp_path / "snap"
    sources = _sources(run_collect(out, graph, env={"FLOWAUDIT_WHATIF_MAX_CALLS": "0"}), out)
    assert "conditionalAccessWhatIf" not in sources and graph.evaluations() == []
    again = tmp_path / "again"
    entry = _sources(run_collect(again, graph, env={"FLOWAUDIT_WHATIF_MAX_CALLS": "3"}), again)[
        "conditionalAccessWhatIf"]
    assert entry["calls"] == 3 and len(graph.evaluations()) == 3


def test_what_if_without_the_permission_is_skipped_as_forbidden(graph: GraphDouble, tmp_path: Path) -> None:
    _what_if_tenant(graph)
    graph.fail(EVALUATE, "forbidden")
    out = tmp_path / "snap"
    result = run_collect(out, graph)
    entry = _sources(result, out)["conditionalAccessWhatIf"]
    assert entry["status"] == "forbidden" and "file" not in entry and entry["calls"] == 1
    assert len(graph.evaluations()) == 1  # stopped at the first refusal
    assert "Policy.Read.ConditionalAccess" in result.stderr


def test_what_if_needs_the_sources_it_is_planned_from(graph: GraphDouble, tmp_path: Path) -> None:
    _what_if_tenant(graph)
    graph.fail("/identity/conditionalAccess/namedLocations", "forbidden")
    out = tmp_path / "snap"
    entry = _sources(run_collect(out, graph), out)["conditionalAccessWhatIf"]
    assert entry["status"] == "error" and entry["error"]["code"] == "DependsOnSource"
    assert "namedLocations" in entry["error"]["message"] and graph.evaluations() == []


def test_failed_what_if_calls_leave_the_source_partial(graph: GraphDouble, tmp_path: Path) -> None:
    _what_if_tenant(graph, namedLocations=[])
    graph.fail(EVALUATE, "server", times=2)
    out = tmp_path / "snap"
    entry = _sources(run_collect(out, graph, env={"FLOWAUDIT_MAX_RETRIES": "0"}), out)["conditionalAccessWhatIf"]
    assert entry["status"] == "ok" and entry["partial"] is True
    assert entry["failedCalls"] == 2 and entry["count"] == entry["calls"] - 2 == 40 - 2


def test_live_audit_takes_the_what_if_bound(graph: GraphDouble, tmp_path: Path) -> None:
    from click.testing import CliRunner
    from collect_support import FAST_ENV

    from auditor.cli import cli

    _what_if_tenant(graph)
    saved = tmp_path / "saved"
    result = CliRunner().invoke(cli, ["audit", "--graph-url", graph.url, "--auth", "token", "--save-snapshot",
                                      str(saved), "--output-dir", str(tmp_path / "out"), "--fail-on", "none",
                                      "--whatif-max-calls", "7"],
                                env={**FAST_ENV, "FLOWAUDIT_ACCESS_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    assert manifest(saved)["sources"]["conditionalAccessWhatIf"]["calls"] == 7 and len(graph.evaluations()) == 7


def test_the_collector_sends_the_queries_flowaudit_permissions_shows(graph: GraphDouble, tmp_path: Path) -> None:
    from auditor.sources import BY_KEY, encode_query

    serve_tenant(graph, conditionalAccessPolicies=[ca_policy("p1", include_groups=["g1"])],
                 conditionalAccessGroups=[group("g1")], userFlowApplications=[listener("B2X_1_a", APPS[:1])],
                 b2xUserFlows=[flow("B2X_1_a")])
    out = tmp_path / "snap"
    _sources(run_collect(out, graph, "--whatif-max-calls", "0"), out)
    for key in ("selfServiceSignUpUsers", "userFlowApplications"):
        source = BY_KEY[key]
        first = graph.hits(source.path, api=source.api)[0]
        assert _unquote(first.query) == _unquote(encode_query(source.query)), key
    source = BY_KEY["conditionalAccessGroups"]
    (hit,) = graph.hits(source.path.format(id="g1"))
    assert _unquote(hit.query) == _unquote(encode_query(source.query))
    (members,) = graph.hits("/groups/g1" + source.children[0].path.split("?")[0])
    assert _unquote(members.query) == source.children[0].path.split("?", 1)[1]
    source = BY_KEY["linkedServicePrincipals"]
    (hit,) = graph.hits(source.path)
    assert _unquote(hit.query) == _unquote(encode_query(tuple(
        (name, value.replace("{appIds}", f"'{APPS[0]}'")) for name, value in source.query)))


def test_graph_documented_batch_errors_end_each_child_in_its_status(graph: GraphDouble, tmp_path: Path) -> None:
    """Microsoft's documented $batch answer (403 with an empty code, 403 RequestDenied, 405)."""
    documented = json.loads((DATA / "batch-response.json").read_text())["responses"]
    serve_tenant(graph, b2xUserFlows=[flow("B2X_1_a")])

    def answer(payload: dict[str, Any]) -> dict[str, Any]:
        ids = [r["id"] for r in payload["requests"]]  # providers, assignments, connector configuration
        return {"responses": [{**documented[i + 1], "id": rid} for i, rid in enumerate(ids)]}

    graph.batch_override = answer
    out = tmp_path / "snap"
    children = _sources(run_collect(out, graph), out)["b2xUserFlows"]["children"]
    assert children["userFlowIdentityProviders"]["status"] == "forbidden"
    assert children["userAttributeAssignments"]["status"] == "forbidden"
    assert children["userAttributeAssignments"]["error"]["code"] == "Authorization_RequestDenied"
    assert children["apiConnectorConfiguration"]["status"] == "error"
    assert children["apiConnectorConfiguration"]["error"]["httpStatus"] == 405
    assert records(out, "b2xUserFlows") == [{k: v for k, v in flow("B2X_1_a").items() if k not in children}]
