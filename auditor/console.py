"""The console summary printed after an audit: counts, failing rules, rules not evaluated."""

from __future__ import annotations

from auditor.result import AuditResult
from auditor.severity import SEVERITIES
from auditor.text import for_terminal as t


def render_summary(result: AuditResult) -> str:
    s = result.summary
    lines = [
        f"flowaudit {t(result.tool.version)} — tenant {t(result.tenantId)}, snapshot {t(result.collectedAt)}",
        "",
        "Open findings by severity: " + ", ".join(f"{sev} {s.openBySeverity.get(sev, 0)}" for sev in SEVERITIES),
    ]
    if s.waived:
        lines.append(f"Waived findings: {s.waived}")
    rules = s.rules
    lines.append(f"Rules: {rules['fail']} failed, {rules['pass']} passed, {rules['notEvaluated']} not evaluated, "
                 f"{rules['notApplicable']} not applicable")
    if result.baseline is not None:
        lines.append(f"Against the baseline ({t(result.baseline.collectedAt)}): {s.new} new, {s.resolved} resolved, "
                     f"{s.notReassessed} not reassessed")
    failing = result.rules_with("fail")
    if failing:
        lines += ["", "Failing rules:"]
        for r in sorted(failing, key=lambda r: (SEVERITIES.index(r.severity), r.id)):
            lines.append(f"  {r.severity.upper():8} {r.id}  {t(r.title)}  "
                         f"({r.findings} finding{'s' if r.findings != 1 else ''})")
    skipped = result.rules_with("notEvaluated")
    if skipped:
        lines += ["", "Not evaluated:"]
        for r in skipped:
            lines.append(f"  {r.id}  {t(r.reason)}")
    return "\n".join(lines) + "\n"
