"""The audit result (SPEC §7): what rules concluded, the findings, and counts.

``result.json`` is the input of ``report`` and ``diff``, so these models both write and read it.
Everything is sorted and fingerprints are stable, so one snapshot always gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from auditor.catalog import SEVERITIES, SEVERITY_RANK
from auditor.errors import InputError

RESULT_FORMAT = "flowaudit-result"
RESULT_VERSION = 1

Outcome = Literal["pass", "fail", "notEvaluated", "notApplicable"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ResourceRef(_Model):
    type: str
    id: str
    displayName: str | None = None


class Finding(_Model):
    ruleId: str
    severity: str
    title: str
    status: Literal["open", "waived"] = "open"
    resource: ResourceRef
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    remediation: dict[str, str] = Field(default_factory=dict)
    fingerprint: str
    baseline: Literal["new", "existing"] | None = None
    waiver: dict[str, Any] | None = None

    @property
    def rank(self) -> int:
        return SEVERITY_RANK.get(self.severity, 0)


class RuleOutcome(_Model):
    id: str
    title: str
    severity: str
    family: str
    outcome: Outcome
    reason: str | None = None
    findings: int = 0
    sources: list[str] = Field(default_factory=list)
    missingSources: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    rationale: str = ""
    remediation: dict[str, str] = Field(default_factory=dict)
    references: list[dict[str, str]] = Field(default_factory=list)
    frameworks: dict[str, list[str]] = Field(default_factory=dict)


class SourceSummary(_Model):
    status: str
    count: int | None = None
    partial: bool = False
    file: str | None = None
    permission: str | None = None
    error: dict[str, Any] | None = None


class AuditResult(_Model):
    format: Literal["flowaudit-result"] = RESULT_FORMAT
    version: Literal[1] = RESULT_VERSION
    tool: dict[str, str]
    catalogVersion: int
    generatedAt: str
    tenantId: str
    collectedAt: str
    snapshot: dict[str, Any]
    rules: list[RuleOutcome]
    findings: list[Finding]
    resolved: list[dict[str, Any]] = Field(default_factory=list)
    summary: dict[str, Any] = Field(default_factory=dict)

    def open_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "open"]

    def rule(self, rule_id: str) -> RuleOutcome | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def fingerprint(rule_id: str, resource_type: str, resource_id: str) -> str:
    """Stable identity of a finding across runs: rule + resource (not its message or evidence)."""
    key = f"{rule_id}\x1f{resource_type}\x1f{resource_id.casefold()}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def finding_sort_key(finding: Finding) -> tuple[Any, ...]:
    return (-finding.rank, finding.ruleId, finding.resource.type, finding.resource.id.casefold(), finding.fingerprint)


def summarize(result: AuditResult) -> dict[str, Any]:
    open_by_sev = {s: 0 for s in SEVERITIES}
    waived_by_sev = {s: 0 for s in SEVERITIES}
    for f in result.findings:
        (open_by_sev if f.status == "open" else waived_by_sev)[f.severity] = \
            (open_by_sev if f.status == "open" else waived_by_sev).get(f.severity, 0) + 1
    outcomes = {o: 0 for o in ("pass", "fail", "notEvaluated", "notApplicable")}
    for r in result.rules:
        outcomes[r.outcome] += 1
    summary: dict[str, Any] = {
        "findings": len(result.findings),
        "open": sum(open_by_sev.values()),
        "waived": sum(waived_by_sev.values()),
        "openBySeverity": open_by_sev,
        "waivedBySeverity": waived_by_sev,
        "rules": outcomes,
        "new": sum(1 for f in result.findings if f.baseline == "new"),
        "resolved": len(result.resolved),
    }
    # keep extra keys others added (waiver and baseline bookkeeping)
    for key, value in result.summary.items():
        summary.setdefault(key, value)
    return summary


def to_json(result: AuditResult) -> str:
    data = result.model_dump(mode="json", exclude_none=False)
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def load_result(path: str | Path) -> AuditResult:
    from auditor.snapshot.reader import read_json_file

    data = read_json_file(Path(path))
    if not isinstance(data, dict) or data.get("format") != RESULT_FORMAT:
        raise InputError(f"{path}: not a flowaudit result (expected \"format\": \"{RESULT_FORMAT}\")")
    if data.get("version") != RESULT_VERSION:
        raise InputError(f"{path}: unsupported result version {data.get('version')!r}")
    try:
        return AuditResult.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{path}: field '{where}': {first['msg']}") from None
