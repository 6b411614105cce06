"""Pick and construct the azure-identity credential for ``--auth`` (secrets only from the environment).

Constructing a credential makes no network call, so tests check the selection offline; the first
token is fetched by :func:`acquire_token`, which turns any failure into one line naming the
credential and what to set (never the token).
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from auditor.collect.endpoints import GraphEndpoint
from auditor.connection import ConnectionOptions
from auditor.errors import IncompleteAuditError, InputError

TOKEN_ENV = "FLOWAUDIT_ACCESS_TOKEN"


@dataclass(frozen=True)
class CredentialChoice:
    credential: Any  # an azure.core TokenCredential
    description: str  # what was tried, for the one-line error
    hint: str  # what to set when it fails


class StaticTokenCredential:
    """A ready bearer token (``--auth token``): satisfies azure.core's TokenCredential protocol."""

    def __init__(self, token: str) -> None:
        self._token = token
        claims = jwt_claims(token)
        exp = claims.get("exp")
        self.expires_on = int(exp) if isinstance(exp, (int, float)) else int(time.time()) + 3600

    def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                  enable_cae: bool = False, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, self.expires_on)

    def __repr__(self) -> str:  # never show the token, even in a debugger or a log of objects
        return "StaticTokenCredential(<redacted>)"


class CachingCredential:
    """Reuse one token until shortly before it expires.

    Kiota asks the credential on every request; some credentials (Azure CLI) spawn a process each
    time, and concurrent sources would otherwise request many tokens at once.
    """

    REFRESH_MARGIN = 300  # seconds before expiry

    def __init__(self, inner: Any, tenant_id: str | None = None) -> None:
        self._inner = inner
        self._tenant_id = tenant_id  # ask for a token of this tenant (one identity auditing many tenants)
        self._lock = threading.Lock()
        self._cached: Any = None

    def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                  enable_cae: bool = False, **kwargs: Any) -> Any:
        with self._lock:
            if claims or self._cached is None or self._cached.expires_on - self.REFRESH_MARGIN < time.time():
                tenant = tenant_id or self._tenant_id
                if tenant:
                    kwargs["tenant_id"] = tenant
                self._cached = self._inner.get_token(*scopes, claims=claims, **kwargs)
            return self._cached

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if callable(close):
            close()


