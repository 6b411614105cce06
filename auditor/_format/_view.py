"""The report view model shared by the HTML and PDF templates.

Templates get plain, already-decided data: findings grouped by rule (most severe first), evidence
turned into cells (text, list or table) with row caps, posture counts per severity and per family,
rules not evaluated with what to grant, waivers and data-source provenance. Every string taken from
the result passes :func:`auditor.redact.scrub` again, so a hand-edited result.json cannot smuggle a
connector secret into a report either. Escaping is the templates' job (autoescape on).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from auditor.catalog import FAMILIES, SEVERITIES
from auditor.redact import scrub
from auditor.result import AuditResult, Finding, RuleOutcome
from auditor.sources import BY_KEY, NOT_COLLECTED, remedy

OUTCOMES = ("pass", "fail", "notEvaluated", "notApplicable")
OUTCOME_LABELS = {"pass": "Pass", "fail": "Fail", "notEvaluated": "Not evaluated", "notApplicable": "Not applicable"}


@dataclass(frozen=True)
class Caps:
    """How much of a large result one report shows; the rest is counted and pointed to result.json."""

    rows_per_group: int  # findings shown per rule
    items_per_list: int  # entries shown per evidence list or table
    scalar_columns: int  # scalar evidence keys shown as table columns (the rest as details)
    detail_rows: int  # findings per rule whose remaining evidence is shown in full


HTML_CAPS = Caps(rows_per_group=500, items_per_list=50, scalar_columns=4, detail_rows=500)
PDF_CAPS = Caps(rows_per_group=25, items_per_list=10, scalar_columns=2, detail_rows=3)


@dataclass
class Cell:
    """One evidence value, ready to render: ``text``, ``list`` (of text) or ``table`` (of text)."""

    kind: str
    text: str = ""
    items: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    more: int = 0  # entries not shown


@dataclass
class FindingRow:
    finding: Finding
    status: str  # open | waived (filter value)
    name: str  # resource display name, or its id
    columns: list[Cell]  # values for the group's scalar evidence columns
    details: list[tuple[str, Cell]]  # the remaining evidence, label → cell
    waiver_note: str | None
    evidence_cut: bool = False  # evidence beyond the columns left out (the PDF details only a few rows)


@dataclass
class RuleGroup:
    rule: RuleOutcome | None
    rule_id: str
    title: str
    severity: str
    family: str
    family_name: str
    column_labels: list[str]
    rows: list[FindingRow]
    total: int
    open: int
    waived: int

    @property
    def without_details(self) -> int:
        """Shown findings whose full evidence is left to result.json (the PDF keeps a few)."""
        return sum(1 for row in self.rows if row.evidence_cut)

    @property
    def hidden(self) -> int:
        return self.total - len(self.rows)

    @property
    def anchor(self) -> str:
        return f"rule-{self.rule_id}"


@dataclass
class NotEvaluatedRule:
    rule: RuleOutcome
    family_name: str
    reason: str
    actions: list[str]


@dataclass
class SourceRow:
    key: str
    status: str
    count: int | None
    partial: bool
    file: str | None
    permission: str
    error: str | None


@dataclass
class Posture:
    level: str  # a severity, "incomplete" or "clean": drives the colour
    headline: str
    detail: str


@dataclass
class ReportView:
    result: AuditResult
    tenant: str
    collected: str
    generated: str
    version: str
    posture: Posture
    open_by_severity: dict[str, int]
    waived_by_severity: dict[str, int]
    max_open: int
    outcomes: dict[str, int]
    families: list[tuple[str, str, dict[str, int]]]
    groups: list[RuleGroup]
    groups_by_severity: list[tuple[str, list[RuleGroup]]]
    not_evaluated: list[NotEvaluatedRule]
    not_applicable: list[RuleOutcome]
    waivers: list[FindingRow]
    waivers_total: int
    sources: list[SourceRow]
    rules: list[RuleOutcome]
    caps: Caps
    findings_total: int
    findings_shown: int
    severities: tuple[str, ...] = SEVERITIES
    outcome_labels: dict[str, str] = field(default_factory=lambda: dict(OUTCOME_LABELS))


def clean(value: Any) -> str:
    """A scalar as display text, secrets redacted."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(scrub(str(value)))


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def label(key: str) -> str:
    """``lastSignInDateTime`` → ``Last sign in date time``."""
    words = _CAMEL.sub(" ", str(key)).replace("_", " ").split()
    if not words:
        return str(key)
    text = " ".join(w if w.isupper() else w.lower() for w in words)
    return text[0].upper() + text[1:]


