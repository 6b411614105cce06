"""Shared helpers for the collection tests: a test token, a tenant served by the Graph double, and
running the real ``flowaudit collect`` (through click's runner, or as the installed console script
in a subprocess)."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from graph_double import GraphDouble
from graphdata import DEFAULT_SOURCES, TENANT_ID

from auditor.cli import cli
from auditor.sources import BY_KEY


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def make_token(tenant_id: str = TENANT_ID, expires_in: int = 3600) -> str:
    """An (unsigned) JWT-shaped bearer token like the ones pipelines hold; the tool reads only tid/exp."""
    claims = {"tid": tenant_id, "exp": int(time.time()) + expires_in, "aud": "https://graph.microsoft.com"}
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.c2VjcmV0LXNpZ25hdHVyZS1kby1ub3QtbGVhaw"


TOKEN = make_token()
FAST_ENV = {"FLOWAUDIT_BACKOFF_BASE": "0.5", "FLOWAUDIT_SIGNIN_RATE": "100/1", "FLOWAUDIT_ACTIVITY_RATE": "100/1",
            "FLOWAUDIT_CA_RATE": "100/1"}
# Small deadlines and caps so that every fault ends within a few seconds (the defaults are minutes).
FAULT_ENV = {**FAST_ENV, "FLOWAUDIT_MAX_RETRIES": "1", "FLOWAUDIT_RETRY_AFTER_CAP": "2",
             "FLOWAUDIT_HTTP_TIMEOUT": "2", "FLOWAUDIT_READ_TIMEOUT": "1", "FLOWAUDIT_CONNECT_TIMEOUT": "2",
             "FLOWAUDIT_MAX_PAGES": "20"}
CHILDREN = {"userFlowIdentityProviders": "/userFlowIdentityProviders",
            "userAttributeAssignments": "/userAttributeAssignments",
            "apiConnectorConfiguration": "/apiConnectorConfiguration"}
MEMBERS = "/transitiveMembers/microsoft.graph.user"
EVALUATE = "/identity/conditionalAccess/evaluate"


# -- v2 shapes: in auditor.shapes (the one library), re-exported for the collection tests ----------
from auditor.shapes import (  # noqa: E402
    cross_tenant_default,
)

V2_DEFAULTS: dict[str, Any] = {
    "namedLocations": [],
    "conditionalAccessGroups": [],  # groups the tenant has (only those a policy names are read)
    "crossTenantAccessPolicy": [cross_tenant_default()],  # the default first, then partners
    "linkedServicePrincipals": [],  # the tenant's service principals (read by appId)
    "accessReviewDefinitions": [],
}
ALL_DEFAULTS = {**DEFAULT_SOURCES, **V2_DEFAULTS}


def serve_tenant(double: GraphDouble, page_size: int | None = None, **overrides: Any) -> dict[str, Any]:
    """Serve the same tenant graphdata.write_snapshot would build from these overrides (plus the v2
    sources); returns the sources. What-If answers nothing applies unless the test says otherwise."""
    sources = {**ALL_DEFAULTS, **overrides}
    for key, value in sources.items():
        source = BY_KEY[key]
        path = source.path.split("?")[0]
        if key == "b2xUserFlows":
            flows = []
            for flow in value:
                flows.append({k: v for k, v in flow.items() if k not in CHILDREN})
                base = f"/identity/b2xUserFlows/{flow['id']}"
                double.collection(base + CHILDREN["userFlowIdentityProviders"], flow.get("userFlowIdentityProviders", []))
                double.collection(base + CHILDREN["userAttributeAssignments"], flow.get("userAttributeAssignments", []))
                if "apiConnectorConfiguration" in flow:
                    double.object(base + CHILDREN["apiConnectorConfiguration"], {
                        "postFederationSignup@odata.context": f"{double.url}/v1.0/$metadata#x/$entity",
                        **flow["apiConnectorConfiguration"]})
            double.collection(path, flows, page_size=page_size)
        elif key == "selfServiceSignUpUsers":
            # sponsors is a navigation property: in the list only with $expand, else per user.
            double.collection(path, value, page_size=page_size, expandable=("sponsors",))
            for item in value:
                double.collection(f"/users/{item['id']}/sponsors", item.get("sponsors", []))
        elif key == "conditionalAccessGroups":
            for item in value:
                double.object(f"/groups/{item['id']}", {k: v for k, v in item.items() if k != "transitiveMembers"})
                double.collection(f"/groups/{item['id']}{MEMBERS}", item.get("transitiveMembers", []),
                                  page_size=page_size, advanced=True)
        elif key == "crossTenantAccessPolicy":
            double.object(path, value[0])
            double.collection(path.rsplit("/", 1)[0] + "/partners", value[1:], page_size=page_size)
        elif key == "linkedServicePrincipals":
            double.collection(path, value, in_filter="appId")
        elif key == "accessReviewDefinitions":
            double.collection(path, value, paging="skip")
        elif source.singleton:
            double.object(path, value[0], api=source.api)
        else:
            double.collection(path, value, page_size=page_size, api=source.api,
                              filter_field="createdDateTime" if key == "signIns" else None)
    if double.evaluator is None:
        double.evaluate(plain_what_if(lambda: double.current("/identity/conditionalAccess/policies") or []))
    return sources


def plain_what_if(policies: Any) -> Any:
    """A stand-in for Graph's What-If over the served policies, for tests that do not set their own:
    a policy applies to a guest's sign-in when its users reach guests (All, GuestsOrExternalUsers, guest
    types), it is not excluded by the guest's id, its applications include the app (or All) and its
    client app types and platforms admit the sign-in; a policy with any other condition (locations,
    risk, devices, groups) is answered as not applying, which the tests that need them set explicitly.
    ``policies`` is called for each answer: writes to the double (``flowaudit apply``) are seen."""
    def answer(body: dict[str, Any]) -> list[dict[str, Any]]:
        user_id = (body.get("signInIdentity") or {}).get("userId")
        apps = (body.get("signInContext") or {}).get("includeApplications") or []
        conditions = body.get("signInConditions") or {}
        out = []
        for policy in policies():
            if policy.get("state") not in ("enabled", "enabledForReportingButNotEnforced"):
                continue
            c = policy.get("conditions") or {}
            users = c.get("users") or {}
            guests = users.get("includeGuestsOrExternalUsers") or {}
            reaches = bool({"All", "GuestsOrExternalUsers"} & set(users.get("includeUsers") or [])) or \
                "b2bCollaborationGuest" in str(guests.get("guestOrExternalUserTypes") or "")
            excluded_types = str((users.get("excludeGuestsOrExternalUsers") or {}).get("guestOrExternalUserTypes") or "")
            excluded = (user_id in (users.get("excludeUsers") or []) or bool(users.get("excludeGroups"))
                        or "GuestsOrExternalUsers" in (users.get("excludeUsers") or [])
                        or "b2bCollaborationGuest" in excluded_types)
            targets = c.get("applications") or {}
            included = set(targets.get("includeApplications") or [])
            app_ok = bool({"All", *apps} & included) and not set(apps) & set(targets.get("excludeApplications") or [])
            clients = set(c.get("clientAppTypes") or ["all"])
            platforms = c.get("platforms") or {}
            platform_ok = not platforms or bool({"all", conditions.get("devicePlatform")}
                                                & set(platforms.get("includePlatforms") or []))
            other = any(c.get(k) for k in ("locations", "devices", "signInRiskLevels", "userRiskLevels",
                                           "insiderRiskLevels", "authenticationFlows"))
            if (reaches and not excluded and app_ok and platform_ok and not other
                    and bool({"all", conditions.get("clientAppType")} & clients)):
                out.append({"id": policy["id"], "displayName": policy.get("displayName"), "state": policy["state"],
                            "policyApplies": True, "analysisReasons": "notSet", "conditions": c,
                            "grantControls": policy.get("grantControls"), "sessionControls": None})
        return out

    return answer


def unreachable_graph() -> Any:
    """Stands where a GraphDouble would, at a local port nobody listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    class Closed:
        url = f"http://127.0.0.1:{port}"

    return Closed()


