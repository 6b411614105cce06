"""The gate: 3 incomplete (--require-complete) > 1 findings at/above --fail-on > 0 (README "Exit codes")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.severity import SEVERITY_RANK

if TYPE_CHECKING:  # the result models cost ~0.1 s to build; --help must not pay for them
    from auditor.result import AuditResult

FAIL_ON_CHOICES = ("critical", "high", "medium", "low", "info", "none")


@dataclass
class GateDecision:
    exit_code: int
    reason: str | None  # one line for stderr when exit_code != 0


def decide(result: AuditResult, *, fail_on: str = "high", require_complete: bool = False,
           fail_on_new: bool = False) -> GateDecision:
    if require_complete:
        not_evaluated = [r for r in result.rules if r.outcome == "notEvaluated"]
        if not_evaluated:
            missing = sorted({s for r in not_evaluated for s in r.missingSources})
            rules = ", ".join(r.id for r in not_evaluated)
            extra = f" (missing or incomplete sources: {', '.join(missing)})" if missing else ""
            return GateDecision(3, f"audit incomplete: {len(not_evaluated)} rule(s) not evaluated: {rules}{extra}")
    if fail_on == "none":
        return GateDecision(0, None)
    threshold = SEVERITY_RANK[fail_on]
    gating = [f for f in result.open_findings()
              if f.rank >= threshold and (not fail_on_new or f.baseline == "new")]
    if gating:
        gating_rules = sorted({f.ruleId for f in gating})
        kind = "new finding(s)" if fail_on_new else "finding(s)"
        return GateDecision(1, f"{len(gating)} open {kind} at or above {fail_on} ({', '.join(gating_rules)})")
    return GateDecision(0, None)
