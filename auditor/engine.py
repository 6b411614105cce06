"""Run the rule catalog over a tenant model and assemble the audit result.

For each rule: verify its sources are ``ok`` (else ``notEvaluated`` naming the source, its status
and what to grant), run its check, and turn hits into findings. A check that crashes, or that
returns a resource of another type than its rule declares, is ``notEvaluated`` with the error rather
than silently passing. Every string of a finding is scrubbed of secrets here, once.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from auditor import __version__
from auditor.baseline import Comparison
from auditor.catalog import Catalog, RuleDefinition, load_catalog
from auditor.checks import CheckContext, CheckFunction, Hit, NotApplicable, NotEvaluated, load_checks
from auditor.errors import InputError, UsageError
from auditor.model.tenant import Tenant
from auditor.redact import redact_text, scrub
from auditor.result import (
    AuditResult,
    Finding,
    Resource,
    RuleOutcome,
    SignInWindow,
    SnapshotInfo,
    SourceError,
    SourceSummary,
    ToolInfo,
    WaiverReport,
    finding_sort_key,
    fingerprint,
)
from auditor.snapshot.reader import Snapshot
from auditor.sources import NOT_APPLICABLE, NOT_COLLECTED, remedy, status_reason
from auditor.timefmt import iso_utc

log = logging.getLogger(__name__)


@dataclass
class AuditOptions:
    only: set[str] | None = None  # --rules
    skip: set[str] = field(default_factory=set)  # --skip-rules and rules disabled in config
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule id -> overrides
    severities: dict[str, str] = field(default_factory=dict)  # rule id -> severity override
    reproducible: bool = False


@dataclass
class Rules:
    """The catalog and its check functions, verified to pair up one to one."""

    catalog: Catalog
    checks: dict[str, CheckFunction]


def verify_pairing(catalog: Catalog, checks: dict[str, CheckFunction]) -> None:
    """Every rule file has a check function and every check a rule file."""
    defined = set(catalog.ids)
    implemented = set(checks)
    problems = []
    if defined - implemented:
        problems.append(f"rule files without a check: {', '.join(sorted(defined - implemented))}")
    if implemented - defined:
        problems.append(f"checks without a rule file: {', '.join(sorted(implemented - defined))}")
    if problems:
        raise InputError("rule catalog is inconsistent: " + "; ".join(problems))


def load_rules() -> Rules:
    catalog = load_catalog()
    checks = load_checks()
    verify_pairing(catalog, checks)
    return Rules(catalog, checks)


def select_rules(catalog: Catalog, options: AuditOptions) -> list[RuleDefinition]:
    catalog.check_ids(options.only or set(), "--rules")
    catalog.check_ids(options.skip, "--skip-rules")
    catalog.check_ids(set(options.parameters), "rule parameters")
    selected = [r for r in catalog if (options.only is None or r.id in options.only) and r.id not in options.skip]
    if not selected:
        raise UsageError("no rule selected: --rules/--skip-rules (or the config file's rules.enable/disable) "
                         "leave nothing to run")
    return selected


def generated_at(collected_at: datetime, reproducible: bool) -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if reproducible:
        moment = collected_at
    elif epoch and epoch.strip().isdigit():
        moment = datetime.fromtimestamp(int(epoch), tz=timezone.utc)
    else:
        moment = datetime.now(timezone.utc)
    return iso_utc(moment)


def _missing_source(tenant: Tenant, key: str) -> tuple[str, str]:
    """(why the rule cannot read it, what to do about it)."""
    entry = tenant.source(key)
    if entry is None:
        return status_reason(key, NOT_COLLECTED), remedy(key, NOT_COLLECTED)
    return (status_reason(key, entry.status, error=entry.error_text(), partial=entry.partial),
            remedy(key, entry.status, partial=entry.partial, permission=entry.permission))


def _base_outcome(rule: RuleDefinition, family_name: str, params: dict[str, Any]) -> RuleOutcome:
    return RuleOutcome(
        id=rule.id, title=rule.title, severity=rule.severity, family=rule.family, familyName=family_name,
        outcome="pass", sources=rule.sources, parameters=params, rationale=rule.rationale.strip(),
        remediation=rule.remediation.model_copy(update={"portal": rule.remediation.portal.strip(),
                                                        "graph": rule.remediation.graph.strip()}),
        references=list(rule.references), frameworks=rule.frameworks)


def evaluate_rule(rule: RuleDefinition, check_fn: CheckFunction, tenant: Tenant, params: dict[str, Any],
                  family_name: str = "") -> tuple[RuleOutcome, list[Hit]]:
    base = _base_outcome(rule, family_name, params)
    missing = [k for k in rule.sources if not tenant.is_ok(k)]
    if missing:
        # A source Graph declared not applicable (self-service sign-up switched off, endpoint absent
        # in this cloud) makes the rule not applicable: a tenant that does not use the feature must
        # not fail --require-complete night after night.
        inapplicable = all(tenant.status(k) == NOT_APPLICABLE for k in missing)
        reasons = [_missing_source(tenant, k) for k in missing]
        base.outcome = "notApplicable" if inapplicable else "notEvaluated"
        base.missingSources = [] if inapplicable else missing
        base.reason = "; ".join(f"{reason}: {action}" if not inapplicable else reason for reason, action in reasons)
        base.actions = [] if inapplicable else [action for _, action in reasons]
        return base, []
    ctx = CheckContext(tenant=tenant, params=params, now=tenant.collected_at)
    try:
        hits = check_fn(ctx)
        wrong = sorted({h.resource.type for h in hits if h.resource.type != rule.resourceType})
        if wrong:
            raise TypeError(f"the check returned resources of type {', '.join(wrong)}; the rule declares "
                            f"{rule.resourceType}")
    except NotApplicable as exc:
        damage = [d for key in rule.sources + rule.optionalSources for d in tenant.damage(key)]
        if damage:  # "nothing to judge" only because records were set aside: not a conclusion
            base.outcome, base.reason = "notEvaluated", "; ".join([f"{exc} among the records read", *damage])
        else:
            base.outcome, base.reason = "notApplicable", str(exc)
        return base, []
    except NotEvaluated as exc:
        # "no object", "not collected": say too what was set aside, the likelier cause
        damage = [d for key in rule.sources + rule.optionalSources for d in tenant.damage(key)]
        base.outcome, base.reason = "notEvaluated", "; ".join([str(exc), *damage])
        return base, []
    except InputError:
        raise
    except Exception as exc:  # a bug in one check must not pass the rule or stop the audit
        log.exception("check %s failed", rule.id)
        base.outcome, base.reason = "notEvaluated", f"internal error in the check: {type(exc).__name__}: {exc}"
        return base, []
    for key in rule.sources + rule.optionalSources:
        for record in tenant.damage(key):
            ctx.gap(record)
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
        base.actions = [remedy(k, "ok", partial=True) for k in partial]
        notes.insert(0, "no finding in the data collected, but a pass cannot be concluded")
    base.reason = "; ".join(notes) or None
    return base, hits


def finding_from_hit(rule: RuleDefinition, severity: str, hit: Hit, note: str | None) -> Finding:
    """The one place a finding is built, and scrubbed: nothing downstream sees a secret."""
    evidence = dict(hit.evidence)
    if note:
        evidence.setdefault("note", note)
    resource = hit.resource
    return Finding(
        ruleId=rule.id, severity=severity, title=rule.title,
        resource=Resource(resource.type, redact_text(resource.id),
                          redact_text(resource.displayName) if resource.displayName is not None else None),
        message=redact_text(hit.message), evidence=scrub(evidence),
        remediation=hit.remediation.model_copy(update={"portal": redact_text(hit.remediation.portal),
                                                       "graph": redact_text(hit.remediation.graph)})
        if hit.remediation else None,
        fingerprint=fingerprint(rule.id, resource.type, resource.id))


@dataclass
class RuleRun:
    """What the rules concluded, before waivers and a baseline are applied."""

    outcomes: list[RuleOutcome]
    findings: list[Finding]
    skipped: list[str]
    seconds: dict[str, float] = field(default_factory=dict)  # per rule, for -v (never in the result)


def run_rules(tenant: Tenant, options: AuditOptions, rules: Rules | None = None, *,
              on_rule: Callable[[str, int, int], None] | None = None) -> RuleRun:
    """``on_rule(rule_id, index, total)`` is called before each rule (progress display)."""
    rules = rules or load_rules()
    selected = select_rules(rules.catalog, options)
    outcomes: list[RuleOutcome] = []
    findings: list[Finding] = []
    seconds: dict[str, float] = {}
    for index, rule in enumerate(selected):
        if on_rule is not None:
            on_rule(rule.id, index, len(selected))
        params = rule.resolve_parameters(options.parameters.get(rule.id, {}), "rule parameters")
        started = time.perf_counter()
        outcome, hits = evaluate_rule(rule, rules.checks[rule.id], tenant, params,
                                      rules.catalog.family_name(rule.family))
        seconds[rule.id] = time.perf_counter() - started
        outcome.severity = options.severities.get(rule.id, rule.severity)
        # reasons quote tenant text (flow ids, policy names): scrubbed like findings
        outcome.reason = redact_text(outcome.reason) if outcome.reason else None
        outcome.actions = [redact_text(action) for action in outcome.actions]  # name manifest permissions
        outcomes.append(outcome)
        note = outcome.reason if outcome.outcome == "fail" else None
        findings.extend(finding_from_hit(rule, outcome.severity, hit, note) for hit in hits)
    findings.sort(key=finding_sort_key)
    chosen = {r.id for r in selected}
    return RuleRun(outcomes, findings, [r.id for r in rules.catalog if r.id not in chosen], seconds)


def _clean(text: str | None) -> str | None:
    """Manifest strings reach every output: lone surrogates replaced, URL secrets redacted."""
    return redact_text(text) if text is not None else None


def snapshot_info(snapshot: Snapshot) -> SnapshotInfo:
    manifest = snapshot.manifest
    window = manifest.signInWindow
    return SnapshotInfo(
        path=redact_text(snapshot.path.name), cloud=manifest.cloud,
        collectedBy=ToolInfo(name=redact_text(manifest.tool.name), version=redact_text(manifest.tool.version)),
        signInWindow=SignInWindow(**{"from": iso_utc(window.from_) if window.from_ else None,
                                     "to": iso_utc(window.to) if window.to else None}) if window else None,
        sources={key: SourceSummary(status=e.status, count=e.count, partial=e.partial, file=e.file,
                                    permission=_clean(e.permission),
                                    error=SourceError(httpStatus=e.error.httpStatus, code=_clean(e.error.code),
                                                      message=_clean(e.error.message)) if e.error else None)
                 for key, e in sorted(manifest.sources.items())})


def assemble(run: RuleRun, snapshot: Snapshot, options: AuditOptions, *, waivers: WaiverReport | None = None,
             comparison: Comparison | None = None, findings: list[Finding] | None = None) -> AuditResult:
    """The result of a run; ``findings`` replaces the run's (after waivers and a baseline were applied)."""
    manifest = snapshot.manifest
    return AuditResult(
        tool=ToolInfo(version=__version__), catalogVersion=load_catalog().version,
        generatedAt=generated_at(manifest.collectedAt, options.reproducible), tenantId=redact_text(manifest.tenantId),
        collectedAt=iso_utc(manifest.collectedAt), snapshot=snapshot_info(snapshot), rules=run.outcomes,
        skippedRules=run.skipped,
        findings=comparison.findings if comparison else (findings if findings is not None else run.findings),
        baseline=comparison.baseline if comparison else None,
        resolved=comparison.resolved if comparison else [],
        notReassessed=comparison.not_reassessed if comparison else [],
        waivers=waivers or WaiverReport())


def run_audit(snapshot: Snapshot, options: AuditOptions | None = None) -> AuditResult:
    """Audit a snapshot with no waivers and no baseline (the library entry point tests use)."""
    options = options or AuditOptions()
    return assemble(run_rules(Tenant(snapshot), options), snapshot, options)