def jwt_claims(token: str) -> dict[str, Any]:
    """The (unverified) claims of a JWT access token, or {} when it is not one; used for tid/exp only."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _require(mode: str, names: dict[str, str | None]) -> list[str]:
    """The values, in order; exit 2 naming every one that is not set."""
    missing = [name for name, value in names.items() if not value]
    if missing:
        raise InputError(f"--auth {mode}: set {', '.join(missing)} in the environment")
    return [value for value in names.values() if value]


def _device_code_prompt(verification_uri: str, user_code: str, expires_on: Any) -> None:
    # stdout carries only what was asked for: the sign-in instruction goes to stderr.
    print(f"flowaudit: to sign in, open {verification_uri} and enter the code {user_code}", file=sys.stderr)


def build_credential(connection: ConnectionOptions, endpoint: GraphEndpoint) -> CredentialChoice:
    """Construct (without calling) the credential for ``connection.auth``."""
    mode = connection.auth
    if mode == "token":
        variable = connection.token_env or TOKEN_ENV
        token = _env(variable)
        if not token:
            raise InputError(f"--auth token: set {variable} to a bearer token for {endpoint.resource}")
        return CredentialChoice(StaticTokenCredential(token), f"the bearer token in {variable}",
                                f"set {variable} to a valid, unexpired token for {endpoint.resource}")

    import azure.identity as identity  # lazy: heavy import, only on the live path

    authority = endpoint.authority
    tenant = connection.tenant or _env("AZURE_TENANT_ID")
    client_id = _env("AZURE_CLIENT_ID")
    if mode == "default":
        # --tenant selects the tenant of the token (DefaultAzureCredential otherwise takes AZURE_TENANT_ID's):
        # one workload identity or managed identity can audit every tenant that consented to its app.
        credential: Any = identity.DefaultAzureCredential(
            authority=authority, additionally_allowed_tenants=["*"] if connection.tenant else [])
        choice = ("DefaultAzureCredential (environment, workload identity, managed identity, Azure CLI)",
                  "set AZURE_CLIENT_ID/AZURE_TENANT_ID with AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH, "
                  "or run 'az login', or choose another --auth")
    elif mode == "cli":
        credential = identity.AzureCliCredential(tenant_id=connection.tenant or "")
        choice = ("Azure CLI credential", "run 'az login' (with --tenant for the audited tenant)")
    elif mode == "device-code":
        kwargs: dict[str, Any] = {"authority": authority, "tenant_id": tenant or "organizations",
                                  "prompt_callback": _device_code_prompt}
        if client_id:
            kwargs["client_id"] = client_id
        credential = identity.DeviceCodeCredential(**kwargs)
        choice = ("device code sign-in", "complete the device code sign-in; set AZURE_CLIENT_ID to your app "
                  "registration if the default client is blocked")
    elif mode == "browser":
        kwargs = {"authority": authority, "tenant_id": tenant or "organizations"}
        if client_id:
            kwargs["client_id"] = client_id
        credential = identity.InteractiveBrowserCredential(**kwargs)
        choice = ("interactive browser sign-in", "sign in in the browser window; it needs a desktop session")
    elif mode == "client-secret":
        secret = _env("AZURE_CLIENT_SECRET")
        tenant_id, app_id, secret_value = _require(mode, {"AZURE_TENANT_ID (or --tenant)": tenant,
                                                          "AZURE_CLIENT_ID": client_id, "AZURE_CLIENT_SECRET": secret})
        credential = identity.ClientSecretCredential(tenant_id, app_id, secret_value, authority=authority)
        choice = (f"client secret of app {client_id}",
                  "check AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET (not expired)")
    elif mode == "certificate":
        cert_path = _env("AZURE_CLIENT_CERTIFICATE_PATH")
        tenant_id, app_id, cert_file = _require(mode, {"AZURE_TENANT_ID (or --tenant)": tenant,
                                                       "AZURE_CLIENT_ID": client_id,
                                                       "AZURE_CLIENT_CERTIFICATE_PATH": cert_path})
        if not os.path.isfile(cert_file):
            raise InputError(f"AZURE_CLIENT_CERTIFICATE_PATH: {cert_file}: no such file")
        credential = identity.CertificateCredential(
            tenant_id, app_id, certificate_path=cert_file, authority=authority,
            password=_env("AZURE_CLIENT_CERTIFICATE_PASSWORD"))
        choice = (f"client certificate of app {client_id}",
                  "check AZURE_CLIENT_CERTIFICATE_PATH (PEM or PFX with private key) and that the certificate "
                  "is uploaded to the app registration")
    elif mode == "managed-identity":
        credential = identity.ManagedIdentityCredential(client_id=client_id) if client_id \
            else identity.ManagedIdentityCredential()
        choice = ("managed identity" + (f" {client_id}" if client_id else " (system-assigned)"),
                  "run on an Azure host with a managed identity; set AZURE_CLIENT_ID for a user-assigned one")
    else:
        raise InputError(f"--auth: unknown mode {mode!r}")
    per_tenant = connection.tenant if mode in ("default", "managed-identity") else None
    return CredentialChoice(CachingCredential(credential, per_tenant), choice[0], choice[1])


def acquire_token(choice: CredentialChoice, endpoint: GraphEndpoint) -> dict[str, Any]:
    """Fetch the first token (fail fast with one line) and return its unverified claims."""
    from azure.core.exceptions import AzureError

    try:
        token = choice.credential.get_token(endpoint.scope)
    except (AzureError, ValueError, OSError) as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise IncompleteAuditError(f"authentication failed with {choice.description}: {first_line[:300]} "
                                   f"({choice.hint})") from None
    claims = jwt_claims(token.token)
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and exp < time.time():
        raise IncompleteAuditError(f"authentication failed with {choice.description}: the token expired at "
                                   f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(exp))} ({choice.hint})")
    return claims
