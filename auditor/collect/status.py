"""Map a Graph failure to a source status (docs/auth-setup.md, "What collect records")."""

from __future__ import annotations

from auditor.collect.transport import GraphError
from auditor.sources import ERROR, FORBIDDEN, NOT_APPLICABLE, UNAVAILABLE, UNLICENSED

UNLICENSED_CODE = "authentication_requestfromnonpremiumtenantorb2ctenant"
# Identity Governance features (PIM, and by the same service family access reviews) refuse an
# unlicensed tenant with this code ("The tenant needs to have Microsoft Entra ID P2 or Microsoft
# Entra ID Governance license"), as a 400 or a 403.
PREMIUM_REQUIRED_CODE = "aadpremiumlicenserequired"
SSU_DISABLED = "self service sign up is not enabled"
# Graph documents no error body for listing access reviews in a tenant without Entra ID P2 /
# ID Governance ("must have sufficient purchased or trial licenses"); a refusal that names a licence
# is taken as unlicensed rather than as a missing permission.
_LICENCE_WORDS = ("licen", "premium", "governance", " p2")
_LICENCE_SOURCES = frozenset({"accessReviewDefinitions"})


def classify(error: GraphError, *, api: str, cloud: str, key: str | None = None) -> str:
    code = (error.code or "").lower()
    message = error.message.lower()
    if error.untrusted:
        return ERROR
    if SSU_DISABLED in message:
        return NOT_APPLICABLE
    if error.status in (400, 403) and code == PREMIUM_REQUIRED_CODE:
        return UNLICENSED
    if error.status == 403 and code == UNLICENSED_CODE:
        return UNLICENSED
    if key in _LICENCE_SOURCES and error.status in (400, 402, 403) \
            and any(word in f" {message}" for word in _LICENCE_WORDS):
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
