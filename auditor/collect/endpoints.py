"""Where Graph and the login authority live for each cloud, and the --graph-url override.

No SDK import here: this is string handling, shared by the collector and its tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from auditor.connection import ConnectionOptions
from auditor.errors import InputError

# cloud -> (Graph root, login authority host); authority hosts are azure.identity.AzureAuthorityHosts values.
CLOUD_ENDPOINTS: dict[str, tuple[str, str]] = {
    "global": ("https://graph.microsoft.com", "login.microsoftonline.com"),
    "usgov": ("https://graph.microsoft.us", "login.microsoftonline.us"),
    "usgov-dod": ("https://dod-graph.microsoft.us", "login.microsoftonline.us"),
    "china": ("https://microsoftgraph.chinacloudapi.cn", "login.chinacloudapi.cn"),
}
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class GraphEndpoint:
    cloud: str
    root: str  # scheme://host[:port] (+ optional path prefix), no trailing slash
    resource: str  # the cloud's Graph resource: the token scope is f"{resource}/.default"
    authority: str  # login host for the credential

    @property
    def host(self) -> str:
        return (urlsplit(self.root).hostname or "").lower()

    @property
    def origin(self) -> str:
        parts = urlsplit(self.root)
        return f"{parts.scheme}://{parts.netloc}".lower()

    @property
    def scope(self) -> str:
        return f"{self.resource}/.default"

    def url(self, api: str, path: str) -> str:
        return f"{self.root}/{api}{path}"

    def same_origin(self, url: str) -> bool:
        """A nextLink must stay on the Graph host we authenticated for: the token goes nowhere else."""
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}".lower() == self.origin


def resolve_endpoint(connection: ConnectionOptions) -> GraphEndpoint:
    if connection.cloud not in CLOUD_ENDPOINTS:
        raise InputError(f"--cloud: unknown cloud {connection.cloud!r} (expected one of {', '.join(CLOUD_ENDPOINTS)})")
    resource, authority = CLOUD_ENDPOINTS[connection.cloud]
    root = resource
    if connection.graph_url:
        override = connection.graph_url.strip().rstrip("/")
        for suffix in ("/v1.0", "/beta"):
            if override.endswith(suffix):
                override = override[: -len(suffix)]
        parts = urlsplit(override)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"--graph-url: {connection.graph_url!r} is not an http(s) URL")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise InputError("--graph-url: give a plain root URL (no credentials, query or fragment)")
        if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            raise InputError(f"--graph-url: plain http is only allowed for 127.0.0.1/localhost, got {parts.hostname}")
        root = override
    return GraphEndpoint(cloud=connection.cloud, root=root, resource=resource, authority=authority)
