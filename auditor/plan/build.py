"""``flowaudit plan``: open findings of a result + the snapshot they came from → a plan.

Each open finding whose rule has a remedy gets a change (findings whose remedies are the same
change — one tenant switch, one connector URL — share it); every other open finding is listed under
``notPlanned`` with the reason. The same result and snapshot give the same plan.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Hashable
from datetime import datetime, timezone
from pathlib import Path

from auditor import __version__
from auditor.catalog import load_catalog
from auditor.errors import InputError, UsageError
from auditor.model.tenant import Tenant
from auditor.plan.model import (
    Change,
    FindingLink,
    NotPlanned,
    Plan,
    PlanSource,
    ResourceRef,
    SourceFile,
    Tool,
)
from auditor.plan.remedies import Draft, NoRemedy, RemedyContext, load_remedies
from auditor.result import AuditResult, Finding, finding_sort_key
from auditor.snapshot.reader import Snapshot
from auditor.timefmt import iso_utc

NO_REMEDY = "no automatic remedy: follow the rule's remediation"


def graph_root(cloud: str) -> str:
    from auditor.collect.endpoints import CLOUD_ENDPOINTS  # plain string table, no SDK import

    if cloud not in CLOUD_ENDPOINTS:
        raise InputError(f"snapshot: unknown cloud {cloud!r}")
    return CLOUD_ENDPOINTS[cloud][0]


def _now() -> str:
    # SOURCE_DATE_EPOCH pins the time for reproducible builds of a plan (same inputs, same bytes).
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return iso_utc(datetime.fromtimestamp(int(epoch), tz=timezone.utc))
    return iso_utc(datetime.now(timezone.utc))


def _link(finding: Finding) -> FindingLink:
    r = finding.resource
    return FindingLink(fingerprint=finding.fingerprint, ruleId=finding.ruleId,
                       resource=ResourceRef(type=r.type, id=r.id, displayName=r.displayName))


def _not_planned(finding: Finding, reason: str) -> NotPlanned:
    r = finding.resource
    return NotPlanned(fingerprint=finding.fingerprint, ruleId=finding.ruleId,
                      resource=ResourceRef(type=r.type, id=r.id, displayName=r.displayName), reason=reason)


def _check_pair(result: AuditResult, snapshot: Snapshot, result_path: Path, snapshot_path: Path) -> None:
    """The plan reads current values from the snapshot: it must be the one the result was audited from."""
    if result.tenantId.casefold() != snapshot.manifest.tenantId.casefold():
        raise InputError(f"{snapshot_path}: snapshot of tenant {snapshot.manifest.tenantId}, but {result_path} "
                         f"audited tenant {result.tenantId}")
    if result.collectedAt != snapshot.manifest.collected_at_iso:
        raise InputError(f"{snapshot_path}: collected at {snapshot.manifest.collected_at_iso}, but {result_path} "
                         f"audited a snapshot collected at {result.collectedAt}: plan from the snapshot the "
                         "result came from")


def build_plan(result: AuditResult, snapshot: Snapshot, *, result_path: Path, snapshot_path: Path,
               rules: Collection[str] | None = None) -> Plan:
    _check_pair(result, snapshot, result_path, snapshot_path)
    remedies = load_remedies()
    if rules is not None:
        # a rule of the result (the catalog) or one a remedy exists for (its rule may be newer)
        unknown = sorted(set(rules) - set(load_catalog().ids) - set(remedies))
        if unknown:
            raise UsageError(f"--rules: unknown rule id(s) {', '.join(unknown)} (see 'flowaudit rules list')")
    root = graph_root(snapshot.manifest.cloud)
    ctx = RemedyContext(snapshot=snapshot, tenant=Tenant(snapshot), result=result, root=root)
    findings = sorted((f for f in result.open_findings() if rules is None or f.ruleId in rules), key=finding_sort_key)

    drafts: dict[Hashable, tuple[Draft, str, list[FindingLink]]] = {}
    not_planned: list[NotPlanned] = []
    for finding in findings:
        func = remedies.get(finding.ruleId)
        if func is None:
            not_planned.append(_not_planned(finding, NO_REMEDY))
            continue
        try:
            made = func(ctx, finding)
        except NoRemedy as exc:
            not_planned.append(_not_planned(finding, str(exc)))
            continue
        for draft in made:
            if draft.key in drafts:
                drafts[draft.key][2].append(_link(finding))
            else:
                drafts[draft.key] = (draft, finding.ruleId, [_link(finding)])

    # A resource a change deletes is not also changed by another: those findings go with the deletion.
    deleted = {d.resource: key for key, (d, _, _) in drafts.items() if d.deletes and d.resource}
    changes: list[Change] = []
    for key, (draft, rule_id, links) in drafts.items():
        if draft.resource in deleted and deleted[draft.resource] != key:
            for link in links:
                not_planned.append(NotPlanned(fingerprint=link.fingerprint, ruleId=link.ruleId,
                                              resource=link.resource,
                                              reason="the resource is deleted by another change of this plan"))
            continue
        changes.append(Change(id=f"C{len(changes) + 1:03d}", ruleId=rule_id, findings=links, summary=draft.summary,
                              automatic=not draft.needs, needs=draft.needs,
                              inputs={n.name: None for n in draft.needs}, steps=draft.steps, note=draft.note))
    _unique_step_ids(changes)
    return Plan(
        generatedAt=_now(), tenantId=result.tenantId, cloud=snapshot.manifest.cloud, graphRoot=root,
        tool=Tool(version=__version__),
        source=PlanSource(result=SourceFile(path=str(result_path), generatedAt=result.generatedAt,
                                            collectedAt=result.collectedAt),
                          snapshot=SourceFile(path=str(snapshot_path), collectedAt=snapshot.manifest.collected_at_iso)),
        changes=changes, notPlanned=not_planned)


def _unique_step_ids(changes: list[Change]) -> None:
    """Step ids (forward, rollback and redo) are unique within a change: rollback.json keeps them and
    {step:ID:...} tokens name them."""
    from auditor.plan.model import all_steps

    for change in changes:
        ids = [s.id for s in all_steps(change.steps)]
        if len(set(ids)) != len(ids):
            raise RuntimeError(f"remedy for {change.ruleId} produced duplicate step ids: {ids}")
