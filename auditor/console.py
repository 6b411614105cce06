"""The console summary printed after an audit: counts, failing rules, rules not evaluated."""

from __future__ import annotations

from auditor.catalog import SEVERITIES
from auditor.result import AuditResult


def render_summary(result: AuditResult) -> str:
    s = result.summary
    lines = [
        f"flowaudit {result.tool.get('version', '')} — tenant {result.tenantId}, snapshot {result.collectedAt}",
        "",
        "Open findings by severity: " + ", ".join(f"{sev} {s['openBySeverity'].get(sev, 0)}" for sev in SEVERITIES),
    ]
    if s.get("waived"):
        lines.append(f"Waived findings: {s['waived']}")
    rules = s["rules"]
    lines.append(f"Rules: {rules['fail']} failed, {rules['pass']} passed, {rules['notEvaluated']} not evaluated, "
                 f"{rules['notApplicable']} not applicable")
    failing = [r for r in result.rules if r.outcome == "fail"]
    if failing:
        lines += ["", "Failing rules:"]
        for r in sorted(failing, key=lambda r: (SEVERITIES.index(r.severity), r.id)):
            lines.append(f"  {r.severity.upper():8} {r.id}  {r.title}  ({r.findings} finding{'s' if r.findings != 1 else ''})")
    skipped = [r for r in result.rules if r.outcome == "notEvaluated"]
    if skipped:
        lines += ["", "Not evaluated:"]
        for r in skipped:
            lines.append(f"  {r.id}  {r.reason}")
    return "\n".join(lines) + "\n"
