"""``flowaudit diff``: what changed between two audit results (by finding fingerprint = rule + resource)."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from auditor.catalog import SEVERITY_RANK
from auditor.result import AuditResult, Finding, finding_sort_key

NOT_RUN = "notRun"  # the rule was not part of that audit (--rules/--skip-rules, older catalog)


@dataclass
class RuleChange:
    id: str
    title: str
    before: str
    after: str


@dataclass
class ResultDiff:
    old: AuditResult
    new: AuditResult
    new_findings: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    unchanged: list[Finding] = field(default_factory=list)  # as they are in the new result
    rule_changes: list[RuleChange] = field(default_factory=list)

    def gating(self, fail_on: str) -> list[Finding]:
        """New open findings at or above ``fail_on`` (waived ones never gate)."""
        if fail_on == "none":
            return []
        threshold = SEVERITY_RANK[fail_on]
        return [f for f in self.new_findings if f.status == "open" and f.rank >= threshold]


def diff_results(old: AuditResult, new: AuditResult) -> ResultDiff:
    before = {f.fingerprint: f for f in old.findings}
    after = {f.fingerprint: f for f in new.findings}
    diff = ResultDiff(old=old, new=new)
    diff.new_findings = sorted((f for fp, f in after.items() if fp not in before), key=finding_sort_key)
    diff.resolved = sorted((f for fp, f in before.items() if fp not in after), key=finding_sort_key)
    diff.unchanged = sorted((f for fp, f in after.items() if fp in before), key=finding_sort_key)
    old_rules = {r.id: r for r in old.rules}
    new_rules = {r.id: r for r in new.rules}
    for rule_id in sorted(set(old_rules) | set(new_rules)):
        was, now = old_rules.get(rule_id), new_rules.get(rule_id)
        before_outcome = was.outcome if was else NOT_RUN
        after_outcome = now.outcome if now else NOT_RUN
        if before_outcome != after_outcome:
            title = (now or was).title  # type: ignore[union-attr]
            diff.rule_changes.append(RuleChange(rule_id, title, before_outcome, after_outcome))
    return diff


def clean(text: Any) -> str:
    """Tenant text for a terminal: control characters (ANSI escapes, newlines) become '?'."""
    return "".join("?" if unicodedata.category(ch).startswith("C") else ch for ch in str(text or ""))


def _finding_json(f: Finding) -> dict[str, Any]:
    return {"ruleId": f.ruleId, "severity": f.severity, "title": f.title, "status": f.status,
            "resource": f.resource.model_dump(), "message": f.message, "fingerprint": f.fingerprint}


def render_json(diff: ResultDiff) -> str:
    data = {
        "format": "flowaudit-diff", "version": 1,
        "old": {"tenantId": diff.old.tenantId, "collectedAt": diff.old.collectedAt},
        "new": {"tenantId": diff.new.tenantId, "collectedAt": diff.new.collectedAt},
        "newFindings": [_finding_json(f) for f in diff.new_findings],
        "resolvedFindings": [_finding_json(f) for f in diff.resolved],
        "unchangedFindings": [_finding_json(f) for f in diff.unchanged],
        "ruleChanges": [{"id": c.id, "title": c.title, "before": c.before, "after": c.after}
                        for c in diff.rule_changes],
        "summary": _counts(diff),
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _counts(diff: ResultDiff) -> dict[str, int]:
    return {"new": len(diff.new_findings), "resolved": len(diff.resolved), "unchanged": len(diff.unchanged),
            "ruleChanges": len(diff.rule_changes)}


def _summary_line(diff: ResultDiff) -> str:
    c = _counts(diff)
    return (f"{c['new']} new, {c['resolved']} resolved, {c['unchanged']} unchanged finding(s); "
            f"{c['ruleChanges']} rule outcome(s) changed")


def _rows(findings: list[Finding]) -> list[tuple[str, ...]]:
    return [(f.severity.upper(), f.ruleId, f.status, clean(f.resource.type), clean(f.resource.id),
             clean(f.resource.displayName)) for f in findings]


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:{w}}}" for w in widths)
    return ["  " + fmt.format(*header).rstrip()] + ["  " + fmt.format(*r).rstrip() for r in rows]


FINDING_HEADER = ("SEVERITY", "RULE", "STATUS", "TYPE", "RESOURCE", "NAME")


def render_table(diff: ResultDiff) -> str:
    lines = [f"flowaudit diff: tenant {clean(diff.old.tenantId)}, {diff.old.collectedAt} -> {diff.new.collectedAt}"]
    if diff.old.tenantId.casefold() != diff.new.tenantId.casefold():
        lines.append(f"note: the results are for different tenants ({clean(diff.old.tenantId)}, "
                     f"{clean(diff.new.tenantId)})")
    for title, findings in (("New findings", diff.new_findings), ("Resolved findings", diff.resolved),
                            ("Unchanged findings", diff.unchanged)):
        lines += ["", f"{title} ({len(findings)})"]
        lines += _table(FINDING_HEADER, _rows(findings)) if findings else ["  none"]
    lines += ["", f"Rule outcomes changed ({len(diff.rule_changes)})"]
    if diff.rule_changes:
        lines += _table(("RULE", "BEFORE", "AFTER", "TITLE"),
                        [(c.id, c.before, c.after, clean(c.title)) for c in diff.rule_changes])
    else:
        lines.append("  none")
    lines += ["", _summary_line(diff)]
    return "\n".join(lines) + "\n"


def md_escape(text: Any) -> str:
    """Tenant text inside a Markdown table cell: no markup, no HTML, no line breaks."""
    out = []
    for ch in clean(text):
        if ch in "\\`*_{}[]<>()#+!|~":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def render_markdown(diff: ResultDiff) -> str:
    lines = [f"## flowaudit diff: {diff.old.collectedAt} → {diff.new.collectedAt}", "",
             f"Tenant `{md_escape(diff.new.tenantId)}`: {_summary_line(diff)}."]
    for title, findings in (("New findings", diff.new_findings), ("Resolved findings", diff.resolved),
                            ("Unchanged findings", diff.unchanged)):
        lines += ["", f"### {title} ({len(findings)})", ""]
        if not findings:
            lines.append("None.")
            continue
        lines += ["| Severity | Rule | Status | Resource | Name |", "|---|---|---|---|---|"]
        lines += [f"| {f.severity} | {f.ruleId} | {f.status} | {md_escape(f.resource.type)}: "
                  f"{md_escape(f.resource.id)} | {md_escape(f.resource.displayName)} |" for f in findings]
    lines += ["", f"### Rule outcomes changed ({len(diff.rule_changes)})", ""]
    if diff.rule_changes:
        lines += ["| Rule | Before | After | Title |", "|---|---|---|---|"]
        lines += [f"| {c.id} | {c.before} | {c.after} | {md_escape(c.title)} |" for c in diff.rule_changes]
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


RENDERERS = {"table": render_table, "json": render_json, "md": render_markdown}
