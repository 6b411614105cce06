"""pydantic models over the raw Graph JSON, only for the fields the rules read.

Unknown fields are ignored (Graph adds properties all the time); enum-like strings keep their raw
value and are compared case-insensitively through the helper properties, because Microsoft's own
examples mix ``RadioSingleSelect``/``radioSingleSelect`` and ``Google-OAuth``/``Google-OAUTH``.
"""

from __future__ import annotations

from datetime import datetime

from auditor.model._base import GraphObject, fold, odata_type  # noqa: F401 - odata_type re-exported

# Conditional Access models live in their own module; re-exported here so existing imports keep working.
from auditor.model.conditional_access import (  # noqa: F401 - re-exported
    AuthenticationStrength,
    AuthenticationStrengthPolicy,
    CAApplications,
    CAConditions,
    CAUsers,
    ConditionalAccessPolicy,
    ExternalTenants,
    GrantControls,
    GuestsOrExternalUsers,
)

# --- identity providers -----------------------------------------------------------------------

MAIL_BASED_KINDS = frozenset({"emailOtp", "google", "facebook", "microsoftAccount"})
PROVIDER_LABELS = {
    "aadSignup": "Microsoft Entra ID sign-up",
    "microsoftAccount": "Microsoft account",
    "emailOtp": "Email one-time passcode",
    "google": "Google",
    "facebook": "Facebook",
    "other": "Other",
}
_TYPE_KINDS = {
    "aadsignup": "aadSignup",
    "azureactivedirectory": "aadSignup",
    "microsoftaccount": "microsoftAccount",
    "msa": "microsoftAccount",
    "emailotp": "emailOtp",
    "google": "google",
    "facebook": "facebook",
}
_ID_PREFIX_KINDS = (
    ("aadsignup", "aadSignup"),
    ("msasignup", "microsoftAccount"),
    ("emailotpsignup", "emailOtp"),
    ("google", "google"),
    ("facebook", "facebook"),
)


class IdentityProvider(GraphObject):
    """Both shapes: new ``identityProviderType``/``displayName`` and old ``type``/``name``."""

    id: str = ""
    displayName: str | None = None
    identityProviderType: str | None = None
    type: str | None = None
    name: str | None = None

    @property
    def kind(self) -> str:
        declared = fold(self.identityProviderType or self.type)
        if declared in _TYPE_KINDS:
            return _TYPE_KINDS[declared]
        ident = fold(self.id)
        for prefix, kind in _ID_PREFIX_KINDS:
            if ident.startswith(prefix):
                return kind
        return "other"

    @property
    def is_mail_based(self) -> bool:
        return self.kind in MAIL_BASED_KINDS

    @property
    def label(self) -> str:
        return self.displayName or self.name or PROVIDER_LABELS.get(self.kind, self.id)


# --- attributes -------------------------------------------------------------------------------

SUPPORTED_CUSTOM_TYPES = frozenset({"string", "int64"})
CHOICE_INPUT_TYPES = frozenset({"radiosingleselect", "dropdownsingleselect", "checkboxmultiselect"})


class UserFlowAttribute(GraphObject):
    id: str = ""
    displayName: str | None = None
    description: str | None = None
    userFlowAttributeType: str | None = None
    dataType: str | None = None

    @property
    def is_custom(self) -> bool:
        kind = fold(self.userFlowAttributeType)
        if kind:
            return kind == "custom"
        return "custom" in self.type_name or fold(self.id).startswith("extension_")

    @property
    def data_type(self) -> str:
        return fold(self.dataType)


class AttributeValue(GraphObject):
    name: str | None = None
    value: str | None = None
    isDefault: bool | None = None


class AttributeAssignment(GraphObject):
    id: str = ""
    displayName: str | None = None
    isOptional: bool | None = None
    requiresVerification: bool | None = None
    userInputType: str | None = None
    userAttributeValues: list[AttributeValue] | None = None
    userAttribute: UserFlowAttribute | None = None

    @property
    def input_type(self) -> str:
        return fold(self.userInputType)

    @property
    def is_choice(self) -> bool:
        return self.input_type in CHOICE_INPUT_TYPES


# --- API connectors ---------------------------------------------------------------------------

class Certificate(GraphObject):
    thumbprint: str | None = None
    notAfter: int | None = None
    notBefore: int | None = None
    isActive: bool | None = None


class AuthenticationConfiguration(GraphObject):
    username: str | None = None
    certificateList: list[Certificate] | None = None

    @property
    def kind(self) -> str:
        name = self.type_name
        if "basic" in name:
            return "basic"
        if "certificate" in name or "pkcs12" in name:
            return "certificate"
        return name or "unknown"


