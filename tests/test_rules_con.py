from pathlib import Path

import pytest
from graphdata import cert, connector, flow, write_snapshot

from auditor.engine import AuditOptions, run_audit
from auditor.errors import InputError
from auditor.result import to_json
from auditor.snapshot import open_snapshot

# COLLECTED_AT in graphdata is 2026-11-01T06:00:00Z: every date below is relative to it.
EXPIRED = "2026-09-01T00:00:00Z"
IN_10_DAYS = "2026-11-11T06:00:00Z"
IN_60_DAYS = "2026-12-31T06:00:00Z"

LOGIC_APP_SIG = "SuperSecretSig123"
LOGIC_APP_URL = ("https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke"
                 f"?api-version=2016-10-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={LOGIC_APP_SIG}")
FUNCTION_CODE = "q9ZxFunctionKey0987654321abcdEFGH=="
FUNCTION_URL = f"http://contoso-signup.azurewebsites.net/api/Persist?code={FUNCTION_CODE}"

CONNECTOR_ID = "be1f769b-9b13-437e-b540-79a905c4932c"


def certified(*certs, connector_id=CONNECTOR_ID):
    return connector(connector_id, name="Approval API", certs=list(certs))


# --- CON001 -----------------------------------------------------------------------------------

def test_con001_fails_for_basic_authentication(audit_rule):
    outcome, findings = audit_rule("CON001", apiConnectors=[connector(CONNECTOR_ID, name="Test API", auth="basic"),
                                                            connector("c2", name="Cert API")])
    assert outcome.outcome == "fail" and len(findings) == 1
    finding = findings[0]
    assert (finding.resource.type, finding.resource.id, finding.resource.displayName) == \
        ("apiConnector", CONNECTOR_ID, "Test API")
    assert finding.evidence["authenticationType"] == "basicAuthentication"
    assert finding.evidence["username"] == "svc-signup"
    assert "password" not in finding.evidence and "******" not in finding.model_dump_json()


def test_con001_reads_graph_example_shape_case_insensitively(audit_rule):
    raw = {"id": CONNECTOR_ID, "displayName": "Test API", "targetUrl": "https://someapi.com/api/endpoint",
           "authenticationConfiguration": {"@odata.type": "microsoft.graph.BasicAuthentication",
                                           "username": "<USERNAME>", "password": "******"}}
    outcome, findings = audit_rule("CON001", apiConnectors=[raw])
    assert outcome.outcome == "fail" and findings[0].evidence["username"] == "<USERNAME>"


def test_con001_passes_for_certificate(audit_rule):
    outcome, _ = audit_rule("CON001", apiConnectors=[connector(CONNECTOR_ID)])
    assert outcome.outcome == "pass"


def test_con001_not_applicable_without_connectors(audit_rule):
    outcome, _ = audit_rule("CON001")
    assert outcome.outcome == "notApplicable"


def test_con001_not_evaluated_when_connectors_forbidden(audit_rule):
    outcome, _ = audit_rule("CON001", apiConnectors="forbidden")
    assert outcome.outcome == "notEvaluated"
    assert "apiConnectors" in outcome.reason and "forbidden" in outcome.reason


# --- CON002 -----------------------------------------------------------------------------------

def test_con002_fails_for_http_missing_and_garbled_urls(audit_rule):
    connectors = [connector("a-http", url="http://api.contoso.example/signup"),
                  connector("b-none", url=None),
                  connector("c-garbled", url="api.contoso.example/signup"),
                  connector("d-broken", url="https://[::1/signup"),
                  connector("e-ok", url="HTTPS://API.CONTOSO.EXAMPLE/signup")]
    outcome, findings = audit_rule("CON002", apiConnectors=connectors)
    assert outcome.outcome == "fail"
    assert [f.resource.id for f in findings] == ["a-http", "b-none", "c-garbled", "d-broken"]
    assert findings[0].evidence["scheme"] == "http"


def test_con002_passes_for_https(audit_rule):
    outcome, _ = audit_rule("CON002", apiConnectors=[connector(CONNECTOR_ID, url="https://someapi.com/api/endpoint")])
    assert outcome.outcome == "pass"


# --- CON003 / CON004 --------------------------------------------------------------------------

def test_con003_fails_when_every_certificate_expired(audit_rule):
    outcome, findings = audit_rule("CON003", apiConnectors=[certified(cert(EXPIRED), cert("2026-10-01T00:00:00Z",
                                                                                          active=False))])
    assert outcome.outcome == "fail" and findings[0].resource.id == CONNECTOR_ID
    assert [c["notAfter"] for c in findings[0].evidence["certificates"]] == \
        ["2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z"]


def test_con003_fails_for_empty_certificate_list(audit_rule):
    outcome, findings = audit_rule("CON003", apiConnectors=[certified()])
    assert outcome.outcome == "fail" and "no certificate" in findings[0].message


