"""Run the rule catalog over a tenant model and build the audit result.

For each rule: verify its sources are ``ok`` (else ``notEvaluated`` naming the source and its
status), run its check, and turn hits into findings with stable fingerprints. A check that
crashes is reported as ``notEvaluated`` with the error rather than silently passing.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from auditor import __version__
from auditor.catalog import CATALOG_VERSION, RuleDefinition, load_catalog
from auditor.checks import CheckContext, Hit, NotApplicable, NotEvaluated, load_checks
from auditor.errors import InputError
from auditor.model.tenant import Tenant
from auditor.redact import scrub
from auditor.result import (
    AuditResult,
    Finding,
    ResourceRef,
    RuleOutcome,
    SourceSummary,
    finding_sort_key,
    fingerprint,
    summarize,
)
from auditor.snapshot.reader import Snapshot
from auditor.sources import NOT_APPLICABLE, NOT_COLLECTED, remedy, status_reason

log = logging.getLogger(__name__)


@dataclass
class AuditOptions:
    only: set[str] | None = None  # --rules
    skip: set[str] = field(default_factory=set)  # --skip-rules and rules disabled in config
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule id -> overrides
    severities: dict[str, str] = field(default_factory=dict)  # rule id -> severity override
    reproducible: bool = False


def verify_pairing(catalog: list[RuleDefinition], checks: dict[str, Any]) -> None:
    """Every rule file has a check function and every check a rule file."""
    defined = {r.id for r in catalog}
    implemented = set(checks)
    problems = []
    if defined - implemented:
        problems.append(f"rule files without a check: {', '.join(sorted(defined - implemented))}")
    if implemented - defined:
        problems.append(f"checks without a rule file: {', '.join(sorted(implemented - defined))}")
    if problems:
        raise InputError("rule catalog is inconsistent: " + "; ".join(problems))


def load_rules() -> tuple[list[RuleDefinition], dict[str, Any]]:
    catalog = load_catalog()
    checks = load_checks()
    verify_pairing(catalog, checks)
    return catalog, checks


def select_rules(catalog: list[RuleDefinition], options: AuditOptions) -> list[RuleDefinition]:
    known = {r.id for r in catalog}
    for label, ids in (("--rules", options.only or set()), ("--skip-rules", options.skip)):
        unknown = sorted(i for i in ids if i not in known)
        if unknown:
            raise InputError(f"{label}: unknown rule id(s) {', '.join(unknown)} (see 'flowaudit rules list')")
    for rule_id, params in options.parameters.items():
        rule = next((r for r in catalog if r.id == rule_id), None)
        if rule is None:
            raise InputError(f"parameters given for unknown rule {rule_id}")
        unknown = sorted(set(params) - set(rule.parameters))
        if unknown:
            raise InputError(f"rule {rule_id} has no parameter(s) {', '.join(unknown)}")
    return [r for r in catalog if (options.only is None or r.id in options.only) and r.id not in options.skip]


def generated_at(collected_at: datetime, reproducible: bool) -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if reproducible:
        moment = collected_at
    elif epoch and epoch.strip().isdigit():
        moment = datetime.fromtimestamp(int(epoch), tz=timezone.utc)
    else:
        moment = datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe_source(tenant: Tenant, key: str) -> str:
    entry = tenant.source(key)
    if entry is None:
        return status_reason(key, NOT_COLLECTED)
    return f"{status_reason(key, entry.status, error=entry.error_text(), partial=entry.partial)}; " \
        + remedy(key, entry.status, partial=entry.partial, permission=entry.permission)


def evaluate_rule(rule: RuleDefinition, check_fn: Any, tenant: Tenant,
                  params: dict[str, Any]) -> tuple[RuleOutcome, list[Hit]]:
    missing = [k for k in rule.sources if not tenant.is_ok(k)]
    base = RuleOutcome(
        id=rule.id, title=rule.title, severity=rule.severity, family=rule.family, outcome="pass",
        sources=rule.sources, parameters=params, rationale=rule.rationale.strip(),
        remediation={"portal": rule.remediation.portal.strip(), "graph": rule.remediation.graph.strip()},
        references=[r.model_dump() for r in rule.references], frameworks=rule.frameworks,
    )
    if missing:
        # A source Graph declared not applicable (self-service sign-up switched off, endpoint absent
        # in this cloud) makes the rule not applicable: a tenant that does not use the feature must
        # not fail --require-complete night after night.
        inapplicable = all(tenant.status(k) == NOT_APPLICABLE for k in missing)
        base.outcome = "notApplicable" if inapplicable else "notEvaluated"
        base.missingSources = [] if inapplicable else missing
        base.reason = "; ".join(_describe_source(tenant, k) for k in missing)
        return base, []
    ctx = CheckContext(tenant=tenant, params=params, now=tenant.collected_at)
    try:
        hits = check_fn(ctx)
    except NotApplicable as exc:
        base.outcome = "notApplicable"
        base.reason = str(exc)
        return base, []
    except NotEvaluated as exc:
        base.outcome = "notEvaluated"
        base.reason = str(exc)
        return base, []
    except InputError:
        raise
    except Exception as exc:  # a bug in one check must not pass the rule or stop the audit
        log.exception("check %s failed", rule.id)
        base.outcome = "notEvaluated"
        base.reason = f"internal error in the check: {type(exc).__name__}: {exc}"
        return base, []
    partial = [k for k in rule.sources + rule.optionalSources if tenant.is_ok(k) and tenant.is_partial(k)]
    notes = ctx.gaps + ctx.notes
    if partial:
        notes.append(f"data is partial for {', '.join(partial)}")
    if hits:
        base.outcome = "fail"
        base.findings = len(hits)
    elif partial or ctx.gaps:
        base.outcome = "notEvaluated"
        base.missingSources = partial
        notes.insert(0, "no finding in the data collected, but a pass cannot be concluded")
    base.reason = "; ".join(notes) or None
    return base, hits


def _finding(rule: RuleDefinition, severity: str, hit: Hit, notes: str | None) -> Finding:
    resource = ResourceRef(type=hit.resource.type, id=hit.resource.id, displayName=hit.resource.displayName)
    evidence = dict(hit.evidence)
    if notes:
        evidence.setdefault("note", notes)
    return Finding(
        ruleId=rule.id,
        severity=severity,
        title=rule.title,
        resource=ResourceRef.model_validate(scrub(resource.model_dump())),
        message=scrub(hit.message),
        evidence=scrub(evidence),
        remediation={"portal": rule.remediation.portal.strip(), "graph": rule.remediation.graph.strip()},
        fingerprint=fingerprint(rule.id, hit.resource.type, hit.resource.id),
    )


def run_audit(snapshot: Snapshot, options: AuditOptions | None = None) -> AuditResult:
    options = options or AuditOptions()
    catalog, checks = load_rules()
    selected = select_rules(catalog, options)
    tenant = Tenant(snapshot)
    outcomes: list[RuleOutcome] = []
    findings: list[Finding] = []
    for rule in selected:
        params = {**rule.default_parameters(), **options.parameters.get(rule.id, {})}
        outcome, hits = evaluate_rule(rule, checks[rule.id], tenant, params)
        severity = options.severities.get(rule.id, rule.severity)
        outcome.severity = severity
        outcomes.append(outcome)
        notes = outcome.reason if outcome.outcome == "fail" else None
        findings.extend(_finding(rule, severity, hit, notes) for hit in hits)
    findings.sort(key=finding_sort_key)
    manifest = snapshot.manifest
    result = AuditResult(
        tool={"name": "flowaudit", "version": __version__},
        catalogVersion=CATALOG_VERSION,
        generatedAt=generated_at(manifest.collectedAt, options.reproducible),
        tenantId=manifest.tenantId,
        collectedAt=manifest.collectedAt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        snapshot={
            "path": snapshot.path.name,
            "cloud": manifest.cloud,
            "collectedBy": manifest.tool.model_dump(),
            "signInWindow": manifest.signInWindow.model_dump(mode="json", by_alias=True) if manifest.signInWindow else None,
            "sources": {k: SourceSummary(status=e.status, count=e.count, partial=e.partial, file=e.file,
                                         permission=e.permission,
                                         error=e.error.model_dump() if e.error else None).model_dump()
                        for k, e in sorted(manifest.sources.items())},
        },
        rules=outcomes,
        findings=findings,
        summary={"skippedRules": sorted(r.id for r in catalog if r not in selected)},
    )
    result.summary = summarize(result)
    return result
