"""pydantic models over the raw Graph JSON, only for the fields the rules read.

Unknown fields are ignored (Graph adds properties all the time); enum-like strings keep their raw
value and are compared case-insensitively through the helper properties, because Microsoft's own
examples mix ``RadioSingleSelect``/``radioSingleSelect`` and ``Google-OAuth``/``Google-OAUTH``.

The models are honest about what Graph returns (docs/snapshot-format.md, "Records"): a field a rule
reads that Graph always returns has no default, so a record without it fails validation and is set
aside as damage (its rules are not evaluated, never passed); types are strict (``"yes"`` is not
``True``, ``"7"`` and ``7.0`` are not ``7``, an integer is not a date), because pydantic's lax
coercions would turn garbage into a verdict. Where Graph documents a field as nullable the model
accepts null and the check treats it as "unknown". Display-only fields stay optional.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from auditor.model._base import GraphObject, fold, odata_type

# Conditional Access models live in their own module; re-exported here so existing imports keep working.
from auditor.model.conditional_access import (
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
from auditor.timefmt import EARLIEST, LATEST

# signInActivity says "never" with this value (0001-01-01T00:00:00Z); it is data, not damage.
_NEVER = datetime(1, 1, 1, tzinfo=timezone.utc)
# RFC 5280's 99991231235959Z ("no well-defined expiry") is the latest certificate time there is.
_MAX_UNIX = 253402300799


def _parse_moment(value: Any, *, sentinel: bool = False) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO-8601 date-time string, got {type(value).__name__}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected an ISO-8601 date-time string, got {value[:40]!r}") from None
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    if sentinel and moment == _NEVER:
        return moment
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"{value[:40]!r} is not a possible date ({EARLIEST.year}-{LATEST.year - 1})")
    return moment


# A date-time as Graph writes it (``2026-01-10T09:00:00Z``), never an integer or an impossible year.
GraphDateTime = Annotated[datetime, BeforeValidator(_parse_moment)]
# The same, also accepting signInActivity's "never" sentinel.
ActivityDateTime = Annotated[datetime, BeforeValidator(lambda v: _parse_moment(v, sentinel=True))]
# pkcs12CertificateInformation's notBefore/notAfter: Int64 seconds since 1970 (RFC 7519 NumericDate).
UnixSeconds = Annotated[StrictInt, Field(ge=0, le=_MAX_UNIX)]
# Graph's identifiers are short printable ASCII without spaces: GUIDs, B2X_1_ flow names,
# extension_<app>_<name> attributes, Google-OAUTH. One that is empty, spaced, enormous or carries a
# lone surrogate is damage: it would silently stop matching what it names (a guest's sign-ins, a
# flow's listener) and a rule would pass over the broken link.
ID_PATTERN = re.compile(r"[\x21-\x7e]{1,1024}")


def _identifier(value: str) -> str:
    # A Python check, not a pydantic pattern or min_length: those refuse a lone surrogate with an
    # unhelpful message before this one can name the value.
    if not ID_PATTERN.fullmatch(value):
        raise ValueError(f"{value[:40]!r} is not a Graph identifier (printable ASCII, no spaces, 1-1024 characters)")
    return value


Id = Annotated[StrictStr, AfterValidator(_identifier)]

_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def _flow_name(value: str) -> str:
    # A user flow's id is its name, free text to the tenant (markup and spaces included, escaped by
    # every output) but always "B2X_1_" + a name: no padding, control characters or lone surrogates,
    # which would make a listener's link to it silently stop matching.
    if (not value.casefold().startswith("b2x_1_") or len(value) > 1024 or value != value.strip()
            or _CONTROL.search(value)):
        raise ValueError(f"{value[:40]!r} is not a user flow id (B2X_1_ and a name, without control characters)")
    return value


FlowId = Annotated[StrictStr, AfterValidator(_flow_name)]


def graph_enum(*members: str) -> AfterValidator:
    """The validator of a string that is one of an enum's documented members (compared case-insensitively; Microsoft's
    own examples mix cases), or ``unknownFutureValue``, Graph's stand-in for members added later. Any
    other value (an empty string, a typo, text with a lone surrogate) is not what Graph returns: a rule
    comparing against "disabled" or "boolean" must not read it as "some other member"."""
    allowed = {m.casefold() for m in (*members, "unknownFutureValue")}

    def check(value: str) -> str:
        if value.casefold() not in allowed:
            raise ValueError(f"{value[:40]!r} is not one of {', '.join(members)}")
        return value

    return AfterValidator(check)




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

    id: Id  # the kind falls back to it (AADSignup-OAUTH, Google-OAUTH, ...)
    displayName: StrictStr | None = None
    identityProviderType: StrictStr | None = None
    type: StrictStr | None = None
    name: StrictStr | None = None

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
    id: Id
    displayName: StrictStr | None = None
    description: StrictStr | None = None
    # Both are non-nullable enums in Graph's metadata (identityUserFlowAttribute): ATT001-003 read them.
    userFlowAttributeType: Annotated[StrictStr, graph_enum("builtIn", "custom", "required")]
    dataType: Annotated[StrictStr, graph_enum("string", "boolean", "int64", "stringCollection", "dateTime")]

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
    name: StrictStr | None = None
    value: StrictStr | None = None
    isDefault: StrictBool | None = None


class AttributeAssignment(GraphObject):
    id: Id
    displayName: StrictStr | None = None
    # Non-nullable in Graph's metadata (identityUserFlowAttributeAssignment): ATT005/ATT006 read them.
    isOptional: StrictBool
    requiresVerification: StrictBool | None = None
    userInputType: Annotated[StrictStr, graph_enum("textBox", "dateTimeDropdown", "radioSingleSelect",
                                                   "dropdownSingleSelect", "emailBox", "checkboxMultiSelect")]
    userAttributeValues: list[AttributeValue] | None  # null reads as "no choices" (ATT006 fails, never passes)
    userAttribute: UserFlowAttribute | None = None  # only with $expand=userAttribute

    @property
    def input_type(self) -> str:
        return fold(self.userInputType)

    @property
    def is_choice(self) -> bool:
        return self.input_type in CHOICE_INPUT_TYPES


# --- API connectors ---------------------------------------------------------------------------

class Certificate(GraphObject):
    # pkcs12CertificateInformation: notAfter, notBefore and isActive are non-nullable in Graph's
    # metadata; CON003/CON004 decide on them. The thumbprint is nullable and only shown.
    thumbprint: StrictStr | None = None
    notAfter: UnixSeconds
    notBefore: UnixSeconds
    isActive: StrictBool


class AuthenticationConfiguration(GraphObject):
    # Polymorphic (apiAuthenticationConfigurationBase): the type is what says basic or certificate.
    odata_type_raw: StrictStr = Field(alias="@odata.type")
    username: StrictStr | None = None
    certificateList: list[Certificate] | None = None

    @model_validator(mode="after")
    def _certificates_listed(self) -> AuthenticationConfiguration:
        # clientCertificateAuthentication always carries certificateList (non-nullable); without it
        # "no certificate" (CON003) and "nothing expires" (CON004) would both be guesses.
        if self.kind == "certificate" and self.certificateList is None:
            raise ValueError("certificateList is missing or null for client certificate authentication")
        return self

    @property
    def kind(self) -> str:
        name = self.type_name
        if "basic" in name:
            return "basic"
        if "certificate" in name or "pkcs12" in name:
            return "certificate"
        return name or "unknown"


class ConnectorRef(GraphObject):
    """An API connector as a flow's apiConnectorConfiguration names it (the rules read its id)."""

    id: Id
    displayName: StrictStr | None = None


