"""Which policies apply to a guest's sign-in, and is that sign-in made to perform MFA (or blocked)?

The evaluator answers, for an application A, an audience (a guest kind K who signs up from now on, or
one current guest) and each context C of the sign-in matrix, whether the context is protected: some
applying policy blocks it or demands MFA the guest can perform. All applying policies must be
satisfied, so one such policy is enough; an undecided policy never counts.

Cost: the rules ask about flows × applications × kinds × contexts × policies. Everything that does not
depend on the application or the guest — the per-context conditions (client app type, platform,
location) and the context-free ones (risk, device filter, authentication flows) — is computed once per
policy, and the per-context answers are kept as two bitmasks (contexts where it surely matches,
contexts where it may). A cell (A, audience) is then one pass over the policies OR-ing masks; reasons
are assembled only for the cells a finding reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from auditor.conditional_access.conditions import (
    UNKNOWN_APP,
    applications_verdict,
    client_app_verdict,
    device_verdict,
    flows_verdict,
    location_label,
    locations_verdict,
    platform_verdict,
    referenced_locations,
    referenced_user_ids,
    risk_verdicts,
    users_verdict,
    workload_verdict,
)
from auditor.conditional_access.directory import MFA_TRUSTED_IPS, Audience, Directory
from auditor.conditional_access.grant import GrantVerdict, grant_verdict
from auditor.conditional_access.verdict import YES, Reason, Tri, Verdict, all_of, no
from auditor.model._base import fold
from auditor.model.conditional_access import CAConditions, ConditionalAccessPolicy, folded
from auditor.model.signin_matrix import SignInContext, contexts

STATIC = "static"
WHAT_IF = "What-If"


def build_contexts(policies: Iterable[ConditionalAccessPolicy], directory: Directory) -> list[SignInContext]:
    """The matrix: internet contexts, then one set per named location (collected or named by a policy)."""
    ids: dict[str, str] = {}
    for location in (directory.named_locations or {}).values():
        ids.setdefault(fold(location.id), location.id)
    for policy in policies:
        for location_id in referenced_locations(policy.conditions.locations if policy.conditions else None):
            ids.setdefault(fold(location_id), location_id)
    return contexts(ids.values())


class PolicyFacts:
    """What one policy says, computed once: context masks, the context-free conditions, and caches."""

    def __init__(self, policy: ConditionalAccessPolicy, cells: list[SignInContext], directory: Directory) -> None:
        self.policy = policy
        self.directory = directory
        conditions = policy.conditions or CAConditions()
        self.conditions = conditions
        self.static = all_of(workload_verdict(conditions), *risk_verdicts(conditions),
                             device_verdict(conditions.devices), flows_verdict(conditions))
        self.context_verdicts: list[Verdict] = []
        self.yes_mask = 0
        self.maybe_mask = 0  # may match (unknown); disjoint from yes_mask
        # Each dimension is judged once per value (2 clients, 5 platforms, the locations), then combined.
        clients: dict[str, Verdict] = {}
        platforms: dict[str, Verdict] = {}
        locations: dict[str, Verdict] = {}
        for index, cell in enumerate(cells):
            client = clients.get(cell.client)
            if client is None:
                client = clients[cell.client] = client_app_verdict(conditions.clientAppTypes, cell.client)
            platform = platforms.get(cell.platform)
            if platform is None:
                platform = platforms[cell.platform] = platform_verdict(conditions.platforms, cell.platform)
            location = locations.get(cell.location)
            if location is None:
                location = locations[cell.location] = locations_verdict(conditions.locations, fold(cell.location),
                                                                        directory, self._label)
            verdict = all_of(client, platform, location)
            self.context_verdicts.append(verdict)
            if verdict.yes:
                self.yes_mask |= 1 << index
            elif verdict.unknown:
                self.maybe_mask |= 1 << index
        users = conditions.users
        self.include_ids, self.exclude_ids = referenced_user_ids(users)
        self.group_ids = folded(users.includeGroups + users.excludeGroups) if users else frozenset()
        self.exclude_group_ids = folded(users.excludeGroups) if users else frozenset()
        self.enabled = policy.is_enabled
        self.report_only = policy.is_report_only
        self._apps: dict[str, Verdict] = {}
        self._users: dict[Audience, Verdict] = {}
        self._grants: dict[str, GrantVerdict] = {}

    def _label(self, location_id: str) -> str:
        return location_label(location_id, self.directory)

    @property
    def id(self) -> str:
        return self.policy.id

    def active(self, report_only: bool) -> bool:
        return self.enabled or (report_only and self.report_only)

    def app(self, app_id: str) -> Verdict:
        verdict = self._apps.get(app_id)
        if verdict is None:
            verdict = self._apps[app_id] = applications_verdict(self.conditions.applications, app_id)
        return verdict

    def users(self, audience: Audience) -> Verdict:
        verdict = self._users.get(audience)
        if verdict is None:
            verdict = self._users[audience] = users_verdict(self.conditions.users, audience, self.directory)
        return verdict

    def grant(self, audience: Audience) -> GrantVerdict:
        # The grant depends on the kind (mail-based or not) and the tenant's trust, never on the user.
        verdict = self._grants.get(audience.kind)
        if verdict is None:
            verdict = self._grants[audience.kind] = grant_verdict(self.policy.grantControls, audience, self.directory)
        return verdict

    def applies(self, app_id: str, audience: Audience, index: int) -> Verdict:
        return all_of(self.app(app_id), self.users(audience), self.static, self.context_verdicts[index])

    def references_user(self, user_id: str) -> bool:
        return user_id in self.include_ids or user_id in self.exclude_ids


@dataclass(frozen=True)
class Decision:
    """One policy's answer for one context: does it apply, and does its grant protect?"""

    policy: ConditionalAccessPolicy
    applies: Verdict
    grant: GrantVerdict
    engine: str = STATIC

    @property
    def protects(self) -> Tri:
        if self.applies.no or self.grant.protects.no:
            return Tri.NO
        if self.applies.yes and self.grant.protects.yes:
            return Tri.YES
        return Tri.UNKNOWN

    @property
    def reasons(self) -> tuple[Reason, ...]:
        return self.applies.reasons + self.grant.protects.reasons


