"""The view model of ``portfolio.html`` and ``portfolio.pdf``: plain, already-decided, cleaned text.

As for a tenant's report (auditor/_format/_view.py), templates never see the portfolio object:
every string they can reach was made here by :func:`text` (secrets redacted again) and the
templates escape it (autoescape). Tenant names come from a tenants file or a tenant.json that
another job wrote, finding text from each tenant's Graph data: all of it is untrusted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from auditor._format._view import display_time, text
from auditor.portfolio.model import AUDITED, NOT_RUN, FamilyCell, Portfolio, TenantRow
from auditor.severity import SEVERITIES
from auditor.tally import FAILED, INFORMATIONAL, LABELS, NOT_APPLICABLE, NOT_EVALUATED, PASSED, WAIVED

CELL_TEXT = {PASSED: "pass", NOT_EVALUATED: "not evaluated", INFORMATIONAL: "info", WAIVED: "waived",
             NOT_APPLICABLE: "n/a", NOT_RUN: "—"}
EXIT_LABELS = {0: "pass", 1: "findings", 2: "invalid input", 3: "incomplete"}


@dataclass
class CellView:
    status: str  # css: the family status
    label: str
    severity: str | None  # the worst open finding's, for a failed family
    title: str  # tooltip: the rules by status and the open findings


@dataclass
class TenantView:
    name: str
    tenant_id: str
    audited: bool
    exit_code: int
    exit_label: str
    verdict: str
    reason: str
    collected: str
    report_href: str | None
    open_by_severity: dict[str, int]
    open_total: int
    waived: int
    cells: list[CellView]


@dataclass
class WorstView:
    severity: str
    tenant: str
    rule_id: str
    title: str
    resource: str
    resource_id: str
    message: str


@dataclass
class PortfolioView:
    version: str
    generated: str
    generated_iso: str
    verdict: str
    level: str  # posture colour: a severity, "incomplete" or "clean"
    tenants_total: int
    audited: int
    failed: int
    by_exit: list[tuple[str, int]]
    open_by_severity: dict[str, int]
    families: list[tuple[str, str]]  # (id, name)
    tenants: list[TenantView]
    worst: list[WorstView]
    worst_total: int
    severities: tuple[str, ...] = SEVERITIES
    family_labels: dict[str, str] = field(default_factory=lambda: dict(LABELS))


def _cell(cell: FamilyCell | None) -> CellView:
    if cell is None:
        return CellView(NOT_RUN, CELL_TEXT[NOT_RUN], None, "no rule of this family ran")
    parts = [f"{n} {LABELS.get(s, s)}" for s, n in cell.rules.items()]
    if cell.open:
        parts.append(f"{cell.open} open finding{'s' if cell.open != 1 else ''}, worst {cell.worst}")
    title = text(", ".join(parts) or "no rule of this family ran")
    if cell.status == FAILED:
        severity = cell.worst if cell.worst in SEVERITIES else None
        return CellView(FAILED, f"{cell.open} {severity or ''}".strip(), severity, title)
    return CellView(cell.status if cell.status in CELL_TEXT else NOT_RUN,
                    CELL_TEXT.get(cell.status, text(cell.status)), None, title)


def _href(row: TenantRow) -> str | None:
    """A link to the tenant's own report: a relative path only, percent-encoded (no scheme can sneak in)."""
    if not row.report:
        return None
    return "./" + quote(row.report.lstrip("/"), safe="/._-~")


def _tenant(row: TenantRow, families: list[str]) -> TenantView:
    audited = row.status == AUDITED
    return TenantView(
        name=text(row.name), tenant_id=text(row.tenantId), audited=audited, exit_code=row.exitCode,
        exit_label=EXIT_LABELS.get(row.exitCode, "incomplete"), verdict=text(row.verdict) if row.verdict else "",
        reason=text(row.reason) if row.reason else "", collected=display_time(row.collectedAt),
        report_href=_href(row), open_by_severity={s: row.openBySeverity.get(s, 0) for s in SEVERITIES},
        open_total=sum(row.openBySeverity.values()), waived=row.waived,
        cells=[_cell(row.families.get(f)) for f in families] if audited else [])


def _level(portfolio: Portfolio) -> str:
    summary = portfolio.summary
    if summary.exitCode in (2, 3):
        return "incomplete"
    worst = next((s for s in SEVERITIES if summary.openBySeverity.get(s)), None)
    return worst or "clean"


def build_portfolio_view(portfolio: Portfolio) -> PortfolioView:
    families = [f.id for f in portfolio.families]
    summary = portfolio.summary
    return PortfolioView(
        version=text(portfolio.tool.version), generated=display_time(portfolio.generatedAt),
        generated_iso=text(portfolio.generatedAt), verdict=text(summary.verdict), level=_level(portfolio),
        tenants_total=summary.tenants, audited=summary.audited, failed=summary.failed,
        by_exit=[(f"{code} {EXIT_LABELS[code]}", summary.byExitCode.get(str(code), 0)) for code in (0, 1, 2, 3)],
        open_by_severity={s: summary.openBySeverity.get(s, 0) for s in SEVERITIES},
        families=[(text(f.id), text(f.name)) for f in portfolio.families],
        tenants=[_tenant(row, families) for row in portfolio.tenants],
        worst=[WorstView(severity=f.severity if f.severity in SEVERITIES else "info", tenant=text(f.tenant),
                         rule_id=text(f.ruleId), title=text(f.title),
                         resource=text(f.resource.displayName or f.resource.id), resource_id=text(f.resource.id),
                         message=text(f.message)) for f in portfolio.worstFindings],
        worst_total=summary.worstFindings)
