"""Faults injected into the Graph double, collected by the real console script (a subprocess running
the installed ``flowaudit``, real msgraph-core/kiota transport, ``--auth token``).

Every case must end with: the expected exit code, no traceback, nothing half-written, the faulted
source in the expected status (``error`` and partial where pages were read, never ``ok`` with fewer
records), and, in an audit of the snapshot, no rule that *passes* on the faulted data.

To keep the suite fast, cases that fault different sources share one collection (one subprocess
and one audit); each case is still its own test. Cases that end the run (exit 3) run alone. Small
deadlines and caps (FAULT_ENV) make every fault end in seconds.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from collect_support import (
    EVALUATE,
    MEMBERS,
    TOKEN,
    collect_cli,
    make_token,
    run_cli,
    serve_tenant,
    unreachable_graph,
)
from graph_double import GraphDouble
from graphdata import (
    applied_policy,
    assignment,
    attribute,
    ca_policy,
    cert,
    connector,
    flow,
    listener,
    provider,
    sign_in,
    user,
)

from auditor.shapes import (
    cross_tenant_default,
    group,
    ip_location,
    member,
    partner,
    service_principal,
    sponsor,
)

FLOWS = "/identity/b2xUserFlows"
PROGRESS = re.compile(r"^flowaudit: \w+: \w+, \d+ records?( \(partial\))?$")
APPS = [f"{i:08d}-2222-4222-8222-222222222222" for i in range(6)]
# Rules that read each flow child (they must not pass when it is missing).
CHILD_RULES = {"userFlowIdentityProviders": {"IDP001", "IDP002"},
               "userAttributeAssignments": {"ATT001", "ATT002", "ATT005", "ATT006"},
               "apiConnectorConfiguration": {"ATT004", "CON006"}}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def tenant() -> dict[str, Any]:
    """A tenant on which most rules pass: a fault that makes one pass would show."""
    now = datetime.now(timezone.utc)
    certificate = cert(not_after=_iso(now + timedelta(days=365)), not_before=_iso(now - timedelta(days=30)))
    connectors = [connector("c1", certs=[certificate]), connector("c2", certs=[certificate])]
    # Email OTP is off for external users and no flow offers it: IDP001 passes only by reading every
    # flow's providers.
    flows = [flow(f"B2X_1_f{i}", providers=("AADSignup-OAUTH", "MSASignup-OAUTH"),
                  attributes=[assignment("extension_abc_Tier")], post_attribute_collection=connectors[i % 2])
             for i in range(6)]
    guests = [user(f"0000000{i}-0000-4000-8000-000000000000", last_sign_in=_iso(now - timedelta(days=2)),
                   created=_iso(now - timedelta(days=60))) for i in range(4)]
    mfa = [sign_in(g["id"], app_id=APPS[0], requirement="multiFactorAuthentication",
                   applied=[applied_policy("p-guests", result="success")],
                   created=_iso(now - timedelta(hours=i + 1))) for i, g in enumerate(guests + guests[:2])]
    return dict(
        b2xUserFlows=flows,
        apiConnectors=connectors,
        userFlowApplications=[listener(f["id"], [APPS[i]]) for i, f in enumerate(flows)],
        userFlowAttributes=[attribute("extension_abc_Tier"), attribute("extension_abc_Region"),
                            attribute("city", custom=False), attribute("country", custom=False)],
        identityProviders=[provider("Google-OAUTH"), provider("Facebook-OAUTH")],
        emailAuthenticationMethod=[{"@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration",
                                    "id": "Email", "state": "enabled", "allowExternalIdToUseEmailOtp": "disabled",
                                    "includeTargets": []}],
        conditionalAccessPolicies=[ca_policy("p-guests", include_users=[], guest_types="b2bCollaborationGuest"),
                                   ca_policy("p-all"), ca_policy("p-block", controls=["block"], include_apps=["none"]),
                                   ca_policy("p-groups", include_users=[], include_groups=["g1"])],
        conditionalAccessGroups=[group("g1", [member(g["id"]) for g in guests])],
        selfServiceSignUpUsers=[{**g, "sponsors": [sponsor("s1")]} for g in guests],
        signIns=mfa,
        namedLocations=[ip_location("loc-a", ["203.0.113.0/24"]), ip_location("loc-b", ["198.51.100.0/24"])],
        crossTenantAccessPolicy=[cross_tenant_default(), partner("t1"), partner("t2")],
        linkedServicePrincipals=[service_principal(a, required=True) for a in APPS],
    )


# -- the cases --------------------------------------------------------------------------------

Inject = Callable[[GraphDouble, GraphDouble], None]  # (graph, another host)


@dataclass(frozen=True)
class Case:
    name: str
    target: str  # the source it faults (or "b2xUserFlows:<flow>", "batch" for the whole $batch answer)
    inject: Inject
    status: str = "error"  # expected status of the source (of the child for a flow child)
    partial: bool = False
    count: int | None = None  # records kept
    words: str = ""  # in the error message
    child: str | None = None  # a flow child: (child name, flow id) in target "b2xUserFlows:<flow>"
    exit_code: int = 0
    alone: bool = False
    check: str = "source"  # "source", or "sponsors" (the users source stays ok, its sponsors flag says)


def _page(items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#x", "value": items, **extra}


T = tenant()


def _spoil(path: str, **how: Any) -> Inject:
    return lambda g, _: g.spoil_batch(path, **how)


def _respond(path: str, body: Any = None, *, api: str = "v1.0", raw: bytes | None = None,
             page: int | None = None) -> Inject:
    return lambda g, _: g.respond(path, body, api=api, raw=raw, page=page)


def _fail(path: str, kind: str, *, api: str = "v1.0", **kw: Any) -> Inject:
    return lambda g, _: g.fail(path, kind, api=api, **kw)


def _away(path: str, status: int, *, api: str = "v1.0", page: int | None = None) -> Inject:
    return lambda g, other: g.redirect(path, f"{other.url}/{api}{path}", status=status, api=api, page=page)


def _moved_within_graph(g: GraphDouble, _: GraphDouble) -> None:
    g.collection("/identity/identityProvidersMoved", T["identityProviders"])
    g.redirect("/identity/identityProviders", f"{g.url}/v1.0/identity/identityProvidersMoved", status=307)


CASES: list[Case] = [
    # pages that are not what Graph returns (first page: nothing read)
    Case("value-is-an-object", "apiConnectors", _respond("/identity/apiConnectors", _page({"id": "c1"}))),
    Case("value-is-null", "identityProviders", _respond("/identity/identityProviders", _page(None))),
    Case("value-is-missing", "userFlowAttributes", _respond("/identity/userFlowAttributes",
                                                            {"@odata.context": "x"})),
    Case("value-holds-scalars", "authenticationStrengthPolicies",
         _respond("/policies/authenticationStrengthPolicies", _page([1, 2]))),
    Case("value-mixes-objects-and-a-string", "userFlowApplications",
         _respond("/identity/events/onSignupStart", _page([T["userFlowApplications"][0], "x"]), api="beta")),
    Case("record-lacks-a-key-graph-always-sends", "conditionalAccessPolicies",
         _respond("/identity/conditionalAccess/policies", _page([{"id": "p9"}]))),
    Case("empty-body", "signIns", _respond("/auditLogs/signIns", raw=b"", api="beta")),
    Case("body-is-not-json", "selfServiceSignUpUsers", _respond("/users", raw=b"<html>maintenance</html>")),
    Case("body-is-a-json-array", "b2xUserFlows", _respond(FLOWS, [{"id": "B2X_1_x"}])),
    Case("body-is-truncated-json", "namedLocations",
         _respond("/identity/conditionalAccess/namedLocations", raw=b'{"value": [{"id"')),
    Case("object-lacks-its-keys", "authorizationPolicy", _respond("/policies/authorizationPolicy",
                                                                  {"@odata.context": "x"})),
    Case("object-is-a-json-string", "emailAuthenticationMethod",
         _respond("/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/email", "ok")),
    Case("value-is-an-object-in-access-reviews", "accessReviewDefinitions",
         _respond("/identityGovernance/accessReviews/definitions", _page({}))),
    Case("value-is-an-object-in-service-principals", "linkedServicePrincipals",
         _respond("/servicePrincipals", _page({}))),
    Case("what-if-value-is-an-object", "conditionalAccessWhatIf", _respond(EVALUATE, _page({}))),
    Case("group-members-value-is-null", "conditionalAccessGroups", _respond(f"/groups/g1{MEMBERS}", _page(None))),
    # a later page that is not what Graph returns: the first pages are kept, as partial, in error
    Case("page-2-value-is-an-object", "conditionalAccessPolicies",
         _respond("/identity/conditionalAccess/policies", _page({}), page=1), partial=True, count=2),
    Case("next-link-is-a-number", "userFlowAttributes",
         _respond("/identity/userFlowAttributes", _page(T["userFlowAttributes"][:2], **{"@odata.nextLink": 7})),
         partial=True, count=2, words="nextLink"),
    Case("next-link-is-null", "selfServiceSignUpUsers",
         _respond("/users", _page(T["selfServiceSignUpUsers"][:2], **{"@odata.nextLink": None})),
         partial=True, count=2, words="nextLink"),
    Case("next-link-leads-to-another-host", "b2xUserFlows",
         lambda g, other: g.respond(FLOWS, _page([{k: v for k, v in f.items() if k not in (
             "userFlowIdentityProviders", "userAttributeAssignments", "apiConnectorConfiguration")}
             for f in T["b2xUserFlows"][:2]], **{"@odata.nextLink": f"{other.url}/v1.0{FLOWS}?$skiptoken=1"})),
         partial=True, count=2, words="off the Graph host"),
    Case("next-link-is-relative", "userFlowApplications",
         _respond("/identity/events/onSignupStart", _page(T["userFlowApplications"][:2], **{
             "@odata.nextLink": "/beta/identity/events/onSignupStart?$skiptoken=1"}), api="beta"),
         partial=True, count=2),
    Case("next-link-loops", "apiConnectors",
         lambda g, _: g.endless("/identity/apiConnectors", T["apiConnectors"][0], mode="loop"),
         partial=True, count=2, words="same @odata.nextLink"),
    Case("next-link-never-ends", "namedLocations",
         lambda g, _: g.endless("/identity/conditionalAccess/namedLocations", T["namedLocations"][0]),
         partial=True, count=20, words="FLOWAUDIT_MAX_PAGES"),
    Case("partners-next-link-is-a-number", "crossTenantAccessPolicy",
         _respond("/policies/crossTenantAccessPolicy/partners", _page([partner("t1")], **{"@odata.nextLink": 3})),
         partial=True, count=2),
    # redirects off the Graph host are refused; within it they are followed
    Case("302-to-another-host", "authorizationPolicy", _away("/policies/authorizationPolicy", 302),
         words="redirect"),
    Case("307-to-another-host", "apiConnectors", _away("/identity/apiConnectors", 307), words="redirect"),
    Case("308-to-another-host", "signIns", _away("/auditLogs/signIns", 308, api="beta"), words="redirect"),
    Case("301-to-another-host-on-page-2", "conditionalAccessPolicies",
         _away("/identity/conditionalAccess/policies", 301, page=1), partial=True, count=2),
    Case("302-to-localhost-is-another-host", "identityProviders",
         lambda g, _: g.redirect("/identity/identityProviders",
                                 g.url.replace("127.0.0.1", "localhost") + "/v1.0/identity/identityProviders")),
    Case("redirect-within-graph-is-followed", "identityProviders", _moved_within_graph, status="ok", count=2),
    # answers that never complete end at the deadline
    Case("body-trickles-forever", "apiConnectors", lambda g, _: g.trickle("/identity/apiConnectors"),
         words="FLOWAUDIT_HTTP_TIMEOUT"),
    Case("no-answer-at-all", "userFlowAttributes", lambda g, _: g.stall("/identity/userFlowAttributes")),
    Case("page-2-trickles", "signIns", lambda g, _: g.trickle("/auditLogs/signIns", api="beta", page=1),
         status="ok", partial=True, count=2),
    # throttling is bounded
    Case("retry-after-100000", "authorizationPolicy",
         _fail("/policies/authorizationPolicy", "throttled", retry_after="100000"), words="FLOWAUDIT_RETRY_AFTER_CAP"),
    Case("retry-after-a-far-http-date", "emailAuthenticationMethod",
         _fail("/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/email", "throttled",
               retry_after="Wed, 21 Oct 2099 07:28:00 GMT"), words="FLOWAUDIT_RETRY_AFTER_CAP"),
    Case("429-without-retry-after-for-ever", "conditionalAccessPolicies",
         _fail("/identity/conditionalAccess/policies", "throttled"), words="still throttled"),
    Case("503-for-ever", "identityProviders", _fail("/identity/identityProviders", "unavailable")),
    # Graph errors with Graph's bodies
    Case("403", "apiConnectors", _fail("/identity/apiConnectors", "forbidden"), status="forbidden"),
    Case("403-unlicensed", "signIns", _fail("/auditLogs/signIns", "unlicensed", api="beta"), status="unlicensed"),
    Case("404", "userFlowAttributes", _fail("/identity/userFlowAttributes", "resourceNotFound")),
    Case("404-on-beta", "userFlowApplications", _fail("/identity/events/onSignupStart", "notFound", api="beta"),
         status="unavailable"),
    Case("400", "authenticationStrengthPolicies", _fail("/policies/authenticationStrengthPolicies", "badRequest")),
    Case("500", "identityProviders", _fail("/identity/identityProviders", "server")),
    Case("500-on-page-2", "conditionalAccessPolicies",
         _fail("/identity/conditionalAccess/policies", "server", page=1), status="ok", partial=True, count=2),
    # $batch answers that are not what Graph returns (each on its own flow child)
    Case("batch-item-body-is-null", "b2xUserFlows:B2X_1_f0",
         _spoil(f"{FLOWS}/B2X_1_f0/userFlowIdentityProviders", body=None), child="userFlowIdentityProviders"),
    Case("batch-item-body-is-a-string", "b2xUserFlows:B2X_1_f1",
         _spoil(f"{FLOWS}/B2X_1_f1/userAttributeAssignments", body="oops"), child="userAttributeAssignments"),
    Case("batch-item-id-twice", "b2xUserFlows:B2X_1_f2",
         _spoil(f"{FLOWS}/B2X_1_f2/apiConnectorConfiguration", duplicate=True), child="apiConnectorConfiguration"),
    Case("batch-item-status-is-a-string", "b2xUserFlows:B2X_1_f3",
         _spoil(f"{FLOWS}/B2X_1_f3/userFlowIdentityProviders", status="OK"), child="userFlowIdentityProviders"),
    Case("batch-item-value-is-an-object", "b2xUserFlows:B2X_1_f4",
         _spoil(f"{FLOWS}/B2X_1_f4/userAttributeAssignments", body={"value": {"id": "x"}}),
         child="userAttributeAssignments"),
    Case("batch-item-next-link-to-another-host", "b2xUserFlows:B2X_1_f5",
         lambda g, other: g.spoil_batch(f"{FLOWS}/B2X_1_f5/userFlowIdentityProviders", body={
             "value": [], "@odata.nextLink": f"{other.url}/v1.0{FLOWS}/B2X_1_f5/userFlowIdentityProviders?x=1"}),
         child="userFlowIdentityProviders"),
    Case("batch-item-retry-after-100000", "b2xUserFlows:B2X_1_f5",
         _fail(f"{FLOWS}/B2X_1_f5/apiConnectorConfiguration", "throttled", retry_after="100000", batch_only=True),
         child="apiConnectorConfiguration", words="FLOWAUDIT_RETRY_AFTER_CAP"),
    Case("batch-answer-names-an-unknown-id", "batch",
         _spoil(f"{FLOWS}/B2X_1_f0/userFlowIdentityProviders", foreign_id="999"), child="userFlowIdentityProviders"),
    Case("batch-responses-is-not-a-list", "batch",
         lambda g, _: setattr(g, "batch_override", lambda payload: {"responses": {"id": "1"}}),
         child="userAttributeAssignments"),
    Case("batch-request-left-unanswered", "batch",
         _spoil(f"{FLOWS}/B2X_1_f0/apiConnectorConfiguration", drop=True), child="apiConnectorConfiguration",
         words="no response"),
    Case("sponsors-batch-item-status-is-a-string", "selfServiceSignUpUsers:sponsors",
         lambda g, _: (setattr(g.routes["/v1.0/users"], "honour_expand", False),
                       g.spoil_batch("/users/00000001-0000-4000-8000-000000000000/sponsors", status="OK")),
         status="ok", check="sponsors"),
    # faults that end the collection: exit 3 with one line, no snapshot
    Case("401-on-one-source", "authorizationPolicy", _fail("/policies/authorizationPolicy", "unauthorized"),
         exit_code=3, alone=True, words="authentication failed"),
]
CASE_BY_NAME = {c.name: c for c in CASES}


# -- running them -------------------------------------------------------------------------------

@dataclass
class Run:
    cases: list[Case]
    exit_code: int = -1
    stderr: str = ""
    stdout: str = ""
    seconds: float = 0.0
    manifest: dict[str, Any] | None = None
    snapshot_records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    leftovers: list[str] = field(default_factory=list)
    elsewhere_requests: int = 0
    audit: dict[str, Any] | None = None
    audit_exit: int | None = None


# Sources computed from others, and what travels through $batch: faults on them must not share a run.
DEPENDS = {"conditionalAccessWhatIf": {"userFlowApplications", "selfServiceSignUpUsers", "namedLocations"},
           "conditionalAccessGroups": {"conditionalAccessPolicies"},
           "linkedServicePrincipals": {"userFlowApplications"},
           "batch": {"b2xUserFlows", "selfServiceSignUpUsers", "conditionalAccessGroups"}}


def _clash(a: str, b: str) -> bool:
    if a == b:
        return True
    base_a, base_b = a.split(":")[0], b.split(":")[0]
    if base_b in DEPENDS.get(base_a, set()) or base_a in DEPENDS.get(base_b, set()):
        return True
    return base_a == base_b and (":" not in a or ":" not in b)  # two children of different flows may share


def _pack(cases: list[Case]) -> list[list[Case]]:
    """Cases that fault unrelated data share a run; a case that ends the run is alone."""
    runs: list[list[Case]] = []
    for case in cases:
        if case.alone:
            runs.append([case])
            continue
        for run in runs:
            if not run[0].alone and not any(_clash(c.target, case.target) for c in run):
                run.append(case)
                break
        else:
            runs.append([case])
    return runs


def _execute(cases: list[Case], workdir: Path) -> Run:
    run = Run(cases)
    with GraphDouble(TOKEN) as graph, GraphDouble(TOKEN) as elsewhere:
        serve_tenant(graph, page_size=2, **tenant())
        elsewhere.collection(FLOWS, [], api="v1.0")
        for case in cases:
            case.inject(graph, elsewhere)
        out = workdir / "snap"
        started = time.monotonic()
        process = collect_cli(out, graph, "--whatif-max-calls", "5", timeout=120)
        run.seconds = time.monotonic() - started
        run.elsewhere_requests = len(elsewhere.requests)
    run.exit_code, run.stderr, run.stdout = process.returncode, process.stderr, process.stdout
    run.leftovers = sorted(p.name for p in workdir.iterdir() if p.name != "snap")
    if (out / "manifest.json").is_file():
        run.manifest = json.loads((out / "manifest.json").read_text())
        for key, entry in run.manifest["sources"].items():
            if entry.get("file", "").endswith(".jsonl"):
                run.snapshot_records[key] = [json.loads(line) for line in
                                             (out / entry["file"]).read_text().splitlines() if line.strip()]
        audit = run_cli(["audit", "--snapshot", str(out), "--format", "json", "--output-dir",
                         str(workdir / "audit"), "--fail-on", "none", "--quiet"])
        run.audit_exit = audit.returncode
        if (workdir / "audit" / "result.json").is_file():
            run.audit = json.loads((workdir / "audit" / "result.json").read_text())
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every case's run, executed once per module (each run has its own servers, stopped after)."""
    by_case: dict[str, Run] = {}
    for index, cases in enumerate(_pack(CASES)):
        run = _execute(cases, tmp_path_factory.mktemp(f"faults{index}"))
        for case in cases:
            by_case[case.name] = run
    return by_case


