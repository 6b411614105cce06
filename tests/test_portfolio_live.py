"""`flowaudit portfolio run` against the local Graph double serving several tenants at once (each
known by its token's tid), through the installed console script: each tenant's own data, one
failing tenant that stops nobody, collection concurrent across tenants, and the application's
sign-in budget shared by all of them."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from collect_support import FAST_ENV, make_token, run_cli, serve_tenant
from graph_double import GraphDouble, Recorded
from graphdata import assignment, attribute, flow, sign_in, user

ALPHA = "aaaaaaaa-0000-4000-8000-00000000000a"
BETA = "bbbbbbbb-0000-4000-8000-00000000000b"
GAMMA = "cccccccc-0000-4000-8000-00000000000c"
SIGNINS = "/auditLogs/signIns"
BOOL_FLOW = flow("B2X_1_partners", attributes=[assignment("extension_abc_IsPartner", "boolean")])


def tenants_file(path: Path, double: GraphDouble, entries: str, defaults: str = "") -> Path:
    path.write_text(f"""\
defaults:
  auth: token
  graph-url: {double.url}
  whatif-max-calls: 0
{defaults}tenants:
{entries}""", encoding="utf-8")
    return path


def portfolio(tmp_path: Path, tenants: Path, env: dict[str, str], *args: str):
    return run_cli(["portfolio", "run", str(tenants), "--output-dir", str(tmp_path / "out"), "--format", "json",
                    *args], env={**FAST_ENV, **env}, timeout=300)


def rows(tmp_path: Path) -> dict[str, dict]:
    return {t["name"]: t for t in json.loads((tmp_path / "out" / "portfolio.json").read_text())["tenants"]}


def test_each_live_tenant_gets_its_own_data_and_a_failing_one_stops_nobody(tmp_path: Path) -> None:
    tokens = {ALPHA: make_token(ALPHA), BETA: make_token(BETA), GAMMA: make_token(GAMMA)}
    with GraphDouble(tokens[ALPHA]) as double:
        # Alpha collects a Boolean custom attribute (ATT001, high); Beta is a quiet tenant; Gamma's
        # token is refused by Graph (authentication failed: exit 3).
        serve_tenant(double, b2xUserFlows=[BOOL_FLOW], userFlowAttributes=[attribute("extension_abc_IsPartner",
                                                                                     "boolean")])
        beta = double.add_tenant(tokens[BETA])
        serve_tenant(beta, selfServiceSignUpUsers=[user("beta-guest-1")], signIns=[sign_in("beta-guest-1")])
        (tmp_path / "broken-waivers.yaml").write_text("waivers: [oops]\n")
        tenants = tenants_file(tmp_path / "TENANTS.yaml", double, f"""\
  - name: Alpha
    tenant: {ALPHA}
    token-env: TOKEN_ALPHA
  - name: Beta
    tenant: {BETA}
    token-env: TOKEN_BETA
  - name: Gamma
    tenant: {GAMMA}
    token-env: TOKEN_GAMMA
  - name: Delta (bad waivers)
    tenant: {BETA}
    token-env: TOKEN_BETA
    waivers: broken-waivers.yaml
  - name: Offline
    sample: fabrikam
