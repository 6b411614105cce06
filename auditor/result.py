"""The audit result: what the rules concluded, the findings, and counts (docs/result-format.md).

``result.json`` is the input of ``report``, ``diff`` and ``plan``, so these models both write and
read it. Everything inside is typed; formatters receive these objects and never walk dicts.
The summary is derived, never stored state: :class:`AuditResult` computes it from its own content
whenever one is built, so a result assembled by the engine and one loaded from a (possibly
hand-edited) file are counted the same way, in one place.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from auditor.catalog import Reference, Remediation
from auditor.errors import InputError
from auditor.redact import scrub
from auditor.severity import SEVERITIES, SEVERITY_RANK
from auditor.validation import describe_validation

RESULT_FORMAT: Final = "flowaudit-result"
RESULT_VERSION: Final = 1

Outcome = Literal["pass", "fail", "notEvaluated", "notApplicable"]
OUTCOMES: tuple[Outcome, ...] = ("pass", "fail", "notEvaluated", "notApplicable")
# A finding that is gone is "resolved" only when its rule looked again and concluded.
REASSESSED: tuple[Outcome, ...] = ("pass", "fail")


class _Model(BaseModel):
    # Unknown keys in a result file (written by a newer flowaudit) are ignored, never an error.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ToolInfo(_Model):
    name: str = "flowaudit"
    version: str = "unknown"


@dataclass(frozen=True)
class Resource:
    """What a finding is about: the Graph resource type (the rule's ``resourceType``), id and name.

    A plain dataclass so checks write ``Resource("apiConnector", c.id, c.displayName)``; pydantic
    validates and serialises it inside :class:`Finding`.
    """

    type: str
    id: str
    displayName: str | None = None


class WaiverRef(_Model):
    """The waiver entry that matched a finding (``expired``: it no longer waives it)."""

    entry: int
    rule: str
    resource: str
    justification: str
    owner: str | None = None
    expires: str
    expired: bool = False


class Finding(_Model):
    ruleId: str
    severity: str
    title: str
    status: Literal["open", "waived"] = "open"
    resource: Resource
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    # Resource-specific remediation when a check gives one; the rule's general remediation is on
    # its outcome (rules[].remediation), stored once.
    remediation: Remediation | None = None
    fingerprint: str
    baseline: Literal["new", "existing"] | None = None
    waiver: WaiverRef | None = None

    @property
    def rank(self) -> int:
        return SEVERITY_RANK.get(self.severity, 0)

    @property
    def is_open(self) -> bool:
        return self.status == "open"


class FindingRef(_Model):
    """A finding of another result, named (resolved or not reassessed against a baseline)."""

    ruleId: str
    severity: str
    title: str
    resource: Resource
    fingerprint: str

    @classmethod
    def of(cls, finding: Finding) -> FindingRef:
        return cls(ruleId=finding.ruleId, severity=finding.severity, title=finding.title,
                   resource=finding.resource, fingerprint=finding.fingerprint)

    @property
    def rank(self) -> int:
        return SEVERITY_RANK.get(self.severity, 0)


class NotReassessed(FindingRef):
    reason: str  # why its rule did not look again (not run, not evaluated, not applicable)


class RuleOutcome(_Model):
    id: str
    title: str
    severity: str
    family: str
    familyName: str = ""
    outcome: Outcome
    reason: str | None = None
    findings: int = 0
    sources: list[str] = Field(default_factory=list)
    missingSources: list[str] = Field(default_factory=list)
    # What an administrator does so the rule can be evaluated next time (from auditor/sources.py).
    actions: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    rationale: str = ""
    remediation: Remediation = Field(default_factory=lambda: Remediation(portal="", graph=""))
    references: list[Reference] = Field(default_factory=list)
    frameworks: dict[str, list[str]] = Field(default_factory=dict)


class SourceError(_Model):
    httpStatus: int | None = None
    code: str | None = None
    message: str | None = None

    def text(self) -> str:
        bits = [str(b) for b in (self.httpStatus, self.code) if b]
        return f"{' '.join(bits)}{': ' if bits and self.message else ''}{self.message or ''}"


class SourceSummary(_Model):
    status: str
    count: int | None = None
    partial: bool = False
    file: str | None = None
    permission: str | None = None
    error: SourceError | None = None


class SignInWindow(_Model):
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None


class SnapshotInfo(_Model):
    path: str = ""
    cloud: str = "global"
    collectedBy: ToolInfo = Field(default_factory=ToolInfo)
    signInWindow: SignInWindow | None = None
    sources: dict[str, SourceSummary] = Field(default_factory=dict)

    def file_of(self, keys: list[str]) -> str | None:
        """The data file of the first of ``keys`` that has one (where a rule's data lives)."""
        for key in keys:
            entry = self.sources.get(key)
            if entry is not None and entry.file:
                return entry.file
        return None


class BaselineInfo(_Model):
    """The earlier result this one was compared with."""

    collectedAt: str
    generatedAt: str


class WaiverIssue(_Model):
    """A waiver entry that needs a person: expired, or not matching anything."""

    entry: int
    rule: str
    resource: str
    owner: str | None = None
    expires: str
    findings: int = 0  # findings it matched (open again when expired)


class WaiverReport(_Model):
    expired: list[WaiverIssue] = Field(default_factory=list)  # matched findings, but past their date
    stale: list[WaiverIssue] = Field(default_factory=list)  # its rule ran and it matched nothing: remove it
    notRun: list[WaiverIssue] = Field(default_factory=list)  # its rule was not run or not evaluated this time


class GateSettings(_Model):
    """The gate the audit was run with (``--fail-on``, ``--require-complete``, ``--fail-on-new``).

    Stored so that the outputs say what the exit code said: JUnit marks only gating findings as
    failures, and ``flowaudit report`` re-renders with the same gate.
    """

    failOn: Literal["critical", "high", "medium", "low", "info", "none"] = "high"
    requireComplete: bool = False
    failOnNew: bool = False


class AuditSummary(_Model):
    findings: int = 0
    open: int = 0
    waived: int = 0
    openBySeverity: dict[str, int] = Field(default_factory=dict)
    waivedBySeverity: dict[str, int] = Field(default_factory=dict)
    rules: dict[str, int] = Field(default_factory=dict)
    new: int = 0
    resolved: int = 0
    notReassessed: int = 0

    @classmethod
    def of(cls, result: AuditResult) -> AuditSummary:
        open_by = dict.fromkeys(SEVERITIES, 0)
        waived_by = dict.fromkeys(SEVERITIES, 0)
        for f in result.findings:
            counts = open_by if f.is_open else waived_by
            counts[f.severity] = counts.get(f.severity, 0) + 1
        outcomes = dict.fromkeys(OUTCOMES, 0)
        for r in result.rules:
            outcomes[r.outcome] += 1
        return cls(findings=len(result.findings), open=sum(open_by.values()), waived=sum(waived_by.values()),
                   openBySeverity=open_by, waivedBySeverity=waived_by, rules=outcomes,
                   new=sum(1 for f in result.findings if f.baseline == "new"), resolved=len(result.resolved),
                   notReassessed=len(result.notReassessed))


class AuditResult(_Model):
    format: Literal["flowaudit-result"] = RESULT_FORMAT
    version: Literal[1] = RESULT_VERSION
    tool: ToolInfo
    catalogVersion: int
    generatedAt: str
    tenantId: str
    collectedAt: str
    snapshot: SnapshotInfo
    rules: list[RuleOutcome]
    skippedRules: list[str] = Field(default_factory=list)  # in the catalog, not run (--rules/--skip-rules)
    findings: list[Finding]
    baseline: BaselineInfo | None = None
    resolved: list[FindingRef] = Field(default_factory=list)
    notReassessed: list[NotReassessed] = Field(default_factory=list)
    waivers: WaiverReport = Field(default_factory=WaiverReport)
    # None in results written before the gate was recorded (and by the library's run_audit):
    # outputs then apply the command line's defaults.
    gate: GateSettings | None = None
    summary: AuditSummary = Field(default_factory=AuditSummary)

    @model_validator(mode="after")
    def _count(self) -> AuditResult:
        # Derived from the content, whatever a file said: one place counts.
        self.summary = AuditSummary.of(self)
        return self

    def open_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.is_open]

    def rule(self, rule_id: str) -> RuleOutcome | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def rules_with(self, outcome: Outcome) -> list[RuleOutcome]:
        return [r for r in self.rules if r.outcome == outcome]


def fingerprint(rule_id: str, resource_type: str, resource_id: str) -> str:
    """Stable identity of a finding across runs: rule + resource (not its message or evidence)."""
    key = f"{rule_id}\x1f{resource_type}\x1f{resource_id.casefold()}"
    # surrogatepass: an id with a lone surrogate (kept from Graph) hashes, and stays distinct.
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def finding_sort_key(finding: Finding | FindingRef) -> tuple[Any, ...]:
    return (-finding.rank, finding.ruleId, finding.resource.type, finding.resource.id.casefold(), finding.fingerprint)


def to_json(result: AuditResult) -> str:
    data = result.model_dump(mode="json", by_alias=True)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def load_result(path: str | Path) -> AuditResult:
    """Read and validate a result.json; every string is scrubbed of secrets on the way in."""
    from auditor.snapshot.reader import read_json_file

    data = read_json_file(Path(path))
    if not isinstance(data, dict) or data.get("format") != RESULT_FORMAT:
        raise InputError(f"{path}: not a flowaudit result (expected \"format\": \"{RESULT_FORMAT}\")")
    if data.get("version") != RESULT_VERSION:
        raise InputError(f"{path}: unsupported result version {data.get('version')!r}")
    try:
        return AuditResult.model_validate(scrub(data))
    except ValidationError as exc:
        raise InputError(f"{path}: {describe_validation(exc)}") from None
