"""Shared helpers for the collection tests: a test token, a tenant served by the Graph double, and
running the real ``flowaudit collect`` through click's runner."""

from __future__ import annotations

import base64
import json
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
FAST_ENV = {"FLOWAUDIT_BACKOFF_BASE": "0.5", "FLOWAUDIT_SIGNIN_RATE": "100/1", "FLOWAUDIT_ACTIVITY_RATE": "100/1"}
CHILDREN = {"userFlowIdentityProviders": "/userFlowIdentityProviders",
            "userAttributeAssignments": "/userAttributeAssignments",
            "apiConnectorConfiguration": "/apiConnectorConfiguration"}


def serve_tenant(double: GraphDouble, page_size: int | None = None, **overrides: Any) -> dict[str, Any]:
    """Serve the same tenant graphdata.write_snapshot would build from these overrides; returns the sources."""
    sources = {**DEFAULT_SOURCES, **overrides}
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
        elif source.singleton:
            double.object(path, value[0], api=source.api)
        else:
            double.collection(path, value, page_size=page_size, api=source.api,
                              filter_field="createdDateTime" if key == "signIns" else None)
    return sources


def run_collect(out: Path, double: GraphDouble, *args: str, token: str | None = TOKEN,
                env: dict[str, str] | None = None) -> Result:
    environment = {**FAST_ENV, **(env or {})}
    environment["FLOWAUDIT_ACCESS_TOKEN"] = token  # type: ignore[assignment]  # None unsets it
    return CliRunner().invoke(cli, ["collect", "-o", str(out), "--graph-url", double.url, "--auth", "token", *args],
                              env=environment)


def manifest(snapshot: Path) -> dict[str, Any]:
    return json.loads((snapshot / "manifest.json").read_text())


def records(snapshot: Path, key: str) -> list[dict[str, Any]]:
    import gzip

    entry = manifest(snapshot)["sources"][key]
    raw = (snapshot / entry["file"]).read_bytes()
    if entry["file"].endswith(".gz"):
        raw = gzip.decompress(raw)
    return [json.loads(line) for line in raw.splitlines() if line.strip()]
