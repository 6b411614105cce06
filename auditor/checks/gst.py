"""GST: lifecycle of self-service sign-up guests (inactivity measured against the snapshot time)."""

from __future__ import annotations

from datetime import datetime, timedelta

from auditor.checks import CheckContext, Hit, NotApplicable, NotEvaluated, Resource, check
from auditor.model.graph import SignInActivity
from auditor.timefmt import iso_utc, utc

SUCCESS = "lastSuccessfulSignInDateTime"
FALLBACK = "lastSignInDateTime"


def _iso(moment: datetime | None) -> str | None:
    return iso_utc(moment) if moment else None


def _real(moment: datetime | None) -> datetime | None:
    return moment if moment is not None and moment.year > 1 else None  # 0001-01-01: never


def last_activity(activity: SignInActivity | None) -> tuple[datetime | None, str | None]:
    """(last successful sign-in, the field it was read from); (None, None) for never.

    Failed attempts (a password spray against the guest) are not activity, so the last *successful*
    sign-in decides. Only when Graph did not return that property at all (older snapshots) do the older
    fields stand in; a null value means no successful sign-in.
    """
    if activity is None:
        return None, None
    if SUCCESS in activity.model_fields_set:
        return _real(activity.lastSuccessfulSignInDateTime), SUCCESS
    moments = [m for m in (_real(activity.lastSignInDateTime), _real(activity.lastNonInteractiveSignInDateTime)) if m]
    return (max(moments) if moments else None), FALLBACK


def _collected_with_activity(ctx: CheckContext) -> bool:
    declared = ctx.tenant.sign_in_activity_collected
    if declared is not None:
        return declared
    inferred = ctx.tenant.users_have_sign_in_activity
    ctx.note("the snapshot's manifest does not say whether selfServiceSignUpUsers was collected with "
             f"signInActivity: inferred from the records ({'some carry it' if inferred else 'none carries it'})")
    return inferred


@check("GST001")
def inactive_guests(ctx: CheckContext) -> list[Hit]:
    users = ctx.tenant.self_service_users
    if not users:
        raise NotApplicable("no self-service sign-up guest exists")
    if not _collected_with_activity(ctx):
        raise NotEvaluated("users were collected without signInActivity: reading it needs AuditLog.Read.All "
                           "and an Entra ID P1 licence")
    days = int(ctx.params["days"])
    now = utc(ctx.now)
    cutoff = now - timedelta(days=days)
    hits = []
    undated = fallback = 0
    future: list[str] = []
    # A guest cannot have signed in or been created after the snapshot was taken; a day of slack
    # covers a collection that ran for a while. Such a date is corrupt and must not read as "active".
    latest_possible = now + timedelta(days=1)
    for user in users:
        if user.accountEnabled is False:
            continue  # a disabled guest cannot sign in; not reported
        # Collected with signInActivity but none on the user: never signed in (or not since April 2020).
        last, basis = last_activity(user.signInActivity)
        fallback += basis == FALLBACK
        reference = last or user.createdDateTime
        if reference is None:
            undated += 1
            continue
        reference = utc(reference)
        if reference > latest_possible or (user.createdDateTime and utc(user.createdDateTime) > latest_possible):
            future.append(user.id)
            continue
        if reference >= cutoff:
            continue
        inactive = (now - reference).days
        if last:
            since = f"last signed in successfully {inactive} days ago"
        elif user.signInActivity is None:
            since = f"never signed in (or not since April 2020), created {inactive} days ago"
        else:
            since = f"has no successful sign-in on record, created {inactive} days ago"
        hits.append(Hit(
            Resource("user", user.id, user.displayName or user.mail or user.userPrincipalName),
            f"Self-service sign-up guest {since} (threshold {days} days).",
            {"lastSignIn": _iso(last), "activityField": basis, "createdDateTime": _iso(user.createdDateTime),
             "lastAttempt": _iso(_real(user.signInActivity.lastSignInDateTime)) if user.signInActivity else None,
             "daysInactive": inactive, "neverSignedIn": last is None, "identityIssuers": user.issuers(),
             "accountEnabled": user.accountEnabled, "mail": user.mail}))
    if fallback:
        ctx.note(f"{fallback} guest(s) carry no lastSuccessfulSignInDateTime: judged by lastSignInDateTime, which "
                 "also counts failed attempts")
    if undated:
        ctx.gap(f"{undated} guest(s) have neither a sign-in nor a creation date and were not judged")
    if future:
        ctx.gap(f"{len(future)} guest(s) carry a sign-in or creation date after the snapshot was taken "
                f"({', '.join(sorted(future)[:20])}) and were not judged")
    return hits
