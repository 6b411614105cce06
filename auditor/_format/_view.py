"""The report view model shared by the HTML and PDF templates.

Templates get plain, already-decided data and nothing else: findings grouped by rule (most severe
first), evidence turned into cells (text, list or table) with row caps, posture counts per severity
and per family, rules not evaluated with what to grant, waivers, the baseline comparison and
data-source provenance. Every string a template can reach was made here by :func:`text`, which
redacts secrets again, so a hand-edited result.json cannot smuggle a connector secret into a report;
templates never see the result object itself. Escaping is the templates' job (autoescape on).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auditor.catalog import load_catalog
from auditor.redact import scrub
from auditor.result import OUTCOMES, AuditResult, Finding, FindingRef, RuleOutcome
from auditor.severity import SEVERITIES
from auditor.tally import FAILED, INFORMATIONAL, NOT_EVALUATED, PASSED, WAIVED, count, rules_line, tally

if TYPE_CHECKING:
    from auditor._format._planview import PlanView

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


def text(value: Any) -> str:
    """A scalar as display text, secrets redacted (``None`` → an em dash)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(scrub(str(value)))


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
class ReferenceView:
    title: str
    url: str
    linkable: bool  # an https URL: shown as a link


@dataclass
class RuleInfo:
    id: str
    title: str
    severity: str
    family: str
    family_name: str
    rationale: str
    portal: str
    graph: str
    references: list[ReferenceView]
    frameworks: list[tuple[str, str]]  # (framework, "id, id")

    @classmethod
    def of(cls, rule: RuleOutcome, family_name: str) -> RuleInfo:
        return cls(id=text(rule.id), title=text(rule.title), severity=rule.severity, family=text(rule.family),
                   family_name=text(family_name), rationale=text(rule.rationale), portal=text(rule.remediation.portal),
                   graph=text(rule.remediation.graph),
                   references=[ReferenceView(text(r.title), text(r.url), r.url.lower().startswith("https://"))
                               for r in rule.references],
                   frameworks=[(text(name), text(", ".join(ids))) for name, ids in rule.frameworks.items()])


@dataclass
class WaiverView:
    justification: str
    owner: str
    expires: str


@dataclass
class FindingRow:
    rule_id: str
    resource_type: str
    resource_id: str
    name: str  # resource display name, or its id
    status: str  # open | waived (filter value)
    is_new: bool
    message: str
    columns: list[Cell]  # values for the group's scalar evidence columns
    details: list[tuple[str, Cell]]  # the remaining evidence, label → cell
    waiver: WaiverView | None
    waiver_note: str | None
    evidence_cut: bool = False  # evidence beyond the columns left out (the PDF details only a few rows)


@dataclass
class RuleGroup:
    rule: RuleInfo | None
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
class RuleRow:
    """One rule in a table of outcomes."""

    id: str
    title: str
    severity: str
    outcome: str
    findings: int
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
class ComparedRow:
    """A finding of the baseline that is gone (resolved) or was not looked at again (not reassessed)."""

    severity: str
    rule_id: str
    title: str
    resource: str
    reason: str


@dataclass
class BaselineView:
    collected: str
    new: int
    existing: int
    resolved: list[ComparedRow]
    not_reassessed: list[ComparedRow]


@dataclass
class Provenance:
    cloud: str
    sign_ins_from: str | None
    sign_ins_to: str | None
    catalog_version: int
    snapshot: str
    generated_iso: str


@dataclass
class ControlRule:
    id: str
    status: str  # the rule's display status (auditor.tally): failed, informational, waived, passed, ...
    label: str


@dataclass
class ControlRow:
    """One control of a framework (e.g. NIST SP 800-53 IA-2) and the rules mapped to it."""

    id: str
    status: str  # fail | notEvaluated | pass | notApplicable (the outcome labels)
    rules: list[ControlRule]


@dataclass
class FrameworkView:
    name: str
    controls: list[ControlRow]
    counts: dict[str, int]  # controls per status


@dataclass
class Posture:
    level: str  # a severity, "incomplete" or "clean": drives the colour
    headline: str
    detail: str


@dataclass
class ReportView:
    tenant: str
    collected: str
    generated: str
    version: str
    posture: Posture
    open_total: int
    waived_total: int
    open_by_severity: dict[str, int]
    waived_by_severity: dict[str, int]
    max_open: int
    outcomes: dict[str, int]
    families: list[tuple[str, str, dict[str, int]]]
    groups: list[RuleGroup]
    groups_by_severity: list[tuple[str, list[RuleGroup]]]
    not_evaluated: list[RuleRow]
    not_applicable: list[RuleRow]
    waivers: list[FindingRow]
    waivers_total: int
    baseline: BaselineView | None
    frameworks: list[FrameworkView]
    rules_line: str  # "23 failed, 2 informational, 1 passed, ..." as the console counts them
    sources: list[SourceRow]
    rules: list[RuleRow]
    provenance: Provenance
    caps: Caps
    findings_total: int
    findings_shown: int
    severities: tuple[str, ...] = SEVERITIES
    outcome_labels: dict[str, str] = field(default_factory=lambda: dict(OUTCOME_LABELS))
    plan: PlanView | None = None  # the "Change plan" appendix (report --plan)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def label(key: str) -> str:
    """``lastSignInDateTime`` → ``Last sign in date time``."""
    words = _CAMEL.sub(" ", text(key)).replace("_", " ").split()
    if not words:
        return text(key)
    joined = " ".join(w if w.isupper() else w.lower() for w in words)
    return joined[0].upper() + joined[1:]


