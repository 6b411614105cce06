"""CON: API connectors (authentication, transport, certificate lifetime, secrets in URLs, use).

Every URL shown in a message or evidence goes through redact_url: connector URLs often carry
their credential in the query string.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from auditor.checks import CheckContext, Hit, NotApplicable, NotEvaluated, Resource, check
from auditor.errors import InputError
from auditor.model.graph import ApiConnector, Certificate, fold
from auditor.redact import redact_url, secret_params
from auditor.timefmt import iso_from_unix

# apiAuthenticationConfigurationBase's subtypes a GET returns: basicAuthentication and
# clientCertificateAuthentication (pkcs12Certificate is the upload shape, also "certificate").
KNOWN_AUTH_KINDS = ("basic", "certificate")


def _connectors(ctx: CheckContext) -> list[ApiConnector]:
    connectors = ctx.tenant.api_connectors
    if not connectors:
        raise NotApplicable("no API connector exists")
    return connectors


def _unknown_auth(connectors: list[ApiConnector]) -> str | None:
    """Graph may return a null authenticationConfiguration, and a damaged one may carry a type Graph
    does not document for API connectors: how such a connector authenticates is unknown, so a rule
    about basic or certificate authentication cannot pass over it."""
    unknown = [f"{c.id} ({c.auth_kind})" for c in connectors if c.auth_kind not in KNOWN_AUTH_KINDS]
    if not unknown:
        return None
    return f"how API connector(s) {', '.join(unknown)} authenticate is unknown (null or undocumented " \
           "authenticationConfiguration)"


def _certificate_connectors(ctx: CheckContext) -> list[ApiConnector]:
    every = _connectors(ctx)
    connectors = [c for c in every if c.auth_kind == "certificate"]
    unknown = _unknown_auth(every)
    if not connectors:
        if unknown:
            raise NotEvaluated(unknown)
        raise NotApplicable("no API connector uses certificate authentication")
    if unknown:
        ctx.gap(unknown)
    return connectors


def _resource(connector: ApiConnector) -> Resource:
    return Resource("apiConnector", connector.id, connector.displayName or connector.id)


def _name(connector: ApiConnector) -> str:
    return connector.displayName or connector.id


def _shown_url(connector: ApiConnector) -> str | None:
    return redact_url(connector.targetUrl) if connector.targetUrl else None


def _absolute_url(url: str | None) -> bool:
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
        return bool(parts.scheme and parts.netloc)
    except ValueError:
        return False


def _certificates(connector: ApiConnector) -> list[Certificate]:
    config = connector.authenticationConfiguration
    return list(config.certificateList or []) if config else []


def _expired(cert: Certificate, now: datetime) -> bool:
    return cert.notAfter is not None and cert.notAfter < now.timestamp()


def _cert_evidence(cert: Certificate) -> dict[str, object]:
    return {"thumbprint": cert.thumbprint, "notAfter": iso_from_unix(cert.notAfter) if cert.notAfter is not None else None,
            "isActive": cert.isActive}


@check("CON001")
def basic_authentication(ctx: CheckContext) -> list[Hit]:
    hits = []
    connectors = _connectors(ctx)
    unknown = _unknown_auth(connectors)
    if unknown:
        ctx.gap(unknown)
    for connector in connectors:
        if connector.auth_kind == "basic":
            config = connector.authenticationConfiguration
            # Never the password: Graph returns "******", and it has no place in a report anyway.
            hits.append(Hit(
                _resource(connector),
                f"API connector '{_name(connector)}' authenticates with HTTP Basic (a shared username and "
                "password) instead of a client certificate.",
                {"authenticationType": "basicAuthentication", "username": config.username if config else None,
                 "targetUrl": _shown_url(connector)}))
    return hits


@check("CON002")
def endpoint_not_https(ctx: CheckContext) -> list[Hit]:
    hits = []
    for connector in _connectors(ctx):
        url = connector.targetUrl or ""
        try:
            parts = urlsplit(url.strip())
            scheme, host = parts.scheme, parts.hostname
        except ValueError:  # garbled (e.g. an invalid IPv6 literal): cannot be a valid https endpoint
            scheme, host = "", None
        if fold(scheme) == "https" and host:
            continue
        hits.append(Hit(
            _resource(connector),
            f"API connector '{_name(connector)}' does not call an HTTPS endpoint"
            + (f" ({_shown_url(connector)})" if url else " (no target URL)")
            + ": sign-up data and its credential travel without TLS protection.",
            {"targetUrl": _shown_url(connector), "scheme": fold(scheme) or None}))
    return hits


@check("CON003")
def certificate_expired(ctx: CheckContext) -> list[Hit]:
    hits = []
    for connector in _certificate_connectors(ctx):
        certs = _certificates(connector)
        if not certs:
            hits.append(Hit(
                _resource(connector),
                f"API connector '{_name(connector)}' is set to certificate authentication but has no "
                "certificate: every call fails.",
                {"certificates": [], "targetUrl": _shown_url(connector)}))
        elif all(_expired(c, ctx.now) for c in certs):
            latest = max(certs, key=lambda c: c.notAfter or 0)
            hits.append(Hit(
                _resource(connector),
                f"Every client certificate of API connector '{_name(connector)}' has expired (the latest on "
                f"{iso_from_unix(latest.notAfter or 0)[:10]}): calls to it fail.",
                {"certificates": [_cert_evidence(c) for c in sorted(certs, key=lambda c: c.notAfter or 0)],
                 "collectedAt": iso_from_unix(int(ctx.now.timestamp())), "targetUrl": _shown_url(connector)}))
    return hits


def _valid_at(cert: Certificate, now: datetime) -> bool:
    """Started (notBefore passed, or not stated) and not expired."""
    moment = now.timestamp()
    return cert.notAfter is not None and cert.notAfter >= moment and (cert.notBefore is None or cert.notBefore <= moment)


def _active_certificate(certs: list[Certificate], now: datetime) -> tuple[Certificate | None, str]:
    """The certificate Entra calls the endpoint with, and how it was chosen.

    Entra uses the most recently uploaded certificate that is not expired and whose notBefore has
    passed; Graph marks it ``isActive``. When no certificate is marked, the upload order is not in the
    data: among the certificates valid at collection time, the one with the latest notBefore stands in
    for the most recent upload (a renewal is issued after the certificate it replaces) - never simply
    the one with the latest notAfter, and never one that has not started yet.
    """
    marked = [c for c in certs if c.isActive is True]
    if marked:
        return max(marked, key=lambda c: (c.notBefore or 0, c.notAfter or 0)), "isActive"
    # No certificate marked (isActive absent, or false on all although one may be valid): the dates decide.
    candidates = [c for c in certs if _valid_at(c, now)]
    if not candidates:
        return None, "inferred"
    return max(candidates, key=lambda c: (c.notBefore or 0, c.notAfter or 0)), "inferred"


def _days(ctx: CheckContext) -> int:
    value = ctx.params.get("days")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"rule CON004: parameter 'days' must be a non-negative whole number, got {value!r}")
    return value


@check("CON004")
def certificate_expires_soon(ctx: CheckContext) -> list[Hit]:
    days = _days(ctx)
    horizon = ctx.now + timedelta(days=days)
    hits = []
    for connector in _certificate_connectors(ctx):
        certs = _certificates(connector)
        cert, basis = _active_certificate(certs, ctx.now)
        if cert is None or cert.notAfter is None or _expired(cert, ctx.now):
            continue  # no certificate in use, or already expired: CON003's
        if basis == "inferred" and len(certs) > 1:
            ctx.note(f"API connector '{_name(connector)}': Graph did not mark the active certificate (isActive); "
                     "the valid certificate with the latest notBefore was taken as the most recently uploaded")
        if cert.notAfter <= horizon.timestamp():
            left = (cert.notAfter - ctx.now.timestamp()) / 86400
            hits.append(Hit(
                _resource(connector),
                f"The client certificate that API connector '{_name(connector)}' uses expires on "
                f"{iso_from_unix(cert.notAfter)[:10]}, in {left:.0f} day(s) (threshold {days}).",
                {**_cert_evidence(cert), "notBefore": iso_from_unix(cert.notBefore) if cert.notBefore is not None else None,
                 "chosenBy": basis, "certificates": len(certs), "daysLeft": round(left, 1), "thresholdDays": days,
                 "collectedAt": iso_from_unix(int(ctx.now.timestamp())), "targetUrl": _shown_url(connector)}))
    return hits


@check("CON005")
def secret_in_url(ctx: CheckContext) -> list[Hit]:
    hits = []
    connectors = _connectors(ctx)
    # Graph only stores absolute URLs; a null or unparseable one may have held a secret we cannot see.
    unknown = [c.id for c in connectors if not _absolute_url(c.targetUrl)]
    if unknown:
        ctx.gap(f"API connector(s) {', '.join(unknown)} returned a null targetUrl or one that is not a URL: "
                "whether it carries a secret is unknown")
    for connector in connectors:
        names = secret_params(connector.targetUrl)
        if names:
            hits.append(Hit(
                _resource(connector),
                f"API connector '{_name(connector)}' carries a secret in its URL query "
                f"({', '.join(names)}): {_shown_url(connector)}",
                {"targetUrl": _shown_url(connector), "secretParameters": names}))
    return hits


@check("CON006")
def connector_unused(ctx: CheckContext) -> list[Hit]:
    connectors = _connectors(ctx)
    flows = ctx.tenant.user_flows
    missing = [f.id for f in flows if f.apiConnectorConfiguration is None]
    if missing:
        raise NotEvaluated(f"apiConnectorConfiguration was not collected for user flow(s) {', '.join(missing)} "
                           "(reading it requires IdentityUserFlow.ReadWrite.All): cannot tell which connectors "
                           "they call")
    used = {fold(c.id) for f in flows for c in f.apiConnectorConfiguration.connectors().values()  # type: ignore[union-attr]
            if c.id}
    return [Hit(_resource(c),
                f"API connector '{_name(c)}' is not called by any user flow.",
                {"targetUrl": _shown_url(c), "authenticationType": c.auth_kind, "userFlowsChecked": len(flows)})
            for c in connectors if fold(c.id) not in used]
