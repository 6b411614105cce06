"""GST: lifecycle of self-service sign-up guests (inactivity measured against the snapshot time)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from auditor.checks import CheckContext, Hit, NotApplicable, NotEvaluated, Resource, check


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _iso(moment: datetime | None) -> str | None:
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


@check("GST001")
def inactive_guests(ctx: CheckContext) -> list[Hit]:
    users = ctx.tenant.self_service_users
    if not users:
        raise NotApplicable("no self-service sign-up guest exists")
    if not ctx.tenant.users_have_sign_in_activity:
        raise NotEvaluated("users were collected without signInActivity: reading it needs AuditLog.Read.All "
                           "and an Entra ID P1 licence")
    days = int(ctx.params["days"])
    now = _utc(ctx.now)
    cutoff = now - timedelta(days=days)
    hits = []
    undated = 0
    future: list[str] = []
    # A guest cannot have signed in or been created after the snapshot was taken; a day of slack
    # covers a collection that ran for a while. Such a date is corrupt and must not read as "active".
    latest_possible = now + timedelta(days=1)
    for user in users:
        if user.accountEnabled is False:
            continue  # a disabled account cannot sign in: it is what this rule asks for, not a finding
        # A null (or absent) signInActivity, or only 0001-01-01 sentinels, means never signed in.
        last = user.signInActivity.latest() if user.signInActivity else None
        reference = last or user.createdDateTime
        if reference is None:
            undated += 1
            continue
        reference = _utc(reference)
        if reference > latest_possible or (user.createdDateTime and _utc(user.createdDateTime) > latest_possible):
            future.append(user.id)
            continue
        if reference >= cutoff:
            continue
        inactive = (now - reference).days
        since = f"last signed in {inactive} days ago" if last else f"never signed in, created {inactive} days ago"
        hits.append(Hit(
            Resource("user", user.id, user.displayName or user.mail or user.userPrincipalName),
            f"Self-service sign-up guest {since} (threshold {days} days).",
            {"lastSignIn": _iso(last), "createdDateTime": _iso(user.createdDateTime), "daysInactive": inactive,
             "neverSignedIn": last is None, "identityIssuers": user.issuers(),
             "accountEnabled": user.accountEnabled, "mail": user.mail}))
    if undated:
        ctx.gap(f"{undated} guest(s) have neither a sign-in nor a creation date and were not judged")
    if future:
        ctx.gap(f"{len(future)} guest(s) carry a sign-in or creation date after the snapshot was taken "
                f"({', '.join(sorted(future)[:20])}) and were not judged")
    return hits
