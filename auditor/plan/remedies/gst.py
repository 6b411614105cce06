"""GST001: inactive self-service sign-up guests — disable the account (never delete it).

Disabling is reversible in one request and keeps the guest's object, sponsors and audit trail; the
precondition also re-reads the guest's sign-in activity, so a guest who signed in since the snapshot
is refused rather than locked out.
"""

from __future__ import annotations

from auditor.plan.inputs import NOT_FOUND, pointer_get
from auditor.plan.permissions import USER_ACCOUNT
from auditor.plan.remedies import Draft, NoRemedy, RemedyContext, check, remedy, request, step
from auditor.result import Finding

ACTIVITY = ("lastSuccessfulSignInDateTime", "lastSignInDateTime", "lastNonInteractiveSignInDateTime")


@remedy("GST001")
def disable_inactive_guest(ctx: RemedyContext, finding: Finding) -> list[Draft]:
    user = ctx.record("selfServiceSignUpUsers", finding.resource.id)
    if user is None:
        raise NoRemedy(f"guest {finding.resource.id} is not in the snapshot")
    if user.get("accountEnabled") is not True:
        raise NoRemedy("the snapshot shows the account already disabled")
    item = ctx.url("selfServiceSignUpUsers", ctx.item(user["id"]))
    read = ctx.url("selfServiceSignUpUsers", ctx.item(user["id"]),
                   query="$select=id,displayName,accountEnabled,signInActivity")
    activity = []
    for name in ACTIVITY:
        value = pointer_get(user, f"/signInActivity/{name}")
        # Absent in the snapshot: it must still be absent (or null) live, i.e. no sign-in since.
        activity.append(check(f"no sign-in since the snapshot ({name} unchanged)", read, "equals",
                              f"/signInActivity/{name}", None if value is NOT_FOUND else value))
    undo = step("r1", "Enable the guest account again", request("PATCH", item, {"accountEnabled": True}),
                USER_ACCOUNT, reads=("selfServiceSignUpUsers",),
                precondition=[check("the account is disabled", read, "equals", "/accountEnabled", False)])
    main = step("s1", "Disable the guest account (sign-in blocked; the account is kept)",
                request("PATCH", item, {"accountEnabled": False}), USER_ACCOUNT,
                reads=("selfServiceSignUpUsers",),
                precondition=[check("the account is enabled", read, "equals", "/accountEnabled", True), *activity],
                rollback=[undo])
    days = finding.evidence.get("daysInactive")
    since = f"inactive for {days} days" if isinstance(days, int) else "inactive"
    return [Draft(key=("GST001", user["id"].casefold()), steps=[main],
                  summary=f"Disable the inactive self-service sign-up guest ({since}); the account is kept and "
                          "can be enabled again.")]
