"""SSU002: self-service sign-up is on with no user flow — switch it off."""

from __future__ import annotations

from auditor.plan.inputs import pointer_get
from auditor.plan.permissions import AUTHENTICATION_FLOWS
from auditor.plan.remedies import Draft, NoRemedy, RemedyContext, check, remedy, request, step
from auditor.result import Finding

POINTER = "/selfServiceSignUp/isEnabled"


@remedy("SSU002")
def switch_sign_up_off(ctx: RemedyContext, finding: Finding) -> list[Draft]:
    record = ctx.single("authenticationFlowsPolicy")
    if record is None or pointer_get(record, POINTER) is not True:
        raise NoRemedy("the snapshot does not show self-service sign-up as enabled")
    url = ctx.url("authenticationFlowsPolicy")
    undo = step("r1", "Switch guest self-service sign-up back on",
                request("PATCH", url, {"selfServiceSignUp": {"isEnabled": True}}), AUTHENTICATION_FLOWS,
                reads=("authenticationFlowsPolicy",),
                precondition=[check("self-service sign-up is off", url, "equals", POINTER, False)])
    main = step("s1", "Switch guest self-service sign-up off",
                request("PATCH", url, {"selfServiceSignUp": {"isEnabled": False}}), AUTHENTICATION_FLOWS,
                reads=("authenticationFlowsPolicy", "b2xUserFlows"),
                precondition=[
                    check("self-service sign-up is on", url, "equals", POINTER, True),
                    # a flow created since the snapshot would be switched off with it
                    check("still no user flow exists", ctx.url("b2xUserFlows"), "idsEqual", value=[]),
                ],
                rollback=[undo])
    return [Draft(key=("SSU002",), steps=[main],
                  summary="Switch guest self-service sign-up off: it is enabled but no user flow exists, so it "
                          "is attack surface without use.")]