def test_con003_and_con004_ignore_old_expired_next_to_valid_active(audit_rule):
    connectors = [certified(cert(EXPIRED, active=False, thumbprint="OLD"), cert(IN_60_DAYS, thumbprint="NEW"))]
    assert audit_rule("CON003", apiConnectors=connectors)[0].outcome == "pass"
    assert audit_rule("CON004", apiConnectors=connectors)[0].outcome == "pass"


def test_con003_not_applicable_without_certificate_connector(audit_rule):
    outcome, _ = audit_rule("CON003", apiConnectors=[connector(CONNECTOR_ID, auth="basic")])
    assert outcome.outcome == "notApplicable"


def test_expired_certificate_is_con003_not_con004(audit_rule):
    connectors = [certified(cert(EXPIRED))]
    assert audit_rule("CON003", apiConnectors=connectors)[0].outcome == "fail"
    assert audit_rule("CON004", apiConnectors=connectors)[0].outcome == "pass"


def test_certificate_expiring_in_10_days_is_con004_not_con003(audit_rule):
    connectors = [certified(cert(IN_10_DAYS))]
    assert audit_rule("CON003", apiConnectors=connectors)[0].outcome == "pass"
    outcome, findings = audit_rule("CON004", apiConnectors=connectors)
    assert outcome.outcome == "fail"
    assert findings[0].evidence["daysLeft"] == 10.0 and findings[0].evidence["notAfter"] == IN_10_DAYS


def test_con004_passes_at_60_days_and_fails_with_days_90(audit_rule):
    connectors = [certified(cert(IN_60_DAYS))]
    assert audit_rule("CON004", apiConnectors=connectors)[0].outcome == "pass"
    outcome, findings = audit_rule("CON004", parameters={"days": 90}, apiConnectors=connectors)
    assert outcome.outcome == "fail" and findings[0].evidence["thresholdDays"] == 90


def test_con004_rejects_a_days_value_that_is_not_a_number(audit_rule):
    with pytest.raises(InputError, match="CON004.*days"):
        audit_rule("CON004", parameters={"days": "soon"}, apiConnectors=[certified(cert(IN_60_DAYS))])


def test_con004_judges_the_active_certificate(audit_rule):
    # The active certificate expires soon even though a newer-dated one is uploaded but not active.
    connectors = [certified(cert(IN_10_DAYS, thumbprint="ACTIVE"), cert(IN_60_DAYS, active=False, thumbprint="NEXT"))]
    outcome, findings = audit_rule("CON004", apiConnectors=connectors)
    assert outcome.outcome == "fail" and findings[0].evidence["thumbprint"] == "ACTIVE"


def unmarked(not_after: str, not_before: str, thumbprint: str) -> dict:
    """A certificate Graph does not mark as the active one (it always sends the flag)."""
    return cert(not_after, not_before=not_before, thumbprint=thumbprint, active=False)


def test_con004_with_none_marked_active_takes_the_valid_certificate_issued_last(audit_rule):
    # Entra uses the most recently uploaded valid certificate; without isActive the latest notBefore stands
    # in for the upload order - not the latest notAfter.
    reissued = [certified(unmarked(IN_10_DAYS, "2026-10-15T00:00:00Z", "LAST"),
                          unmarked("2028-01-01T00:00:00Z", "2025-01-01T00:00:00Z", "LONG"))]
    outcome, findings = audit_rule("CON004", apiConnectors=reissued)
    assert outcome.outcome == "fail" and findings[0].evidence["thumbprint"] == "LAST"
    assert findings[0].evidence["chosenBy"] == "inferred" and "latest notBefore" in outcome.reason
    renewed = [certified(unmarked(IN_10_DAYS, "2025-01-01T00:00:00Z", "OLD"),
                         unmarked(IN_60_DAYS, "2026-10-01T00:00:00Z", "NEW"))]
    assert audit_rule("CON004", apiConnectors=renewed)[0].outcome == "pass"


def test_con004_never_takes_a_certificate_that_has_not_started(audit_rule):
    connectors = [certified(unmarked(IN_10_DAYS, "2025-01-01T00:00:00Z", "CURRENT"),
                            unmarked("2028-01-01T00:00:00Z", "2026-12-01T00:00:00Z", "FUTURE"))]
    outcome, findings = audit_rule("CON004", apiConnectors=connectors)
    assert outcome.outcome == "fail" and findings[0].evidence["thumbprint"] == "CURRENT"


def test_con004_is_active_false_everywhere_falls_back_to_the_dates(audit_rule):
    # Graph marks none active although one certificate is valid: the dates decide, as without the flag.
    soon_only = [certified(cert(IN_10_DAYS, active=False), cert(EXPIRED, active=False))]
    outcome, findings = audit_rule("CON004", apiConnectors=soon_only)
    assert outcome.outcome == "fail" and findings[0].evidence["chosenBy"] == "inferred"


