"""CON001–CON006: API connectors.

Connector secrets are write-only (Graph returns ``******``) and a URL may carry its own key, so no
secret is ever copied into a plan: a request that needs one names an environment variable (or a
PKCS#12 file) in ``inputs``, and ``apply`` reads it just before sending. Preconditions compare
connector URLs with their secret-looking query values redacted (op ``urlEquals``).
"""

from __future__ import annotations

from typing import Any

from auditor.model.graph import odata_type
from auditor.plan.model import Need
from auditor.plan.permissions import API_CONNECTORS
from auditor.plan.remedies import Draft, NoRemedy, RemedyContext, check, need, remedy, request, step
from auditor.redact import redact_url, secret_params
from auditor.result import Finding
from auditor.sources import BY_KEY

PKCS12 = "#microsoft.graph.pkcs12Certificate"
BASIC = "#microsoft.graph.basicAuthentication"
CERTIFICATE_AUTH = "#microsoft.graph.clientCertificateAuthentication"
CONFIGURATION = next(c for c in BY_KEY["b2xUserFlows"].children if c.name == "apiConnectorConfiguration")


def _connector(ctx: RemedyContext, finding: Finding) -> dict[str, Any]:
    record = ctx.record("apiConnectors", finding.resource.id)
    if record is None:
        raise NoRemedy(f"API connector {finding.resource.id} is not in the snapshot")
    return record


def _name(record: dict[str, Any]) -> str:
    return str(record.get("displayName") or record["id"])


def _identity(ctx: RemedyContext, record: dict[str, Any]) -> list[Any]:
    url = ctx.url("apiConnectors", ctx.item(record["id"]))
    return [check("the connector exists with the same name", url, "equals", "/displayName", record.get("displayName"))]


def _auth_type(record: dict[str, Any]) -> str:
    config = record.get("authenticationConfiguration")
    return odata_type(config.get("@odata.type")) if isinstance(config, dict) else ""


def _certificate_needs(prefix: str = "", what: str = "the new client certificate") -> list[Need]:
    password = f"{prefix}Pkcs12PasswordEnv" if prefix else "pkcs12PasswordEnv"
    return [need(f"{prefix}Pkcs12Path" if prefix else "pkcs12Path", "pkcs12File",
                 f"Path of the PKCS#12 (.pfx) file with {what} and its private key (relative paths are read "
                 "from the plan file's folder).", passwordNeed=password),
            need(password, "envVar",
                 "Name of the environment variable that holds the .pfx password when apply runs (the "
                 "password itself never goes into this file).", allowEmpty=True)]


def _pkcs12_body(path_input: str, password_input: str) -> dict[str, Any]:
    return {"pkcs12Value": {"$file": path_input}, "password": {"$env": password_input}}


def _url_value(url: str, env_input: str, needs: list[Need], what: str) -> Any:
    """A URL to send again: itself when it carries no secret, else read from a variable the plan names."""
    if not secret_params(url) and redact_url(url) == url:
        return url
    needs.append(need(env_input, "envVar", f"Name of the environment variable that holds {what} (it carried "
                      "a secret in its query, which this file never stores)."))
    return {"$env": env_input}


