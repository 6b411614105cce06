"""The Graph sources flowaudit reads: one table, one row per source key.

Everything that depends on a source reads it from here: the collector (URL, query, children,
permissions), the snapshot reader (the keys every record of the source carries), the rule catalog
(known source names), ``flowaudit permissions``, and the "not evaluated" reasons and remedies the
engine stores on a rule outcome. A permission is therefore named the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote

# Source statuses (docs/snapshot-format.md).
OK = "ok"
FORBIDDEN = "forbidden"
UNLICENSED = "unlicensed"
NOT_APPLICABLE = "notApplicable"
UNAVAILABLE = "unavailable"
ERROR = "error"
STATUSES = (OK, FORBIDDEN, UNLICENSED, NOT_APPLICABLE, UNAVAILABLE, ERROR)
NOT_COLLECTED = "missing"  # the snapshot has no entry for the source (an older snapshot, or a live-only source)


def encode_query(params: tuple[tuple[str, str], ...] | dict[str, str]) -> str:
    """A Graph query string that keeps ``$``, quotes and OData punctuation readable."""
    items = params.items() if isinstance(params, dict) else params
    return "&".join(f"{name}={quote(value, safe=chr(39) + ',:()/=$')}" for name, value in items)


@dataclass(frozen=True)
class Child:
    """A per-record sub-resource the collector nests under the parent record, under ``name``."""

    name: str
    path: str  # below the parent's item URL, with its query
    collection: bool
    permission: str | None = None  # when it needs more than the parent source's permission
    clouds: tuple[str, ...] | None = None  # clouds where Graph serves it (None: all)


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    api: str  # "v1.0" or "beta"
    path: str  # Graph path relative to the version root, without the query
    permission: str  # least-privileged application permission
    query: tuple[tuple[str, str], ...] = ()
    method: str = "GET"
    extra_permissions: tuple[str, ...] = ()  # needed for parts of the source (children, properties)
    license: str | None = None
    note: str | None = None
    singleton: bool = False
    children: tuple[Child, ...] = ()
    live_only: bool = False  # exists only in snapshots taken live (never rebuilt offline)
    # Keys every record of this source carries with a value ("a|b": one of them; "a?": present, but
    # Graph documents it as nullable). A file whose records lack them holds something else (another
    # source's records, a record cut short): the source is damaged (docs/snapshot-format.md).
    record_keys: tuple[str, ...] = ("id",)

    @property
    def endpoint(self) -> str:
        """How ``flowaudit permissions`` and the docs show the request."""
        query = "?" + "&".join(f"{name}={value}" for name, value in self.query) if self.query else ""
        return f"{self.method} /{self.api}{self.path}{query}"

    @property
    def permissions(self) -> tuple[str, ...]:
        return (self.permission, *self.extra_permissions)


USERS_SELECT = ("id,displayName,mail,userPrincipalName,userType,creationType,identities,createdDateTime,"
                "externalUserState,accountEnabled")

SOURCES: tuple[Source, ...] = (
    Source("authenticationFlowsPolicy", "Self-service sign-up switch", "v1.0", "/policies/authenticationFlowsPolicy",
           "Policy.Read.All", singleton=True, record_keys=("id", "selfServiceSignUp?")),
    Source("b2xUserFlows", "User flows", "v1.0", "/identity/b2xUserFlows", "IdentityUserFlow.Read.All",
           extra_permissions=("IdentityUserFlow.ReadWrite.All",),
           note="apiConnectorConfiguration per flow is documented with IdentityUserFlow.ReadWrite.All only",
           children=(
               Child("userFlowIdentityProviders", "/userFlowIdentityProviders", collection=True),
               Child("userAttributeAssignments", "/userAttributeAssignments?$expand=userAttribute", collection=True),
               Child("apiConnectorConfiguration",
                     "/apiConnectorConfiguration?$expand=postFederationSignup,postAttributeCollection",
                     collection=False, permission="IdentityUserFlow.ReadWrite.All", clouds=("global", "china")),
           ),
           record_keys=("id", "userFlowType")),
    Source("userFlowAttributes", "User flow attributes", "v1.0", "/identity/userFlowAttributes",
           "IdentityUserFlow.Read.All", record_keys=("id", "dataType")),
    Source("apiConnectors", "API connectors", "v1.0", "/identity/apiConnectors", "APIConnectors.Read.All",
           note="Microsoft docs list APIConnectors.ReadWrite.All; Read.All is tried first and a refusal is "
                "reported as forbidden",
           record_keys=("id", "targetUrl?")),
    Source("identityProviders", "Identity providers", "v1.0", "/identity/identityProviders",
           "IdentityProvider.Read.All", record_keys=("id", "identityProviderType|type")),
    Source("userFlowApplications", "Applications linked to user flows", "beta", "/identity/events/onSignupStart",
           "Policy.Read.All", query=(("$expand", "microsoft.graph.invokeUserFlowListener/userFlow"),),
           note="beta only, not in the published OpenAPI; may be unavailable",
           record_keys=("id", "sourceFilter")),
    Source("conditionalAccessPolicies", "Conditional Access policies", "v1.0", "/identity/conditionalAccess/policies",
           "Policy.Read.All", license="Entra ID P1 (Conditional Access)",
           record_keys=("id", "state", "conditions", "grantControls?")),
    Source("authenticationStrengthPolicies", "Authentication strengths", "v1.0",
           "/policies/authenticationStrengthPolicies", "Policy.Read.All",
           record_keys=("id", "allowedCombinations")),
    Source("emailAuthenticationMethod", "Email one-time passcode method", "v1.0",
           "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/email", "Policy.Read.All",
           singleton=True, record_keys=("id", "allowExternalIdToUseEmailOtp")),
    Source("authorizationPolicy", "Authorization policy", "v1.0", "/policies/authorizationPolicy", "Policy.Read.All",
           singleton=True, record_keys=("id", "allowInvitesFrom")),
    Source("selfServiceSignUpUsers", "Self-service sign-up guests", "v1.0", "/users", "User.Read.All",
           query=(("$filter", "creationType eq 'SelfServiceSignUp'"),
                  ("$select", USERS_SELECT + ",signInActivity"),
                  ("$expand", "sponsors($select=id,displayName)"),
                  ("$top", "500")),
           extra_permissions=("AuditLog.Read.All",),
           license="Entra ID P1 for signInActivity (+ AuditLog.Read.All)",
           note="with signInActivity Graph serves at most 500 users a page, 10 requests a minute; without the "
                "licence the users are read again without it ($top=999)",
           record_keys=("id", "creationType")),
    Source("signIns", "Sign-in log (interactive)", "beta", "/auditLogs/signIns", "AuditLog.Read.All",
           query=(("$filter", "createdDateTime ge {from} and createdDateTime le {to} and "
                              "signInEventTypes/any(t: t eq 'interactiveUser')"), ("$top", "1000")),
           license="Entra ID P1", record_keys=("id", "createdDateTime", "userId")),
    # -- v2 -------------------------------------------------------------------------------------
    Source("namedLocations", "Named locations", "v1.0", "/identity/conditionalAccess/namedLocations",
           "Policy.Read.All", record_keys=("id", "displayName")),
    Source("conditionalAccessGroups", "Groups used by Conditional Access", "v1.0", "/groups/{id}",
           "GroupMember.Read.All",
           query=(("$select", "id,displayName,groupTypes,membershipRule,membershipRuleProcessingState"),),
           note="one request per group named in a policy's includeGroups/excludeGroups; user members nested "
                "as transitiveMembers",
           # The OData cast is an advanced query: $count=true (and the ConsistencyLevel: eventual header).
           children=(Child("transitiveMembers", "/transitiveMembers/microsoft.graph.user?$select=id,userType,"
                                                "creationType&$count=true&$top=999", collection=True),),
           record_keys=("id", "groupTypes")),
    Source("conditionalAccessWhatIf", "Conditional Access What-If answers", "v1.0",
           "/identity/conditionalAccess/evaluate", "Policy.Read.All", method="POST",
           note="live only: one call per (application, guest kind, sign-in context), bounded by "
                "--whatif-max-calls; least privilege Policy.Read.ConditionalAccess",
           live_only=True, record_keys=("request", "value")),
    Source("crossTenantAccessPolicy", "Cross-tenant access settings", "v1.0",
           "/policies/crossTenantAccessPolicy/default", "Policy.Read.All",
           note="the default and GET /policies/crossTenantAccessPolicy/partners, one line each object",
           record_keys=("inboundTrust|tenantId|isServiceDefault",)),
    Source("linkedServicePrincipals", "Service principals of linked applications", "v1.0", "/servicePrincipals",
           "Application.Read.All",
           query=(("$filter", "appId in ({appIds})"),
                  ("$select", "id,appId,displayName,appRoleAssignmentRequired,accountEnabled")),
           note="only the appIds linked to user flows (userFlowApplications), 15 per request",
           record_keys=("id", "appId")),
    Source("accessReviewDefinitions", "Access review definitions", "v1.0",
           "/identityGovernance/accessReviews/definitions", "AccessReview.Read.All",
           license="Microsoft Entra ID Governance or Entra ID P2 (access reviews)", record_keys=("id", "scope")),
)

SOURCE_KEYS: tuple[str, ...] = tuple(s.key for s in SOURCES)
BY_KEY: dict[str, Source] = {s.key: s for s in SOURCES}


# -- what a status means, and what to do about it ---------------------------------------------------

def status_reason(key: str, status: str, *, error: str | None = None, partial: bool = False) -> str:
    """Why a rule could not use the source (the "not evaluated" reason), naming its status and error."""
    if status == NOT_COLLECTED:
        live = " (it is collected only by a live run)" if key in BY_KEY and BY_KEY[key].live_only else ""
        return f"source {key} was not collected{live}"
    text = f"source {key} is {status}"
    if status == OK and partial:
        text = f"source {key} is partial"
    if error:
        text += f" ({error})"
    return text


def remedy(key: str, status: str, *, partial: bool = False, permission: str | None = None) -> str:
    """What an administrator does so that rules reading the source can be evaluated next time."""
    source = BY_KEY.get(key)
    if status == NOT_COLLECTED:
        if source and source.live_only:
            return f"Run a live collection to get {key} (it is not in offline snapshots)."
        return f"Collect {key} (the snapshot predates it or left it out)."
    if status == FORBIDDEN:
        granted = permission or (source.permission if source else "the permission it needs")
        extra = [p for p in (source.extra_permissions if source else ()) if p != granted]
        also = f" (some parts need {', '.join(extra)})" if extra else ""
        return f"Grant {granted} to the collecting identity for {key}{also}."
    if status == UNLICENSED:
        return f"{key} needs {source.license if source and source.license else 'a premium licence'}."
    if status == UNAVAILABLE:
        return f"{key}: the endpoint is not served for this tenant or cloud; nothing to grant."
    if status == NOT_APPLICABLE:
        return f"{key}: not applicable (the feature is not enabled, or not served in this cloud)."
    if status == OK and partial:
        return f"Collect {key} again completely (the last collection was partial)."
    return f"Collect {key} again (it ended with status {status})."


# -- the keys every record of a source carries ----------------------------------------------------

_MISSING = object()


@cache
def _key_specs(key: str) -> tuple[tuple[str, tuple[str, ...], bool], ...]:
    """A source's ``record_keys`` as (spec, names, nullable), parsed once (sign-ins are checked a
    million times). "a|b": one of them; a trailing "?": present, but Graph documents it nullable."""
    source = BY_KEY.get(key)
    return tuple((spec.rstrip("?"), tuple(spec.rstrip("?").split("|")), spec.endswith("?"))
                 for spec in (source.record_keys if source else ()))


def missing_record_keys(key: str, record: dict[str, Any]) -> list[str]:
    """The keys every record of the source carries that this one lacks, or holds as null where Graph
    never returns null (the collector and the snapshot reader both check records with this)."""
    missing = []
    for spec, names, nullable in _key_specs(key):
        for name in names:
            value = record.get(name, _MISSING)
            if value is not _MISSING and (nullable or value is not None):
                break
        else:
            missing.append(f"{spec!r} (missing)" if nullable else f"{spec!r} (missing or null)")
    return missing
