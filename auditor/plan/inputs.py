"""The inputs a change needs, and the placeholders that carry them into requests.

A request body (or an expected value) may hold placeholders instead of values:

- ``{"$input": NAME}``: the value of ``inputs.NAME`` (a URL, an appId list — never a secret);
- ``{"$env": NAME}``: the value of the environment variable whose *name* is ``inputs.NAME``
  (a certificate or Basic password: secrets never live in the plan file);
- ``{"$file": NAME}``: the base64 content of the file at ``inputs.NAME`` (a PKCS#12 certificate);
- ``{"$step": ID, "pointer": P}``: a value from the response of the earlier step ``ID`` (an id
  Graph assigned), and in URLs the token ``{step:ID:P}``.

Displaying a plan resolves only ``$input``; secrets and files are named, never read. Only
:func:`resolve` (called by ``apply --yes`` just before sending) reads environment variables and
files.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from auditor.errors import InputError
from auditor.plan.model import STEP_TOKEN, Change, Need
from auditor.redact import redact_url, secret_params

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Variables that hold flowaudit's own credentials: a plan must not be able to send them to Graph as
# a connector password (from where the connector would hand them to any URL).
_CREDENTIAL_ENV_PREFIXES = ("AZURE_", "FLOWAUDIT_", "IDENTITY_", "MSI_", "ACTIONS_ID_TOKEN", "ARM_")
MAX_PKCS12_BYTES = 1024 * 1024
PLACEHOLDER_KEYS = ("$input", "$env", "$file", "$step")


# --- validation ----------------------------------------------------------------------------------

def check_https_url(value: Any) -> str | None:
    """Why ``value`` is not an https URL without a secret, or None."""
    if not isinstance(value, str) or not value.strip():
        return "expected an https:// URL"
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
    except ValueError:
        return "not a valid URL"
    if parts.scheme.lower() != "https" or not host:
        return "must be an https:// URL with a host"
    if parts.username or parts.password:
        return "must not carry a user name or password"
    if secret_params(value) or redact_url(value) != value:
        return "its query carries a secret-looking parameter: protect the endpoint with the certificate instead"
    return None


def check_env_name(value: Any) -> str | None:
    if not isinstance(value, str) or not ENV_NAME.match(value):
        return "expected the name of an environment variable (letters, digits, underscore)"
    if value.upper().startswith(_CREDENTIAL_ENV_PREFIXES):
        return (f"{value} holds flowaudit's own credentials (AZURE_*, FLOWAUDIT_*, ...): use a variable of "
                "your own for this secret")
    return None


def resolve_path(value: str, base_dir: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base_dir / path


def check_pkcs12_file(value: Any, base_dir: Path) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "expected the path of a PKCS#12 (.pfx) file"
    path = resolve_path(value, base_dir)
    try:
        if not path.is_file():
            return f"{path}: no such file"
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(1)
    except OSError as exc:
        return f"{path}: cannot read: {exc.strerror or exc}"
    if size > MAX_PKCS12_BYTES:
        return f"{path}: {size} bytes is too large for a PKCS#12 certificate"
    if head != b"\x30":  # every PKCS#12 file is a DER SEQUENCE
        return f"{path}: not a PKCS#12 (.pfx) file (a PEM file must be converted first)"
    return None


def check_input(need: Need, value: Any, base_dir: Path) -> str | None:
    """Why ``value`` is not a valid input for ``need``, or None."""
    if need.kind == "httpsUrl":
        return check_https_url(value)
    if need.kind == "envVar":
        return check_env_name(value)
    if need.kind == "pkcs12File":
        return check_pkcs12_file(value, base_dir)
    if need.kind == "confirm":
        return None if value is True else "set it to true once the change board has approved this change"
    if need.kind == "choice":
        allowed = [c.value for c in need.choices]
        return None if value in allowed else f"expected one of {', '.join(allowed)}"
    if need.kind == "appIds":
        ok = isinstance(value, list) and value and all(isinstance(v, str) and GUID.match(v) for v in value)
        return None if ok else "expected a non-empty list of application (client) ids"
    return f"unknown kind {need.kind}"


def missing(change: Change) -> list[Need]:
    """Needs without a value: the change stays inert until someone supplies them."""
    return [n for n in change.needs if change.inputs.get(n.name) is None]


def problems(change: Change, base_dir: Path) -> list[str]:
    """Supplied inputs that are invalid (each names the input and why)."""
    out = []
    for need in change.needs:
        value = change.inputs.get(need.name)
        if value is None:
            continue
        why = check_input(need, value, base_dir)
        if why:
            out.append(f"inputs.{need.name}: {why}")
    return out


def status(change: Change, base_dir: Path) -> str:
    """``ready`` (every need supplied and valid), ``needsInput`` or ``invalid``."""
    if problems(change, base_dir):
        return "invalid"
    return "needsInput" if missing(change) else "ready"


# --- placeholders ---------------------------------------------------------------------------------

def is_placeholder(value: Any) -> bool:
    return isinstance(value, dict) and len(value.keys() & set(PLACEHOLDER_KEYS)) == 1


@dataclass
class Resolver:
    """Turns placeholders into values. ``secrets``: read environment variables and files (apply only)."""

    inputs: Mapping[str, Any]
    base_dir: Path
    secrets: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)  # step id -> response body
    env: Callable[[str], str | None] = os.environ.get

    def value(self, template: Any) -> Any:
        if is_placeholder(template):
            return self._one(template)
        if isinstance(template, dict):
            return {k: self.value(v) for k, v in template.items()}
        if isinstance(template, list):
            return [self.value(v) for v in template]
        return template

    def url(self, template: str) -> str:
        def step(match: re.Match[str]) -> str:
            found = pointer_get(self.outputs.get(match.group(1)), match.group(2))
            if not isinstance(found, (str, int)) or found is NOT_FOUND:
                raise InputError(f"no value at {match.group(2)} in the response of step {match.group(1)}")
            from urllib.parse import quote

            return quote(str(found), safe="")
        return STEP_TOKEN.sub(step, template)

    def _one(self, template: dict[str, Any]) -> Any:
        if "$input" in template:
            return self.inputs.get(template["$input"])
        if "$step" in template:
            found = pointer_get(self.outputs.get(template["$step"]), template.get("pointer", ""))
            if found is NOT_FOUND:
                raise InputError(f"no value at {template.get('pointer')} in the response of step {template['$step']}")
            return found
        if not self.secrets:
            raise InputError("internal: a secret placeholder was resolved outside apply")
        name = self.inputs.get(template.get("$env") or template.get("$file") or "")
        if "$env" in template:
            secret = self.env(str(name)) if name else None
            if secret is None:
                raise InputError(f"environment variable {name} is not set")
            return secret
        path = resolve_path(str(name), self.base_dir)
        try:
            return base64.b64encode(path.read_bytes()).decode("ascii")
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def env_names(template: Any, inputs: Mapping[str, Any]) -> list[str]:
    """The environment variables a request would read (to check they are set before sending anything)."""
    found: list[str] = []
    if is_placeholder(template) and "$env" in template:
        name = inputs.get(template["$env"])
        if isinstance(name, str):
            found.append(name)
    elif isinstance(template, dict):
        for v in template.values():
            found.extend(env_names(v, inputs))
    elif isinstance(template, list):
        for v in template:
            found.extend(env_names(v, inputs))
    return found


def display(template: Any, inputs: Mapping[str, Any]) -> Any:
    """A request body or value as a reviewer sees it: inputs filled in, secrets and files named only,
    URLs with their secret-looking query values redacted."""
    if is_placeholder(template):
        if "$input" in template:
            value = inputs.get(template["$input"])
            return display(value, {}) if value is not None else f"<inputs.{template['$input']}>"
        if "$env" in template:
            name = inputs.get(template["$env"])
            return f"<secret from ${name}>" if name else f"<secret from the variable named in inputs.{template['$env']}>"
        if "$file" in template:
            name = inputs.get(template["$file"])
            return f"<base64 of {name}>" if name else f"<base64 of the file named in inputs.{template['$file']}>"
        return f"<{template.get('pointer', '')} of step {template['$step']}'s response>"
    if isinstance(template, dict):
        return {k: display(v, inputs) for k, v in template.items()}
    if isinstance(template, list):
        return [display(v, inputs) for v in template]
    if isinstance(template, str) and "://" in template:
        return redact_url(template)
    return template


def display_url(url: str) -> str:
    return redact_url(STEP_TOKEN.sub(lambda m: f"<{m.group(2).lstrip('/')} of step {m.group(1)}>", url))


# --- JSON pointers ---------------------------------------------------------------------------------

class _NotFound:
    def __repr__(self) -> str:
        return "<absent>"


NOT_FOUND: Any = _NotFound()


def pointer_get(document: Any, pointer: str) -> Any:
    """RFC 6901 lookup; :data:`NOT_FOUND` when a segment is missing (Graph omits null properties)."""
    if pointer in ("", "/"):
        return document
    current = document
    for raw in pointer.lstrip("/").split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(current, dict) and key in current:
            current = current[key]
        elif isinstance(current, list) and key.isdigit() and int(key) < len(current):
            current = current[int(key)]
        else:
            return NOT_FOUND
    return current


# --- PKCS#12 ---------------------------------------------------------------------------------------

def inspect_pkcs12(path: Path, password: str) -> str | None:
    """Open the certificate with its password (cryptography is imported only here); why it cannot be
    uploaded, or None. An expired certificate would not fix anything."""
    try:
        from cryptography.hazmat.primitives.serialization import pkcs12
    except ImportError:  # pragma: no cover - cryptography ships with azure-identity
        return None
    try:
        key, cert, _ = pkcs12.load_key_and_certificates(path.read_bytes(), password.encode() or None)
    except (ValueError, TypeError) as exc:
        return f"{path}: cannot open the PKCS#12 file with that password ({exc})"
    except OSError as exc:
        return f"{path}: cannot read: {exc.strerror or exc}"
    if key is None or cert is None:
        return f"{path}: the PKCS#12 file must hold a certificate and its private key"
    if cert.not_valid_after_utc <= datetime.now(timezone.utc):
        return f"{path}: the certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}"
    return None