def display_time(stamp: str | None) -> str:
    """``2026-11-01T06:00:00Z`` → ``2026-11-01 06:00 UTC`` (the result is always UTC)."""
    if not stamp:
        return "—"
    match = re.match(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})", stamp)
    return f"{match.group(1)} {match.group(2)} UTC" if match else clean(stamp)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def cell(value: Any, caps: Caps) -> Cell:
    """Evidence value → text, list or table; nesting deeper than that is shown as compact text."""
    if _is_scalar(value):
        return Cell("text", text=clean(value))
    if isinstance(value, dict):
        rows = [[label(k), _flat(v)] for k, v in list(value.items())[: caps.items_per_list]]
        return Cell("table", columns=["Field", "Value"], rows=rows, more=max(0, len(value) - caps.items_per_list))
    items = list(value)
    shown, more = items[: caps.items_per_list], max(0, len(items) - caps.items_per_list)
    if all(isinstance(i, dict) for i in shown) and shown:
        keys: list[str] = []
        for item in shown:
            keys.extend(k for k in item if k not in keys)
        return Cell("table", columns=[label(k) for k in keys],
                    rows=[[_flat(item.get(k)) for k in keys] for item in shown], more=more)
    return Cell("list", items=[_flat(i) for i in shown], more=more)


def _flat(value: Any) -> str:
    if _is_scalar(value):
        return clean(value)
    if isinstance(value, dict):
        return "; ".join(f"{label(k)}: {_flat(v)}" for k, v in value.items())
    return ", ".join(_flat(v) for v in value)


def waiver_note(finding: Finding) -> str | None:
    waiver = finding.waiver
    if not waiver:
        return None
    expires = clean(waiver.get("expires"))
    if waiver.get("expired") or finding.status == "open":
        return f"waiver expired on {expires}"
    owner = waiver.get("owner")
    return f"waived until {expires}" + (f" (owner {clean(owner)})" if owner else "")


def _row(f: Finding, columns: list[str], caps: Caps, details: bool = True) -> FindingRow:
    rest = [(label(k), v) for k, v in f.evidence.items() if k not in columns]
    return FindingRow(
        finding=f, status=f.status, name=clean(f.resource.displayName or f.resource.id),
        columns=[cell(f.evidence.get(k), caps) for k in columns],
        details=[(key, cell(v, caps)) for key, v in rest] if details else [],
        waiver_note=waiver_note(f), evidence_cut=bool(rest) and not details)


def _group(rule_id: str, findings: list[Finding], rule: RuleOutcome | None, caps: Caps) -> RuleGroup:
    shown = findings[: caps.rows_per_group]
    # evidence keys that are scalar in every shown finding become table columns; the rest are details
    keys: list[str] = []
    for f in shown:
        keys.extend(k for k in f.evidence if k not in keys)
    columns = [k for k in keys if k != "note" and all(_is_scalar(f.evidence.get(k)) for f in shown)]
    columns = columns[: caps.scalar_columns]
    rows = [_row(f, columns, caps, details=i < caps.detail_rows) for i, f in enumerate(shown)]
    first = findings[0]
    family = rule_id[:3]
    return RuleGroup(
        rule=rule, rule_id=rule_id, title=rule.title if rule else first.title,
        severity=first.severity, family=family, family_name=FAMILIES.get(family, family),
        column_labels=[label(k) for k in columns], rows=rows, total=len(findings),
        open=sum(1 for f in findings if f.status == "open"), waived=sum(1 for f in findings if f.status == "waived"))


def _actions(rule: RuleOutcome, sources: dict[str, Any]) -> list[str]:
    """What an administrator does so the rule can be evaluated next time."""
    actions = []
    for key in rule.missingSources:
        entry = sources.get(key) or {}
        actions.append(remedy(key, entry.get("status") or NOT_COLLECTED, partial=bool(entry.get("partial")),
                              permission=entry.get("permission")))
    return actions