def test_con004_measures_against_collected_at_not_wall_clock(tmp_path: Path):
    connectors = [certified(cert(IN_10_DAYS))]
    outcomes = {}
    for label, moment in (("old", "2020-01-01T00:00:00Z"), ("recent", "2026-11-01T06:00:00Z")):
        path = write_snapshot(tmp_path / label, collected_at=moment, apiConnectors=connectors)
        outcomes[label] = run_audit(open_snapshot(path), AuditOptions(only={"CON004"})).rule("CON004").outcome
    assert outcomes == {"old": "pass", "recent": "fail"}


# --- CON005 and redaction ---------------------------------------------------------------------

def test_con005_logic_app_sas_url(audit_rule):
    outcome, findings = audit_rule("CON005", apiConnectors=[connector(CONNECTOR_ID, url=LOGIC_APP_URL)])
    assert outcome.outcome == "fail"
    assert findings[0].evidence["secretParameters"] == ["sig"]
    assert LOGIC_APP_SIG not in findings[0].model_dump_json()
    assert "sig=REDACTED" in findings[0].evidence["targetUrl"]
    assert "api-version=2016-10-01" in findings[0].evidence["targetUrl"]  # the rest of the URL stays readable


def test_con005_function_code_url(audit_rule):
    outcome, findings = audit_rule("CON005", apiConnectors=[connector(CONNECTOR_ID, url=FUNCTION_URL)])
    assert outcome.outcome == "fail" and findings[0].evidence["secretParameters"] == ["code"]
    assert FUNCTION_CODE not in findings[0].model_dump_json()


def test_con005_passes_without_secret_parameters(audit_rule):
    url = "https://prod-12.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?api-version=2016-10-01"
    outcome, _ = audit_rule("CON005", apiConnectors=[connector(CONNECTOR_ID, url=url)])
    assert outcome.outcome == "pass"


def test_no_connector_secret_reaches_the_serialized_result(tmp_path: Path):
    # Basic auth + SAS URL (CON001, CON005, CON006) and plain-http Function URL (CON002, CON005, CON006).
    connectors = [connector("logic", name="Logic App approval", url=LOGIC_APP_URL, auth="basic"),
                  connector("func", name="Function persist", url=FUNCTION_URL, auth="basic")]
    path = write_snapshot(tmp_path / "snap", apiConnectors=connectors, b2xUserFlows=[flow("B2X_1_Partner")])
    rules = {"CON001", "CON002", "CON003", "CON004", "CON005", "CON006"}
    result = run_audit(open_snapshot(path), AuditOptions(only=rules))
    fired = {(f.ruleId, f.resource.id) for f in result.findings}
    assert {("CON001", "logic"), ("CON001", "func"), ("CON002", "func"), ("CON005", "logic"), ("CON005", "func"),
            ("CON006", "logic"), ("CON006", "func")} <= fired
    text = to_json(result)
    assert LOGIC_APP_SIG not in text and FUNCTION_CODE not in text
    assert "******" not in text
    assert "REDACTED" in text


# --- CON006 -----------------------------------------------------------------------------------

def test_con006_reports_connector_no_flow_uses(audit_rule):
    used = connector("used-id", name="Used")
    outcome, findings = audit_rule("CON006", apiConnectors=[used, connector("idle-id", name="Idle")],
                                   b2xUserFlows=[flow("B2X_1_Partner", post_attribute_collection=used)])
    assert outcome.outcome == "fail" and [f.resource.id for f in findings] == ["idle-id"]


def test_con006_post_federation_signup_counts_as_used(audit_rule):
    used = connector("ABC-ID", name="Federation check")
    outcome, _ = audit_rule("CON006", apiConnectors=[connector("abc-id", name="Federation check")],
                            b2xUserFlows=[flow("B2X_1_Partner", post_federation_signup=used)])
    assert outcome.outcome == "pass"


def test_con006_every_connector_unused_without_flows(audit_rule):
    outcome, findings = audit_rule("CON006", apiConnectors=[connector("idle-id")])
    assert outcome.outcome == "fail" and len(findings) == 1


def test_con006_not_evaluated_when_connector_configuration_missing(audit_rule):
    outcome, findings = audit_rule("CON006", apiConnectors=[connector("idle-id")],
                                   b2xUserFlows=[flow("B2X_1_Partner", with_connectors=False)])
    assert outcome.outcome == "notEvaluated" and findings == []
    assert "B2X_1_Partner" in outcome.reason and "IdentityUserFlow.ReadWrite.All" in outcome.reason


def test_con006_not_evaluated_when_flows_forbidden(audit_rule):
    outcome, _ = audit_rule("CON006", apiConnectors=[connector("idle-id")], b2xUserFlows="forbidden")
    assert outcome.outcome == "notEvaluated" and "b2xUserFlows" in outcome.reason
