"""pydantic models of Conditional Access and the directory facts it is judged against.

Policies (``conditionalAccessPolicies``), named locations, the groups policies name (with their user
members nested as ``transitiveMembers``), cross-tenant inbound trust and the What-If answers of
``POST /identity/conditionalAccess/evaluate``. Only the fields the evaluator reads are declared;
Graph adds properties all the time and unknown ones are ignored.

Graph serialises multi-valued *flags* enums (``guestOrExternalUserTypes``, ``insiderRiskLevels``,
``transferMethods``, ``analysisReasons``) as ONE comma-separated string, while ordinary enum
collections (``clientAppTypes``, ``signInRiskLevels``...) are JSON arrays; :data:`StrList` accepts
both (and null), so a snapshot written by another tool or a later Graph version parses the same way.
Everything here is tenant data: untrusted text, compared case-insensitively and never executed.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictBool, field_validator

from auditor.model._base import GraphObject, fold


def _as_list(value: Any) -> list[str]:
    """A JSON array of strings, a comma-separated flags string, or null → a list of non-empty strings.
    Anything else is not what Graph returns: the record is set aside rather than read as a different
    list (an exclusion of ``7`` read as the id "7" would drop the real exclusion)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise ValueError("expected an array of strings or a comma-separated string")


StrList = Annotated[list[str], BeforeValidator(_as_list)]


def folded(values: list[str] | None) -> frozenset[str]:
    return frozenset(fold(v) for v in values or ())


# --- policy: users ------------------------------------------------------------------------------

class ExternalTenants(GraphObject):
    membershipKind: str | None = None
    members: StrList = Field(default_factory=list)

    @property
    def enumerated(self) -> bool:
        """True when the condition names a list of tenants rather than all of them."""
        return fold(self.membershipKind) == "enumerated" or "enumerated" in self.type_name


class GuestsOrExternalUsers(GraphObject):
    guestOrExternalUserTypes: StrList = Field(default_factory=list)
    externalTenants: ExternalTenants | None = None

    @property
    def types(self) -> set[str]:
        return {fold(t) for t in self.guestOrExternalUserTypes}

    @property
    def all_external_tenants(self) -> bool:
        """False when the condition is limited to an enumerated list of external tenants."""
        return not (self.externalTenants and self.externalTenants.enumerated)


class CAUsers(GraphObject):
    includeUsers: StrList = Field(default_factory=list)
    excludeUsers: StrList = Field(default_factory=list)
    includeGroups: StrList = Field(default_factory=list)
    excludeGroups: StrList = Field(default_factory=list)
    includeRoles: StrList = Field(default_factory=list)
    excludeRoles: StrList = Field(default_factory=list)
    includeGuestsOrExternalUsers: GuestsOrExternalUsers | None = None
    excludeGuestsOrExternalUsers: GuestsOrExternalUsers | None = None


# --- policy: target resources, client applications ---------------------------------------------

class ConditionalAccessFilter(GraphObject):
    """``applicationFilter`` and ``devices.deviceFilter``: a mode (include/exclude) and a rule."""

    mode: str | None = None
    rule: str | None = None


class CAApplications(GraphObject):
    includeApplications: StrList = Field(default_factory=list)
    excludeApplications: StrList = Field(default_factory=list)
    includeUserActions: StrList = Field(default_factory=list)
    includeAuthenticationContextClassReferences: StrList = Field(default_factory=list)
    applicationFilter: ConditionalAccessFilter | None = None


class CAClientApplications(GraphObject):
    """Workload identities (service principals) the policy targets instead of users."""

    includeServicePrincipals: StrList = Field(default_factory=list)
    excludeServicePrincipals: StrList = Field(default_factory=list)


# --- policy: other conditions --------------------------------------------------------------------

class CAPlatforms(GraphObject):
    includePlatforms: StrList = Field(default_factory=list)
    excludePlatforms: StrList = Field(default_factory=list)


class CALocations(GraphObject):
    includeLocations: StrList = Field(default_factory=list)
    excludeLocations: StrList = Field(default_factory=list)


class CADevices(GraphObject):
    deviceFilter: ConditionalAccessFilter | None = None
    # Deprecated device-state condition (still returned for old policies).
    includeDevices: StrList = Field(default_factory=list)
    excludeDevices: StrList = Field(default_factory=list)


class CAAuthenticationFlows(GraphObject):
    transferMethods: StrList = Field(default_factory=list)


class CAConditions(GraphObject):
    users: CAUsers | None = None
    applications: CAApplications | None = None
    clientApplications: CAClientApplications | None = None
    clientAppTypes: StrList = Field(default_factory=list)
    platforms: CAPlatforms | None = None
    locations: CALocations | None = None
    devices: CADevices | None = None
    signInRiskLevels: StrList = Field(default_factory=list)
    userRiskLevels: StrList = Field(default_factory=list)
    servicePrincipalRiskLevels: StrList = Field(default_factory=list)
    insiderRiskLevels: StrList = Field(default_factory=list)
    authenticationFlows: CAAuthenticationFlows | None = None


# --- policy: grant ---------------------------------------------------------------------------------

class AuthenticationStrength(GraphObject):
    id: str | None = None
    displayName: str | None = None
    requirementsSatisfied: str | None = None
    allowedCombinations: list[str] | None = None


