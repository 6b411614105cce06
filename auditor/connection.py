"""How to reach Graph: the options shared by ``collect`` and live ``audit`` (no SDK import here)."""

from __future__ import annotations

from dataclasses import dataclass

CLOUDS = ("global", "usgov", "usgov-dod", "china")
AUTH_MODES = ("default", "cli", "device-code", "browser", "client-secret", "certificate", "managed-identity", "token")


@dataclass(frozen=True)
class ConnectionOptions:
    tenant: str | None = None
    cloud: str = "global"
    graph_url: str | None = None  # overrides the cloud's Graph root; /v1.0 and /beta are appended
    auth: str = "default"
    signin_days: int = 30  # sign-in window to collect
    whatif_max_calls: int = 400  # Conditional Access What-If calls at most (0: none)
    # --auth token: the environment variable holding the token (a portfolio entry names its own,
    # since each tenant needs a token of its own); FLOWAUDIT_ACCESS_TOKEN when None.
    token_env: str | None = None
