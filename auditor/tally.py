"""How a rule reads to a person: its outcome refined by what is open.

The result's outcome is ``fail`` for any rule with findings. People reading a summary need more: a
rule whose findings are all waived is not failing, and an ``info`` rule that "fails" reports a fact
(a password is required at first sign-up), not a problem. The console, the Markdown summary and the
reports count rules this one way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.result import AuditResult, Finding, RuleOutcome
from auditor.severity import SEVERITIES

# display statuses, in the order the summary lists them
FAILED, INFORMATIONAL, WAIVED, PASSED, NOT_EVALUATED, NOT_APPLICABLE = (
    "failed", "informational", "waived", "passed", "notEvaluated", "notApplicable")
STATUSES = (FAILED, INFORMATIONAL, WAIVED, PASSED, NOT_EVALUATED, NOT_APPLICABLE)
LABELS = {FAILED: "failed", INFORMATIONAL: "informational", WAIVED: "fully waived", PASSED: "passed",
          NOT_EVALUATED: "not evaluated", NOT_APPLICABLE: "not applicable"}
_ALWAYS_SHOWN = (FAILED, PASSED, NOT_EVALUATED, NOT_APPLICABLE)


@dataclass
class RuleTally:
    rule: RuleOutcome
    status: str
    open: list[Finding] = field(default_factory=list)
    waived: int = 0


def rule_status(rule: RuleOutcome, open_findings: int) -> str:
    if rule.outcome == "pass":
        return PASSED
    if rule.outcome != "fail":
        return rule.outcome  # notEvaluated / notApplicable
    if open_findings == 0:
        return WAIVED
    return INFORMATIONAL if rule.severity == "info" else FAILED


def tally(result: AuditResult) -> list[RuleTally]:
    """Every rule of the result with its display status, most severe first, then by id."""
    open_by: dict[str, list[Finding]] = {}
    waived_by: dict[str, int] = {}
    for f in result.findings:
        if f.is_open:
            open_by.setdefault(f.ruleId, []).append(f)
        else:
            waived_by[f.ruleId] = waived_by.get(f.ruleId, 0) + 1
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    rules = sorted(result.rules, key=lambda r: (rank.get(r.severity, len(rank)), r.id))
    return [RuleTally(r, rule_status(r, len(open_by.get(r.id, []))), open_by.get(r.id, []), waived_by.get(r.id, 0))
            for r in rules]


def count(tallies: list[RuleTally]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for t in tallies:
        counts[t.status] += 1
    return counts


def rules_line(counts: dict[str, int]) -> str:
    """``23 failed, 2 informational, 1 passed, 0 not evaluated, 0 not applicable`` (informational and
    fully waived only when there are some)."""
    return ", ".join(f"{counts[s]} {LABELS[s]}" for s in STATUSES if s in _ALWAYS_SHOWN or counts[s])
