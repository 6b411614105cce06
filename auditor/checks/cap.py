"""CAP: Conditional Access protection of the guests each user flow signs up.

Judged by :mod:`auditor.conditional_access` over the sign-in matrix: for each flow, each application
linked to it and each guest kind it offers, every context (platform × client, from the internet or
from a named location). Microsoft's What-If answers, when the snapshot has them, decide the contexts
they answer; the rule's notes say which engine decided.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from auditor.checks import CheckContext, Hit, NotApplicable, Resource, check
from auditor.checks._coverage import UNKNOWN_APPS, Links, app_label, application_links, provider_ids
from auditor.conditional_access import (
    STATIC,
    WHAT_IF,
    Audience,
    Cell,
    Directory,
    Evaluator,
    PolicyFacts,
    Tri,
    WhatIfIndex,
    current_guest_audiences,
)
from auditor.conditional_access.conditions import uses_all_trusted
from auditor.conditional_access.describe import except_risk, narrowed_policies, narrowing, summarize
from auditor.model.graph import UserFlow
from auditor.model.signin_matrix import GUEST_KINDS, KIND_LABELS, MAIL_BASED_KINDS
from auditor.model.tenant import Tenant

LIST_LIMIT = 10
ID_LIMIT = 20  # excluded guests listed by id


@dataclass
class Scope:
    """What every CAP rule judges: the flows, their application links and the evaluator."""

    ctx: CheckContext
    flows: list[UserFlow]
    links: Links
    evaluator: Evaluator
    what_if: WhatIfIndex | None

    @property
    def tenant(self) -> Tenant:
        return self.ctx.tenant

    def targets(self, flow: UserFlow) -> list[str]:
        return self.links.targets(self.tenant, flow)

    def kinds(self, flow: UserFlow, *, note: bool = True) -> list[str]:
        """The guest kinds the flow signs up; all of them when its providers were not collected."""
        if flow.providers is None:
            if note:
                self.ctx.note(f"identity providers of {flow.id} were not collected: judged for every guest kind")
            return list(GUEST_KINDS)
        offered = flow.provider_kinds()
        other = sorted(p.id for p in flow.providers if p.kind not in GUEST_KINDS)
        if other:
            # Guests of a custom (SAML/WS-Fed/OIDC) provider are not judged: no pass is concluded for them.
            self.ctx.gap(f"{flow.id} also offers {', '.join(other)}: guests of a provider kind the sign-in "
                         "matrix does not model are not judged")
        return [k for k in GUEST_KINDS if k in offered]

    def cell(self, app: str, kind: str, report_only: bool = False) -> Cell:
        return self.evaluator.cell(app, Audience(kind), report_only=report_only, what_if=self.what_if)


_EVALUATORS: WeakKeyDictionary[Tenant, tuple[Evaluator, WhatIfIndex | None, Directory]] = WeakKeyDictionary()


def _evaluator(tenant: Tenant) -> tuple[Evaluator, WhatIfIndex | None, Directory]:
    """One evaluator per tenant model, shared by the CAP rules (it is the costly part)."""
    cached = _EVALUATORS.get(tenant)
    if cached is None:
        directory = Directory.from_tenant(tenant)
        evaluator = Evaluator(tenant.conditional_access_policies, directory)
        what_if = WhatIfIndex(tenant.what_if_records, directory) if tenant.is_ok("conditionalAccessWhatIf") else None
        cached = _EVALUATORS[tenant] = (evaluator, what_if, directory)
    return cached


def _needs(evaluator: Evaluator) -> dict[str, bool]:
    """Which optional sources the tenant's policies need: a missing one is worth a note only then."""
    conditions = [f.conditions for f in evaluator.policies]
    grants = [f.policy.grantControls for f in evaluator.policies if f.policy.grantControls]
    return {
        "namedLocations": any(c.locations is not None for c in conditions),
        "conditionalAccessGroups": any(c.users and (c.users.includeGroups or c.users.excludeGroups) for c in conditions),
        "crossTenantAccessPolicy": any(g.authenticationStrength is not None or
                                       g.controls & {"compliantdevice", "domainjoineddevice"} for g in grants),
    }


