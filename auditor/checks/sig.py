"""SIG: what the sign-in log shows about self-service sign-up guests (aggregates in model/signins)."""

from __future__ import annotations

from typing import Any

from auditor.checks import CheckContext, Hit, NotApplicable, NotEvaluated, Resource, check
from auditor.model.signins import SignInAggregates, SignInGroup

TOP = 10


def _aggregates(ctx: CheckContext) -> SignInAggregates:
    if not ctx.tenant.self_service_users:
        raise NotApplicable("no self-service sign-up guest exists")
    return ctx.tenant.sign_in_aggregates


def _top(counter: Any) -> list[tuple[str, int]]:
    # Deterministic: most first, then by key.
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:TOP]


def _summary(ctx: CheckContext, group: SignInGroup, agg: SignInAggregates) -> dict[str, Any]:
    users = ctx.tenant.self_service_users_by_id
    return {
        "signIns": group.count,
        "distinctUsers": len(group.users),
        "topApplications": [{"appId": app, "name": agg.app_names.get(app, app), "signIns": n}
                            for app, n in _top(group.apps)],
        "topUsers": [{"userId": user, "label": users[user].label if user in users else agg.user_names.get(user, user), "signIns": n}
                     for user, n in _top(group.users)],
        "firstSeen": group.first,
        "lastSeen": group.last,
    }


def _tenant_resource(ctx: CheckContext) -> Resource:
    return Resource("tenant", ctx.tenant.tenant_id, "Self-service sign-up guests")


@check("SIG001")
def single_factor_guest_sign_ins(ctx: CheckContext) -> list[Hit]:
    agg = _aggregates(ctx)
    group = agg.single_factor
    if not group.count:
        return []
    return [Hit(_tenant_resource(ctx),
                f"{group.count} successful sign-in(s) by {len(group.users)} self-service sign-up guest(s) "
                "used single-factor authentication.",
                _summary(ctx, group, agg))]


WITHHELD = ("policy details withheld: every sign-in that Conditional Access evaluated has an empty "
            "appliedConditionalAccessPolicies, which Graph returns only to callers that can read Conditional "
            "Access data; grant Policy.Read.All or Policy.Read.ConditionalAccess to the collecting app")


@check("SIG002")
def guest_sign_ins_blocked_by_strength(ctx: CheckContext) -> list[Hit]:
    agg = _aggregates(ctx)
    if agg.policy_details_withheld:
        # An empty list then means "not shown", not "no failure": never report 0 failures.
        raise NotEvaluated(WITHHELD)
    policies = {p.id.casefold(): p for p in ctx.tenant.conditional_access_policies}
    hits = []
    for policy_id, group in sorted(agg.strength_failures.items()):
        policy = policies.get(policy_id)
        name = (policy.displayName if policy else None) or agg.policy_names.get(policy_id) or policy_id
        strength = agg.strength_names.get(policy_id) or None
        registration = agg.strength_registration.get(policy_id)
        evidence = {"policy": {"id": policy_id, "displayName": name,
                               "state": policy.state if policy else None},
                    "authenticationStrength": strength, **_summary(ctx, group, agg),
                    # Asked to register a method first: not a failure to satisfy the strength.
                    "registrationRequired": registration.count if registration else 0}
        hits.append(Hit(Resource("conditionalAccessPolicy", policy_id, name),
                        f"{group.count} sign-in(s) by {len(group.users)} self-service sign-up guest(s) failed the "
                        f"authentication strength '{strength}' of this policy (cannot satisfy).",
                        evidence))
    waiting = {pid: g for pid, g in agg.strength_registration.items() if pid not in agg.strength_failures}
    if waiting:
        total = sum(g.count for g in waiting.values())
        ctx.note(f"{total} guest sign-in(s) were asked to register an authentication method for the strength of "
                 f"{len(waiting)} other policy(ies); counted separately, not as strength failures")
    return hits


@check("SIG003")
def guest_sign_ins_without_ca(ctx: CheckContext) -> list[Hit]:
    agg = _aggregates(ctx)
    group = agg.ca_not_applied
    if not group.count:
        return []
    return [Hit(_tenant_resource(ctx),
                f"{group.count} successful sign-in(s) by {len(group.users)} self-service sign-up guest(s) had no "
                "Conditional Access policy applied.",
                _summary(ctx, group, agg))]
