"""The merged view of many tenants: ``portfolio.json`` (docs/portfolio-format.md).

A portfolio is built from one row per tenant, each made from that tenant's result (or from why it
has none) by :func:`tenant_row`, the one place a result becomes a row: ``portfolio run`` builds the
rows from the results it just produced, ``portfolio merge`` from the ``result.json`` files it reads,
so the two give the same file for the same tenants. Everything is derived from the results; the
worst findings are the open findings of every tenant, most severe first.
"""

from __future__ import annotations

import json
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from auditor.errors import EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_INPUT
from auditor.result import AuditResult, Finding, Resource, ToolInfo, finding_sort_key
from auditor.severity import SEVERITIES, SEVERITY_RANK
from auditor.tally import (
    FAILED,
    INFORMATIONAL,
    NOT_APPLICABLE,
    NOT_EVALUATED,
    PASSED,
    STATUSES,
    WAIVED,
    tally,
)

PORTFOLIO_FORMAT: Final = "flowaudit-portfolio"
PORTFOLIO_VERSION: Final = 1
TENANT_FORMAT: Final = "flowaudit-portfolio-tenant"
AUDITED, FAILED_TENANT = "audited", "failed"
NOT_RUN = "notRun"
# A family's status in the matrix: the first of these any of its rules has.
FAMILY_ORDER = (FAILED, NOT_EVALUATED, INFORMATIONAL, WAIVED, PASSED, NOT_APPLICABLE)
WORST_SHOWN = 100  # worst findings kept in portfolio.json (the total is counted)
# Precedence of exit codes across tenants: invalid input > incomplete > findings > none.
_EXIT_RANK = {0: 0, EXIT_FINDINGS: 1, EXIT_INCOMPLETE: 2, EXIT_INPUT: 3}


def exit_rank(code: int) -> int:
    return _EXIT_RANK.get(code, _EXIT_RANK[EXIT_INCOMPLETE])


def worst_exit(codes: list[int]) -> int:
    return max(codes, key=exit_rank, default=0)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Family(_Model):
    id: str
    name: str


class FamilyCell(_Model):
    """One tenant × family cell: how the family's rules came out for that tenant."""

    status: str  # failed | notEvaluated | informational | waived | passed | notApplicable | notRun
    rules: dict[str, int] = Field(default_factory=dict)  # display status -> rules (auditor.tally)
    open: int = 0  # open findings of the family's rules
    worst: str | None = None  # severity of its most severe open finding


class GateInfo(_Model):
    failOn: str
    requireComplete: bool = False
    failOnNew: bool = False


class TenantRow(_Model):
    name: str
    tenantId: str | None = None
    folder: str  # the tenant's folder, relative to the portfolio's folder
    status: Literal["audited", "failed"]
    exitCode: int
    reason: str | None = None  # why it failed (failed tenants only)
    verdict: str | None = None  # the audit's verdict line (audited tenants only)
    collectedAt: str | None = None
    gate: GateInfo | None = None
    report: str | None = None  # its report.html, relative to the portfolio's folder, when there is one
    openBySeverity: dict[str, int] = Field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))
    waived: int = 0
    rules: dict[str, int] = Field(default_factory=dict)  # outcome -> rules (pass, fail, notEvaluated, ...)
    families: dict[str, FamilyCell] = Field(default_factory=dict)


class WorstFinding(_Model):
    tenant: str  # the tenant's name
    tenantId: str | None = None
    folder: str
    ruleId: str
    severity: str
    title: str
    resource: Resource
    message: str
    fingerprint: str

    @property
    def rank(self) -> int:
        return SEVERITY_RANK.get(self.severity, 0)


class PortfolioSummary(_Model):
    tenants: int
    audited: int
    failed: int
    exitCode: int
    verdict: str
    byExitCode: dict[str, int]  # "0".."3" -> tenants
    openBySeverity: dict[str, int]
    worstFindings: int  # open findings across all tenants (the list holds the first WORST_SHOWN)


class Portfolio(_Model):
    format: Literal["flowaudit-portfolio"] = PORTFOLIO_FORMAT
    version: Literal[1] = PORTFOLIO_VERSION
    tool: ToolInfo
    generatedAt: str
    families: list[Family]
    summary: PortfolioSummary
    tenants: list[TenantRow]
    worstFindings: list[WorstFinding]


def _family_cell(statuses: list[str], open_findings: list[Finding]) -> FamilyCell:
    counts = {s: statuses.count(s) for s in STATUSES if statuses.count(s)}
    status = next((s for s in FAMILY_ORDER if s in counts), NOT_RUN)
    worst = max(open_findings, key=lambda f: f.rank).severity if open_findings else None
    return FamilyCell(status=status, rules=counts, open=len(open_findings), worst=worst)