@pytest.fixture(scope="module")
def control(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The same tenant without faults: the rules these cases guard do pass on it."""
    return _execute([], tmp_path_factory.mktemp("control"))


def test_the_tenant_passes_the_rules_the_cases_guard(control: Run) -> None:
    assert control.exit_code == 0, control.stderr
    assert control.manifest is not None and control.audit is not None
    assert _faulted(control.manifest["sources"]) == set()
    passed = {r["id"] for r in control.audit["rules"] if r["outcome"] == "pass"}
    assert set().union(*CHILD_RULES.values()) <= passed
    assert len(passed) >= 15, sorted(passed)


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_fault(runs: dict[str, Run], name: str) -> None:
    case = CASE_BY_NAME[name]
    run = runs[name]
    assert run.exit_code == case.exit_code, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert "internal error" not in run.stderr.lower()
    assert run.stdout == ""  # stdout carries only what was asked for: nothing, for collect
    assert run.leftovers == []  # no spool or temporary directory left beside the snapshot
    assert run.elsewhere_requests == 0  # nothing was fetched from (or sent to) another host
    if case.exit_code != 0:
        # progress lines of sources that finished first, then one line saying why it stopped
        lines = [line for line in run.stderr.splitlines() if line.strip() and not PROGRESS.match(line)]
        assert len(lines) == 1 and case.words in lines[0] and run.stderr.rstrip().endswith(lines[0]), run.stderr
        assert run.manifest is None  # no half-written snapshot
        assert TOKEN.split(".")[2] not in run.stderr
        return
    assert run.manifest is not None
    sources = run.manifest["sources"]
    assert not [e for e in sources.values() if (e.get("error") or {}).get("code") == "InternalError"]
    if case.check == "sponsors":
        entry = sources["selfServiceSignUpUsers"]
        assert entry["status"] == "ok" and entry["sponsors"] is False
        assert entry["omitted"]["sponsors"]["code"] == "MalformedBatch"
        return
    if case.child is not None:
        entry = sources["b2xUserFlows"]
        assert entry["status"] == "ok", entry
        child = entry["children"][case.child]
        assert child["status"] == case.status and case.words in child["error"]["message"], child
        flows = {f["id"]: f for f in run.snapshot_records["b2xUserFlows"]}
        missing = child["flows"]
        wanted = case.target.split(":", 1)[1] if case.target != "batch" else None
        assert wanted is None or wanted in missing
        for flow_id in missing:
            assert case.child not in flows[flow_id]  # absent, never an empty list
        _assert_rules_not_pass(run, CHILD_RULES[case.child], f"{case.child} spoiled")
        return
    entry = sources[case.target]
    assert entry["status"] == case.status, entry
    assert entry["partial"] is case.partial, entry
    if case.count is None:
        assert "file" not in entry or case.status == "ok"
    else:
        assert entry["count"] == case.count and len(run.snapshot_records.get(case.target, [])) in (0, case.count)
    if case.status != "ok" or case.partial:
        assert case.words in entry["error"]["message"], entry["error"]
        # the closing table names the source, its status and why
        row = next(line for line in run.stderr.splitlines() if line.startswith(case.target + " "))
        assert case.status in row
    faulted = _faulted(sources)
    _assert_rules_not_pass(run, None, f"sources {sorted(faulted)} faulted", faulted)


def _faulted(sources: dict[str, Any]) -> set[str]:
    # What-If cut short by --whatif-max-calls is partial by design, not a fault.
    return {k for k, e in sources.items()
            if e["status"] != "ok" or (e["partial"] and k != "conditionalAccessWhatIf")}


def _assert_rules_not_pass(run: Run, rule_ids: set[str] | None, why: str, faulted: set[str] | None = None) -> None:
    """No rule passes on data a fault damaged (it is notEvaluated, or fails on what was read)."""
    assert run.audit_exit == 0 and run.audit is not None
    passing = [r for r in run.audit["rules"] if r["outcome"] == "pass"]
    if rule_ids is not None:
        assert not [r["id"] for r in passing if r["id"] in rule_ids], why
    if faulted is not None:
        assert not [(r["id"], r["sources"]) for r in passing if set(r["sources"]) & faulted], why


def test_the_token_rejected_everywhere_exits_3_with_one_line(tmp_path: Path) -> None:
    with GraphDouble(TOKEN) as graph:
        serve_tenant(graph)
        wrong = make_token(expires_in=600).replace("c2VjcmV0", "d3Jvbmc")
        process = collect_cli(tmp_path / "snap", graph, token=wrong)
    assert process.returncode == 3
    lines = [line for line in process.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "authentication failed" in lines[0] and "FLOWAUDIT_ACCESS_TOKEN" in lines[0]
    assert wrong not in process.stderr and "Traceback" not in process.stderr
    assert list(tmp_path.iterdir()) == []


def test_graph_unreachable_exits_3_with_one_line(tmp_path: Path) -> None:
    process = collect_cli(tmp_path / "snap", unreachable_graph())
    assert process.returncode == 3
    lines = [line for line in process.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Graph unreachable" in lines[0]
    assert list(tmp_path.iterdir()) == []