class GrantControls(GraphObject):
    operator: str | None = None
    builtInControls: StrList = Field(default_factory=list)
    customAuthenticationFactors: StrList = Field(default_factory=list)
    termsOfUse: StrList = Field(default_factory=list)
    authenticationStrength: AuthenticationStrength | None = None

    @property
    def controls(self) -> set[str]:
        return {fold(c) for c in self.builtInControls}


class ConditionalAccessPolicy(GraphObject):
    id: str = ""
    displayName: str | None = None
    state: str | None = None
    conditions: CAConditions | None = None
    grantControls: GrantControls | None = None

    @property
    def is_enabled(self) -> bool:
        return fold(self.state) == "enabled"

    @property
    def is_report_only(self) -> bool:
        return fold(self.state) == "enabledforreportingbutnotenforced"

    @property
    def name(self) -> str:
        return self.displayName or self.id

    def ref(self) -> dict[str, str | None]:
        return {"id": self.id, "displayName": self.displayName, "state": self.state}


class AuthenticationStrengthPolicy(GraphObject):
    id: str = ""
    displayName: str | None = None
    requirementsSatisfied: str | None = None
    allowedCombinations: list[str] | None = None


# --- named locations ---------------------------------------------------------------------------------

class IpRange(GraphObject):
    cidrAddress: str | None = None


class NamedLocation(GraphObject):
    """``#microsoft.graph.ipNamedLocation`` (ranges, ``isTrusted``) or ``countryNamedLocation``."""

    id: str = ""
    displayName: str | None = None
    isTrusted: StrictBool | None = None
    ipRanges: list[IpRange] | None = None
    countriesAndRegions: StrList | None = None
    includeUnknownCountriesAndRegions: StrictBool | None = None

    @property
    def is_country(self) -> bool:
        return "country" in self.type_name or (self.countriesAndRegions is not None and self.ipRanges is None)

    @property
    def trusted(self) -> bool:
        # Only IP-range locations can be marked trusted; a country location never is.
        return bool(self.isTrusted) and not self.is_country

    @property
    def label(self) -> str:
        return self.displayName or self.id


# --- groups named by policies ---------------------------------------------------------------------------

def _member_ids(value: Any) -> frozenset[str] | None:
    """``transitiveMembers`` (user objects) → their casefolded ids; None stays None (not collected).

    Only the ids are kept: a group can have thousands of members and the evaluator needs nothing else.
    """
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError("transitiveMembers must be a list of user objects")
    return frozenset(fold(m.get("id")) for m in value if isinstance(m, dict) and isinstance(m.get("id"), str))


class ConditionalAccessGroup(GraphObject):
    """A group from ``includeGroups``/``excludeGroups`` with its user members (``transitiveMembers``).

    ``transitiveMembers`` is ``None`` when the members could not be read, which is not the same as an
    empty group.
    """

    id: str = ""
    displayName: str | None = None
    groupTypes: StrList = Field(default_factory=list)
    membershipRule: str | None = None
    membershipRuleProcessingState: str | None = None
    transitiveMembers: Annotated[frozenset[str] | None, BeforeValidator(_member_ids)] = None

    @property
    def is_dynamic(self) -> bool:
        return "dynamicmembership" in folded(self.groupTypes)

    @property
    def processing_on(self) -> bool:
        return fold(self.membershipRuleProcessingState) == "on"

    @property
    def member_ids(self) -> frozenset[str] | None:
        """Casefolded ids of the user members; None when they were not collected."""
        return self.transitiveMembers

    @property
    def label(self) -> str:
        return self.displayName or self.id


# --- cross-tenant access settings ------------------------------------------------------------------------

class InboundTrust(GraphObject):
    isMfaAccepted: StrictBool | None = None
    isCompliantDeviceAccepted: StrictBool | None = None
    isHybridAzureADJoinedDeviceAccepted: StrictBool | None = None


class CrossTenantAccessPolicyConfiguration(GraphObject):
    """The default (``isServiceDefault`` present, no ``tenantId``) or one partner (``tenantId``)."""

    tenantId: str | None = None
    isServiceDefault: StrictBool | None = None
    inboundTrust: InboundTrust | None = None

    @property
    def is_partner(self) -> bool:
        return bool(self.tenantId)

    @property
    def accepts_mfa(self) -> bool | None:
        return self.inboundTrust.isMfaAccepted if self.inboundTrust else None


# --- What-If ---------------------------------------------------------------------------------------------

class WhatIfAnalysisResult(ConditionalAccessPolicy):
    """A ``whatIfAnalysisResult``: a policy as Microsoft evaluated it for the requested sign-in."""

    policyApplies: StrictBool | None = None
    analysisReasons: StrList = Field(default_factory=list)


class WhatIfContext(GraphObject):
    """flowaudit's annotation: which cell of the sign-in matrix a What-If call answers."""

    applicationId: str | None = None
    guestKind: str | None = None
    userId: str | None = None
    platform: str | None = None
    client: str | None = None
    location: str | None = None


class WhatIfRecord(GraphObject):
    context: WhatIfContext | None = None
    request: dict[str, Any] = Field(default_factory=dict)
    value: list[WhatIfAnalysisResult] = Field(default_factory=list)

    @field_validator("value", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return value or []
