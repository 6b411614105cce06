"""GUE001–GUE003: what self-service sign-up guests may do — restrict the authorization policy.

Each finding changes its own property of the one authorization policy, with a precondition on that
property only, so the three changes apply independently and in any order.
"""

from __future__ import annotations

from typing import Any

from auditor.model.graph import fold
from auditor.plan.permissions import AUTHORIZATION
from auditor.plan.remedies import Draft, NoRemedy, RemedyContext, check, remedy, request, step
from auditor.result import Finding

LIMITED_GUEST_ROLE = "10dae51f-b6af-4016-8d66-8c2a99b929b3"  # "Guest User", the default
RESTRICTED_GUEST_ROLE = "2af84b1e-32c8-42b7-82bc-daa82404023b"  # "Restricted Guest User"
# Members and guest inviters may still invite; guests (anyone who signed up) no longer can.
INVITES_WITHOUT_GUESTS = "adminsGuestInvitersAndAllMembers"
EMAIL_SIGN_UP = ("allowedToSignUpEmailBasedSubscriptions", "allowEmailVerifiedUsersToJoinOrganization")


def _policy(ctx: RemedyContext) -> dict[str, Any]:
    record = ctx.single("authorizationPolicy")
    if record is None:
        raise NoRemedy("the snapshot has no authorizationPolicy record")
    return record


def _patch(ctx: RemedyContext, key: tuple[str, ...], summary: str, description: str,
           before: dict[str, Any], after: dict[str, Any]) -> Draft:
    url = ctx.url("authorizationPolicy")
    undo = step("r1", f"Restore {', '.join(before)}", request("PATCH", url, before), AUTHORIZATION,
                reads=("authorizationPolicy",),
                precondition=[check(f"{name} is {value!r}", url, "equals", f"/{name}", value)
                              for name, value in after.items()])
    main = step("s1", description, request("PATCH", url, after), AUTHORIZATION, reads=("authorizationPolicy",),
                precondition=[check(f"{name} is {value!r}", url, "equals", f"/{name}", value)
                              for name, value in before.items()],
                rollback=[undo])
    return Draft(key=key, summary=summary, steps=[main])


@remedy("GUE001")
def restrict_guest_role(ctx: RemedyContext, finding: Finding) -> list[Draft]:
    current = _policy(ctx).get("guestUserRoleId")
    # The rule decided the role is too broad; the plan only refuses to touch a role that is already
    # limited (changing it then could only widen or reshuffle access).
    if not isinstance(current, str) or fold(current) in (LIMITED_GUEST_ROLE, RESTRICTED_GUEST_ROLE):
        raise NoRemedy("the snapshot shows the guest role already limited or restricted")
    return [_patch(ctx, ("GUE001",),
                   "Give guests the Restricted Guest User role: today they have member-level directory access, "
                   "so anyone who signs up can enumerate the directory.",
                   "Set the guest user role to Restricted Guest User",
                   {"guestUserRoleId": current}, {"guestUserRoleId": RESTRICTED_GUEST_ROLE})]


@remedy("GUE002")
def stop_guest_invites(ctx: RemedyContext, finding: Finding) -> list[Draft]:
    current = _policy(ctx).get("allowInvitesFrom")
    if fold(current) != "everyone":
        raise NoRemedy("the snapshot does not show invitations allowed from everyone")
    return [_patch(ctx, ("GUE002",),
                   "Stop guests from inviting guests: invitations stay open to members and Guest Inviters "
                   f"({INVITES_WITHOUT_GUESTS}); today anyone who signed up can invite more guests.",
                   f"Set allowInvitesFrom to {INVITES_WITHOUT_GUESTS}",
                   {"allowInvitesFrom": current}, {"allowInvitesFrom": INVITES_WITHOUT_GUESTS})]


@remedy("GUE003")
def stop_email_verified_sign_up(ctx: RemedyContext, finding: Finding) -> list[Draft]:
    record = _policy(ctx)
    on = [name for name in EMAIL_SIGN_UP if record.get(name) is True]
    if not on:
        raise NoRemedy("the snapshot shows no email-verified sign-up setting enabled")
    return [_patch(ctx, ("GUE003",),
                   "Switch off email-verified self-service sign-up (" + ", ".join(on) + "): a second, unmanaged "
                   "sign-up path beside user flows.",
                   "Switch off " + " and ".join(on),
                   dict.fromkeys(on, True), dict.fromkeys(on, False))]
