"""The console summary printed after an audit: counts, the failing rules with the resources that fail
them (a line each, capped per rule), informational and waived rules apart, rules not evaluated.

The verdict line (PASS / FAIL / INCOMPLETE) is the command's to print, last: it depends on the gate.
Every piece of tenant text goes through :func:`auditor.text.for_terminal`.
"""

from __future__ import annotations

from auditor.result import AuditResult, Finding
from auditor.severity import SEVERITIES
from auditor.tally import FAILED, INFORMATIONAL, NOT_EVALUATED, WAIVED, RuleTally, count, rules_line, tally
from auditor.text import for_terminal as t

RESOURCES_PER_RULE = 5  # resource lines under a rule; the rest is counted ("… and N more")
_INDENT = " " * 11  # under the rule id: "  CRITICAL " is 11 characters


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def resource_line(finding: Finding) -> str:
    r = finding.resource
    name = t(r.displayName) if r.displayName and r.displayName != r.id else ""
    who = f"{name} ({t(r.id)})" if name else t(r.id)
    new = " [new]" if finding.baseline == "new" else ""
    return f"{_INDENT}- {who}{new}: {t(finding.message)}"


def _rule_lines(item: RuleTally) -> list[str]:
    r = item.rule
    counted = _plural(len(item.open), "open finding")
    if item.waived:
        counted += f", {item.waived} waived"
    lines = [f"  {r.severity.upper():8} {t(r.id)}  {t(r.title)}  ({counted})"]
    lines += [resource_line(f) for f in item.open[:RESOURCES_PER_RULE]]
    hidden = len(item.open) - RESOURCES_PER_RULE
    if hidden > 0:
        lines.append(f"{_INDENT}… and {hidden} more")
    return lines


def render_summary(result: AuditResult) -> str:
    s = result.summary
    tallies = tally(result)
    counts = count(tallies)
    lines = [
        f"flowaudit {t(result.tool.version)} — tenant {t(result.tenantId)}, snapshot {t(result.collectedAt)}",
        "",
        "Open findings by severity: " + ", ".join(f"{sev} {s.openBySeverity.get(sev, 0)}" for sev in SEVERITIES),
        f"Rules: {rules_line(counts)}",
    ]
    if s.waived:
        waived_rules = [i for i in tallies if i.status == WAIVED]
        fully = ", ".join(f"{t(i.rule.id)} ({i.waived})" for i in waived_rules)
        lines.append(f"Waived: {_plural(s.waived, 'finding')}" + (f"; fully waived rules: {fully}" if fully else ""))
    if result.baseline is not None:
        lines.append(f"Against the baseline ({t(result.baseline.collectedAt)}): {s.new} new, {s.resolved} resolved, "
                     f"{s.notReassessed} not reassessed")
    for status, heading in ((FAILED, "Failing rules"), (INFORMATIONAL, "Informational (facts to know, not failures)")):
        items = [i for i in tallies if i.status == status]
        if items:
            lines += ["", f"{heading}:"]
            for item in items:
                lines += _rule_lines(item)
    skipped = [i.rule for i in tallies if i.status == NOT_EVALUATED]
    if skipped:
        lines += ["", "Not evaluated:"]
        for r in sorted(skipped, key=lambda r: r.id):
            lines.append(f"  {t(r.id)}  {t(r.reason)}")
    return "\n".join(lines) + "\n"