@dataclass
class Cell:
    """Protection of every context of the matrix for one application and one audience.

    A cell does not point back to its evaluator (which caches it): no reference cycle keeps the tenant's
    data alive after the audit, so it is freed by reference counting rather than a long full collection.
    """

    size: int  # number of contexts in the matrix
    app_id: str
    audience: Audience
    report_only: bool
    yes_mask: int = 0
    maybe_mask: int = 0
    candidates: list[PolicyFacts] = field(default_factory=list)
    what_if: dict[int, list[Decision]] = field(default_factory=dict)
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    _decisions: dict[int, list[Decision]] = field(default_factory=dict, repr=False)

    def state(self, index: int) -> Tri:
        bit = 1 << index
        if self.yes_mask & bit:
            return Tri.YES
        return Tri.UNKNOWN if self.maybe_mask & bit else Tri.NO

    def engine(self, index: int) -> str:
        return WHAT_IF if index in self.what_if else STATIC

    def decisions(self, index: int) -> list[Decision]:
        """The policies that could matter in this context (applying or undecided, with a protecting grant)."""
        if index in self.what_if:
            return self.what_if[index]
        found = self._decisions.get(index)
        if found is None:
            found = self._decisions[index] = [
                Decision(f.policy, f.applies(self.app_id, self.audience, index), f.grant(self.audience))
                for f in self.candidates]
        return found

    def protecting(self, index: int) -> list[Decision]:
        return [d for d in self.decisions(index) if d.protects is Tri.YES]

    def undecided(self, index: int) -> list[Decision]:
        return [d for d in self.decisions(index) if d.protects is Tri.UNKNOWN]

    def indices(self, state: Tri, mask: int | None = None) -> list[int]:
        wanted = (1 << self.size) - 1 if mask is None else mask
        return [i for i in range(self.size) if wanted >> i & 1 and self.state(i) is state]