""")
        run = portfolio(tmp_path, tenants, {"TOKEN_ALPHA": tokens[ALPHA], "TOKEN_BETA": tokens[BETA],
                                            "TOKEN_GAMMA": tokens[GAMMA]})
        # ($batch items carry no header of their own; a token the server knows not lands on its own double)
        alpha_auth = {r.authorization for r in double.requests if not r.batch_item}
        beta_auth = {r.authorization for r in beta.requests if not r.batch_item}
    assert run.returncode == 2, run.stderr  # Delta's invalid input beats Gamma's incomplete audit
    by_name = rows(tmp_path)
    alpha, beta_row, gamma, delta, offline = by_name.values()
    assert alpha["status"] == "audited" and alpha["tenantId"] == ALPHA and alpha["exitCode"] == 1
    assert "ATT001" in alpha["verdict"] and alpha["families"]["ATT"]["status"] == "failed"
    assert beta_row["status"] == "audited" and beta_row["tenantId"] == BETA and beta_row["exitCode"] == 0
    assert beta_row["families"]["ATT"]["status"] == "passed"
    assert gamma["status"] == "failed" and gamma["exitCode"] == 3
    assert gamma["reason"].startswith("authentication failed") and "TOKEN_GAMMA" in gamma["reason"]
    assert tokens[GAMMA] not in run.stdout + run.stderr  # never a token on screen
    assert delta["status"] == "failed" and delta["exitCode"] == 2 and "broken-waivers.yaml" in delta["reason"]
    assert offline["status"] == "audited" and offline["tenantId"] == "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
    # each tenant's requests carried its own token; Delta stopped before any request
    assert alpha_auth == {f"Bearer {tokens[ALPHA]}", f"Bearer {tokens[GAMMA]}"}
    assert beta_auth == {f"Bearer {tokens[BETA]}"}
    result = json.loads((tmp_path / "out" / alpha["folder"] / "result.json").read_text())
    assert result["tenantId"] == ALPHA and {f["ruleId"] for f in result["findings"]} >= {"ATT001"}
    # no snapshot of a live tenant is kept (no save-snapshot given)
    assert not list((tmp_path / "out").rglob("manifest.json"))
    assert run.stdout.splitlines()[-1].startswith("INVALID: 1 tenant with invalid input (exit 2); 1 tenant not "
                                                  "completely audited (exit 3)")


def test_live_tenants_are_collected_at_the_same_time(tmp_path: Path) -> None:
    """Alpha's sign-in answer is held until Beta's sign-in request has arrived: collecting one
    tenant after the other could never satisfy that (Alpha would wait its 30 s out)."""
    tokens = {ALPHA: make_token(ALPHA), BETA: make_token(BETA)}
    beta_arrived = threading.Event()
    alpha_waited: list[bool] = []
    with GraphDouble(tokens[ALPHA]) as double:
        serve_tenant(double)
        beta = double.add_tenant(tokens[BETA])
        serve_tenant(beta)

        def hold_alpha(record: Recorded) -> None:
            if record.path.endswith(SIGNINS) and not alpha_waited:
                alpha_waited.append(beta_arrived.wait(timeout=30))

        def mark_beta(record: Recorded) -> None:
            if record.path.endswith(SIGNINS):
                beta_arrived.set()

        double.before, beta.before = hold_alpha, mark_beta
        tenants = tenants_file(tmp_path / "TENANTS.yaml", double, f"""\
  - name: Alpha
    tenant: {ALPHA}
    token-env: TOKEN_ALPHA
  - name: Beta
    tenant: {BETA}
    token-env: TOKEN_BETA
""")
        run = portfolio(tmp_path, tenants, {"TOKEN_ALPHA": tokens[ALPHA], "TOKEN_BETA": tokens[BETA]})
    assert run.returncode == 0, run.stderr
    assert alpha_waited == [True]
    assert [t["status"] for t in rows(tmp_path).values()] == ["audited", "audited"]


def test_tenants_share_the_apps_sign_in_budget(tmp_path: Path) -> None:
    """Graph allows the app 122 sign-in requests / 10 s across all tenants (here 3 / 3 s, and the
    client paces at 3 / 4 s): three tenants with two pages each need two windows and draw no 429.
    Collected without the shared budget, the six requests would go out at once."""
    tokens = [make_token(t) for t in (ALPHA, BETA, GAMMA)]
    recent = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")  # in the window
    with GraphDouble(tokens[0]) as double:
        doubles = [double, double.add_tenant(tokens[1]), double.add_tenant(tokens[2])]
        for index, tenant in enumerate(doubles):
            guest = f"guest-{index}"
            serve_tenant(tenant, page_size=1, selfServiceSignUpUsers=[user(guest)],
                         signIns=[sign_in(guest, sign_in_id=f"s{index}-{n}", created=recent) for n in (1, 2)])
        double.limit_app(f"/beta{SIGNINS}", 3, 3.0)
        entries = "".join(f"  - name: T{i}\n    tenant: {t}\n    token-env: TOKEN_{i}\n"
                          for i, t in enumerate((ALPHA, BETA, GAMMA)))
        run = portfolio(tmp_path, tenants_file(tmp_path / "TENANTS.yaml", double, entries, "  fail-on: none\n"),
                        {"FLOWAUDIT_APP_SIGNIN_RATE": "3/4", **{f"TOKEN_{i}": t for i, t in enumerate(tokens)}})
        signin_requests = [r for r in double.all_requests() if r.path.endswith(SIGNINS)]
        throttled = double.throttled
    assert run.returncode == 0, run.stderr
    assert throttled == 0 and len(signin_requests) == 6
    for row in rows(tmp_path).values():
        result = json.loads((tmp_path / "out" / row["folder"] / "result.json").read_text())
        assert result["snapshot"]["sources"]["signIns"] == {**result["snapshot"]["sources"]["signIns"], "status": "ok",
                                                            "count": 2, "partial": False}
