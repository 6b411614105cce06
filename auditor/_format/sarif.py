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
from auditor.result import AuditResult, Finding, RuleOutcome, SnapshotInfo
from auditor.snapshot.format import MANIFEST

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
INFORMATION_URI = "https://learn.microsoft.com/entra/external-id/self-service-sign-up-overview"


def _help(rule: RuleOutcome) -> dict[str, str]:
    portal, graph = rule.remediation.portal, rule.remediation.graph
    refs = [f"- [{r.title}]({r.url})" for r in rule.references]
    text = f"{rule.rationale}\n\nRemediation (portal): {portal}\n\nRemediation (Graph): {graph}"
    markdown = (f"{rule.rationale}\n\n**Remediation (portal)**\n\n{portal}\n\n**Remediation (Graph)**\n\n"
                f"```\n{graph}\n```\n" + ("\n**References**\n\n" + "\n".join(refs) + "\n" if refs else ""))
    return {"text": text, "markdown": markdown}


def _rule_descriptor(rule: RuleOutcome) -> dict[str, Any]:
    tags = ["security", rule.familyName or rule.family]
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
    first_url = next((r.url for r in rule.references if r.url.startswith("https://")), None)
    if first_url:
        descriptor["helpUri"] = first_url
    return descriptor


def _artifact(rule: RuleOutcome | None, snapshot: SnapshotInfo) -> str:
    """The snapshot file holding the data the rule read (its first source with a file)."""
    return (snapshot.file_of(rule.sources) if rule else None) or MANIFEST


def _result(finding: Finding, index: dict[str, int], rules: dict[str, RuleOutcome],
            snapshot: SnapshotInfo) -> dict[str, Any]:
    resource = finding.resource
    name = resource.displayName or resource.id
    item: dict[str, Any] = {
        "ruleId": finding.ruleId,
        "level": LEVEL.get(finding.severity, "warning"),
        "kind": "fail",
        "message": {"text": finding.message},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": _artifact(rules.get(finding.ruleId), snapshot), "uriBaseId": "SNAPSHOT"},
                "region": {"startLine": 1},
            },
            "logicalLocations": [{"name": name, "fullyQualifiedName": f"{resource.type}/{resource.id}",
                                  "kind": "resource"}],
        }],
        "partialFingerprints": {"flowauditFingerprint/v1": finding.fingerprint},
        "properties": {"severity": finding.severity, "resourceType": resource.type, "resourceId": resource.id,
                       "status": finding.status, "evidence": finding.evidence},
    }
    if finding.ruleId in index:
        item["ruleIndex"] = index[finding.ruleId]
    if finding.baseline:
        item["baselineState"] = "new" if finding.baseline == "new" else "unchanged"
    waiver = finding.waiver
    if finding.status == "waived" and waiver is not None:
        item["suppressions"] = [{"kind": "external", "status": "accepted", "justification": waiver.justification,
                                 "properties": {"owner": waiver.owner or "", "expires": waiver.expires}}]
    elif waiver is not None and waiver.expired:
        item["properties"]["waiverExpired"] = waiver.expires
    return item


def build_sarif(result: AuditResult) -> dict[str, Any]:
    rules = sorted(result.rules, key=lambda r: r.id)
    index = {r.id: i for i, r in enumerate(rules)}
    by_id = {r.id: r for r in rules}
    notifications = [{"level": "warning", "message": {"text": f"{r.id} not evaluated: {r.reason or ''}"},
                      "associatedRule": {"id": r.id, "index": index[r.id]}}
                     for r in rules if r.outcome == "notEvaluated"]
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "flowaudit", "version": result.tool.version,
                            "semanticVersion": result.tool.version, "informationUri": INFORMATION_URI,
                            "rules": [_rule_descriptor(r) for r in rules]}},
        "automationDetails": {"id": f"flowaudit/{result.tenantId}/"},
        "originalUriBaseIds": {"SNAPSHOT": {"description": {
            "text": f"The flowaudit snapshot of tenant {result.tenantId} collected {result.collectedAt}"}}},
        "invocations": [{"executionSuccessful": True, "endTimeUtc": result.generatedAt,
                         "toolExecutionNotifications": notifications}],
        "results": [_result(f, index, by_id, result.snapshot) for f in result.findings],
        "properties": {"tenantId": result.tenantId, "collectedAt": result.collectedAt,
                       "summary": result.summary.model_dump(mode="json")},
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


class SarifFormat(Formatter):
    filename = "results.sarif"

    def format(self, result: AuditResult) -> bytes:
        return (json.dumps(build_sarif(result), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
