"""Compare findings with an earlier result by fingerprint (``--baseline`` and ``flowaudit diff``).

One definition for both: every finding is ``new`` or ``existing``; an earlier finding that is gone
is **resolved** only when its rule was run in the newer audit and concluded (pass or fail). When the
rule was not run, not evaluated or not applicable, nobody looked again: the finding is **not
reassessed**, never reported as fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auditor.result import (
    REASSESSED,
    AuditResult,
    BaselineInfo,
    Finding,
    FindingRef,
    NotReassessed,
    RuleOutcome,
    finding_sort_key,
)

_WHY = {None: "was not run", "notEvaluated": "could not be evaluated", "notApplicable": "was not applicable"}


@dataclass
class Comparison:
    findings: list[Finding]  # the newer findings, each marked new or existing
    resolved: list[FindingRef]
    not_reassessed: list[NotReassessed]
    baseline: BaselineInfo

    @property
    def new(self) -> list[Finding]:
        return [f for f in self.findings if f.baseline == "new"]

    @property
    def existing(self) -> list[Finding]:
        return [f for f in self.findings if f.baseline == "existing"]


def compare(previous: AuditResult, findings: Sequence[Finding], rules: Sequence[RuleOutcome]) -> Comparison:
    before = {f.fingerprint: f for f in previous.findings}
    now = {f.fingerprint for f in findings}
    marked = [f.model_copy(update={"baseline": "existing" if f.fingerprint in before else "new"}) for f in findings]
    outcomes = {r.id: r.outcome for r in rules}
    resolved: list[FindingRef] = []
    not_reassessed: list[NotReassessed] = []
    for fp, old in before.items():
        if fp in now:
            continue
        outcome = outcomes.get(old.ruleId)
        if outcome in REASSESSED:
            resolved.append(FindingRef.of(old))
        else:
            not_reassessed.append(NotReassessed(**FindingRef.of(old).model_dump(),
                                                reason=f"rule {old.ruleId} {_WHY.get(outcome, 'was not run')} "
                                                       "in the newer audit"))
    resolved.sort(key=finding_sort_key)
    not_reassessed.sort(key=finding_sort_key)
    return Comparison(marked, resolved, not_reassessed,
                      BaselineInfo(collectedAt=previous.collectedAt, generatedAt=previous.generatedAt))