class ApiConnector(ConnectorRef):
    # Both always returned (identityApiConnector) and nullable in Graph's metadata: a null is kept and
    # the CON checks treat it as unknown, never as "not basic" or "no certificate".
    targetUrl: StrictStr | None
    authenticationConfiguration: AuthenticationConfiguration | None

    @property
    def auth_kind(self) -> str:
        """basic, certificate, another type's name, or "unknown" when Graph returned null."""
        return self.authenticationConfiguration.kind if self.authenticationConfiguration else "unknown"


class ApiConnectorConfiguration(GraphObject):
    # With $expand both steps are returned, null when no connector is set: an absent one is not "none".
    postFederationSignup: ConnectorRef | None
    postAttributeCollection: ConnectorRef | None

    def connectors(self) -> dict[str, ConnectorRef]:
        steps = {"postFederationSignup": self.postFederationSignup,
                 "postAttributeCollection": self.postAttributeCollection}
        return {step: c for step, c in steps.items() if c is not None}


# --- user flows -------------------------------------------------------------------------------

class UserFlow(GraphObject):
    """A B2X user flow; the collector nests its children under the names of ``auditor/sources.py``.

    A child that could not be collected is absent (``None``), which is not the same as empty.
    """

    id: FlowId
    # non-nullable (identityUserFlow); a record without it is not a flow
    userFlowType: Annotated[StrictStr, graph_enum("signUp", "signIn", "signUpOrSignIn", "passwordReset",
                                                  "profileUpdate", "resourceOwner")]
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
    includeApplications: list[Id]  # client appIds (GUIDs)


class FlowRef(GraphObject):
    id: FlowId


class UserFlowListener(GraphObject):
    id: StrictStr  # a GUID in Graph; shown, never matched
    priority: StrictInt | None = None
    # Required when a listener is created, and what links the application: a listener without it (or
    # with null) links nothing we can see, and APP001/CAP must not read that as "no link".
    sourceFilter: SourceFilter
    userFlow: FlowRef | None = None  # only with $expand=...invokeUserFlowListener/userFlow

    @property
    def app_ids(self) -> list[str]:
        return [a for a in self.sourceFilter.includeApplications if a]

    @property
    def flow_id(self) -> str | None:
        return self.userFlow.id if self.userFlow and self.userFlow.id else None