def display_time(stamp: str | None) -> str:
    """``2026-11-01T06:00:00Z`` → ``2026-11-01 06:00 UTC`` (the result is always UTC)."""
    if not stamp:
        return "—"
    match = re.match(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})", stamp)
    return f"{match.group(1)} {match.group(2)} UTC" if match else text(stamp)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def cell(value: Any, caps: Caps) -> Cell:
    """Evidence value → text, list or table; nesting deeper than that is shown as compact text."""
    if _is_scalar(value):
        return Cell("text", text=text(value))
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
        return text(value)
    if isinstance(value, dict):
        return "; ".join(f"{label(k)}: {_flat(v)}" for k, v in value.items())
    return ", ".join(_flat(v) for v in value)


def waiver_note(finding: Finding) -> str | None:
    waiver = finding.waiver
    if waiver is None:
        return None
    if waiver.expired or finding.is_open:
        return f"waiver expired on {text(waiver.expires)}"
    return f"waived until {text(waiver.expires)}" + (f" (owner {text(waiver.owner)})" if waiver.owner else "")


def _row(f: Finding, columns: list[str], caps: Caps, details: bool = True) -> FindingRow:
    rest = [(label(k), v) for k, v in f.evidence.items() if k not in columns]
    waiver = f.waiver
    return FindingRow(
        rule_id=text(f.ruleId), resource_type=text(f.resource.type), resource_id=text(f.resource.id),
        name=text(f.resource.displayName or f.resource.id), status=f.status, is_new=f.baseline == "new",
        message=text(f.message), columns=[cell(f.evidence.get(k), caps) for k in columns],
        details=[(key, cell(v, caps)) for key, v in rest] if details else [],
        waiver=WaiverView(text(waiver.justification), text(waiver.owner), text(waiver.expires)) if waiver else None,
        waiver_note=waiver_note(f), evidence_cut=bool(rest) and not details)


def _group(rule_id: str, findings: list[Finding], rule: RuleInfo | None, family_name: str, caps: Caps) -> RuleGroup:
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
        rule=rule, rule_id=text(rule_id), title=rule.title if rule else text(first.title),
        severity=first.severity, family=text(family), family_name=text(family_name),
        column_labels=[label(k) for k in columns], rows=rows, total=len(findings),
        open=sum(1 for f in findings if f.is_open), waived=sum(1 for f in findings if f.status == "waived"))


def _rule_row(r: RuleOutcome) -> RuleRow:
    return RuleRow(id=text(r.id), title=text(r.title), severity=r.severity, outcome=r.outcome, findings=r.findings,
                   reason=text(r.reason) if r.reason else "", actions=[text(a) for a in r.actions])


def _compared(ref: FindingRef, reason: str) -> ComparedRow:
    name = ref.resource.displayName or ref.resource.id
    return ComparedRow(severity=ref.severity, rule_id=text(ref.ruleId), title=text(ref.title),
                       resource=f"{text(name)} ({text(ref.resource.type)} {text(ref.resource.id)})", reason=text(reason))


_RULE_LABELS = {"failed": "fails", "informational": "informational only", "waived": "fully waived",
                "passed": "passes", "notEvaluated": "not evaluated", "notApplicable": "not applicable"}


def _control_status(statuses: list[str]) -> str:
    """A control fails when a mapped rule fails (open findings above info); otherwise it is not
    evaluated when a mapped rule could not be; it passes when a mapped rule concluded (passed, only
    informational findings, or every finding waived); else it does not apply."""
    if FAILED in statuses:
        return "fail"
    if NOT_EVALUATED in statuses:
        return "notEvaluated"
    if any(s in (PASSED, WAIVED, INFORMATIONAL) for s in statuses):
        return "pass"
    return "notApplicable"