class ApiConnector(GraphObject):
    id: str = ""
    displayName: str | None = None
    targetUrl: str | None = None
    authenticationConfiguration: AuthenticationConfiguration | None = None

    @property
    def auth_kind(self) -> str:
        return self.authenticationConfiguration.kind if self.authenticationConfiguration else "none"


class ApiConnectorConfiguration(GraphObject):
    postFederationSignup: ApiConnector | None = None
    postAttributeCollection: ApiConnector | None = None

    def connectors(self) -> dict[str, ApiConnector]:
        steps = {"postFederationSignup": self.postFederationSignup,
                 "postAttributeCollection": self.postAttributeCollection}
        return {step: c for step, c in steps.items() if c is not None}


# --- user flows -------------------------------------------------------------------------------

class UserFlow(GraphObject):
    """A B2X user flow; the collector nests its children under the names of SPEC §4.

    A child that could not be collected is absent (``None``), which is not the same as empty.
    """

    id: str = ""
    userFlowType: str | None = None
    userFlowIdentityProviders: list[IdentityProvider] | None = None
    identityProviders: list[IdentityProvider] | None = None
    userAttributeAssignments: list[AttributeAssignment] | None = None
    apiConnectorConfiguration: ApiConnectorConfiguration | None = None

    @property
    def providers(self) -> list[IdentityProvider] | None:
        """The new relationship when collected (it includes built-ins), else the deprecated one."""
        if self.userFlowIdentityProviders is not None:
            return self.userFlowIdentityProviders
        return self.identityProviders

    def provider_kinds(self) -> set[str]:
        return {p.kind for p in self.providers or []}

    def mail_based_providers(self) -> list[IdentityProvider]:
        return [p for p in self.providers or [] if p.is_mail_based]


# --- applications linked to flows (beta onSignupStart listeners) ------------------------------

class SourceFilter(GraphObject):
    includeApplications: list[str] | None = None


class FlowRef(GraphObject):
    id: str = ""


class UserFlowListener(GraphObject):
    id: str = ""
    priority: int | None = None
    sourceFilter: SourceFilter | None = None
    userFlow: FlowRef | None = None

    @property
    def app_ids(self) -> list[str]:
        return [a for a in (self.sourceFilter.includeApplications if self.sourceFilter else None) or [] if a]

    @property
    def flow_id(self) -> str | None:
        return self.userFlow.id if self.userFlow and self.userFlow.id else None


# --- tenant policies --------------------------------------------------------------------------

class SelfServiceSignUp(GraphObject):
    isEnabled: bool | None = None


class AuthenticationFlowsPolicy(GraphObject):
    id: str | None = None
    selfServiceSignUp: SelfServiceSignUp | None = None

    @property
    def sign_up_enabled(self) -> bool:
        return bool(self.selfServiceSignUp and self.selfServiceSignUp.isEnabled)


class EmailAuthenticationMethod(GraphObject):
    id: str | None = None
    state: str | None = None
    allowExternalIdToUseEmailOtp: str | None = None

    @property
    def external_otp_enabled(self) -> bool:
        # "default" means enabled for most tenants (since Oct 2021); only an explicit "disabled" is off.
        return fold(self.allowExternalIdToUseEmailOtp) != "disabled"


class AuthorizationPolicy(GraphObject):
    id: str | None = None
    allowInvitesFrom: str | None = None
    guestUserRoleId: str | None = None


# --- users ------------------------------------------------------------------------------------

class ObjectIdentity(GraphObject):
    signInType: str | None = None
    issuer: str | None = None
    issuerAssignedId: str | None = None


class SignInActivity(GraphObject):
    lastSignInDateTime: datetime | None = None
    lastNonInteractiveSignInDateTime: datetime | None = None
    lastSuccessfulSignInDateTime: datetime | None = None

    def latest(self) -> datetime | None:
        moments = [m for m in (self.lastSignInDateTime, self.lastNonInteractiveSignInDateTime,
                               self.lastSuccessfulSignInDateTime) if m is not None and m.year > 1]
        return max(moments) if moments else None


class User(GraphObject):
    id: str = ""
    displayName: str | None = None
    mail: str | None = None
    userPrincipalName: str | None = None
    userType: str | None = None
    creationType: str | None = None
    identities: list[ObjectIdentity] | None = None
    createdDateTime: datetime | None = None
    externalUserState: str | None = None
    accountEnabled: bool | None = None
    signInActivity: SignInActivity | None = None

    @property
    def is_self_service(self) -> bool:
        return fold(self.creationType) == "selfservicesignup"

    @property
    def label(self) -> str:
        return self.displayName or self.mail or self.userPrincipalName or self.id

    def issuers(self) -> list[str]:
        return sorted({i.issuer for i in self.identities or [] if i.issuer})

