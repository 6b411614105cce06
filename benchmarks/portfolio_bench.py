"""Portfolio benchmark: `flowaudit portfolio run` over many live tenants served by one local Graph
double that enforces Graph's documented budgets, per tenant and per app across tenants; then
`flowaudit portfolio merge` of the tenant folders it wrote.

Each tenant is small (one flow, one guest, ``--pages`` sign-in pages of one sign-in each, a few
What-If calls), so Graph's throttling, not the data, sets the pace. The double enforces, per tenant:
sign-ins 5 / 10 s, users with signInActivity 10 / 60 s, Conditional Access 1 / s (no Retry-After);
and across all tenants: sign-ins 122 / 10 s (identity and access reports, per app). flowaudit runs
with its default budgets (the same numbers), as a user would run it.

The throttle-bound minimum is computed from what the double accepted (429s are not counted): the
largest of, across all tenants, (sign-in requests - 1) // 122 x 10 s, and per tenant (its sign-in
requests - 1) // 5 x 10 s, (its Conditional Access requests - 1) x 1 s and (its user requests with
signInActivity - 1) // 10 x 60 s: no schedule that respects every budget can finish sooner (a
sliding window lets a budget's worth start at once, then one more budget's worth per window).

Prints: requests, 429s, wall time of the run against that minimum (target <= 1.2x), the run's peak
RSS (target <= 1 GiB), and the wall time of merging the tenant folders (target: seconds).
Run: .venv/bin/python benchmarks/portfolio_bench.py [--tenants 200] [--pages 6]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from collect_support import console_script, make_token, serve_tenant  # noqa: E402
from graph_double import GraphDouble  # noqa: E402
from graphdata import ca_policy, flow, listener, sign_in, user  # noqa: E402

SIGNINS = "/beta/auditLogs/signIns"
CA = "/v1.0/identity/conditionalAccess"
USERS = "/v1.0/users"
TENANT_SIGNIN, APP_SIGNIN, CA_RATE, ACTIVITY = (5, 10.0), (122, 10.0), (1, 1.0), (10, 60.0)


def tenant_id(index: int) -> str:
    return f"{index:08x}-0000-4000-8000-{index:012x}"


def serve(double: GraphDouble, pages: int) -> None:
    recent = datetime.now(timezone.utc) - timedelta(hours=1)
    guest = "00000000-1111-4111-8111-000000000001"
    app = "00000000-3333-4333-8333-000000000001"
    serve_tenant(double, page_size=1, b2xUserFlows=[flow("B2X_1_partners")],
                 userFlowApplications=[listener("B2X_1_partners", [app])],
                 conditionalAccessPolicies=[ca_policy("p-guests")], selfServiceSignUpUsers=[user(guest)],
                 signIns=[sign_in(guest, app_id=app, sign_in_id=f"s{n}",
                                  created=(recent - timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ"))
                          for n in range(pages)])
    double.limit(SIGNINS, *TENANT_SIGNIN)
    double.limit(USERS, *ACTIVITY)
    double.limit(CA, *CA_RATE, retry_after=False)


def minimum(tenants: list[GraphDouble]) -> tuple[float, str]:
    """The throttle-bound minimum (seconds) and which budget sets it."""
    def accepted(double: GraphDouble, prefix: str) -> int:
        # Requests the double answered (a 429 is recorded too: its resend is the one that counts).
        throttled = Counter(r.path for r in double.requests if r.retry_attempt)
        return sum(1 for r in double.requests if r.path.startswith(prefix) and not r.batch_item) - \
            sum(n for path, n in throttled.items() if path.startswith(prefix))

    bounds: list[tuple[float, str]] = []
    total = sum(accepted(t, SIGNINS) for t in tenants)
    bounds.append((((total - 1) // APP_SIGNIN[0]) * APP_SIGNIN[1], f"{total} sign-in requests at 122 / 10 s per app"))
    for t in tenants:
        n, c = accepted(t, SIGNINS), accepted(t, CA)
        a = sum(1 for r in t.requests if r.path == USERS and "signInActivity" in r.query)
        bounds.append((((n - 1) // TENANT_SIGNIN[0]) * TENANT_SIGNIN[1], f"{n} sign-in requests at 5 / 10 s per tenant"))
        bounds.append(((c - 1) * CA_RATE[1], f"{c} Conditional Access requests at 1 / s per tenant"))
        bounds.append((((a - 1) // ACTIVITY[0]) * ACTIVITY[1], f"{a} user requests at 10 / min per tenant"))
    return max(bounds)


def run_child(args: list[str], env: dict[str, str]) -> tuple[int, float, int]:
    """(exit code, wall seconds, peak RSS in KiB) of a child process."""
    started = time.perf_counter()
    child = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = child.stderr.read() if child.stderr else ""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        print(stderr[-3000:], file=sys.stderr)
    return code, wall, usage.ru_maxrss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--pages", type=int, default=6, help="sign-in pages per tenant")
    parser.add_argument("--whatif-max-calls", type=int, default=4)
    parser.add_argument("--parallel", type=int, default=None, help="--parallel of portfolio run (default: its own)")
    parser.add_argument("--keep", type=Path, help="keep the output here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="flowaudit-portfolio-bench-"))
    tokens = [make_token(tenant_id(i)) for i in range(args.tenants)]
    double = GraphDouble(tokens[0]).start()
    tenants = [double] + [double.add_tenant(token) for token in tokens[1:]]
    for tenant in tenants:
        serve(tenant, args.pages)
    double.limit_app(SIGNINS, *APP_SIGNIN)
    entries = "".join(f"  - name: Tenant {i:03d}\n    tenant: {tenant_id(i)}\n    token-env: BENCH_TOKEN_{i}\n"
                      for i in range(args.tenants))
    (work / "TENANTS.yaml").write_text(f"defaults:\n  auth: token\n  graph-url: {double.url}\n"
                                       f"  whatif-max-calls: {args.whatif_max_calls}\n  fail-on: none\n"
                                       f"tenants:\n{entries}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWAUDIT_", "AZURE_"))}
    env.update({f"BENCH_TOKEN_{i}": token for i, token in enumerate(tokens)})
    out = work / "out"
    command = [*console_script(), "-q", "portfolio", "run", str(work / "TENANTS.yaml"), "--output-dir", str(out),
               "--format", "json"]
    if args.parallel:
        command += ["--parallel", str(args.parallel)]
    code, wall, rss = run_child(command, env)
    double.stop()
    requests = [r for t in tenants for r in t.requests]
    bound, why = minimum(tenants)
    portfolio = json.loads((out / "portfolio.json").read_text())
    statuses = Counter(t["status"] for t in portfolio["tenants"])
    signins = [r for r in requests if r.path == SIGNINS]
    print(f"tenants: {args.tenants}, {args.pages} sign-in pages each, --whatif-max-calls {args.whatif_max_calls}; "
          f"portfolio run exit {code}; tenants {dict(statuses)}")
    print(f"requests: {sum(1 for r in requests if not r.batch_item)} HTTP ({sum(1 for r in requests if r.batch_item)} "
          f"inside $batch), {len(signins)} to sign-ins; 429s answered: {double.throttled}")
    print(f"run wall: {wall:.1f} s; throttle-bound minimum: {bound:.0f} s ({why}); wall / minimum: "
          f"{wall / bound:.2f} (target <= 1.2)")
    print(f"run peak RSS: {rss / 1024:.0f} MiB (target <= 1024 MiB)")

    folders = [str(out / t["folder"]) for t in portfolio["tenants"]]
    merged = work / "merged"
    for formats in ("json,html", "json,html,pdf"):
        code, merge_wall, merge_rss = run_child([*console_script(), "-q", "portfolio", "merge", *folders,
                                                 "--output-dir", str(merged), "--format", formats], env)
        print(f"merge of {len(folders)} tenant folders (--format {formats}): exit {code}, {merge_wall:.1f} s, "
              f"peak RSS {merge_rss / 1024:.0f} MiB")
    if args.keep:
        shutil.copytree(work, args.keep, dirs_exist_ok=True)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
