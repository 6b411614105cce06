"""The gate: exit codes, and the one verdict line that says why.

Exit codes: 2 invalid input > 3 incomplete > 1 findings at/above --fail-on > 0. Which findings gate
is decided here once (:func:`gates`), for the exit code and for the outputs that must agree with it
(JUnit marks only gating findings as failures).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.severity import SEVERITY_RANK

if TYPE_CHECKING:  # the result models cost ~0.1 s to build; --help must not pay for them
    from auditor.result import AuditResult, Finding, GateSettings, RuleOutcome

FAIL_ON_CHOICES = ("critical", "high", "medium", "low", "info", "none")
DEFAULT_FAIL_ON = "high"
_IDS_SHOWN = 5  # rule ids named in the verdict line; the stderr line names them all


@dataclass(frozen=True)
class GateView:
    """The gate settings, whether they come from the command line or from a stored result."""

    fail_on: str = DEFAULT_FAIL_ON
    require_complete: bool = False
    fail_on_new: bool = False

    @classmethod
    def of(cls, settings: GateSettings | None) -> GateView:
        """A result's stored gate; results written before it was stored get the defaults."""
        if settings is None:
            return cls()
        return cls(settings.failOn, settings.requireComplete, settings.failOnNew)

    def gates(self, finding: Finding) -> bool:
        """Does this finding fail the gate: open, at or above --fail-on, and new with --fail-on-new."""
        if self.fail_on == "none" or not finding.is_open:
            return False
        if self.fail_on_new and finding.baseline != "new":
            return False
        return finding.rank >= SEVERITY_RANK[self.fail_on]

    def fails_incomplete(self, rule: RuleOutcome) -> bool:
        """Does this rule fail the gate for not being evaluated (--require-complete)?"""
        return self.require_complete and rule.outcome == "notEvaluated"

    def describe(self) -> str:
        """``--fail-on high``, ``--fail-on high --fail-on-new --require-complete``."""
        parts = [f"--fail-on {self.fail_on}"]
        if self.fail_on_new:
            parts.append("--fail-on-new")
        if self.require_complete:
            parts.append("--require-complete")
        return " ".join(parts)


@dataclass
class GateDecision:
    exit_code: int
    reason: str | None  # one line for stderr when exit_code != 0
    verdict: str  # one line for the console: PASS / FAIL / INCOMPLETE, and why


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:_IDS_SHOWN])
    return f"{shown}, …" if len(ids) > _IDS_SHOWN else shown


def decide(result: AuditResult, *, fail_on: str = DEFAULT_FAIL_ON, require_complete: bool = False,
           fail_on_new: bool = False) -> GateDecision:
    return decide_with(result, GateView(fail_on, require_complete, fail_on_new))


def decide_with(result: AuditResult, gate: GateView) -> GateDecision:
    kind = "new open finding" if gate.fail_on_new else "open finding"
    gating = [f for f in result.findings if gate.gates(f)]
    rules = sorted({f.ruleId for f in gating})
    found = f"{_plural(len(gating), kind)} at or above {gate.fail_on}"
    not_evaluated = [r for r in result.rules if gate.fails_incomplete(r)]
    if not_evaluated:
        missing = sorted({s for r in not_evaluated for s in r.missingSources})
        ids = [r.id for r in not_evaluated]
        extra = f" (missing or incomplete sources: {', '.join(missing)})" if missing else ""
        also = f"; also {found}" if gating else ""
        return GateDecision(3, f"audit incomplete: {len(not_evaluated)} rule(s) not evaluated: {', '.join(ids)}{extra}",
                            f"INCOMPLETE: {_plural(len(ids), 'rule')} not evaluated ({_ids(ids)}) and "
                            f"--require-complete is set{also}")
    if gating:
        return GateDecision(1, f"{len(gating)} {kind}(s) at or above {gate.fail_on} ({', '.join(rules)})",
                            f"FAIL: {found} ({_ids(rules)})")
    if gate.fail_on == "none":
        open_count = len(result.open_findings())
        return GateDecision(0, None, f"PASS: the gate is off (--fail-on none); {_plural(open_count, 'open finding')}")
    others = len(result.open_findings())
    why = f"not new or below {gate.fail_on}" if gate.fail_on_new else f"below {gate.fail_on}"
    tail = f"; {_plural(others, 'other open finding')} ({why})" if others else ""
    return GateDecision(0, None, f"PASS: no {kind} at or above {gate.fail_on}{tail}")