def tenant_row(result: AuditResult, *, name: str, folder: str, report: str | None) -> TenantRow:
    """The row of an audited tenant, from its result (the gate it was audited with decides its exit code)."""
    from auditor.catalog import load_catalog
    from auditor.gate import GateView, decide_with

    decision = decide_with(result, GateView.of(result.gate))
    tallies = tally(result)
    families: dict[str, FamilyCell] = {}
    for family in load_catalog().families:
        mine = [t for t in tallies if t.rule.family == family]
        families[family] = _family_cell([t.status for t in mine], [f for t in mine for f in t.open])
    open_by = dict.fromkeys(SEVERITIES, 0)
    for f in result.open_findings():
        open_by[f.severity] = open_by.get(f.severity, 0) + 1
    gate = result.gate
    return TenantRow(name=name, tenantId=result.tenantId, folder=folder, status=AUDITED, exitCode=decision.exit_code,
                     verdict=decision.verdict, collectedAt=result.collectedAt,
                     gate=GateInfo(failOn=gate.failOn, requireComplete=gate.requireComplete,
                                   failOnNew=gate.failOnNew) if gate else None,
                     report=report, openBySeverity=open_by, waived=result.summary.waived,
                     rules={k: v for k, v in result.summary.rules.items()}, families=families)


def failed_row(*, name: str, tenant_id: str | None, folder: str, exit_code: int, reason: str) -> TenantRow:
    return TenantRow(name=name, tenantId=tenant_id, folder=folder, status=FAILED_TENANT, exitCode=exit_code,
                     reason=reason, families={})


def worst_of(result: AuditResult, row: TenantRow, limit: int = WORST_SHOWN) -> list[WorstFinding]:
    """A tenant's most severe open findings (at most ``limit``; the portfolio keeps the worst of all)."""
    return [WorstFinding(tenant=row.name, tenantId=row.tenantId, folder=row.folder, ruleId=f.ruleId,
                         severity=f.severity, title=f.title, resource=f.resource, message=f.message,
                         fingerprint=f.fingerprint)
            for f in sorted(result.open_findings(), key=finding_sort_key)[:limit]]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def verdict(rows: list[TenantRow], exit_code: int) -> str:
    """One line: PASS / FAIL / INCOMPLETE / INVALID, and why (counted by each tenant's exit code)."""
    by = {code: sum(1 for r in rows if r.exitCode == code) for code in (0, 1, 2, 3)}
    other = sum(1 for r in rows if r.exitCode not in by)
    parts = []
    if by[2]:
        parts.append(f"{_plural(by[2], 'tenant')} with invalid input (exit 2)")
    if by[3] + other:
        parts.append(f"{_plural(by[3] + other, 'tenant')} not completely audited (exit 3)")
    if by[1]:
        parts.append(f"{_plural(by[1], 'tenant')} with open findings at or above their --fail-on (exit 1)")
    passed = f"{by[0]} of {_plural(len(rows), 'tenant')} pass"
    head = {0: "PASS", 1: "FAIL", 2: "INVALID", 3: "INCOMPLETE"}.get(exit_code, "INCOMPLETE")
    return f"{head}: {'; '.join([*parts, passed])}" if parts else f"{head}: all {_plural(len(rows), 'tenant')} pass"


def build_portfolio(tenants: list[tuple[TenantRow, list[WorstFinding]]], *, generated_at: str) -> Portfolio:
    """The portfolio of these tenants (rows in this order, each with its worst findings)."""
    from auditor import __version__
    from auditor.catalog import load_catalog

    catalog = load_catalog()
    rows = [row for row, _ in tenants]
    ranked = [f for _, _, f in sorted(
        ((index, n, f) for index, (_, worst) in enumerate(tenants) for n, f in enumerate(worst)),
        key=lambda item: (-item[2].rank, item[0], item[1]))]
    code = worst_exit([r.exitCode for r in rows])
    open_by = dict.fromkeys(SEVERITIES, 0)
    for row in rows:
        for severity, n in row.openBySeverity.items():
            open_by[severity] = open_by.get(severity, 0) + n
    summary = PortfolioSummary(
        tenants=len(rows), audited=sum(1 for r in rows if r.status == AUDITED),
        failed=sum(1 for r in rows if r.status == FAILED_TENANT), exitCode=code, verdict=verdict(rows, code),
        byExitCode={str(c): sum(1 for r in rows if r.exitCode == c) for c in (0, 1, 2, 3)},
        openBySeverity=open_by, worstFindings=sum(sum(r.openBySeverity.values()) for r in rows))
    return Portfolio(tool=ToolInfo(version=__version__), generatedAt=generated_at,
                     families=[Family(id=k, name=v) for k, v in catalog.families.items()], summary=summary,
                     tenants=rows, worstFindings=ranked[:WORST_SHOWN])


def to_json(portfolio: Portfolio) -> str:
    return json.dumps(portfolio.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def tenant_file(*, name: str, tenant_id: str | None, reason: str | None = None) -> str:
    """``tenant.json``, written beside a tenant's outputs: what merge cannot learn from result.json."""
    data: dict[str, object] = {"format": TENANT_FORMAT, "version": 1, "name": name, "tenantId": tenant_id}
    if reason is not None:
        data["reason"] = reason
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
