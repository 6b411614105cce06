"""Words a person reads: the unprotected contexts summarised, and what narrows a policy."""

from __future__ import annotations

from collections.abc import Iterable

from auditor.conditional_access.conditions import CLIENT_LABELS, PLATFORM_LABELS, join_words
from auditor.conditional_access.evaluator import Cell, Evaluator, PolicyFacts
from auditor.conditional_access.grant import Alt
from auditor.conditional_access.verdict import Reason, Tri
from auditor.model._base import fold
from auditor.model.signin_matrix import CLIENTS, PLATFORMS, SignInContext

_CLIENT_ORDER = {fold(c): i for i, c in enumerate(CLIENTS)}
_PLATFORM_ORDER = {fold(p): i for i, p in enumerate(PLATFORMS)}


def _platforms(platforms: set[str]) -> str:
    if len(platforms) == len(PLATFORMS):
        return "every platform"
    return join_words(PLATFORM_LABELS.get(p, p) for p in sorted(platforms, key=lambda p: _PLATFORM_ORDER.get(p, 99)))


def summarize(cells: Iterable[SignInContext]) -> str:
    """``browser sign-ins on every platform``, ``mobile and desktop apps on Android and iOS``, ``all sign-ins``."""
    by_client: dict[str, set[str]] = {}
    for cell in cells:
        by_client.setdefault(fold(cell.client), set()).add(fold(cell.platform))
    if not by_client:
        return "no sign-in"
    platform_sets = list(by_client.values())
    if len(by_client) == len(CLIENTS) and all(s == platform_sets[0] for s in platform_sets):
        everywhere = len(platform_sets[0]) == len(PLATFORMS)
        return "all sign-ins" if everywhere else f"all sign-ins on {_platforms(platform_sets[0])}"
    parts = [f"{CLIENT_LABELS.get(client, client)} on {_platforms(platforms)}"
             for client, platforms in sorted(by_client.items(), key=lambda item: _CLIENT_ORDER.get(item[0], 99))]
    return "; ".join(parts)


def narrowing(facts: PolicyFacts, cell: Cell, indices: Iterable[int]) -> list[str]:
    """What keeps a policy from protecting the given contexts, in words (deduplicated, in order)."""
    reasons: dict[str, None] = {}
    audience = cell.audience

    def add(items: Iterable[Reason]) -> None:
        for reason in items:
            reasons.setdefault(reason.text, None)

    add(facts.app(cell.app_id).reasons)
    add(facts.users(audience).reasons)
    add(facts.static.reasons)
    for index in indices:
        add(facts.context_verdicts[index].reasons)
    grant = facts.grant(audience)
    if not grant.protects.yes:
        add(grant.protects.reasons)
    return list(reasons)


def narrowed_policies(evaluator: Evaluator, cell: Cell, indices: list[int], *,
                      enforced_only: bool = True) -> list[PolicyFacts]:
    """Policies that target the application with a grant that could protect, but leave some of ``indices``
    open: the ones a reviewer would believe cover the guests."""
    out = []
    for facts in evaluator.policies:
        if enforced_only and not facts.enabled:
            continue
        grant = facts.grant(cell.audience)
        # A grant that offers MFA only as one option (or a strength the guest cannot meet) still looks like
        # guest MFA to a reviewer: list it with what makes it fall short.
        looks_like_mfa = grant.blocks or any(a.alt in (Alt.MFA, Alt.UNKNOWN_MFA) or a.strength
                                             for a in grant.alternatives)
        app = facts.app(cell.app_id)
        # Policies for other applications do not matter; one for user actions or authentication contexts
        # only is listed, because it reads like guest MFA and is not.
        if (app.no and not any(r.text.startswith("targets only") for r in app.reasons)) or \
                (grant.protects.no and not looks_like_mfa):
            continue
        if not grant.protects.yes or any(facts.applies(cell.app_id, cell.audience, i).value is not Tri.YES
                                         for i in indices):
            out.append(facts)
    return out


def except_risk(policies: Iterable[PolicyFacts]) -> str | None:
    """"all sign-ins except high-risk ones" when the only MFA policies apply just to risky sign-ins."""
    levels: list[str] = []
    for facts in policies:
        texts = [r for r in facts.static.reasons]
        if not texts or any(r.condition != "signInRiskLevels" for r in texts):
            return None
        levels += [lv for lv in facts.conditions.signInRiskLevels if fold(lv) != "none"]
    if not levels:
        return None
    order = ("low", "medium", "high", "hidden")
    ordered = [lv for lv in order if lv in {fold(x) for x in levels}]
    return f"all sign-ins except {join_words(ordered)}-risk ones"