def run_collect(out: Path, double: GraphDouble, *args: str, token: str | None = TOKEN,
                env: dict[str, str] | None = None) -> Result:
    environment = {**FAST_ENV, **(env or {})}
    environment["FLOWAUDIT_ACCESS_TOKEN"] = token  # type: ignore[assignment]  # None unsets it
    return CliRunner().invoke(cli, ["collect", "-o", str(out), "--graph-url", double.url, "--auth", "token", *args],
                              env=environment)


def console_script() -> list[str]:
    """The installed `flowaudit` entry point of this interpreter's environment (else python -m auditor)."""
    script = Path(sys.executable).with_name("flowaudit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "auditor"]


def run_cli(args: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real console script in its own process, with a clean environment (no FLOWAUDIT_* of the caller)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWAUDIT_", "AZURE_"))}
    environment.update(env or {})
    return subprocess.run([*console_script(), *args], capture_output=True, text=True, env=environment,
                          cwd=cwd, timeout=timeout, check=False)


def collect_cli(out: Path, double: GraphDouble, *args: str, token: str = TOKEN,
                env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run_cli(["collect", "-o", str(out), "--graph-url", double.url, "--auth", "token", *args],
                   env={**FAULT_ENV, **(env or {}), "FLOWAUDIT_ACCESS_TOKEN": token}, timeout=timeout)


def manifest(snapshot: Path) -> dict[str, Any]:
    return json.loads((snapshot / "manifest.json").read_text())


def records(snapshot: Path, key: str) -> list[dict[str, Any]]:
    entry = manifest(snapshot)["sources"][key]
    raw = (snapshot / entry["file"]).read_bytes()
    if entry["file"].endswith(".gz"):
        raw = gzip.decompress(raw)
    return [json.loads(line) for line in raw.splitlines() if line.strip()]