class Evaluator:
    """Judges every enabled (and, on request, report-only) policy over the sign-in matrix."""

    def __init__(self, policies: Iterable[ConditionalAccessPolicy], directory: Directory) -> None:
        live = [p for p in policies if p.is_enabled or p.is_report_only]
        self.directory = directory
        self.contexts = build_contexts(live, directory)
        self.all_mask = (1 << len(self.contexts)) - 1
        self.internet_mask = sum(1 << i for i, c in enumerate(self.contexts) if c.from_internet)
        self.policies = [PolicyFacts(p, self.contexts, directory) for p in live]
        self.by_id = {fold(f.id): f for f in self.policies}
        self._cells: dict[tuple[str, Audience, bool, bool], Cell] = {}
        self._audiences: dict[str, dict[Audience, list[str]]] = {}

    # -- contexts ---------------------------------------------------------------------------
    def location_label(self, cell: SignInContext) -> str:
        if cell.from_internet:
            return "the internet"
        return location_label(cell.location, self.directory)

    def location_trusted(self, location: str) -> bool | None:
        if fold(location) == MFA_TRUSTED_IPS:
            return True
        known = (self.directory.named_locations or {}).get(fold(location))
        return known.trusted if known else None

    # -- cells --------------------------------------------------------------------------------
    def cell(self, app_id: str, audience: Audience, *, report_only: bool = False,
             what_if: WhatIfLookup | None = None) -> Cell:
        """Protection of every context for (application, audience); ``app_id`` casefolded or UNKNOWN_APP."""
        key = (app_id, audience, report_only, what_if is not None)
        cached = self._cells.get(key)
        if cached is not None:
            return cached
        cell = Cell(len(self.contexts), app_id, audience, report_only)
        yes = maybe = 0
        for facts in self.policies:
            # Cheapest tests first; no Verdict objects are built here (this loop runs for every cell).
            if not (facts.enabled or (report_only and facts.report_only)) or facts.static.value is Tri.NO:
                continue
            protects = facts.grant(audience).protects.value
            if protects is Tri.NO:
                continue
            app = facts.app(app_id).value
            if app is Tri.NO:
                continue
            users = facts.users(audience).value
            if users is Tri.NO:
                continue
            cell.candidates.append(facts)
            if protects is Tri.YES and app is Tri.YES and users is Tri.YES and facts.static.value is Tri.YES:
                yes |= facts.yes_mask
                maybe |= facts.maybe_mask
            else:
                maybe |= facts.yes_mask | facts.maybe_mask
        cell.yes_mask, cell.maybe_mask = yes, maybe & ~yes
        if what_if is not None and app_id != UNKNOWN_APP and audience.user_id is None:
            for index, context in enumerate(self.contexts):
                answer = what_if.answer(app_id, audience.kind, context)
                if answer is not None:
                    self._apply_what_if(cell, index, answer)
        self._cells[key] = cell
        return cell

    def _apply_what_if(self, cell: Cell, index: int, answer: Any) -> None:
        """Decide one context from Microsoft's What-If answer; record where the static evaluation disagrees.

        What-If speaks for the guest it was asked about. A policy that scopes that guest differently from
        a guest who signs up later (by user id, or through a group) keeps the static answer for the
        audience of future sign-ups.
        """
        audience, context = cell.audience, self.contexts[index]
        asked = Audience(audience.kind, fold(answer.user_id)) if answer.user_id else None
        decisions: list[Decision] = []
        for facts in self.policies:
            result = answer.results.get(fold(facts.id))
            state = result if result is not None else facts.policy
            if not (state.is_enabled or (cell.report_only and state.is_report_only)):
                continue
            says = result is not None and result.policyApplies is not False
            grant = grant_verdict(result.grantControls, audience, self.directory) if result is not None \
                else facts.grant(audience)
            static_new = facts.applies(cell.app_id, audience, index)
            static_asked = facts.applies(cell.app_id, asked, index) if asked else static_new
            if static_asked.value is not (Tri.YES if says else Tri.NO):
                cell.disagreements.append({
                    "policy": facts.policy.ref(), "context": context.as_dict(), "guest": answer.user_id,
                    "static": static_asked.value.value, "whatIf": "applies" if says else "does not apply",
                    "staticReasons": [r.text for r in static_asked.reasons][:5],
                    "analysisReasons": list(result.analysisReasons) if result is not None else []})
            if asked is not None and facts.users(asked).value is not facts.users(audience).value:
                decisions.append(Decision(facts.policy, static_new, facts.grant(audience), STATIC))
                continue
            applies = YES if says else no("What-If", "Microsoft's What-If: the policy does not apply"
                                          + (f" ({', '.join(result.analysisReasons)})"
                                             if result is not None and result.analysisReasons else ""))
            decisions.append(Decision(facts.policy, applies, grant, WHAT_IF))
        for key, result in answer.results.items():
            if key in self.by_id or result.policyApplies is False:
                continue
            if not (result.is_enabled or (cell.report_only and result.is_report_only)):
                continue
            decisions.append(Decision(result, YES, grant_verdict(result.grantControls, audience, self.directory),
                                      WHAT_IF))
            cell.disagreements.append({"policy": result.ref(), "context": context.as_dict(), "guest": answer.user_id,
                                       "static": "not in the snapshot", "whatIf": "applies",
                                       "staticReasons": [], "analysisReasons": []})
        kept = [d for d in decisions if d.protects is not Tri.NO]
        cell.what_if[index] = kept
        bit = 1 << index
        cell.yes_mask &= ~bit
        cell.maybe_mask &= ~bit
        if any(d.protects is Tri.YES for d in kept):
            cell.yes_mask |= bit
        elif kept:
            cell.maybe_mask |= bit


