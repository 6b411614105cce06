"""The "Change plan" appendix of the HTML and PDF reports: a plan as cleaned, capped view data.

Like :mod:`auditor._format._view`, templates get only strings made here by :func:`text` (which
redacts URL secrets again); request bodies are shown as a reviewer sees them (inputs filled in,
secrets named, never read), so a hand-edited plan cannot put a secret or markup into a report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from auditor._format._view import text
from auditor.catalog import load_catalog
from auditor.plan.inputs import display, display_url
from auditor.plan.model import Change, Plan, Step
from auditor.plan.render import change_status, counts, describe_check


@dataclass(frozen=True)
class PlanCaps:
    changes_per_rule: int  # changes listed per rule
    detailed_per_rule: int  # of those, how many show their steps in full


HTML_PLAN_CAPS = PlanCaps(changes_per_rule=500, detailed_per_rule=500)
PDF_PLAN_CAPS = PlanCaps(changes_per_rule=25, detailed_per_rule=2)


@dataclass
class PlanStepView:
    id: str
    description: str
    method: str
    url: str
    body: str | None
    permission: str
    expects: list[str]
    rollback: list[str]
    condition: str | None


@dataclass
class PlanChangeView:
    id: str
    rule_id: str
    status: str  # ready | needsInput | invalid (CSS class and filter value)
    status_label: str
    automatic: bool
    summary: str
    findings: list[str]
    needs: list[str]
    permissions: str
    steps: list[PlanStepView] = field(default_factory=list)  # empty when only listed (PDF caps)


@dataclass
class PlanGroupView:
    rule_id: str
    title: str
    changes: list[PlanChangeView]
    total: int

    @property
    def hidden(self) -> int:
        return self.total - len(self.changes)

    @property
    def without_steps(self) -> int:
        return sum(1 for c in self.changes if not c.steps)


@dataclass
class NotPlannedRow:
    rule_id: str
    resource: str
    reason: str


@dataclass
class PlanView:
    kind: str
    tenant: str
    generated: str
    origin: str
    totals: dict[str, int]
    groups: list[PlanGroupView]
    not_planned: list[NotPlannedRow]
    not_planned_total: int
    permissions: list[str]
    read_permissions: list[str]


def _step(step: Step, change: Change) -> PlanStepView:
    body = None
    if step.request.body is not None:
        body = text(json.dumps(display(step.request.body, change.inputs), ensure_ascii=False, separators=(", ", ": ")))
    condition = None
    if step.when is not None:
        if step.when.notEquals is not None:
            condition = text(f"unless inputs.{step.when.input} is {step.when.notEquals}")
        else:
            condition = text(f"only if inputs.{step.when.input} is {step.when.equals}")
    rollback = [text(f"{r.request.method} {display_url(r.request.url)}") for r in step.rollback]
    if step.rollbackNote:
        rollback.append(text(step.rollbackNote))
    return PlanStepView(
        id=text(step.id), description=text(step.description), method=text(step.request.method),
        url=text(display_url(step.request.url)), body=body,
        permission=text(step.permission + (f" (with {', '.join(step.alsoRequires)})" if step.alsoRequires else "")),
        expects=[text(describe_check(c, change.inputs)) for c in step.precondition], rollback=rollback,
        condition=condition)


def _change(change: Change, base_dir: Path, detailed: bool) -> PlanChangeView:
    status, label = change_status(change, base_dir)
    return PlanChangeView(
        id=text(change.id), rule_id=text(change.ruleId), status=status, status_label=text(label),
        automatic=change.automatic, summary=text(change.summary),
        findings=[text(f"{f.ruleId} on {f.resource.type} {f.resource.displayName or f.resource.id}")
                  for f in change.findings],
        needs=[text(f"{n.name}: {n.prompt}") for n in change.needs],
        permissions=text(", ".join(change.permissions())),
        steps=[_step(s, change) for s in change.steps] if detailed else [])


def build_plan_view(plan: Plan, caps: PlanCaps, base_dir: Path = Path(".")) -> PlanView:
    catalog = load_catalog()
    by_rule: dict[str, list[Change]] = {}
    for change in plan.changes:
        by_rule.setdefault(change.ruleId, []).append(change)
    groups = []
    for rule_id, changes in by_rule.items():
        rule = catalog.get(rule_id)
        shown = changes[: caps.changes_per_rule]
        groups.append(PlanGroupView(
            rule_id=text(rule_id), title=text(rule.title if rule else rule_id),
            changes=[_change(c, base_dir, i < caps.detailed_per_rule) for i, c in enumerate(shown)],
            total=len(changes)))
    src = plan.source
    origin = ""
    if src.result is not None:
        origin = f"result {src.result.path}" + (f", snapshot {src.snapshot.path}" if src.snapshot else "")
    elif src.plan is not None:
        origin = f"undoing {src.plan.path}, applied {src.appliedAt or ''}"
    limit = caps.changes_per_rule
    return PlanView(
        kind="Rollback plan" if plan.kind == "rollback" else "Change plan", tenant=text(plan.tenantId),
        generated=text(plan.generatedAt), origin=text(origin), totals=counts(plan, base_dir), groups=groups,
        not_planned=[NotPlannedRow(text(n.ruleId), text(n.resource.displayName or n.resource.id), text(n.reason))
                     for n in plan.notPlanned[:limit]],
        not_planned_total=len(plan.notPlanned),
        permissions=[text(p) for p in plan.permissions()], read_permissions=[text(p) for p in plan.read_permissions()])
