"""Map a Graph failure to a source status (SPEC §4)."""

from __future__ import annotations

from auditor.collect.transport import GraphError
from auditor.sources import ERROR, FORBIDDEN, NOT_APPLICABLE, UNAVAILABLE, UNLICENSED

UNLICENSED_CODE = "authentication_requestfromnonpremiumtenantorb2ctenant"
SSU_DISABLED = "self service sign up is not enabled"


def classify(error: GraphError, *, api: str, cloud: str) -> str:
    code = (error.code or "").lower()
    message = error.message.lower()
    if SSU_DISABLED in message:
        return NOT_APPLICABLE
    if error.status == 403 and code == UNLICENSED_CODE:
        return UNLICENSED
    if error.status == 403:
        return FORBIDDEN
    if error.status in (400, 404):
        if api == "beta":
            return UNAVAILABLE  # beta path not served (the onSignupStart listener API may be gone)
        if cloud != "global":
            return NOT_APPLICABLE  # several B2X endpoints do not exist in US Gov / DoD
    return ERROR


def is_unlicensed(error: GraphError) -> bool:
    return error.status == 403 and (error.code or "").lower() == UNLICENSED_CODE
