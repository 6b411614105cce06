"""CAP: Conditional Access protection of the guests each user flow signs up (coverage in _coverage)."""

from __future__ import annotations

from typing import Any

from auditor.checks import CheckContext, Hit, NotApplicable, Resource, check
from auditor.checks._coverage import (
    UNKNOWN_APPS,
    Links,
    PolicyView,
    app_label,
    application_links,
    policy_views,
    provider_ids,
)
from auditor.model.graph import UserFlow

LIST_LIMIT = 10


def _flows(ctx: CheckContext) -> list[UserFlow]:
    flows = ctx.tenant.user_flows
    if not flows:
        raise NotApplicable("no user flow exists")
    return flows


def _scope(ctx: CheckContext) -> tuple[list[UserFlow], Links, list[PolicyView], list[dict[str, Any]]]:
    """What every CAP rule judges: the flows, their application links, the policies, fallback exclusions."""
    flows = _flows(ctx)
    links = application_links(ctx)
    views = policy_views(ctx.tenant)
    return flows, links, views, _fallback_exclusions(ctx, views, links)


def _mail_based(ctx: CheckContext, flow: UserFlow) -> bool:
    """Unknown providers (child not collected) are judged as mail-based: a strength then does not count."""
    if flow.providers is None:
        ctx.note(f"identity providers of {flow.id} were not collected: judged as if it offered a mail-based one")
        return True
    return bool(flow.mail_based_providers())


def _fallback_exclusions(ctx: CheckContext, views: list[PolicyView], links: Links) -> list[dict[str, Any]]:
    """In the fallback, application exclusions cannot be judged: name them (rule note and evidence)."""
    if links.known:
        return []
    counted = [v for v in views if v.active(report_only=True) and v.covers_guests and v.targets_all_apps
               and v.exclude_apps]
    if counted:
        ctx.note("counted despite application exclusions that could not be judged: "
                 + ", ".join(f"{v.name} ({len(v.exclude_apps)} excluded)" for v in counted))
    return [{"id": v.id, "displayName": v.policy.displayName, "excludeApplications": sorted(v.exclude_apps)[:LIST_LIMIT]}
            for v in counted][:LIST_LIMIT]


def _with_note(evidence: dict[str, Any], links: Links, exclusions: list[dict[str, Any]]) -> dict[str, Any]:
    if links.note:
        evidence["applicationLinks"] = links.note
    if exclusions:
        evidence["policiesWithExcludedApplications"] = exclusions
    return evidence


def _sign_in_failures(ctx: CheckContext, policy: PolicyView) -> dict[str, Any]:
    tenant = ctx.tenant
    missing = [k for k in ("signIns", "selfServiceSignUpUsers") if not tenant.is_ok(k)]
    if missing:
        return {"available": False,
                "reason": "; ".join(f"{k} is {tenant.status(k)}" for k in missing)}
    aggregates = tenant.sign_in_aggregates
    key = policy.id.casefold()
    failed = aggregates.policy_failures.get(key)
    on_strength = aggregates.strength_failures.get(key)
    return {"available": True,
            "failedSignIns": failed.count if failed else 0,
            "distinctUsers": len(failed.users) if failed else 0,
            "failedOnAuthenticationStrength": on_strength.count if on_strength else 0,
            "firstSeen": failed.first if failed else None,
            "lastSeen": failed.last if failed else None}


@check("CAP001")
def strength_for_mail_based_guests(ctx: CheckContext) -> list[Hit]:
    flows, links, views, exclusions = _scope(ctx)
    judged = []
    for flow in flows:
        if flow.providers is None:
            ctx.gap(f"identity providers of {flow.id} were not collected: not judged")
        elif flow.mail_based_providers():
            judged.append((flow, links.targets(ctx.tenant, flow)))
    hits: list[Hit] = []
    for view in views:
        if not view.enabled or not view.strength_without_mfa_alternative:
            continue
        affected = []
        for flow, targets in judged:
            apps = [a for a in targets if view.covers(a)]
            if apps:
                affected.append({"flow": flow.id, "mailBasedProviders": provider_ids(flow, mail_based_only=True),
                                 "applications": [app_label(a) for a in apps][:50]})
        if not affected:
            continue
        grant = view.policy.grantControls
        flow_ids = ", ".join(str(a["flow"]) for a in affected[:LIST_LIMIT])
        evidence = {
            "policy": view.ref(),
            "authenticationStrength": view.strength_name,
            "grantOperator": grant.operator if grant else None,
            "builtInControls": grant.builtInControls if grant else [],
            "affectedFlows": affected,
            "guestSignInFailures": _sign_in_failures(ctx, view),
        }
        hits.append(Hit(
            Resource("conditionalAccessPolicy", view.id, view.policy.displayName),
            f"Policy requires authentication strength '{view.strength_name}' without an MFA alternative for "
            f"guests of {flow_ids}, who sign up with mail-based identities that cannot satisfy it.",
            _with_note(evidence, links, exclusions)))
    return hits


