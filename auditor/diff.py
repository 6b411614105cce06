"""``flowaudit diff``: what changed between two audit results.

Findings are compared exactly as ``--baseline`` compares them (:func:`auditor.baseline.compare`):
a finding that is gone is resolved only when its rule was evaluated in the newer result; otherwise it
is listed as not reassessed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from auditor.baseline import Comparison, compare
from auditor.result import AuditResult, Finding, FindingRef, NotReassessed, finding_sort_key
from auditor.severity import SEVERITY_RANK
from auditor.text import for_markdown, for_terminal

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
    comparison: Comparison
    rule_changes: list[RuleChange] = field(default_factory=list)

    @property
    def new_findings(self) -> list[Finding]:
        return sorted(self.comparison.new, key=finding_sort_key)

    @property
    def unchanged(self) -> list[Finding]:
        return sorted(self.comparison.existing, key=finding_sort_key)

    @property
    def resolved(self) -> list[FindingRef]:
        return self.comparison.resolved

    @property
    def not_reassessed(self) -> list[NotReassessed]:
        return self.comparison.not_reassessed

    def gating(self, fail_on: str) -> list[Finding]:
        """New open findings at or above ``fail_on`` (waived ones never gate)."""
        if fail_on == "none":
            return []
        threshold = SEVERITY_RANK[fail_on]
        return [f for f in self.new_findings if f.is_open and f.rank >= threshold]

    def counts(self) -> dict[str, int]:
        return {"new": len(self.new_findings), "resolved": len(self.resolved),
                "notReassessed": len(self.not_reassessed), "unchanged": len(self.unchanged),
                "ruleChanges": len(self.rule_changes)}


def diff_results(old: AuditResult, new: AuditResult) -> ResultDiff:
    diff = ResultDiff(old=old, new=new, comparison=compare(old, new.findings, new.rules))
    old_rules = {r.id: r for r in old.rules}
    new_rules = {r.id: r for r in new.rules}
    for rule_id in sorted(set(old_rules) | set(new_rules)):
        was, now = old_rules.get(rule_id), new_rules.get(rule_id)
        before_outcome = was.outcome if was else NOT_RUN
        after_outcome = now.outcome if now else NOT_RUN
        if before_outcome != after_outcome:
            title = now.title if now else was.title if was else rule_id
            diff.rule_changes.append(RuleChange(rule_id, title, before_outcome, after_outcome))
    return diff


def _ref_json(f: FindingRef) -> dict[str, Any]:
    return {"ruleId": f.ruleId, "severity": f.severity, "title": f.title,
            "resource": {"type": f.resource.type, "id": f.resource.id, "displayName": f.resource.displayName},
            "fingerprint": f.fingerprint}


def _finding_json(f: Finding) -> dict[str, Any]:
    return {**_ref_json(FindingRef.of(f)), "status": f.status, "message": f.message}


def render_json(diff: ResultDiff) -> str:
    data = {
        "format": "flowaudit-diff", "version": 1,
        "old": {"tenantId": diff.old.tenantId, "collectedAt": diff.old.collectedAt},
        "new": {"tenantId": diff.new.tenantId, "collectedAt": diff.new.collectedAt},
        "newFindings": [_finding_json(f) for f in diff.new_findings],
        "resolvedFindings": [_ref_json(f) for f in diff.resolved],
        "notReassessedFindings": [{**_ref_json(f), "reason": f.reason} for f in diff.not_reassessed],
        "unchangedFindings": [_finding_json(f) for f in diff.unchanged],
        "ruleChanges": [{"id": c.id, "title": c.title, "before": c.before, "after": c.after}
                        for c in diff.rule_changes],
        "summary": diff.counts(),
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _summary_line(diff: ResultDiff) -> str:
    c = diff.counts()
    return (f"{c['new']} new, {c['resolved']} resolved, {c['notReassessed']} not reassessed, "
            f"{c['unchanged']} unchanged finding(s); {c['ruleChanges']} rule outcome(s) changed")


def _sections(diff: ResultDiff) -> list[tuple[str, list[FindingRef], bool]]:
    """(title, findings, with status) in display order."""
    return [("New findings", [FindingRef.of(f) for f in diff.new_findings], True),
            ("Resolved findings", list(diff.resolved), False),
            ("Not reassessed (their rule did not conclude in the newer result)", list(diff.not_reassessed), False),
            ("Unchanged findings", [FindingRef.of(f) for f in diff.unchanged], True)]


def _status(diff: ResultDiff, ref: FindingRef) -> str:
    found = next((f for f in diff.new.findings if f.fingerprint == ref.fingerprint), None)
    return found.status if found else "-"


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:{w}}}" for w in widths)
    return ["  " + fmt.format(*header).rstrip()] + ["  " + fmt.format(*r).rstrip() for r in rows]


def render_table(diff: ResultDiff) -> str:
    t = for_terminal
    lines = [f"flowaudit diff: tenant {t(diff.old.tenantId)}, {t(diff.old.collectedAt)} -> {t(diff.new.collectedAt)}"]
    if diff.old.tenantId.casefold() != diff.new.tenantId.casefold():
        lines.append(f"note: the results are for different tenants ({t(diff.old.tenantId)}, {t(diff.new.tenantId)})")
    for title, refs, with_status in _sections(diff):
        lines += ["", f"{title} ({len(refs)})"]
        if not refs:
            lines.append("  none")
            continue
        header = ("SEVERITY", "RULE", "STATUS", "TYPE", "RESOURCE", "NAME") if with_status else \
            ("SEVERITY", "RULE", "TYPE", "RESOURCE", "NAME")
        rows = [tuple(x for x in (f.severity.upper(), f.ruleId, _status(diff, f) if with_status else None,
                                  t(f.resource.type), t(f.resource.id), t(f.resource.displayName)) if x is not None)
                for f in refs]
        lines += _table(header, rows)
    lines += ["", f"Rule outcomes changed ({len(diff.rule_changes)})"]
    if diff.rule_changes:
        lines += _table(("RULE", "BEFORE", "AFTER", "TITLE"),
                        [(c.id, c.before, c.after, t(c.title)) for c in diff.rule_changes])
    else:
        lines.append("  none")
    lines += ["", _summary_line(diff)]
    return "\n".join(lines) + "\n"


def render_markdown(diff: ResultDiff) -> str:
    m = for_markdown
    lines = [f"## flowaudit diff: {m(diff.old.collectedAt)} → {m(diff.new.collectedAt)}", "",
             f"Tenant `{m(diff.new.tenantId)}`: {_summary_line(diff)}."]
    for title, refs, _ in _sections(diff):
        lines += ["", f"### {title} ({len(refs)})", ""]
        if not refs:
            lines.append("None.")
            continue
        lines += ["| Severity | Rule | Resource | Name |", "|---|---|---|---|"]
        lines += [f"| {f.severity} | {f.ruleId} | {m(f.resource.type)}: {m(f.resource.id)} | "
                  f"{m(f.resource.displayName)} |" for f in refs]
    lines += ["", f"### Rule outcomes changed ({len(diff.rule_changes)})", ""]
    if diff.rule_changes:
        lines += ["| Rule | Before | After | Title |", "|---|---|---|---|"]
        lines += [f"| {c.id} | {c.before} | {c.after} | {m(c.title)} |" for c in diff.rule_changes]
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


RENDERERS: dict[str, Callable[[ResultDiff], str]] = {"table": render_table, "json": render_json,
                                                     "md": render_markdown}