class WhatIfLookup(Protocol):
    """The interface the evaluator needs from the What-If answers (see :mod:`.whatif`)."""

    def answer(self, app_id: str, kind: str, context: SignInContext) -> Any: ...


def current_guest_audiences(evaluator: Evaluator, kind: str) -> dict[Audience, list[str]]:
    """The current guests of ``kind`` whom some policy scopes *less* than a guest who signs up later.

    Only a guest a policy excludes by id or through an excluded group can be less protected: an
    inclusion by id or group only adds protection. Guests with the same per-policy answers share one
    representative audience, so a group of 10,000 excluded guests costs one evaluation, and guests
    nobody excludes cost nothing. Computed once per kind; a guest's kind comes from the directory.
    """
    cached = evaluator._audiences.get(kind)
    if cached is not None:
        return cached
    guests = evaluator.directory.guests
    groups = evaluator.directory.groups or {}
    relevant: dict[str, set[int]] = {}  # guest id -> indexes of the policies that exclude them
    for index, facts in enumerate(evaluator.policies):
        named = set(facts.exclude_ids)
        for group_id in facts.exclude_group_ids:
            group = groups.get(group_id)
            named |= (group.member_ids or frozenset()) if group is not None else frozenset()
        for user_id in named:
            if guests.get(user_id) == kind:
                relevant.setdefault(user_id, set()).add(index)
    new = Audience(kind)
    rank = {Tri.YES: 2, Tri.UNKNOWN: 1, Tri.NO: 0}
    by_signature: dict[tuple[tuple[str, Tri], ...], list[str]] = {}
    for user_id in sorted(relevant):
        audience = Audience(kind, user_id)
        signature = []
        less = False
        for index in sorted(relevant[user_id]):
            facts = evaluator.policies[index]
            value = users_verdict(facts.conditions.users, audience, evaluator.directory).value
            baseline = facts.users(new).value
            if value is not baseline:
                signature.append((facts.id, value))
                less = less or rank[value] < rank[baseline]
        if less:
            by_signature.setdefault(tuple(signature), []).append(user_id)
    result = {Audience(kind, ids[0]): ids for ids in by_signature.values()}
    evaluator._audiences[kind] = result
    return result


__all__ = ["Audience", "Cell", "Decision", "Directory", "Evaluator", "PolicyFacts", "STATIC", "UNKNOWN_APP",
           "WHAT_IF", "WhatIfLookup", "build_contexts", "current_guest_audiences"]
