"""``results.sarif``: SARIF 2.1.0 for code-scanning dashboards (GitHub, Azure DevOps).

One run; the driver lists every rule of the result; one result per finding. A finding's location is
the snapshot data file its rule reads (relative to the ``SNAPSHOT`` base), or ``manifest.json``,
plus a logical location naming the Graph resource. Waived findings carry an external suppression.
"""

from __future__ import annotations

import json
import re
from typing import Any

from auditor._format.interface import Formatter
from auditor.catalog import FAMILIES
from auditor.redact import scrub
from auditor.result import AuditResult, Finding, RuleOutcome

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
INFORMATION_URI = "https://learn.microsoft.com/entra/external-id/self-service-sign-up-overview"


def _help(rule: RuleOutcome) -> dict[str, str]:
    portal, graph = rule.remediation.get("portal", ""), rule.remediation.get("graph", "")
    refs = [f"- [{r.get('title', '')}]({r.get('url', '')})" for r in rule.references]
    text = f"{rule.rationale}\n\nRemediation (portal): {portal}\n\nRemediation (Graph): {graph}"
    markdown = (f"{rule.rationale}\n\n**Remediation (portal)**\n\n{portal}\n\n**Remediation (Graph)**\n\n"
                f"```\n{graph}\n```\n" + ("\n**References**\n\n" + "\n".join(refs) + "\n" if refs else ""))
    return {"text": text, "markdown": markdown}


def _rule_descriptor(rule: RuleOutcome) -> dict[str, Any]:
    tags = ["security", FAMILIES.get(rule.family, rule.family)]
    tags += [f"{framework} {control}" for framework, controls in sorted(rule.frameworks.items())
             for control in controls]
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": "".join(word.capitalize() for word in re.split(r"[^A-Za-z0-9]+", rule.title) if word) or rule.id,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale or rule.title},
        "help": _help(rule),
        "defaultConfiguration": {"level": LEVEL.get(rule.severity, "warning")},
        "properties": {"security-severity": SECURITY_SEVERITY.get(rule.severity, "5.5"), "severity": rule.severity,
                       "tags": tags, "sources": list(rule.sources)},
    }
    first_url = next((r.get("url") for r in rule.references if r.get("url", "").startswith("https://")), None)
    if first_url:
        descriptor["helpUri"] = first_url
    return descriptor


def _artifact(rule: RuleOutcome | None, sources: dict[str, Any]) -> str:
    """The snapshot file holding the data the rule read (its first source with a file)."""
    for key in rule.sources if rule else []:
        file = (sources.get(key) or {}).get("file")
        if file:
            return str(file)
    return "manifest.json"


def _result(finding: Finding, index: dict[str, int], rules: dict[str, RuleOutcome],
            sources: dict[str, Any]) -> dict[str, Any]:
    resource = finding.resource
    name = scrub(resource.displayName or resource.id)
    item: dict[str, Any] = {
        "ruleId": finding.ruleId,
        "level": LEVEL.get(finding.severity, "warning"),
        "kind": "fail",
        "message": {"text": scrub(finding.message)},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": _artifact(rules.get(finding.ruleId), sources), "uriBaseId": "SNAPSHOT"},
                "region": {"startLine": 1},
            },
            "logicalLocations": [{"name": name, "fullyQualifiedName": scrub(f"{resource.type}/{resource.id}"),
                                  "kind": "resource"}],
        }],
        "partialFingerprints": {"flowauditFingerprint/v1": finding.fingerprint},
        "properties": {"severity": finding.severity, "resourceType": resource.type, "resourceId": scrub(resource.id),
                       "status": finding.status, "evidence": scrub(finding.evidence)},
    }
    if finding.ruleId in index:
        item["ruleIndex"] = index[finding.ruleId]
    if finding.baseline:
        item["baselineState"] = "new" if finding.baseline == "new" else "unchanged"
    waiver = finding.waiver or {}
    if finding.status == "waived":
        item["suppressions"] = [{"kind": "external", "status": "accepted",
                                 "justification": scrub(str(waiver.get("justification") or "waived")),
                                 "properties": {"owner": scrub(str(waiver.get("owner") or "")),
                                                "expires": str(waiver.get("expires") or "")}}]
    elif waiver.get("expired"):
        item["properties"]["waiverExpired"] = str(waiver.get("expires") or "")
    return item


def build_sarif(result: AuditResult) -> dict[str, Any]:
    rules = sorted(result.rules, key=lambda r: r.id)
    index = {r.id: i for i, r in enumerate(rules)}
    by_id = {r.id: r for r in rules}
    sources = result.snapshot.get("sources") or {}
    notifications = [{"level": "warning", "message": {"text": f"{r.id} not evaluated: {scrub(r.reason or '')}"},
                      "associatedRule": {"id": r.id, "index": index[r.id]}}
                     for r in rules if r.outcome == "notEvaluated"]
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "flowaudit", "version": result.tool.get("version", ""),
                            "semanticVersion": result.tool.get("version", ""), "informationUri": INFORMATION_URI,
                            "rules": [_rule_descriptor(r) for r in rules]}},
        "automationDetails": {"id": f"flowaudit/{scrub(result.tenantId)}/"},
        "originalUriBaseIds": {"SNAPSHOT": {"description": {
            "text": f"The flowaudit snapshot of tenant {scrub(result.tenantId)} collected {result.collectedAt}"}}},
        "invocations": [{"executionSuccessful": True, "endTimeUtc": result.generatedAt,
                         "toolExecutionNotifications": notifications}],
        "results": [_result(f, index, by_id, sources) for f in result.findings],
        "properties": {"tenantId": scrub(result.tenantId), "collectedAt": result.collectedAt,
                       "summary": result.summary},
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


class SarifFormat(Formatter):
    filename = "results.sarif"

    def format(self, result: AuditResult) -> bytes:
        return (json.dumps(build_sarif(result), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