def _posture(result: AuditResult, open_by: dict[str, int], outcomes: dict[str, int]) -> Posture:
    worst = next((s for s in SEVERITIES if open_by.get(s)), None)
    incomplete = outcomes.get("notEvaluated", 0)
    caveat = f" {incomplete} rule(s) could not be evaluated." if incomplete else ""
    if worst:
        counts = ", ".join(f"{open_by[s]} {s}" for s in SEVERITIES if open_by.get(s))
        return Posture(worst, f"Action needed: {worst} findings open",
                       f"{sum(open_by.values())} open finding(s): {counts}.{caveat}")
    if incomplete:
        return Posture("incomplete", "No open findings, but the audit is incomplete",
                       f"{incomplete} rule(s) could not be evaluated; see \"Rules not evaluated\".")
    return Posture("clean", "No open findings", f"All {len(result.rules)} evaluated rules passed or do not apply.")


def build_view(result: AuditResult, caps: Caps) -> ReportView:
    summary = result.summary or {}
    open_by = {s: int((summary.get("openBySeverity") or {}).get(s, 0)) for s in SEVERITIES}
    waived_by = {s: int((summary.get("waivedBySeverity") or {}).get(s, 0)) for s in SEVERITIES}
    outcomes = {o: sum(1 for r in result.rules if r.outcome == o) for o in OUTCOMES}

    families: dict[str, dict[str, int]] = {}
    for r in result.rules:
        families.setdefault(r.family, {o: 0 for o in OUTCOMES})[r.outcome] += 1
    family_rows = [(fam, FAMILIES.get(fam, fam), counts) for fam, counts in
                   sorted(families.items(), key=lambda kv: (list(FAMILIES).index(kv[0])
                                                            if kv[0] in FAMILIES else 99, kv[0]))]

    by_rule: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_rule.setdefault(f.ruleId, []).append(f)
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    groups = [_group(rule_id, fs, result.rule(rule_id), caps) for rule_id, fs in by_rule.items()]
    groups.sort(key=lambda g: (rank.get(g.severity, 99), g.rule_id))
    by_sev = [(s, [g for g in groups if g.severity == s]) for s in SEVERITIES]

    sources = result.snapshot.get("sources") or {}
    not_evaluated = [NotEvaluatedRule(r, FAMILIES.get(r.family, r.family), clean(r.reason or "no reason recorded"),
                                      _actions(r, sources))
                     for r in result.rules if r.outcome == "notEvaluated"]
    waived = [f for f in result.findings if f.waiver]
    waivers = [_row(f, [], caps) for f in waived[: caps.rows_per_group]]
    source_rows = []
    for key, entry in sorted(sources.items()):
        error = entry.get("error") or None
        source = BY_KEY.get(key)
        source_rows.append(SourceRow(
            key=key, status=clean(entry.get("status")), count=entry.get("count"), partial=bool(entry.get("partial")),
            file=clean(entry["file"]) if entry.get("file") else None,
            permission=clean(entry.get("permission") or (source.permission if source else "")),
            error=clean(f"{error.get('httpStatus', '')} {error.get('code', '')}: {error.get('message', '')}".strip())
            if isinstance(error, dict) else None))
    return ReportView(
        result=result, tenant=clean(result.tenantId), collected=display_time(result.collectedAt),
        generated=display_time(result.generatedAt), version=clean(result.tool.get("version", "")),
        posture=_posture(result, open_by, outcomes), open_by_severity=open_by, waived_by_severity=waived_by,
        max_open=max([1, *open_by.values()]), outcomes=outcomes, families=family_rows, groups=groups,
        groups_by_severity=by_sev, not_evaluated=not_evaluated,
        not_applicable=[r for r in result.rules if r.outcome == "notApplicable"], waivers=waivers,
        waivers_total=len(waived),
        sources=source_rows, rules=sorted(result.rules, key=lambda r: r.id), caps=caps,
        findings_total=len(result.findings), findings_shown=sum(len(g.rows) for g in groups))
