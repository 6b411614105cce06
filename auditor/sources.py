"""The Graph sources flowaudit reads (SPEC §4): one key each, with its endpoint and permission.

This table is shared by the collector, the snapshot manifest, ``flowaudit permissions`` and the
rule engine's "not evaluated" reasons, so a permission is named the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

# Source statuses (SPEC §4).
OK = "ok"
FORBIDDEN = "forbidden"
UNLICENSED = "unlicensed"
NOT_APPLICABLE = "notApplicable"
UNAVAILABLE = "unavailable"
ERROR = "error"
STATUSES = (OK, FORBIDDEN, UNLICENSED, NOT_APPLICABLE, UNAVAILABLE, ERROR)


@dataclass(frozen=True)
class Source:
    key: str
    api: str  # "v1.0" or "beta"
    path: str  # Graph path (with query) relative to the version root
    permission: str  # least-privileged application permission
    license: str | None = None
    note: str | None = None
    singleton: bool = False


SOURCES: tuple[Source, ...] = (
    Source("authenticationFlowsPolicy", "v1.0", "/policies/authenticationFlowsPolicy", "Policy.Read.All",
           singleton=True),
    Source("b2xUserFlows", "v1.0", "/identity/b2xUserFlows", "IdentityUserFlow.Read.All",
           note="apiConnectorConfiguration per flow is documented with IdentityUserFlow.ReadWrite.All only"),
    Source("userFlowAttributes", "v1.0", "/identity/userFlowAttributes", "IdentityUserFlow.Read.All"),
    Source("apiConnectors", "v1.0", "/identity/apiConnectors", "APIConnectors.Read.All",
           note="Microsoft docs list APIConnectors.ReadWrite.All; Read.All is tried first and a refusal is reported as forbidden"),
    Source("identityProviders", "v1.0", "/identity/identityProviders", "IdentityProvider.Read.All"),
    Source("userFlowApplications", "beta",
           "/identity/events/onSignupStart?$expand=microsoft.graph.invokeUserFlowListener/userFlow",
           "Policy.Read.All", note="beta only, not in the published OpenAPI; may be unavailable"),
    Source("conditionalAccessPolicies", "v1.0", "/identity/conditionalAccess/policies", "Policy.Read.All",
           license="Entra ID P1 (Conditional Access)"),
    Source("authenticationStrengthPolicies", "v1.0", "/policies/authenticationStrengthPolicies", "Policy.Read.All"),
    Source("emailAuthenticationMethod", "v1.0",
           "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/email", "Policy.Read.All",
           singleton=True),
    Source("authorizationPolicy", "v1.0", "/policies/authorizationPolicy", "Policy.Read.All", singleton=True),
    Source("selfServiceSignUpUsers", "v1.0",
           "/users?$filter=creationType eq 'SelfServiceSignUp'&$select=id,displayName,mail,userPrincipalName,"
           "userType,creationType,identities,createdDateTime,externalUserState,accountEnabled,signInActivity"
           "&$top=999",
           "User.Read.All",
           license="Entra ID P1 for signInActivity (+ AuditLog.Read.All)"),
    Source("signIns", "beta", "/auditLogs/signIns", "AuditLog.Read.All", license="Entra ID P1"),
)

SOURCE_KEYS: tuple[str, ...] = tuple(s.key for s in SOURCES)
BY_KEY: dict[str, Source] = {s.key: s for s in SOURCES}

# Extra permissions a source needs beyond its least-privileged one.
EXTRA_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "b2xUserFlows": ("IdentityUserFlow.ReadWrite.All",),
    "selfServiceSignUpUsers": ("AuditLog.Read.All",),
}