@remedy("CON006")
def delete_unused_connector(ctx: RemedyContext, finding: Finding) -> list[Draft]:
    record = _connector(ctx, finding)
    item = ctx.url("apiConnectors", ctx.item(record["id"]))
    target = str(record.get("targetUrl") or "")
    precondition = [*_identity(ctx, record),
                    check("the connector calls the same URL", item, "urlEquals", "/targetUrl", redact_url(target))]
    flows = ctx.records("b2xUserFlows")
    precondition.append(check("no user flow was added since the snapshot", ctx.url("b2xUserFlows"), "idsEqual",
                              value=sorted(str(f.get("id")) for f in flows)))
    for flow in flows:
        path, _, query = CONFIGURATION.path.partition("?")
        wiring = ctx.url("b2xUserFlows", ctx.item(str(flow.get("id"))) + path, query=query)
        for slot in ("postFederationSignup", "postAttributeCollection"):
            precondition.append(check(f"user flow {flow.get('id')} does not call it at {slot}", wiring, "notEquals",
                                      f"/{slot}/id", record["id"]))
    needs: list[Need] = []
    body: dict[str, Any] = {"displayName": record.get("displayName"),
                            "targetUrl": _url_value(target, "targetUrlEnv", needs, "the connector's original URL")}
    kind = _auth_type(record)
    config = record.get("authenticationConfiguration") or {}
    if "basic" in kind:
        needs.append(need("basicPasswordEnv", "envVar", "Name of the environment variable that holds the "
                          "connector's Basic password (write-only: Graph never returned it)."))
        body["authenticationConfiguration"] = {"@odata.type": BASIC, "username": config.get("username"),
                                               "password": {"$env": "basicPasswordEnv"}}
    else:
        needs.extend(_certificate_needs(what="the connector's client certificate"))
        body["authenticationConfiguration"] = {"@odata.type": PKCS12, **_pkcs12_body("pkcs12Path",
                                                                                     "pkcs12PasswordEnv")}
    collection = ctx.url("apiConnectors")
    recreate = step("r1", f"Recreate the API connector '{_name(record)}' (it gets a new id)",
                    request("POST", collection, body), API_CONNECTORS, reads=("apiConnectors",),
                    precondition=[check("no connector of that name exists", collection, "noneMatch",
                                        match={"displayName": record.get("displayName")})],
                    rollback=[step("x1", "Delete the recreated connector",
                                   request("DELETE", f"{collection}/{{step:r1:/id}}"), API_CONNECTORS,
                                   reads=("apiConnectors",),
                                   precondition=[check("the recreated connector exists",
                                                       f"{collection}/{{step:r1:/id}}", "exists")])])
    main = step("s1", f"Delete the unused API connector '{_name(record)}'", request("DELETE", item), API_CONNECTORS,
                reads=("apiConnectors", "b2xUserFlows"), precondition=precondition, rollback=[recreate],
                rollback_needs=needs,
                rollback_note="Graph never returns a connector's secret: the rollback recreates the connector "
                              "from the snapshot once its secret is supplied, under a new id.")
    return [Draft(key=("CON006", record["id"].casefold()), steps=[main], resource=("apiConnector", record["id"]),
                  deletes=True,
                  summary=f"Delete the API connector '{_name(record)}': no user flow calls it, yet it keeps a live "
                          "credential and an endpoint nobody watches.")]


@remedy("CON002", "CON005")
def replace_target_url(ctx: RemedyContext, finding: Finding) -> list[Draft]:
    record = _connector(ctx, finding)
    item = ctx.url("apiConnectors", ctx.item(record["id"]))
    target = str(record.get("targetUrl") or "")
    rollback_needs: list[Need] = []
    original = _url_value(target, "originalUrlEnv", rollback_needs, "the connector's original URL")
    undo = step("r1", "Restore the connector's original URL", request("PATCH", item, {"targetUrl": original}),
                API_CONNECTORS, reads=("apiConnectors",),
                precondition=[check("the connector calls the new URL", item, "urlEquals", "/targetUrl",
                                    {"$input": "targetUrl"})])
    main = step("s1", "Point the connector at the new https URL",
                request("PATCH", item, {"targetUrl": {"$input": "targetUrl"}}), API_CONNECTORS,
                reads=("apiConnectors",),
                precondition=[*_identity(ctx, record),
                              check("the connector still calls the URL in the snapshot", item, "urlEquals",
                                    "/targetUrl", redact_url(target))],
                rollback=[undo], rollback_needs=rollback_needs)
    why = "is not https" if finding.ruleId == "CON002" else "carries a secret in its query"
    return [Draft(key=("targetUrl", record["id"].casefold()), steps=[main], resource=("apiConnector", record["id"]),
                  needs=[need("targetUrl", "httpsUrl", "The connector's new https URL, with no key or signature in "
                              "its query (protect the endpoint with a client certificate instead).")],
                  summary=f"Give the API connector '{_name(record)}' a new https URL without a secret: its URL "
                          f"{why}.")]


