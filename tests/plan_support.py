"""Helpers for the plan/apply tests: the console script, sample tenants served by the Graph double,
PKCS#12 certificates made on the spot, and reading plans and results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from collect_support import FAST_ENV, TOKEN, serve_tenant
from graph_double import GraphDouble

from auditor.snapshot import open_snapshot
from auditor.sources import SOURCE_KEYS

FLOWAUDIT = str(Path(sys.executable).with_name("flowaudit"))
SAMPLES = Path(__file__).resolve().parents[1] / "samples"
PFX_PASSWORD = "pfx-Pa55-not-in-any-file"


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script, with a clean FLOWAUDIT_* environment plus ``env``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("FLOWAUDIT_")}
    return subprocess.run([FLOWAUDIT, *args], capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={**base, **FAST_ENV, **(env or {})})


def live(double: GraphDouble) -> list[str]:
    return ["--graph-url", double.url, "--auth", "token"]


TOKEN_ENV = {"FLOWAUDIT_ACCESS_TOKEN": TOKEN}


def sample_sources(name: str) -> dict[str, list[dict[str, Any]]]:
    snapshot = open_snapshot(SAMPLES / name)
    return {key: snapshot.records(key) for key in SOURCE_KEYS if snapshot.status(key) == "ok"}


def serve_sample(double: GraphDouble, name: str, **overrides: Any) -> dict[str, Any]:
    return serve_tenant(double, **{**sample_sources(name), **overrides})


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def changes_of(plan: dict[str, Any], rule_id: str) -> list[dict[str, Any]]:
    return [c for c in plan["changes"] if c["ruleId"] == rule_id]


def findings_by_rule(result_path: Path) -> Counter[str]:
    return Counter(f["ruleId"] for f in load(result_path)["findings"] if f["status"] == "open")


def make_pfx(path: Path, password: str = PFX_PASSWORD, days: int = 730) -> Path:
    """A self-signed client certificate with its key, as a password-protected PKCS#12 file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flowaudit-test-connector")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=days)).sign(key, hashes.SHA256()))
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"connector", key, cert, None,
                                                           BestAvailableEncryption(password.encode())))
    return path


def edit_plan(path: Path, change_id: str, **inputs: Any) -> None:
    """What a person does after the change board: supply a change's inputs in the plan file."""
    plan = load(path)
    change = next(c for c in plan["changes"] if c["id"] == change_id)
    change["inputs"].update(inputs)
    path.write_text(json.dumps(plan, indent=2), encoding="utf-8")
