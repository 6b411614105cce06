"""Credential and endpoint selection per --auth / --cloud, constructed without any network call."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.collect.credentials import CachingCredential, StaticTokenCredential, build_credential, jwt_claims
from auditor.collect.endpoints import resolve_endpoint
from auditor.collect.settings import Rate, Settings
from auditor.connection import ConnectionOptions
from auditor.errors import InputError

APP_ENV = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
           "FLOWAUDIT_ACCESS_TOKEN")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in APP_ENV:
        monkeypatch.delenv(name, raising=False)


def _inner(mode: str, cloud: str = "global", tenant: str | None = None):
    connection = ConnectionOptions(auth=mode, cloud=cloud, tenant=tenant)
    choice = build_credential(connection, resolve_endpoint(connection))
    credential = choice.credential
    return credential._inner if isinstance(credential, CachingCredential) else credential


@pytest.mark.parametrize(("mode", "class_name"), [
    ("default", "DefaultAzureCredential"),
    ("cli", "AzureCliCredential"),
    ("device-code", "DeviceCodeCredential"),
    ("browser", "InteractiveBrowserCredential"),
    ("managed-identity", "ManagedIdentityCredential"),
])
def test_each_auth_mode_builds_its_credential(mode: str, class_name: str) -> None:
    assert type(_inner(mode, tenant="contoso.onmicrosoft.com")).__name__ == class_name


def test_client_secret_needs_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="AZURE_CLIENT_ID.*AZURE_CLIENT_SECRET"):
        _inner("client-secret")
    monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-0000000000aa")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "s3cr3t")
    credential = _inner("client-secret", cloud="china", tenant="11111111-1111-1111-1111-111111111111")
    assert type(credential).__name__ == "ClientSecretCredential"
    assert "login.chinacloudapi.cn" in credential._authority  # authority follows --cloud


def test_certificate_needs_an_existing_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-0000000000aa")
    monkeypatch.setenv("AZURE_TENANT_ID", "11111111-1111-1111-1111-111111111111")
    with pytest.raises(InputError, match="AZURE_CLIENT_CERTIFICATE_PATH"):
        _inner("certificate")
    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PATH", str(tmp_path / "missing.pem"))
    with pytest.raises(InputError, match="no such file"):
        _inner("certificate")


def test_token_mode_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="FLOWAUDIT_ACCESS_TOKEN"):
        _inner("token")
    monkeypatch.setenv("FLOWAUDIT_ACCESS_TOKEN", "opaque-token")
    credential = _inner("token")
    assert isinstance(credential, StaticTokenCredential)
    assert credential.get_token("https://graph.microsoft.com/.default", enable_cae=True).token == "opaque-token"
    assert "opaque-token" not in repr(credential)
    assert jwt_claims("opaque-token") == {}


@pytest.mark.parametrize(("cloud", "root", "authority"), [
    ("global", "https://graph.microsoft.com", "login.microsoftonline.com"),
    ("usgov", "https://graph.microsoft.us", "login.microsoftonline.us"),
    ("usgov-dod", "https://dod-graph.microsoft.us", "login.microsoftonline.us"),
    ("china", "https://microsoftgraph.chinacloudapi.cn", "login.chinacloudapi.cn"),
])
def test_clouds_set_graph_host_and_authority(cloud: str, root: str, authority: str) -> None:
    endpoint = resolve_endpoint(ConnectionOptions(cloud=cloud))
    assert (endpoint.root, endpoint.authority, endpoint.scope) == (root, authority, f"{root}/.default")
    assert endpoint.url("beta", "/auditLogs/signIns") == f"{root}/beta/auditLogs/signIns"


def test_graph_url_override() -> None:
    endpoint = resolve_endpoint(ConnectionOptions(graph_url="http://127.0.0.1:8080/v1.0/"))
    assert endpoint.url("v1.0", "/users") == "http://127.0.0.1:8080/v1.0/users"
    assert endpoint.scope == "https://graph.microsoft.com/.default"  # the token is still for Graph
    assert endpoint.same_origin("http://127.0.0.1:8080/v1.0/users?$skiptoken=1")
    assert not endpoint.same_origin("http://127.0.0.1:9999/v1.0/users")
    assert not endpoint.same_origin("https://evil.example/v1.0/users")
    with pytest.raises(InputError, match="plain http"):
        resolve_endpoint(ConnectionOptions(graph_url="http://graph.example.com"))
    with pytest.raises(InputError, match="not an http"):
        resolve_endpoint(ConnectionOptions(graph_url="ftp://127.0.0.1"))


def test_throttle_settings_from_environment() -> None:
    settings = Settings.from_env({"FLOWAUDIT_SIGNIN_RATE": "2/1", "FLOWAUDIT_BACKOFF_BASE": "0.5"})
    assert settings.signin_rate == Rate(2, 1.0) and settings.backoff_base == 0.5
    assert Settings.from_env({}).signin_rate == Rate(5, 10.0)  # Graph's documented budget by default
    with pytest.raises(InputError, match="FLOWAUDIT_SIGNIN_RATE"):
        Settings.from_env({"FLOWAUDIT_SIGNIN_RATE": "fast"})


def test_default_credential_asks_for_a_token_of_the_audited_tenant() -> None:
    # One workload/managed identity auditing many tenants: --tenant must select the token's tenant,
    # not whatever AZURE_TENANT_ID says (portfolio runs and the container recipes rely on this).
    from auditor.collect.credentials import CachingCredential

    asked: list[dict[str, object]] = []

    class Inner:
        def get_token(self, *scopes: str, **kwargs: object) -> object:
            asked.append(kwargs)
            from azure.core.credentials import AccessToken

            return AccessToken("t", 4102444800)

    CachingCredential(Inner(), "7c3a9f0e-5b1d-4e8a-9f21-3d6b8e0c4a11").get_token("https://graph.microsoft.com/.default")
    CachingCredential(Inner()).get_token("https://graph.microsoft.com/.default")
    assert asked[0]["tenant_id"] == "7c3a9f0e-5b1d-4e8a-9f21-3d6b8e0c4a11"
    assert "tenant_id" not in asked[1]
