"""CAP: Conditional Access protection of the guests each user flow signs up (coverage in _coverage)."""

from __future__ import annotations

from typing import Any

from auditor.checks import CheckContext, Hit, NotApplicable, Resource, check
from auditor.checks._coverage import (
    UNKNOWN_APPS,
    Links,
    app_label,
    application_links,
    covers,
    covers_guests,
    excluded_apps,
    has_strength,
    is_active,
    policy_ref,
    provider_ids,
    requires_mfa_control,
    satisfies_mfa,
    strength_name,
    strength_without_mfa_alternative,
    targets_all_apps,
    targets_app,
    unresolved_scope,
)
from auditor.model.graph import ConditionalAccessPolicy, UserFlow

LIST_LIMIT = 10


def _flows(ctx: CheckContext) -> list[UserFlow]:
    flows = ctx.tenant.user_flows
    if not flows:
        raise NotApplicable("no user flow exists")
    return flows


def _mail_based(ctx: CheckContext, flow: UserFlow) -> bool:
    """Unknown providers (child not collected) are judged as mail-based: a strength then does not count."""
    if flow.providers is None:
        ctx.note(f"identity providers of {flow.id} were not collected: judged as if it offered a mail-based one")
        return True
    return bool(flow.mail_based_providers())


def _fallback_exclusions(ctx: CheckContext, links: Links) -> list[dict[str, Any]]:
    """In the fallback, application exclusions cannot be judged: name them (rule note and evidence)."""
    if links.known:
        return []
    counted = [p for p in ctx.tenant.conditional_access_policies
               if (p.is_enabled or p.is_report_only) and covers_guests(p) and targets_all_apps(p)
               and excluded_apps(p)]
    if counted:
        ctx.note("counted despite application exclusions that could not be judged: "
                 + ", ".join(f"{p.displayName or p.id} ({len(excluded_apps(p))} excluded)" for p in counted))
    return [{"id": p.id, "displayName": p.displayName, "excludeApplications": excluded_apps(p)[:LIST_LIMIT]}
            for p in counted][:LIST_LIMIT]


def _with_note(evidence: dict[str, Any], links: Links, exclusions: list[dict[str, Any]]) -> dict[str, Any]:
    if links.note:
        evidence["applicationLinks"] = links.note
    if exclusions:
        evidence["policiesWithExcludedApplications"] = exclusions
    return evidence


def _sign_in_failures(ctx: CheckContext, policy: ConditionalAccessPolicy) -> dict[str, Any]:
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
    flows = _flows(ctx)
    links = application_links(ctx)
    exclusions = _fallback_exclusions(ctx, links)
    hits: list[Hit] = []
    for policy in ctx.tenant.conditional_access_policies:
        if not policy.is_enabled or not strength_without_mfa_alternative(policy):
            continue
        affected = []
        for flow in flows:
            if flow.providers is None:
                ctx.note(f"identity providers of {flow.id} were not collected: not judged")
                continue
            if not flow.mail_based_providers():
                continue
            apps = [a for a in links.targets(ctx.tenant, flow) if covers(policy, a)]
            if apps:
                affected.append({"flow": flow.id, "mailBasedProviders": provider_ids(flow, mail_based_only=True),
                                 "applications": [app_label(a) for a in apps]})
        if not affected:
            continue
        strength = strength_name(policy)
        grant = policy.grantControls
        flow_ids = ", ".join(a["flow"] for a in affected)
        evidence = {
            "policy": policy_ref(policy),
            "authenticationStrength": strength,
            "grantOperator": grant.operator if grant else None,
            "builtInControls": grant.builtInControls if grant else [],
            "affectedFlows": affected,
            "guestSignInFailures": _sign_in_failures(ctx, policy),
        }
        hits.append(Hit(
            Resource("conditionalAccessPolicy", policy.id, policy.displayName),
            f"Policy requires authentication strength '{strength}' without an MFA alternative for guests of "
            f"{flow_ids}, who sign up with mail-based identities that cannot satisfy it.",
            _with_note(evidence, links, exclusions)))
    return hits


def _satisfying(policies: list[ConditionalAccessPolicy], app: str, mail_based: bool,
                report_only: bool = False) -> list[ConditionalAccessPolicy]:
    return [p for p in policies if covers(p, app, report_only) and satisfies_mfa(p, mail_based)]


def _names(policies: list[ConditionalAccessPolicy]) -> list[dict[str, str | None]]:
    return [policy_ref(p) for p in policies][:LIST_LIMIT]


@check("CAP002")
def no_mfa_for_flow_guests(ctx: CheckContext) -> list[Hit]:
    flows = _flows(ctx)
    links = application_links(ctx)
    exclusions = _fallback_exclusions(ctx, links)
    policies = ctx.tenant.conditional_access_policies
    hits: list[Hit] = []
    for flow in flows:
        apps = links.targets(ctx.tenant, flow)
        if not apps:
            continue  # linked to no application: nothing to protect (APP002 reports it)
        mail_based = _mail_based(ctx, flow)
        uncovered = [a for a in apps if not _satisfying(policies, a, mail_based)]
        if not uncovered:
            continue
        near_misses = {
            # would count if enforced (CAP003)
            "reportOnlyPolicies": [p for p in policies if p.is_report_only and any(
                p in _satisfying(policies, a, mail_based, report_only=True) for a in uncovered)],
            # cover the guests but grant only an authentication strength they cannot satisfy
            "strengthOnlyPolicies": [p for p in policies if mail_based and has_strength(p)
                                     and not requires_mfa_control(p) and any(covers(p, a) for a in uncovered)],
            # require MFA but reach users through groups or roles, which cannot be resolved here
            "groupOrRoleScopedPolicies": [p for p in policies if is_active(p) and unresolved_scope(p)
                                          and requires_mfa_control(p)
                                          and any(targets_app(p, a) for a in uncovered)],
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
    flows = _flows(ctx)
    links = application_links(ctx)
    exclusions = _fallback_exclusions(ctx, links)
    policies = ctx.tenant.conditional_access_policies
    hits: list[Hit] = []
    for flow in flows:
        mail_based = _mail_based(ctx, flow)
        apps: list[str] = []
        report_only: list[ConditionalAccessPolicy] = []
        for app in links.targets(ctx.tenant, flow):
            if _satisfying(policies, app, mail_based):
                continue
            would = [p for p in _satisfying(policies, app, mail_based, report_only=True) if p.is_report_only]
            if would:
                apps.append(app)
                report_only.extend(p for p in would if p not in report_only)
        if not apps:
            continue
        names = ", ".join(p.displayName or p.id for p in report_only[:LIST_LIMIT])
        where = app_label(UNKNOWN_APPS) if not links.known else f"{len(apps)} linked application(s)"
        evidence = {
            "flow": flow.id,
            "applications": [app_label(a) for a in apps][:50],
            "reportOnlyPolicies": _names(report_only),
        }
        hits.append(Hit(Resource("userFlow", flow.id, flow.id),
                        f"MFA for guests of {flow.id} on {where} is only in report-only "
                        f"policies ({names}): sign-ins are logged, not challenged.",
                        _with_note(evidence, links, exclusions)))
    return hits