# --- tenant policies --------------------------------------------------------------------------

class SelfServiceSignUp(GraphObject):
    isEnabled: StrictBool  # "Required" (selfServiceSignUpAuthenticationFlowConfiguration)


class AuthenticationFlowsPolicy(GraphObject):
    id: StrictStr | None = None
    # Nullable in Graph's metadata: null means "not said", which the SSU checks do not read as "off".
    selfServiceSignUp: SelfServiceSignUp | None

    @property
    def sign_up_known(self) -> bool:
        return self.selfServiceSignUp is not None

    @property
    def sign_up_enabled(self) -> bool:
        return bool(self.selfServiceSignUp and self.selfServiceSignUp.isEnabled)


class EmailAuthenticationMethod(GraphObject):
    id: StrictStr | None = None
    state: Annotated[StrictStr, graph_enum("enabled", "disabled")] | None = None
    # IDP001 reads it; a non-nullable enum (externalEmailOtpState)
    allowExternalIdToUseEmailOtp: Annotated[StrictStr, graph_enum("default", "enabled", "disabled")]

    @property
    def external_otp_enabled(self) -> bool:
        # "default" means enabled for most tenants (since Oct 2021); only an explicit "disabled" is off.
        return fold(self.allowExternalIdToUseEmailOtp) != "disabled"


MEMBER_ROLE_ID = "a0b1b346-4d3e-4e8b-98f8-753987be4970"  # "User": guests get the same access as members
GUEST_ROLE_ID = "10dae51f-b6af-4016-8d66-8c2a99b929b3"  # "Guest User": limited access (the default)
RESTRICTED_GUEST_ROLE_ID = "2af84b1e-32c8-42b7-82bc-daa82404023b"  # "Restricted Guest User"
GUEST_ROLE_LEVELS = {
    MEMBER_ROLE_ID: "Same as member users",
    GUEST_ROLE_ID: "Limited access (default)",
    RESTRICTED_GUEST_ROLE_ID: "Restricted access",
}
INVITES_FROM_EVERYONE = "everyone"
# allowInvitesFrom's documented values (casefolded); any other value says nothing about who can invite.
INVITES_FROM_VALUES = frozenset({"none", "adminsandguestinviters", "adminsguestinvitersandallmembers",
                                 INVITES_FROM_EVERYONE})


class AuthorizationPolicy(GraphObject):
    id: StrictStr | None = None
    allowInvitesFrom: StrictStr | None = None
    guestUserRoleId: StrictStr | None = None  # absent from Microsoft's own example: unknown, not a default
    allowedToSignUpEmailBasedSubscriptions: StrictBool | None = None
    allowEmailVerifiedUsersToJoinOrganization: StrictBool | None = None

    @property
    def guest_role(self) -> str:
        """The casefolded role template id ("" when Graph did not say)."""
        return fold(self.guestUserRoleId).strip()

    @property
    def guest_level(self) -> str | None:
        return GUEST_ROLE_LEVELS.get(self.guest_role)


# --- users ------------------------------------------------------------------------------------

class ObjectIdentity(GraphObject):
    signInType: StrictStr | None = None
    issuer: StrictStr | None = None
    issuerAssignedId: StrictStr | None = None


class SignInActivity(GraphObject):
    lastSignInDateTime: ActivityDateTime | None = None
    lastNonInteractiveSignInDateTime: ActivityDateTime | None = None
    lastSuccessfulSignInDateTime: ActivityDateTime | None = None


class Sponsor(GraphObject):
    id: Id
    displayName: StrictStr | None = None


class User(GraphObject):
    id: Id
    displayName: StrictStr | None = None
    mail: StrictStr | None = None
    userPrincipalName: StrictStr | None = None
    userType: StrictStr | None = None
    creationType: StrictStr | None  # $select-ed, and what makes a user a self-service guest
    identities: list[ObjectIdentity] | None = None
    createdDateTime: GraphDateTime | None = None  # nullable; GST001 says which guests it could not date
    externalUserState: StrictStr | None = None
    accountEnabled: StrictBool | None = None
    signInActivity: SignInActivity | None = None
    sponsors: list[Sponsor] | None = None  # nested by the collector ($select=id,displayName)

    @property
    def sponsors_known(self) -> bool:
        """False when the record carries no ``sponsors`` at all (collected without them)."""
        return "sponsors" in self.model_fields_set and self.sponsors is not None

    @property
    def is_self_service(self) -> bool:
        return fold(self.creationType) == "selfservicesignup"

    @property
    def label(self) -> str:
        return self.displayName or self.mail or self.userPrincipalName or self.id

    def issuers(self) -> list[str]:
        return sorted({i.issuer for i in self.identities or [] if i.issuer})


__all__ = ["GraphObject", "fold", "odata_type", "AuthenticationStrength", "AuthenticationStrengthPolicy",
           "CAApplications", "CAConditions", "CAUsers", "ConditionalAccessPolicy", "ExternalTenants", "GrantControls",
           "GuestsOrExternalUsers"]
