"""GUE: what a self-service sign-up guest can do once in (directory access, invitations), other
sign-up paths beside user flows, and whether anyone is accountable for and reviews these guests."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from auditor.checks import CheckContext, Hit, NotApplicable, NotEvaluated, Resource, check
from auditor.errors import InputError
from auditor.model.directory import AccessReviewDefinition
from auditor.model.graph import (
    GUEST_ROLE_LEVELS,
    INVITES_FROM_EVERYONE,
    INVITES_FROM_VALUES,
    MEMBER_ROLE_ID,
    AuthorizationPolicy,
    User,
    fold,
)
from auditor.sources import NOT_APPLICABLE

POLICY = Resource("authorizationPolicy", "authorizationPolicy", "Authorization policy")


def _sign_up_enabled(ctx: CheckContext) -> bool | None:
    """The "Enable guest self-service sign up via user flows" switch; None when Graph did not say."""
    policy = ctx.tenant.authentication_flows_policy
    if policy is None or policy.selfServiceSignUp is None:
        return None
    return policy.selfServiceSignUp.isEnabled


def _require_sign_up(ctx: CheckContext) -> None:
    enabled = _sign_up_enabled(ctx)
    if enabled is None:
        raise NotEvaluated("authenticationFlowsPolicy does not say whether self-service sign-up is enabled "
                           "(selfServiceSignUp.isEnabled missing)")
    if not enabled:
        raise NotApplicable("self-service sign-up is disabled: no guest can sign up through a user flow")


def _settings(ctx: CheckContext) -> AuthorizationPolicy:
    policy = ctx.tenant.authorization_policy
    if policy is None:  # a record that did not validate is named by the engine (damage)
        raise NotEvaluated("source authorizationPolicy returned no usable object")
    return policy


def _flow_ids(ctx: CheckContext) -> list[str] | None:
    return [f.id for f in ctx.tenant.user_flows] if ctx.tenant.is_ok("b2xUserFlows") else None


def _tenant_resource(ctx: CheckContext) -> Resource:
    return Resource("tenant", ctx.tenant.tenant_id, "Self-service sign-up guests")


@check("GUE001")
def guests_have_member_access(ctx: CheckContext) -> list[Hit]:
    _require_sign_up(ctx)
    settings = _settings(ctx)
    role = settings.guest_role
    if not role:
        raise NotEvaluated("authorizationPolicy carries no guestUserRoleId: the guest access level cannot be "
                           "told (a missing value is not the default)")
    if role not in GUEST_ROLE_LEVELS:
        raise NotEvaluated(f"authorizationPolicy.guestUserRoleId is {settings.guestUserRoleId!r}, not one of the "
                           "three documented guest role templates")
    if role != MEMBER_ROLE_ID:
        return []
    return [Hit(POLICY,
                "Guest users have the same directory access as members (guestUserRoleId "
                f"{settings.guestUserRoleId}), and self-service sign-up is enabled: anyone who signs up through a "
                "user flow can enumerate the users, groups and applications of the directory.",
                {"guestUserRoleId": settings.guestUserRoleId, "guestAccessLevel": GUEST_ROLE_LEVELS[role],
                 "selfServiceSignUpEnabled": True, "userFlows": _flow_ids(ctx)})]


@check("GUE002")
def guests_can_invite(ctx: CheckContext) -> list[Hit]:
    _require_sign_up(ctx)
    settings = _settings(ctx)
    if not settings.allowInvitesFrom:
        raise NotEvaluated("authorizationPolicy carries no allowInvitesFrom: who can invite cannot be told")
    value = fold(settings.allowInvitesFrom)
    if value not in INVITES_FROM_VALUES:  # e.g. unknownFutureValue: neither "guests can" nor "they cannot"
        raise NotEvaluated(f"authorizationPolicy.allowInvitesFrom is {settings.allowInvitesFrom!r}, not one of the "
                           "documented values (none, adminsAndGuestInviters, adminsGuestInvitersAndAllMembers, "
                           "everyone)")
    if value != INVITES_FROM_EVERYONE:
        return []
    return [Hit(POLICY,
                "Everyone in the organisation, guests included, can invite external users (allowInvitesFrom = "
                "everyone), and self-service sign-up is enabled: a guest who signed up through a user flow can "
                "invite further guests without any administrator involved.",
                {"allowInvitesFrom": settings.allowInvitesFrom, "selfServiceSignUpEnabled": True,
                 "userFlows": _flow_ids(ctx)})]


EMAIL_SETTINGS = {
    "allowedToSignUpEmailBasedSubscriptions": "users can sign up for email-based subscriptions (self-service "
                                              "sign-up for Microsoft cloud offers)",
    "allowEmailVerifiedUsersToJoinOrganization": "users with an email address in a verified domain can join the "
                                                 "tenant by email verification, as members",
}


@check("GUE003")
def email_verified_sign_up_enabled(ctx: CheckContext) -> list[Hit]:
    settings = _settings(ctx)
    values = {name: getattr(settings, name) for name in EMAIL_SETTINGS}
    enabled = [name for name, value in values.items() if value is True]
    unknown = [name for name, value in values.items() if value is None]
    if unknown:
        ctx.gap(f"authorizationPolicy carries no {' or '.join(unknown)}")
    if not enabled:
        return []
    enabled_text = "; ".join(EMAIL_SETTINGS[name] for name in enabled)
    return [Hit(POLICY,
                f"Email-verified self-service sign-up is enabled ({', '.join(enabled)}): {enabled_text}. This is a "
                "second sign-up path beside user flows, governed by none of their providers, attributes or API "
                "connectors.",
                {**values, "selfServiceSignUpViaUserFlowsEnabled": _sign_up_enabled(ctx)})]


def _max_ids(ctx: CheckContext) -> int:
    value = ctx.params.get("maxIds")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"rule GUE004: parameter 'maxIds' must be a whole number of at least 1, got {value!r}")
    return value


def _created(user: User) -> datetime:
    moment = user.createdDateTime or datetime.max
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@check("GUE004")
def guests_without_sponsor(ctx: CheckContext) -> list[Hit]:
    cap = _max_ids(ctx)
    guests = ctx.tenant.self_service_users
    if not guests:
        raise NotApplicable("no self-service sign-up guest exists")
    unknown = [u for u in guests if not u.sponsors_known]
    if len(unknown) == len(guests):
        raise NotEvaluated("the self-service sign-up guests were collected without their sponsors "
                           "(sponsors not nested under the user records)")
    if unknown:
        ctx.gap(f"the sponsors of {len(unknown)} self-service sign-up guest(s) were not collected")
    lacking = sorted((u for u in guests if u.sponsors_known and not u.sponsors),
                     key=lambda u: (_created(u), u.id.casefold()))
    if not lacking:
        return []
    listed = lacking[:cap]
    return [Hit(_tenant_resource(ctx),
                f"{len(lacking)} of {len(guests)} self-service sign-up guest(s) have no sponsor: nobody in the "
                "organisation is recorded as responsible for them.",
                {"withoutSponsor": len(lacking), "selfServiceSignUpGuests": len(guests),
                 "sponsorsUnknown": len(unknown),
                 "guests": [{"id": u.id, "label": u.label,
                             "createdDateTime": u.createdDateTime.isoformat() if u.createdDateTime else None,
                             "accountEnabled": u.accountEnabled} for u in listed],
                 "listed": len(listed), "truncated": len(lacking) > len(listed)})]


# --- GUE005: recurring access reviews of guests ---------------------------------------------------

def _nothing_to_review(ctx: CheckContext) -> bool:
    """No flow can create guests (sign-up off, or no flow) and no self-service sign-up guest exists."""
    tenant = ctx.tenant
    enabled = False if tenant.status("authenticationFlowsPolicy") == NOT_APPLICABLE else _sign_up_enabled(ctx)
    has_flows = bool(tenant.user_flows) or not tenant.is_ok("b2xUserFlows")
    can_sign_up = enabled is not False and has_flows
    no_guests = tenant.is_ok("selfServiceSignUpUsers") and not tenant.self_service_users
    return not can_sign_up and no_guests


def _review_evidence(definition: AccessReviewDefinition, state: str, why: str | None) -> dict[str, Any]:
    return {"id": definition.id, "displayName": definition.displayName, "status": definition.status,
            "recurrence": state, "autoApplyDecisions": definition.auto_applies,
            "reviewedResources": sorted({kind for kind, _ in definition.reviewed_resources()}),
            "notCounted": why}


@check("GUE005")
def no_recurring_guest_review(ctx: CheckContext) -> list[Hit]:
    if _nothing_to_review(ctx):
        raise NotApplicable("no user flow can create guests and no self-service sign-up guest exists")
    definitions = ctx.tenant.access_review_definitions
    linked_known = ctx.tenant.is_ok("linkedServicePrincipals") and not ctx.tenant.is_partial("linkedServicePrincipals")
    linked = {sp.id.casefold() for sp in ctx.tenant.linked_service_principals}
    counted: list[AccessReviewDefinition] = []
    near_misses: list[dict[str, Any]] = []
    unresolved: list[str] = []
    for definition in definitions:
        if not definition.reviews_guests:
            continue
        state = definition.recurrence_state(ctx.now)
        resources = definition.reviewed_resources()
        covers = any(kind in ("users", "groups") for kind, _ in resources)
        apps = [sp for kind, sp in resources if kind == "application" and sp]
        if not covers and apps:
            if linked_known:
                covers = any(sp.casefold() in linked for sp in apps)
            elif state == "recurring":
                unresolved.append(definition.label)
        if state == "recurring" and covers:
            counted.append(definition)
            continue
        why = ("one-off: no recurrence" if state == "oneOff" else "its recurrence has ended" if state == "ended"
               else "reviews an application whose link to a user flow could not be checked"
               if apps and not linked_known
               else "reviews an application that is not linked to a user flow" if apps
               else "reviews neither users, groups nor a linked application")
        near_misses.append(_review_evidence(definition, state, why))
    if counted:
        manual = [d.label for d in counted if not d.auto_applies]
        if len(manual) == len(counted):
            ctx.note(f"the recurring guest review(s) ({', '.join(manual)}) do not apply decisions automatically: "
                     "denied guests keep their access until someone applies the results")
        return []
    if unresolved:
        ctx.gap(f"access review(s) {', '.join(unresolved)} review guests of an application, but the linked "
                "applications' service principals were not collected: cannot tell whether they are linked")
    return [Hit(_tenant_resource(ctx),
                "No recurring access review targets guest users: nobody is regularly asked whether the guests who "
                "signed up still need their access.",
                {"accessReviewDefinitions": len(definitions), "guestReviewsNotCounted": near_misses,
                 "selfServiceSignUpGuests": len(ctx.tenant.self_service_users)
                 if ctx.tenant.is_ok("selfServiceSignUpUsers") else None})]