def _scope(ctx: CheckContext) -> Scope:
    flows = ctx.tenant.user_flows
    if not flows:
        raise NotApplicable("no user flow exists")
    links = application_links(ctx)
    evaluator, what_if, directory = _evaluator(ctx.tenant)
    for key, needed in _needs(evaluator).items():
        if needed and key in directory.unavailable:
            ctx.note(f"{directory.unavailable[key]}: conditions that need it are judged unknown, never as protection")
    if what_if is not None:
        for text in what_if.notes:
            ctx.note(text)
    return Scope(ctx, flows, links, evaluator, what_if)


def _engine(scope: Scope, cells: Iterable[tuple[Cell, list[int]]]) -> tuple[str, str]:
    """Which engine decided the contexts a rule looked at: (evidence label, note for the rule)."""
    engines = {cell.engine(i) for cell, indices in cells for i in indices}
    if scope.what_if is None:
        status = scope.tenant.status("conditionalAccessWhatIf")
        source = "not collected: it is collected only by a live run" if status == "missing" else status
        return STATIC, f"decided by the static evaluation (conditionalAccessWhatIf {source})"
    if engines == {WHAT_IF}:
        return WHAT_IF, "decided by Microsoft's What-If answers"
    if WHAT_IF in engines:
        return "both", ("decided by Microsoft's What-If answers where the snapshot has them, by the static "
                        "evaluation elsewhere")
    return STATIC, "decided by the static evaluation (the snapshot has no What-If answer for these contexts)"


def _engine_note(scope: Scope, cells: Iterable[tuple[Cell, list[int]]]) -> None:
    items = list(cells)
    scope.ctx.note(_engine(scope, items)[1])
    disagreements = _disagreements(cell for cell, _ in items)
    if disagreements:
        scope.ctx.note(f"What-If and the static evaluation disagree on {len(disagreements)} policy and context "
                       "pair(s) (What-If decided): " + "; ".join(
                           f"{d['policy']['displayName'] or d['policy']['id']} on {d['context']['platform']} "
                           f"{d['context']['client']} from {d['context']['location']}: static {d['static']}, "
                           f"What-If {d['whatIf']}" for d in disagreements[:3]))


def _kind_labels(kinds: Iterable[str]) -> str:
    return ", ".join(KIND_LABELS.get(k, k) for k in kinds)


def _ref(facts: PolicyFacts) -> dict[str, Any]:
    return facts.policy.ref()


def _undecided_reasons(cell: Cell, indices: list[int]) -> list[dict[str, str]]:
    seen: dict[tuple[str, str, str], None] = {}
    for index in indices:
        for decision in cell.undecided(index):
            for reason in decision.reasons:
                if reason.condition != "What-If":
                    seen.setdefault((decision.policy.id, reason.condition, reason.text), None)
    return [{"policy": pid, "condition": cond, "reason": text} for pid, cond, text in list(seen)[:LIST_LIMIT]]


def _contexts(scope: Scope, indices: list[int]) -> list[dict[str, str]]:
    return [scope.evaluator.contexts[i].as_dict() for i in indices]


def _with_links(evidence: dict[str, Any], links: Links) -> dict[str, Any]:
    if links.note:
        evidence["applicationLinks"] = links.note
    return evidence