@remedy("CON001")
def basic_to_certificate(ctx: RemedyContext, finding: Finding) -> list[Draft]:
    record = _connector(ctx, finding)
    if "basic" not in _auth_type(record):
        raise NoRemedy("the snapshot does not show Basic authentication on the connector")
    item = ctx.url("apiConnectors", ctx.item(record["id"]))
    username = (record.get("authenticationConfiguration") or {}).get("username")
    undo = step("r1", "Switch the connector back to Basic authentication",
                request("PATCH", item, {"authenticationConfiguration": {
                    "@odata.type": BASIC, "username": username, "password": {"$env": "basicPasswordEnv"}}}),
                API_CONNECTORS, reads=("apiConnectors",),
                precondition=[check("the connector uses a client certificate", item, "typeIs",
                                    "/authenticationConfiguration/@odata.type", CERTIFICATE_AUTH)])
    # Microsoft documents the switch from Basic to a certificate as an update with a pkcs12Certificate
    # (uploadClientCertificate adds a certificate to a connector that already uses certificates).
    main = step("s1", "Switch the connector to client-certificate authentication",
                request("PATCH", item, {"authenticationConfiguration": {
                    "@odata.type": PKCS12, **_pkcs12_body("pkcs12Path", "pkcs12PasswordEnv")}}),
                API_CONNECTORS, reads=("apiConnectors",),
                precondition=[*_identity(ctx, record),
                              check("the connector uses Basic authentication", item, "typeIs",
                                    "/authenticationConfiguration/@odata.type", BASIC)],
                rollback=[undo],
                rollback_needs=[need("basicPasswordEnv", "envVar", "Name of the environment variable that holds "
                                     "the Basic password to restore (write-only: Graph never returned it).")])
    return [Draft(key=("auth", record["id"].casefold()), steps=[main], resource=("apiConnector", record["id"]),
                  needs=_certificate_needs(),
                  summary=f"Switch the API connector '{_name(record)}' from Basic authentication to a client "
                          "certificate; configure the receiving API to validate it first.")]


@remedy("CON003", "CON004")
def upload_certificate(ctx: RemedyContext, finding: Finding) -> list[Draft]:
    record = _connector(ctx, finding)
    if "certificate" not in _auth_type(record):
        raise NoRemedy("the snapshot does not show certificate authentication on the connector")
    item = ctx.url("apiConnectors", ctx.item(record["id"]))
    action = f"{item}/uploadClientCertificate"
    certificates = (record.get("authenticationConfiguration") or {}).get("certificateList") or []
    undo = step("r1", "Upload the previous certificate again (it becomes the active one)",
                request("POST", action, _pkcs12_body("previousPkcs12Path", "previousPkcs12PasswordEnv")),
                API_CONNECTORS, reads=("apiConnectors",),
                precondition=[check("the connector uses a client certificate", item, "typeIs",
                                    "/authenticationConfiguration/@odata.type", CERTIFICATE_AUTH)])
    main = step("s1", "Upload the new client certificate (the most recent valid one becomes active)",
                request("POST", action, _pkcs12_body("pkcs12Path", "pkcs12PasswordEnv")), API_CONNECTORS,
                reads=("apiConnectors",),
                precondition=[*_identity(ctx, record),
                              check("the connector's certificates are those in the snapshot", item, "equals",
                                    "/authenticationConfiguration/certificateList", certificates)],
                rollback=[undo], rollback_needs=_certificate_needs("previous", "the certificate it replaced"),
                rollback_note="Graph has no call to remove one certificate: to undo, upload the previous "
                              "certificate again.")
    state = "has expired" if finding.ruleId == "CON003" else "expires soon"
    return [Draft(key=("certificate", record["id"].casefold()), steps=[main], resource=("apiConnector", record["id"]),
                  needs=_certificate_needs(),
                  summary=f"Upload a new client certificate to the API connector '{_name(record)}': its active "
                          f"certificate {state}.")]
