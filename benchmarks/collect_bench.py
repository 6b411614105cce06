"""Collection benchmark: the real collector against the Graph double with per-request latency and
Graph's documented throttle limits enforced by the double.

Tenant: 20 flows, 5,000 self-service sign-up guests, 20,000 sign-ins (by default). Prints requests
made, wall time, and the throttle-bound minimum (the sign-in pages at 5 requests / 10 s); the target
is wall ≤ 1.2 × that minimum. Run: .venv/bin/python benchmarks/collect_bench.py [--latency 0.05]

``--whatif`` measures Conditional Access What-If instead: 20 applications linked to flows (by
default), guests of ``--kinds`` kinds, ``--locations`` named locations, the double enforcing the
Conditional Access limit (1 request / second per tenant, 429 without Retry-After). Prints the calls
planned and made, wall time, the throttle-bound minimum ((calls - 1) × 1 s) and the 429s drawn.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from collect_support import TOKEN, serve_tenant  # noqa: E402
from graph_double import GraphDouble  # noqa: E402
from graphdata import assignment, ca_policy, connector, flow, listener, sign_in, user  # noqa: E402


def build_tenant(flows: int, guests: int, signins: int) -> dict:
    now = datetime.now(timezone.utc)
    conn = connector("c-persist")
    return {
        "b2xUserFlows": [flow(f"B2X_1_flow{i:02d}", attributes=[assignment(f"extension_abc_A{i}")],
                              post_attribute_collection=conn) for i in range(flows)],
        "apiConnectors": [conn],
        "userFlowApplications": [listener(f"B2X_1_flow{i:02d}", [f"app-{i}"]) for i in range(flows)],
        "conditionalAccessPolicies": [ca_policy(f"p{i}") for i in range(10)],
        "selfServiceSignUpUsers": [user(f"{i:08d}-0000-0000-0000-000000000000") for i in range(guests)],
        "signIns": [sign_in(f"{i % guests:08d}-0000-0000-0000-000000000000", sign_in_id=f"si-{i}",
                            created=(now - timedelta(seconds=60 + i * 60)).strftime("%Y-%m-%dT%H:%M:%SZ"))
                    for i in range(signins)],
    }


def what_if(args: argparse.Namespace) -> int:
    from collect_support import ip_location
    from graph_double import example

    issuers = ["mail", "google.com", "facebook.com", "live.com", "ExternalAzureAD"][: args.kinds]
    apps = [f"{i:08d}-3333-4333-8333-333333333333" for i in range(args.apps)]
    double = GraphDouble(TOKEN, latency=args.latency).start()
    serve_tenant(double,
                 b2xUserFlows=[flow(f"B2X_1_flow{i:02d}") for i in range(args.apps)],
                 userFlowApplications=[listener(f"B2X_1_flow{i:02d}", [a]) for i, a in enumerate(apps)],
                 selfServiceSignUpUsers=[user(f"{i:08d}-0000-4000-8000-000000000000", issuer=issuer)
                                         for i, issuer in enumerate(issuers)],
                 namedLocations=[ip_location(f"loc{i}", [f"10.{i}.0.0/16"]) for i in range(args.locations)])
    answer = example("conditional-access-evaluate-response.json")["value"]
    double.evaluate(lambda body: answer)
    # The documented limit, enforced by the double: any 429 here means our pacing is wrong.
    double.limit("/v1.0/identity/conditionalAccess", 1, 1.0, retry_after=False)
    os.environ["FLOWAUDIT_ACCESS_TOKEN"] = TOKEN
    from auditor.collect import collect
    from auditor.connection import ConnectionOptions

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        path = collect(ConnectionOptions(graph_url=double.url, auth="token"), Path(tmp) / "snap",
                       signin_days=30, quiet=True, whatif_max_calls=args.max_calls)
        wall = time.perf_counter() - started
        entry = json.loads((path / "manifest.json").read_text())["sources"]["conditionalAccessWhatIf"]
    double.stop()
    ca = [r for r in double.requests if r.path.startswith("/v1.0/identity/conditionalAccess")]
    evaluations = [r for r in ca if r.path.endswith("/evaluate")]
    retried = sum(1 for r in ca if r.retry_attempt)
    calls = entry.get("calls", 0)
    ca_requests = len(ca) - retried
    minimum = max(0, ca_requests - 1) * 1.0
    print(f"tenant: {args.apps} applications, {args.kinds} guest kind(s), {args.locations} named location(s); "
          f"latency {args.latency * 1000:.0f} ms; --whatif-max-calls {args.max_calls}")
    print(f"What-If: {entry.get('plannedCalls')} planned, {calls} made, {entry.get('skippedCalls')} skipped; "
          f"{entry.get('failedCalls')} failed; status {entry['status']}{' (partial)' if entry['partial'] else ''}; "
          f"{len(evaluations)} POSTs seen")
    print(f"Conditional Access requests: {ca_requests} (policies, named locations, What-If); "
          f"429 drawn and retried: {retried}")
    print(f"wall: {wall:.1f} s; throttle-bound minimum at 1 request/s: {minimum:.0f} s; "
          f"wall / minimum: {wall / minimum if minimum else float('nan'):.2f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every request")
    parser.add_argument("--flows", type=int, default=20)
    parser.add_argument("--guests", type=int, default=5000)
    parser.add_argument("--signins", type=int, default=20000)
    parser.add_argument("--whatif", action="store_true", help="measure Conditional Access What-If instead")
    parser.add_argument("--apps", type=int, default=20, help="--whatif: applications linked to flows")
    parser.add_argument("--kinds", type=int, default=2, help="--whatif: guest kinds present (1-5)")
    parser.add_argument("--locations", type=int, default=0, help="--whatif: named locations")
    parser.add_argument("--max-calls", type=int, default=400, help="--whatif: --whatif-max-calls")
    args = parser.parse_args()
    if args.whatif:
        return what_if(args)

    signin_limit, signin_window = 5, 10.0  # identity & access reports: 5 requests / 10 s
    double = GraphDouble(TOKEN, latency=args.latency).start()
    tenant = build_tenant(args.flows, args.guests, args.signins)
    serve_tenant(double, **tenant)
    # Graph pages: 1,000 sign-ins, 500 users with signInActivity.
    double.collection("/auditLogs/signIns", tenant["signIns"], page_size=1000, api="beta",
                      filter_field="createdDateTime")
    double.collection("/users", tenant["selfServiceSignUpUsers"], page_size=500)
    # The documented limits, enforced by the double: any 429 here means our pacing is wrong.
    double.limit("/beta/auditLogs/signIns", signin_limit, signin_window)
    double.limit("/v1.0/users", 10, 60.0)
    double.limit("/v1.0/identity/conditionalAccess", 1, 1.0, retry_after=False)
    double.limit("/v1.0/identity/b2x", 200, 60.0)

    os.environ["FLOWAUDIT_ACCESS_TOKEN"] = TOKEN
    from auditor.collect import collect
    from auditor.connection import ConnectionOptions
    from auditor.snapshot import open_snapshot

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        path = collect(ConnectionOptions(graph_url=double.url, auth="token"), Path(tmp) / "snap",
                       signin_days=30, quiet=True)
        wall = time.perf_counter() - started
        snapshot = open_snapshot(path)
        counts = {k: snapshot.source(k).count for k in ("b2xUserFlows", "selfServiceSignUpUsers", "signIns")}
        statuses = {k: e.status for k, e in snapshot.manifest.sources.items()}
    double.stop()
    retried_paths = sorted({r.path for r in double.requests if r.retry_attempt})

    signin_pages = math.ceil(args.signins / 1000)
    spacing = signin_window / signin_limit
    window_minimum = (math.ceil(signin_pages / signin_limit) - 1) * signin_window + signin_pages / signin_pages * args.latency
    spaced_minimum = signin_pages * spacing
    throttled = sum(1 for r in double.requests if r.retry_attempt)
    print(f"tenant: {args.flows} flows, {args.guests} guests, {args.signins} sign-ins; latency {args.latency * 1000:.0f} ms")
    print(f"collected: {counts}; statuses: {sorted(set(statuses.values()))}")
    print(f"requests: {sum(1 for r in double.requests if not r.batch_item)} HTTP "
          f"({sum(1 for r in double.requests if r.batch_item)} inside $batch), retried after 429: {throttled} {retried_paths}")
    print(f"wall: {wall:.2f} s")
    print(f"throttle-bound minimum: {signin_pages} sign-in pages at {signin_limit}/{signin_window:.0f} s = "
          f"{window_minimum:.2f} s (sliding window); pages x spacing ({spacing:.0f} s) = {spaced_minimum:.1f} s")
    print(f"wall / minimum: {wall / window_minimum:.2f} (target <= 1.2); wall / (pages x spacing): "
          f"{wall / spaced_minimum:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