def _control_key(control: str) -> list[Any]:
    """``AC-2`` < ``AC-2(3)`` < ``AC-10``: digits compare as numbers (str and int alternate)."""
    return [int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", control))]


def frameworks_view(result: AuditResult) -> list[FrameworkView]:
    """Framework → control → mapped rules with their status, from each rule's ``frameworks``."""
    mapped: dict[str, dict[str, list[ControlRule]]] = {}
    for item in sorted(tally(result), key=lambda i: i.rule.id):
        for framework, controls in item.rule.frameworks.items():
            for control in controls:
                rule = ControlRule(text(item.rule.id), item.status, _RULE_LABELS.get(item.status, item.status))
                mapped.setdefault(framework, {}).setdefault(control, []).append(rule)
    views = []
    for framework in sorted(mapped):
        rows = [ControlRow(text(control), _control_status([r.status for r in rules]), rules)
                for control, rules in sorted(mapped[framework].items(), key=lambda kv: _control_key(kv[0]))]
        counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        for row in rows:
            counts[row.status] += 1
        views.append(FrameworkView(text(framework), rows, counts))
    return views


def _posture(rules: int, open_by: dict[str, int], outcomes: dict[str, int]) -> Posture:
    # info findings state facts (a password is asked at first sign-up): they never call for action
    worst = next((s for s in SEVERITIES if s != "info" and open_by.get(s)), None)
    incomplete = outcomes.get("notEvaluated", 0)
    caveat = f" {incomplete} rule(s) could not be evaluated." if incomplete else ""
    info = open_by.get("info", 0)
    facts = f" {info} informational finding(s) to read." if info else ""
    if worst:
        counts = ", ".join(f"{open_by[s]} {s}" for s in SEVERITIES if open_by.get(s))
        return Posture(worst, f"Action needed: {worst} findings open",
                       f"{sum(open_by.values())} open finding(s): {counts}.{caveat}")
    if incomplete:
        return Posture("incomplete", "No open findings, but the audit is incomplete",
                       f"{incomplete} rule(s) could not be evaluated; see \"Rules not evaluated\".{facts}")
    if info:
        return Posture("clean", "No open findings above info",
                       f"Every evaluated rule passed, does not apply, or reports only information.{facts}")
    return Posture("clean", "No open findings", f"All {rules} evaluated rules passed or do not apply.")


def build_view(result: AuditResult, caps: Caps, plan: PlanView | None = None) -> ReportView:
    catalog = load_catalog()
    summary = result.summary
    open_by = {s: summary.openBySeverity.get(s, 0) for s in SEVERITIES}
    waived_by = {s: summary.waivedBySeverity.get(s, 0) for s in SEVERITIES}
    outcomes: dict[str, int] = {o: summary.rules.get(o, 0) for o in OUTCOMES}

    def family_name(family: str, rule: RuleOutcome | None = None) -> str:
        return (rule.familyName if rule and rule.familyName else None) or catalog.family_name(family)

    families: dict[str, dict[str, int]] = {}
    for r in result.rules:
        families.setdefault(r.family, dict.fromkeys(OUTCOMES, 0))[r.outcome] += 1
    family_rows = [(text(fam), text(family_name(fam)), counts)
                   for fam, counts in sorted(families.items(), key=lambda kv: (catalog.family_order(kv[0]), kv[0]))]

    by_rule: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_rule.setdefault(f.ruleId, []).append(f)
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    groups = []
    for rule_id, fs in by_rule.items():
        outcome = result.rule(rule_id)
        name = family_name(rule_id[:3], outcome)
        groups.append(_group(rule_id, fs, RuleInfo.of(outcome, name) if outcome else None, name, caps))
    groups.sort(key=lambda g: (rank.get(g.severity, 99), g.rule_id))
    by_sev = [(s, [g for g in groups if g.severity == s]) for s in SEVERITIES]

    waived = [f for f in result.findings if f.waiver]
    baseline = None
    if result.baseline is not None:
        baseline = BaselineView(
            collected=display_time(result.baseline.collectedAt), new=summary.new,
            existing=sum(1 for f in result.findings if f.baseline == "existing"),
            resolved=[_compared(f, "its rule ran again and the finding is gone") for f in result.resolved],
            not_reassessed=[_compared(f, f.reason) for f in result.notReassessed])
    source_rows = [SourceRow(key=text(key), status=text(e.status), count=e.count, partial=e.partial,
                             file=text(e.file) if e.file else None, permission=text(e.permission or ""),
                             error=text(e.error.text()) if e.error else None)
                   for key, e in sorted(result.snapshot.sources.items())]
    window = result.snapshot.signInWindow
    return ReportView(
        tenant=text(result.tenantId), collected=display_time(result.collectedAt),
        generated=display_time(result.generatedAt), version=text(result.tool.version),
        posture=_posture(len(result.rules), open_by, outcomes), open_total=summary.open, waived_total=summary.waived,
        open_by_severity=open_by, waived_by_severity=waived_by, max_open=max([1, *open_by.values()]),
        outcomes=outcomes, families=family_rows, groups=groups, groups_by_severity=by_sev,
        not_evaluated=[_rule_row(r) for r in result.rules_with("notEvaluated")],
        not_applicable=[_rule_row(r) for r in result.rules_with("notApplicable")],
        waivers=[_row(f, [], caps) for f in waived[: caps.rows_per_group]], waivers_total=len(waived),
        baseline=baseline, frameworks=frameworks_view(result), rules_line=text(rules_line(count(tally(result)))),
        sources=source_rows, rules=[_rule_row(r) for r in sorted(result.rules, key=lambda r: r.id)],
        provenance=Provenance(cloud=text(result.snapshot.cloud or "global"),
                              sign_ins_from=display_time(window.from_) if window and window.from_ else None,
                              sign_ins_to=display_time(window.to) if window and window.to else None,
                              catalog_version=result.catalogVersion, snapshot=text(result.snapshot.path),
                              generated_iso=text(result.generatedAt)),
        caps=caps, findings_total=len(result.findings), findings_shown=sum(len(g.rows) for g in groups), plan=plan)