def _disagreements(cells: Iterable[Cell]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for cell in cells:
        for item in cell.disagreements:
            key = repr(sorted((k, repr(v)) for k, v in item.items()))
            if key not in seen:
                seen.add(key)
                out.append(item)
    return out[:ID_LIMIT]


# --- CAP002 ----------------------------------------------------------------------------------------

@dataclass
class Gap:
    app: str
    kind: str
    cell: Cell
    open: list[int]  # internet contexts neither MFA-protected nor blocked
    undecided: list[int]  # internet contexts that cannot be judged


def _internet_gaps(scope: Scope, flow: UserFlow, kinds: list[str]) -> list[Gap]:
    mask = scope.evaluator.internet_mask
    gaps = []
    for app in scope.targets(flow):
        for kind in kinds:
            cell = scope.cell(app, kind)
            opened, undecided = cell.indices(Tri.NO, mask), cell.indices(Tri.UNKNOWN, mask)
            if opened or undecided:
                gaps.append(Gap(app, kind, cell, opened, undecided))
    return gaps


def _gap_summary(scope: Scope, gap: Gap, narrowed: list[PolicyFacts]) -> str:
    contexts = scope.evaluator.contexts
    if len(gap.open) == len(_internet(scope)):
        phrase = except_risk(narrowed)
        if phrase:
            return phrase
    return summarize(contexts[i] for i in gap.open)


def _report_only_closers(scope: Scope, gap: Gap) -> tuple[list[PolicyFacts], list[int]]:
    """Report-only policies that would protect some of the gap's contexts if they were enforced."""
    pilot = scope.cell(gap.app, gap.kind, report_only=True)
    closers: dict[str, PolicyFacts] = {}
    closed = []
    for index in gap.open + gap.undecided:
        if pilot.state(index) is not Tri.YES:
            continue
        ids = [d.policy.id for d in pilot.protecting(index) if d.policy.is_report_only]
        if ids:
            closed.append(index)
            for pid in ids:
                facts = scope.evaluator.by_id.get(pid.casefold())
                if facts is not None:
                    closers[facts.id] = facts
    return list(closers.values()), sorted(closed)


@check("CAP002")
def no_mfa_for_flow_guests(ctx: CheckContext) -> list[Hit]:
    scope = _scope(ctx)
    hits: list[Hit] = []
    judged: list[tuple[Cell, list[int]]] = []
    for flow in scope.flows:
        apps = scope.targets(flow)
        if not apps:
            continue  # linked to no application: nothing to protect (APP002 reports it)
        kinds = scope.kinds(flow)
        for app in apps:
            for kind in kinds:
                judged.append((scope.cell(app, kind), _internet(scope)))
        gaps = _internet_gaps(scope, flow, kinds)
        if not gaps:
            continue
        hits.append(_cap002_hit(scope, flow, apps, kinds, gaps))
    _engine_note(scope, judged)
    return hits


def _internet(scope: Scope) -> list[int]:
    return [i for i, c in enumerate(scope.evaluator.contexts) if c.from_internet]


def _cap002_hit(scope: Scope, flow: UserFlow, apps: list[str], kinds: list[str], gaps: list[Gap]) -> Hit:
    evaluator = scope.evaluator
    narrowed_all: dict[str, dict[str, Any]] = {}
    report_only: dict[str, PolicyFacts] = {}
    strength_only: dict[str, PolicyFacts] = {}
    groups: dict[tuple[str, tuple[int, ...], tuple[int, ...]], list[str]] = {}
    summaries: dict[tuple[str, tuple[int, ...], tuple[int, ...]], tuple[str, str | None, list[dict[str, str]]]] = {}
    for gap in gaps:
        indices = gap.open + gap.undecided
        narrowed = narrowed_policies(evaluator, gap.cell, indices)
        for facts in narrowed:
            entry = narrowed_all.setdefault(facts.id, {**_ref(facts), "narrowedBy": [], "guestKinds": []})
            for text in narrowing(facts, gap.cell, indices):
                if text not in entry["narrowedBy"]:
                    entry["narrowedBy"].append(text)
            if gap.kind not in entry["guestKinds"]:
                entry["guestKinds"].append(gap.kind)
        closers, _ = _report_only_closers(scope, gap)
        report_only.update((f.id, f) for f in closers)
        for facts in evaluator.policies:
            if facts.enabled and facts.grant(gap.cell.audience).strength_unsatisfiable is Tri.YES \
                    and not facts.app(gap.app).no and facts.users(gap.cell.audience).yes:
                strength_only[facts.id] = facts
        key = (gap.app, tuple(gap.open), tuple(gap.undecided))
        groups.setdefault(key, []).append(gap.kind)
        if key not in summaries:
            summaries[key] = (_gap_summary(scope, gap, narrowed) if gap.open else "",
                              summarize(evaluator.contexts[i] for i in gap.undecided) if gap.undecided else None,
                              _undecided_reasons(gap.cell, gap.undecided))
    unprotected = []
    for key, gap_kinds in groups.items():
        app, opened, undecided = key
        words, undecided_words, because = summaries[key]
        item: dict[str, Any] = {"application": app_label(app), "guestKinds": gap_kinds}
        if opened:
            item["unprotected"] = words
            item["unprotectedContexts"] = _contexts(scope, list(opened))
        if undecided:
            item["undecided"] = undecided_words
            item["undecidedBecause"] = because
        unprotected.append(item)
    cells = [gap.cell for gap in gaps]
    engine = _engine(scope, [(gap.cell, gap.open + gap.undecided) for gap in gaps])[0]
    evidence: dict[str, Any] = {
        "flow": flow.id,
        "providers": provider_ids(flow),
        "mailBasedProviders": provider_ids(flow, mail_based_only=True),
        "guestKinds": kinds,
        "linkedApplications": [app_label(a) for a in apps][:50],
        "uncoveredApplications": sorted({app_label(g.app) for g in gaps})[:50],
        "unprotected": unprotected[:50],
        "decidedBy": engine,
    }
    if narrowed_all:
        evidence["narrowedPolicies"] = list(narrowed_all.values())[:LIST_LIMIT]
    if report_only:
        evidence["reportOnlyPolicies"] = [_ref(f) for f in report_only.values()][:LIST_LIMIT]
    if strength_only:
        evidence["strengthOnlyPolicies"] = [_ref(f) for f in strength_only.values()][:LIST_LIMIT]
    disagreements = _disagreements(cells)
    if disagreements:
        evidence["whatIfDisagreements"] = disagreements
    parts = []
    for item in unprotected[:3]:
        what = "; ".join(filter(None, [item.get("unprotected"),
                                       f"undecided for {item['undecided']}" if item.get("undecided") else None]))
        where = "" if not scope.links.known else f" on {_app_named(scope, item['application'])}"
        parts.append(f"{what}{where} ({_kind_labels(item['guestKinds'])})")
    more = f"; and {len(unprotected) - 3} more" if len(unprotected) > 3 else ""
    if not scope.links.known:
        head = f"No enforced Conditional Access policy requires MFA for guests of {flow.id} on " \
               f"{app_label(UNKNOWN_APPS)} in every internet sign-in"
    elif all("unprotected" not in item for item in unprotected):
        head = f"Guests of {flow.id} cannot be shown to be required to use MFA"
    else:
        head = f"Guests of {flow.id} can sign in from the internet without MFA"
    return Hit(Resource("userFlow", flow.id, flow.id), f"{head}: {'; '.join(parts)}{more}.",
               _with_links(evidence, scope.links))


def _app_named(scope: Scope, app_id: str) -> str:
    label = scope.tenant.application_label(app_id)
    return f"'{label}'" if label != app_id else app_id


# --- CAP003 ----------------------------------------------------------------------------------------

@check("CAP003")
def report_only_guest_mfa(ctx: CheckContext) -> list[Hit]:
    scope = _scope(ctx)
    hits: list[Hit] = []
    looked: list[tuple[Cell, list[int]]] = []
    for flow in scope.flows:
        kinds = scope.kinds(flow)
        pilots: dict[str, PolicyFacts] = {}
        closes: list[dict[str, Any]] = []
        apps: list[str] = []
        for gap in _internet_gaps(scope, flow, kinds):
            looked.append((gap.cell, gap.open + gap.undecided))
            closers, closed = _report_only_closers(scope, gap)
            if not closers:
                continue
            pilots.update((f.id, f) for f in closers)
            if gap.app not in apps:
                apps.append(gap.app)
            closes.append({"application": app_label(gap.app), "guestKind": gap.kind,
                           "wouldProtect": summarize(scope.evaluator.contexts[i] for i in closed)})
        if not pilots:
            continue
        names = ", ".join(f.policy.name for f in list(pilots.values())[:LIST_LIMIT])
        where = app_label(UNKNOWN_APPS) if not scope.links.known else f"{len(apps)} linked application(s)"
        evidence = {"flow": flow.id, "applications": [app_label(a) for a in apps][:50],
                    "reportOnlyPolicies": [_ref(f) for f in pilots.values()][:LIST_LIMIT],
                    "wouldClose": closes[:50]}
        hits.append(Hit(Resource("userFlow", flow.id, flow.id),
                        f"MFA for guests of {flow.id} on {where} is only in report-only policies ({names}): "
                        "sign-ins are logged, not challenged.", _with_links(evidence, scope.links)))
    _engine_note(scope, looked)
    return hits


# --- CAP001 ----------------------------------------------------------------------------------------

def _sign_in_failures(ctx: CheckContext, policy_id: str) -> dict[str, Any]:
    tenant = ctx.tenant
    missing = [k for k in ("signIns", "selfServiceSignUpUsers") if not tenant.is_ok(k)]
    if missing:
        return {"available": False, "reason": "; ".join(f"{k} is {tenant.status(k)}" for k in missing)}
    aggregates = tenant.sign_in_aggregates
    if aggregates.policy_details_withheld:
        ctx.note(WITHHELD)
        return {"available": False, "outcome": "notEvaluated", "reason": WITHHELD}
    key = policy_id.casefold()
    failed = aggregates.policy_failures.get(key)
    on_strength = aggregates.strength_failures.get(key)
    return {"available": True,
            "failedSignIns": failed.count if failed else 0,
            "distinctUsers": len(failed.users) if failed else 0,
            "failedOnAuthenticationStrength": on_strength.count if on_strength else 0,
            "firstSeen": failed.first if failed else None,
            "lastSeen": failed.last if failed else None}


WITHHELD = ("the sign-in log withholds appliedConditionalAccessPolicies (every sign-in that Conditional Access "
            "evaluated lists none): the collecting app needs Policy.Read.All or Policy.Read.ConditionalAccess "
            "to read them, so failures of this policy cannot be counted")


def _applies_somewhere(scope: Scope, facts: PolicyFacts, app: str, kind: str) -> Tri:
    """Does the policy apply to some context of (app, kind)? What-If answers count where they exist."""
    audience = Audience(kind)
    base = facts.app(app), facts.users(audience), facts.static
    if any(v.no for v in base):
        static = Tri.NO
    elif all(v.yes for v in base) and facts.yes_mask:
        return Tri.YES
    else:
        static = Tri.UNKNOWN if facts.yes_mask | facts.maybe_mask else Tri.NO
    if scope.what_if is not None and app != UNKNOWN_APPS:
        for context in scope.evaluator.contexts:
            answer = scope.what_if.answer(app, kind, context)
            result = answer.results.get(facts.id.casefold()) if answer else None
            asked = Audience(kind, answer.user_id.casefold()) if answer and answer.user_id else None
            same_scope = asked is None or facts.users(asked).value is facts.users(audience).value
            if result is not None and result.policyApplies is not False and same_scope:
                return Tri.YES
    return static


@check("CAP001")
def strength_guests_cannot_satisfy(ctx: CheckContext) -> list[Hit]:
    scope = _scope(ctx)
    judged = []
    for flow in scope.flows:
        if flow.providers is None:
            ctx.gap(f"identity providers of {flow.id} were not collected: not judged")
            continue
        judged.append((flow, scope.targets(flow), scope.kinds(flow)))
    hits: list[Hit] = []
    for facts in scope.evaluator.policies:
        if not facts.enabled or facts.policy.grantControls is None or \
                facts.policy.grantControls.authenticationStrength is None:
            continue
        affected = []
        for flow, apps, kinds in judged:
            for kind in kinds:
                grant = facts.grant(Audience(kind))
                if grant.strength_unsatisfiable is Tri.NO:
                    continue
                hit_apps: list[str] = []
                unsure: dict[str, None] = {}
                for app in apps:
                    applies = _applies_somewhere(scope, facts, app, kind)
                    if applies is Tri.YES and grant.strength_unsatisfiable is Tri.YES:
                        hit_apps.append(app)
                    elif applies is Tri.UNKNOWN:
                        for verdict in (facts.app(app), facts.users(Audience(kind)), facts.static):
                            unsure.update((r.text, None) for r in verdict.reasons if verdict.unknown)
                        unsure.setdefault("whether the policy applies", None)
                    elif applies is Tri.YES:
                        unsure.update((a.why, None) for a in grant.alternatives if a.strength)
                if unsure:
                    ctx.gap(f"{facts.policy.name}: whether its authentication strength locks out "
                            f"{KIND_LABELS.get(kind, kind)} guests of {flow.id} cannot be judged ("
                            + "; ".join(list(unsure)[:3])[:300] + ")")
                if hit_apps:
                    affected.append((flow, kind, hit_apps, grant))
        if affected:
            hits.append(_cap001_hit(ctx, scope, facts, affected))
    return hits


def _strength_name(facts: PolicyFacts, scope: Scope) -> str | None:
    grant = facts.policy.grantControls
    strength = grant.authenticationStrength if grant else None
    if strength is None:
        return None
    stored = scope.evaluator.directory.strengths.get((strength.id or "").casefold())
    return strength.displayName or (stored.displayName if stored else None) or strength.id


def _cap001_hit(ctx: CheckContext, scope: Scope, facts: PolicyFacts,
                affected: list[tuple[UserFlow, str, list[str], Any]]) -> Hit:
    by_flow: dict[str, dict[str, Any]] = {}
    why: dict[str, None] = {}
    for flow, kind, apps, grant in affected:
        entry = by_flow.setdefault(flow.id, {"flow": flow.id, "guestKinds": [],
                                             "mailBasedProviders": provider_ids(flow, mail_based_only=True),
                                             "applications": []})
        entry["guestKinds"].append(kind)
        for app in apps:
            if app_label(app) not in entry["applications"]:
                entry["applications"].append(app_label(app))
        strength = next((a for a in grant.alternatives if a.strength), None)
        if strength:
            why.setdefault(strength.why, None)
    grant = facts.policy.grantControls
    flows = list(by_flow.values())
    kinds = sorted({k for f in flows for k in f["guestKinds"]}, key=GUEST_KINDS.index)
    evidence = {
        "policy": _ref(facts),
        "authenticationStrength": _strength_name(facts, scope),
        "grantOperator": grant.operator if grant else None,
        "builtInControls": grant.builtInControls if grant else [],
        "guestKinds": kinds,
        "why": list(why),
        "affectedFlows": flows[:50],
        "guestSignInFailures": _sign_in_failures(ctx, facts.id),
    }
    mail = [k for k in kinds if k in MAIL_BASED_KINDS]
    who = []
    if mail:
        who.append(f"mail-based guests ({_kind_labels(mail)}), for whom authentication strength is not supported")
    if set(kinds) - MAIL_BASED_KINDS:
        who.append("Entra ID guests, who can neither register its methods here nor bring MFA from home "
                   "(inbound MFA trust is not accepted)")
    flow_ids = ", ".join(f["flow"] for f in flows[:LIST_LIMIT])
    return Hit(Resource("conditionalAccessPolicy", facts.id, facts.policy.displayName),
               f"Policy requires authentication strength '{evidence['authenticationStrength']}' without an MFA "
               f"alternative for guests of {flow_ids}: {' and '.join(who)} cannot satisfy it.",
               _with_links(evidence, scope.links))


# --- CAP004 ----------------------------------------------------------------------------------------

@check("CAP004")
def guest_mfa_exemptions(ctx: CheckContext) -> list[Hit]:
    scope = _scope(ctx)
    evaluator = scope.evaluator
    if not ctx.tenant.is_ok("selfServiceSignUpUsers"):
        ctx.gap(f"current guests cannot be checked for exclusions (selfServiceSignUpUsers is "
                f"{ctx.tenant.status('selfServiceSignUpUsers')})")
    hits: list[Hit] = []
    looked: list[tuple[Cell, list[int]]] = []
    location_indices = [i for i, c in enumerate(evaluator.contexts) if not c.from_internet]
    for flow in scope.flows:
        apps = scope.targets(flow)
        if not apps:
            continue
        locations: dict[str, dict[str, Any]] = {}
        excluded: dict[str, dict[str, Any]] = {}
        for app in apps:
            for kind in scope.kinds(flow, note=False):
                cell = scope.cell(app, kind)
                if any(cell.state(i) is not Tri.YES for i in _internet(scope)):
                    continue  # CAP002's finding
                looked.append((cell, location_indices))
                _location_exemptions(scope, cell, location_indices, locations)
                _excluded_guests(scope, cell, excluded)
        if not locations and not excluded:
            continue
        hits.append(_cap004_hit(scope, flow, locations, excluded))
    _engine_note(scope, looked)
    return hits


def _location_exemptions(scope: Scope, cell: Cell, indices: list[int], out: dict[str, dict[str, Any]]) -> None:
    evaluator = scope.evaluator
    if evaluator.directory.named_locations is None and any(
            uses_all_trusted(f.conditions.locations) for f in cell.candidates):
        scope.ctx.gap(f"named locations were not collected ({evaluator.directory.why('namedLocations')}): "
                      "sign-ins from trusted locations cannot be judged for policies that name 'All trusted "
                      "locations'")
    by_location: dict[str, list[int]] = {}
    for index in indices:
        if cell.state(index) is not Tri.YES:
            by_location.setdefault(evaluator.contexts[index].location, []).append(index)
    internet_protectors = {d.policy.id: d for i in _internet(scope) for d in cell.protecting(i)} if by_location else {}
    for location, found in by_location.items():
        opened = [i for i in found if cell.state(i) is Tri.NO]
        undecided = [i for i in found if cell.state(i) is Tri.UNKNOWN]
        entry = out.setdefault(location.casefold(), {
            "id": location, "displayName": evaluator.location_label(evaluator.contexts[found[0]]).strip("'"),
            "trusted": evaluator.location_trusted(location), "exemptions": []})
        exempting = []
        for pid, decision in internet_protectors.items():
            facts = evaluator.by_id.get(pid.casefold())
            if facts is None:
                continue
            texts = [r.text for i in found for r in facts.context_verdicts[i].reasons]
            if texts:
                exempting.append({**decision.policy.ref(), "exemptedBy": list(dict.fromkeys(texts))[:3]})
        item: dict[str, Any] = {"application": app_label(cell.app_id), "guestKind": cell.audience.kind}
        if opened:
            item["unprotected"] = summarize(evaluator.contexts[i] for i in opened)
        if undecided:
            item["undecided"] = summarize(evaluator.contexts[i] for i in undecided)
            item["undecidedBecause"] = _undecided_reasons(cell, undecided)
        if exempting:
            item["policies"] = exempting[:LIST_LIMIT]
        entry["exemptions"].append(item)


def _excluded_guests(scope: Scope, cell: Cell, out: dict[str, dict[str, Any]]) -> None:
    """Current guests of the cell's kind excluded (by user or group) from every policy that protects them."""
    evaluator = scope.evaluator
    if evaluator.directory.groups is None and any(f.conditions.users and f.conditions.users.excludeGroups
                                                  for f in cell.candidates):
        scope.ctx.gap(f"guests excluded through groups cannot be counted "
                      f"({evaluator.directory.why('conditionalAccessGroups')})")
    internet = _internet(scope)
    for audience, ids in current_guest_audiences(evaluator, cell.audience.kind).items():
        theirs = evaluator.cell(cell.app_id, audience)
        exposed = [i for i in internet if theirs.state(i) is not Tri.YES]
        if not exposed:
            continue
        how: dict[str, None] = {}
        for index in exposed:
            for decision in cell.protecting(index):
                facts = evaluator.by_id.get(decision.policy.id.casefold())
                if facts is not None:
                    for reason in facts.users(audience).reasons:
                        how.setdefault(f"{facts.policy.name}: {reason.text}", None)
        for user_id in ids:
            entry = out.setdefault(user_id, {"id": user_id, "guestKind": cell.audience.kind, "applications": [],
                                             "excludedBy": []})
            if app_label(cell.app_id) not in entry["applications"]:
                entry["applications"].append(app_label(cell.app_id))
            for text in how:
                if text not in entry["excludedBy"]:
                    entry["excludedBy"].append(text)
            entry.setdefault("unprotected", summarize(evaluator.contexts[i] for i in exposed))


def _cap004_hit(scope: Scope, flow: UserFlow, locations: dict[str, dict[str, Any]],
                excluded: dict[str, dict[str, Any]]) -> Hit:
    evidence: dict[str, Any] = {"flow": flow.id}
    parts = []
    if locations:
        listed = list(locations.values())
        evidence["locations"] = listed[:50]
        names = ", ".join(f"'{loc['displayName']}'" + (" (trusted)" if loc["trusted"] else "") for loc in listed[:5])
        parts.append(f"sign-ins from {names} are not all required to use MFA")
    if excluded:
        ids = sorted(excluded)
        evidence["excludedGuests"] = {
            "count": len(ids), "ids": ids[:ID_LIMIT],
            "excludedBy": sorted({t for e in excluded.values() for t in e["excludedBy"]})[:LIST_LIMIT],
            "guests": [excluded[i] for i in ids[:ID_LIMIT]]}
        parts.append(f"{len(ids)} current guest(s) are excluded from every policy that requires MFA for the others")
    return Hit(Resource("userFlow", flow.id, flow.id),
               f"Guest MFA for {flow.id} has exemptions: {'; '.join(parts)}.", _with_links(evidence, scope.links))
