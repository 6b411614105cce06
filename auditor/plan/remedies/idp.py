"""IDP001: a flow offers Email one-time passcode, which is off for external users — allow it."""

from __future__ import annotations

from auditor.model.graph import fold
from auditor.plan.permissions import EMAIL_METHOD
from auditor.plan.remedies import Draft, NoRemedy, RemedyContext, check, remedy, request, step
from auditor.result import Finding

POINTER = "/allowExternalIdToUseEmailOtp"
ODATA_TYPE = "#microsoft.graph.emailAuthenticationMethodConfiguration"  # the update must name the type


@remedy("IDP001")
def allow_email_otp(ctx: RemedyContext, finding: Finding) -> list[Draft]:
    record = ctx.single("emailAuthenticationMethod")
    current = record.get("allowExternalIdToUseEmailOtp") if record else None
    if fold(current) != "disabled":
        raise NoRemedy("the snapshot does not show Email OTP as disabled for external users")
    url = ctx.url("emailAuthenticationMethod")
    undo = step("r1", "Disable Email one-time passcode for external users again",
                request("PATCH", url, {"@odata.type": ODATA_TYPE, "allowExternalIdToUseEmailOtp": current}),
                EMAIL_METHOD, reads=("emailAuthenticationMethod",),
                precondition=[check("Email OTP is enabled for external users", url, "equals", POINTER, "enabled")])
    main = step("s1", "Allow Email one-time passcode for external users",
                request("PATCH", url, {"@odata.type": ODATA_TYPE, "allowExternalIdToUseEmailOtp": "enabled"}),
                EMAIL_METHOD, reads=("emailAuthenticationMethod",),
                precondition=[check("Email OTP is disabled for external users", url, "equals", POINTER, current)],
                rollback=[undo])
    # One tenant-wide switch fixes every flow's finding: all IDP001 findings share this change.
    return [Draft(key=("IDP001",), steps=[main],
                  summary="Allow external users to use Email one-time passcode: user flows offer it, but the "
                          "authentication method is disabled for them, so guests who choose it cannot sign up.")]
