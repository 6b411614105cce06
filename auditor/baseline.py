"""Baseline (SPEC §7): compare this audit with a previous ``result.json`` by finding fingerprint.

Every finding becomes ``new`` or ``existing``. A previous finding that is gone is ``resolved`` only
when its rule was evaluated this time (pass, fail or notApplicable); when the rule was skipped or
not evaluated we cannot tell, so it is listed under ``summary.notReassessed`` instead.
"""

from __future__ import annotations

from typing import Any

from auditor.errors import InputError
from auditor.result import AuditResult, Finding, summarize

REASSESSED_OUTCOMES = ("pass", "fail", "notApplicable")


def finding_ref(finding: Finding) -> dict[str, Any]:
    return {"ruleId": finding.ruleId, "severity": finding.severity, "title": finding.title,
            "resource": finding.resource.model_dump(), "fingerprint": finding.fingerprint}


def apply_baseline(result: AuditResult, previous: AuditResult, label: str) -> None:
    if previous.tenantId.casefold() != result.tenantId.casefold():
        raise InputError(f"{label}: baseline is for tenant {previous.tenantId}, this audit is for {result.tenantId}")
    before = {f.fingerprint: f for f in previous.findings}
    now = {f.fingerprint for f in result.findings}
    for finding in result.findings:
        finding.baseline = "existing" if finding.fingerprint in before else "new"
    outcomes = {r.id: r.outcome for r in result.rules}
    resolved, unknown = [], []
    for fp, old in before.items():
        if fp in now:
            continue
        outcome = outcomes.get(old.ruleId)
        if outcome in REASSESSED_OUTCOMES:
            resolved.append(old)
        else:
            unknown.append({**finding_ref(old), "reason": f"rule {old.ruleId} was "
                            + ("not run" if outcome is None else "not evaluated") + " in this audit"})
    resolved.sort(key=lambda f: (-f.rank, f.ruleId, f.resource.type, f.resource.id.casefold(), f.fingerprint))
    result.resolved = [finding_ref(f) for f in resolved]
    result.summary["baseline"] = {"collectedAt": previous.collectedAt, "generatedAt": previous.generatedAt}
    result.summary["notReassessed"] = sorted(unknown, key=lambda e: (e["ruleId"], e["fingerprint"]))
    result.summary = summarize(result)