def _satisfying(views: list[PolicyView], app: str, mail_based: bool,
                report_only: bool = False) -> list[PolicyView]:
    return [v for v in views if v.covers(app, report_only) and v.satisfies_mfa(mail_based)]


def _names(views: list[PolicyView]) -> list[dict[str, str | None]]:
    return [v.ref() for v in views][:LIST_LIMIT]


@check("CAP002")
def no_mfa_for_flow_guests(ctx: CheckContext) -> list[Hit]:
    flows, links, views, exclusions = _scope(ctx)
    hits: list[Hit] = []
    for flow in flows:
        apps = links.targets(ctx.tenant, flow)
        if not apps:
            continue  # linked to no application: nothing to protect (APP002 reports it)
        mail_based = _mail_based(ctx, flow)
        uncovered = [a for a in apps if not _satisfying(views, a, mail_based)]
        if not uncovered:
            continue
        near_misses = {
            # would count if enforced (CAP003)
            "reportOnlyPolicies": [v for v in views if v.report_only and v.satisfies_mfa(mail_based)
                                   and any(v.covers(a, report_only=True) for a in uncovered)],
            # cover the guests but grant only an authentication strength they cannot satisfy
            "strengthOnlyPolicies": [v for v in views if mail_based and v.has_strength and not v.mfa_control
                                     and any(v.covers(a) for a in uncovered)],
            # require MFA but reach users through groups or roles, which cannot be resolved here
            "groupOrRoleScopedPolicies": [v for v in views if v.enabled and v.unresolved_scope and v.mfa_control
                                          and any(v.targets_app(a) for a in uncovered)],
        }
        evidence: dict[str, Any] = {
            "flow": flow.id,
            "providers": provider_ids(flow),
            "mailBasedProviders": provider_ids(flow, mail_based_only=True),
            "linkedApplications": [app_label(a) for a in apps][:50],
            "uncoveredApplications": [app_label(a) for a in uncovered][:50],
            **{k: _names(v) for k, v in near_misses.items() if v},
        }
        where = app_label(UNKNOWN_APPS) if not links.known else \
            f"{len(uncovered)} of {len(apps)} linked application(s): {', '.join(uncovered[:LIST_LIMIT])}"
        reason = " (an authentication strength does not count for its mail-based providers)" if mail_based else ""
        hits.append(Hit(Resource("userFlow", flow.id, flow.id),
                        f"No enforced Conditional Access policy requires MFA for guests of {flow.id} on {where}"
                        f"{reason}.",
                        _with_note(evidence, links, exclusions)))
    return hits


@check("CAP003")
def report_only_guest_mfa(ctx: CheckContext) -> list[Hit]:
    flows, links, views, exclusions = _scope(ctx)
    hits: list[Hit] = []
    for flow in flows:
        mail_based = _mail_based(ctx, flow)
        apps: list[str] = []
        report_only: dict[str, PolicyView] = {}
        for app in links.targets(ctx.tenant, flow):
            if _satisfying(views, app, mail_based):
                continue
            would = [v for v in _satisfying(views, app, mail_based, report_only=True) if v.report_only]
            if would:
                apps.append(app)
                report_only.update((v.id, v) for v in would)
        if not apps:
            continue
        pilots = list(report_only.values())
        names = ", ".join(v.name for v in pilots[:LIST_LIMIT])
        where = app_label(UNKNOWN_APPS) if not links.known else f"{len(apps)} linked application(s)"
        evidence = {
            "flow": flow.id,
            "applications": [app_label(a) for a in apps][:50],
            "reportOnlyPolicies": _names(pilots),
        }
        hits.append(Hit(Resource("userFlow", flow.id, flow.id),
                        f"MFA for guests of {flow.id} on {where} is only in report-only "
                        f"policies ({names}): sign-ins are logged, not challenged.",
                        _with_note(evidence, links, exclusions)))
    return hits
