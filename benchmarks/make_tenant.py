"""Generate a large synthetic tenant snapshot (SPEC §5) for benchmarks and scale tests.

    python benchmarks/make_tenant.py --guests 40000 --sign-ins 600000 --flows 20 --policies 200 --out DIR

Every record has the shape Microsoft Graph really returns, quirks included (PascalCase enums,
``Google-OAuth``/``Google-OAUTH``, old-shape providers, CSV ``guestOrExternalUserTypes``, an
``@odata.type`` without ``#``, ``******`` secrets, the ``0001-01-01T00:00:00Z`` sentinel). The
output is seeded: the same arguments give the same bytes. Sign-ins are generated lazily and
streamed into the gzip file, so memory does not grow with ``--sign-ins``.

The Graph-object builders at the top are also used by ``scripts/make_samples.py``.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script from a checkout: make `auditor` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.snapshot.writer import SnapshotWriter  # noqa: E402

COLLECTED_AT = datetime(2026, 11, 1, 6, 0, 0, tzinfo=timezone.utc)
NEVER = "0001-01-01T00:00:00Z"  # Graph's "never signed in" value in signInActivity
STRENGTH_MFA = "00000000-0000-0000-0000-000000000002"
STRENGTH_PASSWORDLESS = "00000000-0000-0000-0000-000000000003"
STRENGTH_PHISHING_RESISTANT = "00000000-0000-0000-0000-000000000004"


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def uuid_from(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


# --- Graph-shaped builders ---------------------------------------------------------------------

BUILTIN_PROVIDERS = {
    "AADSignup-OAUTH": ("AADSignup", "Azure Active Directory Sign up"),
    "MSASignup-OAUTH": ("MicrosoftAccount", "Microsoft Account"),
    "EmailOtpSignup-OAUTH": ("EmailOTP", "Email one-time passcode"),
}


def provider(provider_id: str, *, old_shape: bool = False, odata_hash: bool = True) -> dict[str, Any]:
    """A user-flow or tenant identity provider. ``old_shape`` uses the deprecated type/name pair."""
    hash_ = "#" if odata_hash else ""
    if provider_id in BUILTIN_PROVIDERS:
        kind, name = BUILTIN_PROVIDERS[provider_id]
        return {"@odata.type": f"{hash_}microsoft.graph.builtInIdentityProvider", "id": provider_id,
                "displayName": name, "identityProviderType": kind}
    kind = "Google" if provider_id.lower().startswith("google") else "Facebook"
    if old_shape:
        return {"@odata.type": f"{hash_}microsoft.graph.socialIdentityProvider", "id": provider_id,
                "type": kind, "name": kind, "clientId": f"{kind.lower()}-client-id.apps.example",
                "clientSecret": "******"}
    return {"@odata.type": f"{hash_}microsoft.graph.socialIdentityProvider", "id": provider_id,
            "displayName": kind, "identityProviderType": kind,
            "clientId": f"{kind.lower()}-client-id.apps.example", "clientSecret": "******"}


def attribute(attr_id: str, data_type: str = "string", *, custom: bool = True, name: str | None = None,
              description: str = "") -> dict[str, Any]:
    return {"id": attr_id, "displayName": name or attr_id.split("_")[-1], "description": description,
            "userFlowAttributeType": "custom" if custom else "builtIn", "dataType": data_type}


def assignment(attr: dict[str, Any], *, optional: bool = False, input_type: str = "TextBox",
               values: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """A userAttributeAssignment with its userAttribute expanded (as the collector nests it)."""
    custom = attr["userFlowAttributeType"] == "custom"
    return {"id": attr["id"], "isOptional": optional, "requiresVerification": False,
            "userInputType": input_type, "displayName": attr["displayName"],
            "userAttributeValues": [{"name": n, "value": v, "isDefault": i == 0} for i, (n, v) in enumerate(values)],
            "userAttribute": {"@odata.type": "#Microsoft.Graph.CustomUserFlowAttribute" if custom
                              else "#Microsoft.Graph.BuiltInUserFlowAttribute", **attr}}


def certificate(not_after: datetime, not_before: datetime, *, active: bool = True,
                thumbprint: str = "0EB255CC895477798BA418B378255204304897AD") -> dict[str, Any]:
    return {"thumbprint": thumbprint, "notAfter": epoch(not_after), "notBefore": epoch(not_before),
            "isActive": active}


def connector(connector_id: str, name: str, url: str, *, basic: bool = False,
              certificates: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if basic:
        config: dict[str, Any] = {"@odata.type": "#microsoft.graph.basicAuthentication",
                                  "username": "svc-signup", "password": "******"}
    else:
        config = {"@odata.type": "#microsoft.graph.clientCertificateAuthentication",
                  "certificateList": certificates or []}
    return {"id": connector_id, "displayName": name, "targetUrl": url, "authenticationConfiguration": config}


def user_flow(flow_id: str, providers: list[dict[str, Any]], assignments: list[dict[str, Any]],
              post_federation_signup: dict[str, Any] | None = None,
              post_attribute_collection: dict[str, Any] | None = None) -> dict[str, Any]:
    """A b2xUserFlow with the children the collector nests under it."""
    return {"id": flow_id, "userFlowType": "signUpOrSignIn", "userFlowTypeVersion": 1,
            "apiConnectorConfiguration": {"postFederationSignup": post_federation_signup,
                                          "postAttributeCollection": post_attribute_collection},
            "userFlowIdentityProviders": providers, "userAttributeAssignments": assignments}


def listener(listener_id: str, flow_id: str, app_ids: list[str], priority: int = 500) -> dict[str, Any]:
    """A beta onSignupStart listener: links applications (appIds) to a user flow."""
    return {"@odata.type": "#microsoft.graph.invokeUserFlowListener", "id": listener_id, "priority": priority,
            "sourceFilter": {"includeApplications": app_ids},
            "userFlow": {"id": flow_id, "userFlowType": "signUpOrSignIn", "userFlowTypeVersion": 1}}


def strength_policy(strength_id: str, name: str, combinations: list[str], *, builtin: bool = True) -> dict[str, Any]:
    return {"id": strength_id, "createdDateTime": "2021-12-01T00:00:00Z",
            "modifiedDateTime": "2021-12-01T00:00:00Z", "displayName": name, "description": name,
            "policyType": "builtIn" if builtin else "custom", "requirementsSatisfied": "mfa",
            "allowedCombinations": combinations}


BUILTIN_STRENGTHS = [
    strength_policy(STRENGTH_MFA, "Multifactor authentication",
                    ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor", "deviceBasedPush",
                     "temporaryAccessPassOneTime", "temporaryAccessPassMultiUse", "password,microsoftAuthenticatorPush",
                     "password,softwareOath", "password,hardwareOath", "password,sms", "password,voice",
                     "federatedMultiFactor", "microsoftAuthenticatorPush,federatedSingleFactor",
                     "softwareOath,federatedSingleFactor", "hardwareOath,federatedSingleFactor",
                     "sms,federatedSingleFactor", "voice,federatedSingleFactor"]),
    strength_policy(STRENGTH_PASSWORDLESS, "Passwordless MFA",
                    ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor", "deviceBasedPush"]),
    strength_policy(STRENGTH_PHISHING_RESISTANT, "Phishing-resistant MFA",
                    ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"]),
]


def ca_policy(policy_id: str, name: str, *, state: str = "enabled", include_users: Sequence[str] = ("All",),
              exclude_users: Sequence[str] = (), include_roles: Sequence[str] = (),
              include_groups: Sequence[str] = (), guest_types: str | None = None,
              exclude_guest_types: str | None = None, include_apps: Sequence[str] = ("All",),
              exclude_apps: Sequence[str] = (), controls: Sequence[str] = ("mfa",), operator: str = "OR",
              strength: dict[str, Any] | None = None, client_app_types: Sequence[str] = ("all",),
              created: str = "2024-03-14T09:12:44.1234567Z") -> dict[str, Any]:
    """A Conditional Access policy; guest types are given as Graph sends them: one CSV string."""

    def guests(types: str | None) -> dict[str, Any] | None:
        if not types:
            return None
        return {"guestOrExternalUserTypes": types,
                "externalTenants": {"@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants",
                                    "membershipKind": "all"}}

    return {
        "id": policy_id, "templateId": None, "displayName": name, "createdDateTime": created,
        "modifiedDateTime": created, "state": state, "sessionControls": None,
        "conditions": {
            "userRiskLevels": [], "signInRiskLevels": [], "clientAppTypes": list(client_app_types),
            "platforms": None, "locations": None, "devices": None,
            "applications": {"includeApplications": list(include_apps), "excludeApplications": list(exclude_apps),
                             "includeUserActions": [], "includeAuthenticationContextClassReferences": []},
            "users": {"includeUsers": list(include_users), "excludeUsers": list(exclude_users),
                      "includeGroups": list(include_groups), "excludeGroups": [],
                      "includeRoles": list(include_roles), "excludeRoles": [],
                      "includeGuestsOrExternalUsers": guests(guest_types),
                      "excludeGuestsOrExternalUsers": guests(exclude_guest_types)},
        },
        "grantControls": {"operator": operator, "builtInControls": list(controls),
                          "customAuthenticationFactors": [], "termsOfUse": [],
                          "authenticationStrength": strength},
    }


ISSUERS = {  # identity used at sign-up -> (identities[].issuer, signInType)
    "emailOtp": ("mail", "federated"),
    "google": ("google.com", "federated"),
    "facebook": ("facebook.com", "federated"),
    "microsoftAccount": ("MicrosoftAccount", "federated"),
    "aadSignup": ("ExternalAzureAD", "federated"),
}


def guest_user(user_id: str, name: str, mail: str, *, idp: str, created: datetime,
               last_sign_in: datetime | None, tenant_domain: str = "contoso.onmicrosoft.com",
               with_activity: bool = True, enabled: bool = True,
               last_successful: bool = False) -> dict[str, Any]:
    """A self-service sign-up guest as the users source returns it ($select of SPEC §4).

    ``last_successful`` adds ``lastSuccessfulSignInDateTime``, which Graph returns since December 2023
    (off by default so the bundled samples keep their bytes)."""
    issuer, sign_in_type = ISSUERS[idp]
    item: dict[str, Any] = {
        "id": user_id, "displayName": name, "mail": mail,
        "userPrincipalName": f"{mail.replace('@', '_')}#EXT#@{tenant_domain}",
        "userType": "Guest", "creationType": "SelfServiceSignUp",
        "identities": [{"signInType": sign_in_type, "issuer": issuer, "issuerAssignedId": None}],
        "createdDateTime": iso(created), "externalUserState": "Accepted", "accountEnabled": enabled,
    }
    if with_activity:
        item["signInActivity"] = {
            "lastSignInDateTime": iso(last_sign_in) if last_sign_in else NEVER,
            "lastSignInRequestId": f"{user_id[:8]}-req" if last_sign_in else "",
            "lastNonInteractiveSignInDateTime": NEVER, "lastNonInteractiveSignInRequestId": "",
        }
        if last_successful:
            item["signInActivity"]["lastSuccessfulSignInDateTime"] = iso(last_sign_in) if last_sign_in else None
    return item


_DEVICES = [
    {"deviceId": "", "displayName": "", "operatingSystem": "Windows 10", "browser": "Edge 118.0.2088",
     "isCompliant": False, "isManaged": False, "trustType": ""},
    {"deviceId": "", "displayName": "", "operatingSystem": "MacOs", "browser": "Safari 17.0",
     "isCompliant": False, "isManaged": False, "trustType": ""},
    {"deviceId": "", "displayName": "", "operatingSystem": "Ios 17", "browser": "Mobile Safari 17.0",
     "isCompliant": False, "isManaged": False, "trustType": ""},
    {"deviceId": "", "displayName": "", "operatingSystem": "Android", "browser": "Chrome Mobile 119.0.6045",
     "isCompliant": False, "isManaged": False, "trustType": ""},
]
_LOCATIONS = [
    {"city": city, "state": state, "countryOrRegion": country, "geoCoordinates": {"altitude": None,
                                                                                 "latitude": lat, "longitude": lon}}
    for city, state, country, lat, lon in (
        ("Amsterdam", "Noord-Holland", "NL", 52.37, 4.89), ("Munich", "Bayern", "DE", 48.14, 11.58),
        ("Lyon", "Auvergne-Rhone-Alpes", "FR", 45.76, 4.84), ("Leeds", "West Yorkshire", "GB", 53.8, -1.55),
        ("Austin", "Texas", "US", 30.27, -97.74), ("Pune", "Maharashtra", "IN", 18.52, 73.86))
]
_USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 "
    "Safari/537.36 Edg/119.0.2151.58",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 "
    "Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1",
]
_FAILURES = {
    0: "Other.",
    50126: "Error validating credentials due to invalid username or password.",
    53003: "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
    50074: "Strong Authentication is required.",
    500121: "Authentication failed during strong authentication request.",
}


def applied_policy(policy: dict[str, Any], result: str) -> dict[str, Any]:
    """How a CA policy appears in a beta sign-in's appliedConditionalAccessPolicies."""
    grant = policy.get("grantControls") or {}
    strength = grant.get("authenticationStrength")
    controls = ["Require authentication strength"] if strength else \
        [{"mfa": "Mfa", "block": "Block", "compliantDevice": "RequireCompliantDevice"}.get(c, c)
         for c in grant.get("builtInControls") or []]
    item: dict[str, Any] = {"id": policy["id"], "displayName": policy["displayName"],
                            "enforcedGrantControls": controls, "enforcedSessionControls": [], "result": result,
                            "conditionsSatisfied": "application,users" if result != "notApplied" else "none",
                            "conditionsNotSatisfied": "none" if result != "notApplied" else "application"}
    if strength:
        item["authenticationStrength"] = {
            "authenticationStrengthId": strength["id"], "displayName": strength["displayName"],
            "authenticationStrengthResult": {"failure": "cannotSatisfy", "success": "satisfied"}.get(result,
                                                                                                  "notApplicable")}
    return item


def sign_in(sign_in_id: str, created: datetime | str, *, user_id: str, user_name: str, upn: str, app_id: str,
            app_name: str, user_type: str = "guest", requirement: str = "singleFactorAuthentication",
            error_code: int = 0, ca_status: str = "success", applied: list[dict[str, Any]] | None = None,
            ip: str = "203.0.113.10", device: int = 0, location: int = 0, cross_tenant: str = "b2bCollaboration",
            correlation_id: str | None = None) -> dict[str, Any]:
    """A beta auditLogs/signIns record with the fields Graph sends (trimmed of rarely-set arrays)."""
    created_text = created if isinstance(created, str) else iso(created)
    method = "Password" if requirement == "singleFactorAuthentication" else "Email OTP"
    return {
        "id": sign_in_id, "createdDateTime": created_text, "userDisplayName": user_name,
        "userPrincipalName": upn, "userId": user_id, "appId": app_id, "appDisplayName": app_name,
        "ipAddress": ip, "clientAppUsed": "Browser", "userAgent": _USER_AGENTS[device % len(_USER_AGENTS)],
        "correlationId": correlation_id or sign_in_id, "conditionalAccessStatus": ca_status,
        "originalRequestId": sign_in_id, "isInteractive": True, "tokenIssuerName": "",
        "tokenIssuerType": "AzureAD", "processingTimeInMilliseconds": 180 + device * 37,
        "riskDetail": "none", "riskLevelAggregated": "none", "riskLevelDuringSignIn": "none", "riskState": "none",
        "riskEventTypes_v2": [], "resourceDisplayName": app_name, "resourceId": app_id,
        "authenticationMethodsUsed": [], "authenticationRequirement": requirement,
        "signInIdentifier": upn, "signInEventTypes": ["interactiveUser"], "servicePrincipalId": "",
        "userType": user_type, "flaggedForReview": False, "isTenantRestricted": False,
        "autonomousSystemNumber": 3320 + location, "crossTenantAccessType": cross_tenant,
        "status": {"errorCode": error_code, "failureReason": _FAILURES.get(error_code, "Other."),
                   "additionalDetails": None if error_code == 0 else "MFA or policy requirement not met."},
        "deviceDetail": _DEVICES[device % len(_DEVICES)], "location": _LOCATIONS[location % len(_LOCATIONS)],
        "appliedConditionalAccessPolicies": applied or [],
        "authenticationDetails": [{"authenticationStepDateTime": created_text, "authenticationMethod": method,
                                   "authenticationMethodDetail": None, "succeeded": error_code == 0,
                                   "authenticationStepResultDetail": "Correct password" if error_code == 0
                                   else _FAILURES.get(error_code, "Other."),
                                   "authenticationStepRequirement": "Primary authentication"}],
        "authenticationRequirementPolicies": [], "sessionLifetimePolicies": [],
    }


# --- the synthetic tenant ----------------------------------------------------------------------

@dataclass(frozen=True)
class TenantSize:
    guests: int = 40_000
    sign_ins: int = 600_000
    flows: int = 20
    connectors: int = 10
    attributes: int = 30
    policies: int = 200
    named_locations: int = 10
    seed: int = 1
    signin_days: int = 30


_FIRST = ["Anna", "Bram", "Chloé", "Dmitri", "Eva", "Farid", "Greta", "Hiro", "Inès", "Jonas", "Kofi", "Lena",
          "Mateo", "Nora", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wen", "Yusuf"]
_LAST = ["Andersen", "Bakker", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Hansen", "Ivanova", "Jensen",
         "Kowalski", "López", "Müller", "Novak", "O'Brien", "Petrov", "Rossi", "Schmidt", "Tanaka", "Weber"]
_IDP_MIX = [("emailOtp", 45), ("aadSignup", 30), ("google", 12), ("microsoftAccount", 8), ("facebook", 5)]
_PROVIDER_IDS = {"emailOtp": "EmailOtpSignup-OAUTH", "aadSignup": "AADSignup-OAUTH", "google": "Google-OAUTH",
                 "microsoftAccount": "MSASignup-OAUTH", "facebook": "Facebook-OAUTH"}
_CA_STATES = [("enabled", 70), ("enabledForReportingButNotEnforced", 20), ("disabled", 10)]


@dataclass
class _Flow:
    flow_id: str
    providers: list[str]  # kinds
    apps: list[tuple[str, str]]  # (appId, name)


class SyntheticTenant:
    """Builds the small sources in memory and streams users and sign-ins from a seeded RNG."""

    def __init__(self, size: TenantSize, collected_at: datetime = COLLECTED_AT) -> None:
        self.size = size
        self.now = collected_at
        self.rng = random.Random(size.seed)
        self.tenant_id = uuid_from(self.rng)
        self.extension_app = f"{self.rng.getrandbits(128):032x}"
        self._build_config()
        self._build_guests()

    # -- configuration -------------------------------------------------------------------------
    def _build_config(self) -> None:
        rng, size = self.rng, self.size
        kinds = [k for k, _ in _IDP_MIX]
        weights = [w for _, w in _IDP_MIX]
        self.attributes = [attribute("City", custom=False), attribute("Country", custom=False, name="Country/Region"),
                           attribute("JobTitle", custom=False, name="Job Title")]
        for i in range(size.attributes):
            data_type = rng.choices(["string", "int64", "boolean", "dateTime"], [80, 12, 6, 2])[0]
            self.attributes.append(attribute(f"extension_{self.extension_app}_Field{i:03d}", data_type,
                                             name=f"Field {i:03d}", description=f"Partner field {i}"))
        customs = [a for a in self.attributes if a["userFlowAttributeType"] == "custom"]
        self.connectors = []
        for i in range(size.connectors):
            host = f"https://onboarding-{i:02d}.fabrikam-apps.example/api/signup"
            if i % 7 == 1:  # about one in seven still on basic auth
                self.connectors.append(connector(uuid_from(rng), f"Legacy validation {i:02d}", host, basic=True))
            else:
                expires = self.now + timedelta(days=rng.randint(-20, 700))
                self.connectors.append(connector(
                    uuid_from(rng), f"Partner onboarding {i:02d}", host,
                    certificates=[certificate(expires, expires - timedelta(days=730))]))
        self.flows: list[_Flow] = []
        self.user_flows = []
        self.listeners = []
        self.apps: list[tuple[str, str]] = []
        for i in range(size.flows):
            flow_id = f"B2X_1_Partner{i:03d}"
            chosen = sorted(set(rng.choices(kinds, weights, k=3)) | {"aadSignup"})
            providers = []
            for kind in chosen:
                pid = _PROVIDER_IDS[kind]
                if kind == "google" and i % 3 == 0:
                    pid = "Google-OAuth"  # the casing Microsoft's own examples use
                providers.append(provider(pid, old_shape=kind in ("google", "facebook") and i % 4 == 0))
            picked = rng.sample(customs, k=min(len(customs), rng.randint(0, 4))) if customs else []
            assignments = [assignment(self.attributes[0], input_type="TextBox")]
            for attr in picked:
                choice = rng.random() < 0.25
                assignments.append(assignment(
                    attr, optional=rng.random() < 0.3,
                    input_type=rng.choice(["RadioSingleSelect", "dropdownSingleSelect"]) if choice else "TextBox",
                    values=[("Yes", "yes"), ("No", "no")] if choice and rng.random() < 0.8 else ()))
            pac = rng.choice(self.connectors) if self.connectors and rng.random() < 0.7 else None
            pfs = rng.choice(self.connectors) if self.connectors and rng.random() < 0.3 else None
            self.user_flows.append(user_flow(flow_id, providers, assignments, pfs, pac))
            apps = [(uuid_from(rng), f"Partner app {i:03d}-{j}") for j in range(rng.randint(0, 4))]
            self.apps.extend(apps)
            if apps:
                self.listeners.append(listener(uuid_from(rng), flow_id, [a for a, _ in apps], priority=500 + i))
            self.flows.append(_Flow(flow_id, chosen, apps))
        self.office_apps = [("00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"),
                            ("00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online"),
                            ("cc15fd57-2c6c-4117-a88c-83b1d56b4bbe", "Microsoft Teams Services")]
        self.policies = []
        app_ids = [a for a, _ in self.apps] or ["All"]
        for i in range(size.policies):
            state = rng.choices([s for s, _ in _CA_STATES], [w for _, w in _CA_STATES])[0]
            audience = rng.random()
            kwargs: dict[str, Any] = {}
            if audience < 0.35:
                kwargs["include_users"] = ["All"]
            elif audience < 0.55:
                kwargs["include_users"] = []
                kwargs["guest_types"] = "internalGuest,b2bCollaborationGuest,b2bCollaborationMember"
            elif audience < 0.65:
                kwargs["include_users"] = ["GuestsOrExternalUsers"]
            else:
                kwargs["include_users"] = []
                kwargs["include_groups"] = [uuid_from(rng)]
            if audience < 0.35 and rng.random() < 0.3:
                kwargs["exclude_guest_types"] = "b2bDirectConnectUser,otherExternalUser,serviceProvider"
            kwargs["include_apps"] = ["All"] if rng.random() < 0.4 else rng.sample(app_ids, k=min(3, len(app_ids)))
            grant = rng.random()
            if grant < 0.55:
                kwargs["controls"] = ["mfa"]
            elif grant < 0.7:
                kwargs["controls"] = []
                kwargs["strength"] = rng.choice(BUILTIN_STRENGTHS)
            elif grant < 0.85:
                kwargs["controls"] = ["compliantDevice", "mfa"]
            else:
                kwargs["controls"] = ["block"]
                kwargs["client_app_types"] = ["exchangeActiveSync", "other"]
            self.policies.append(ca_policy(uuid_from(rng), f"CA{i:03d} synthetic policy", state=state, **kwargs))
        self._build_conditional_access_context()
        live = [p for p in self.policies if p["state"] != "disabled"] or self.policies
        self._applied_pool = [
            {result: applied_policy(p, result) for result in ("success", "failure", "notApplied", "reportOnlySuccess")}
            for p in live]

    def _build_conditional_access_context(self) -> None:
        """Named locations, the groups policies name, cross-tenant settings, and narrowing conditions on
        some policies, so the Conditional Access evaluator works over a realistic matrix.

        A separate RNG keeps every other source byte-identical to what earlier versions generated.
        """
        rng = random.Random(self.size.seed + 3)
        self.named_locations = []
        for i in range(self.size.named_locations):
            if i % 3 == 2:
                self.named_locations.append({
                    "@odata.type": "#microsoft.graph.countryNamedLocation", "id": uuid_from(rng),
                    "displayName": f"Countries {i:02d}", "countriesAndRegions": rng.sample(["DE", "FR", "NL", "CH", "AT",
                                                                                           "BE", "DK", "SE"], k=3),
                    "includeUnknownCountriesAndRegions": False, "countryLookupMethod": "clientIpAddress"})
            else:
                self.named_locations.append({
                    "@odata.type": "#microsoft.graph.ipNamedLocation", "id": uuid_from(rng),
                    "displayName": f"Office {i:02d}", "isTrusted": i % 3 == 0,
                    "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange",
                                  "cidrAddress": f"198.51.{i}.0/24"}]})
        location_ids = [loc["id"] for loc in self.named_locations]
        narrowings: list[dict[str, Any]] = [
            {"platforms": {"includePlatforms": ["android", "iOS"], "excludePlatforms": []}},
            {"clientAppTypes": ["mobileAppsAndDesktopClients"]},
            {"signInRiskLevels": ["medium", "high"]},
            {"locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}},
            {"devices": {"deviceFilter": {"mode": "exclude", "rule": 'device.extensionAttribute1 -eq "SAW"'}}},
        ]
        if location_ids:
            narrowings.append({"locations": {"includeLocations": ["All"],
                                             "excludeLocations": rng.sample(location_ids, k=min(2, len(location_ids)))}})
        break_glass = uuid_from(rng)
        for policy in self.policies:
            if rng.random() < 0.35:
                policy["conditions"].update(rng.choice(narrowings))
            users = policy["conditions"]["users"]
            if users["includeUsers"] == ["All"] and rng.random() < 0.5:
                users["excludeGroups"] = [break_glass]
        self.group_ids = sorted({g for p in self.policies for key in ("includeGroups", "excludeGroups")
                                 for g in p["conditions"]["users"][key]})
        self.cross_tenant = [{"isServiceDefault": True, "inboundTrust": {
            "isMfaAccepted": False, "isCompliantDeviceAccepted": False, "isHybridAzureADJoinedDeviceAccepted": False}}]

    def groups(self) -> list[dict[str, Any]]:
        """The groups policies name: mostly static with a few guest members, some dynamic."""
        rng = random.Random(self.size.seed + 4)
        out = []
        for index, group_id in enumerate(self.group_ids):
            kind = index % 4
            dynamic = kind in (1, 2)
            members = rng.sample(self.guest_ids, k=min(len(self.guest_ids), rng.randint(2, 60)))
            out.append({
                "id": group_id, "displayName": f"CA group {index:03d}",
                "groupTypes": ["DynamicMembership"] if dynamic else [],
                "membershipRule": ('user.userType -eq "Guest"' if kind == 1 else
                                   'user.companyName -eq "Fabrikam"' if kind == 2 else None),
                "membershipRuleProcessingState": "On" if dynamic else None,
                "transitiveMembers": [{"@odata.type": "#microsoft.graph.user", "id": m, "userType": "Guest",
                                       "creationType": "SelfServiceSignUp"} for m in members]})
        return out

    # -- guests --------------------------------------------------------------------------------
    def _build_guests(self) -> None:
        """Only what sign-in generation needs is kept (ids, names, flow): a few MB at 40k guests."""
        rng = self.rng
        kinds = [k for k, _ in _IDP_MIX]
        weights = [w for _, w in _IDP_MIX]
        self.guest_ids: list[str] = []
        self.guest_flow: list[int] = []
        self.guest_kind: list[str] = []
        self.guest_active: list[bool] = []
        for _ in range(self.size.guests):
            self.guest_ids.append(uuid_from(rng))
            self.guest_flow.append(rng.randrange(len(self.flows)) if self.flows else -1)
            self.guest_kind.append(rng.choices(kinds, weights)[0])
            self.guest_active.append(rng.random() < 0.8)
        self.member_ids = [uuid_from(rng) for _ in range(max(1, self.size.guests // 20))]

    def _guest_name(self, index: int) -> tuple[str, str]:
        first = _FIRST[index % len(_FIRST)]
        last = _LAST[(index // len(_FIRST)) % len(_LAST)]
        return f"{first} {last}", f"{first.lower()}.{index}@partner{index % 997:03d}.example"

    def users(self) -> Iterator[dict[str, Any]]:
        rng = random.Random(self.size.seed + 1)
        for index, user_id in enumerate(self.guest_ids):
            name, mail = self._guest_name(index)
            created = self.now - timedelta(days=rng.randint(1, 900), seconds=rng.randint(0, 86_399))
            if self.guest_active[index]:
                last = self.now - timedelta(days=rng.randint(0, self.size.signin_days - 1),
                                            seconds=rng.randint(0, 86_399))
                last = max(last, created)
            elif rng.random() < 0.6:
                last = created + (self.now - created) * rng.random() * 0.5  # lapsed: long ago
            else:
                last = None  # never signed in after sign-up
            yield guest_user(user_id, name, mail, idp=self.guest_kind[index], created=created, last_sign_in=last,
                             with_activity=True, last_successful=True)

    # -- sign-ins ------------------------------------------------------------------------------
    def sign_ins(self) -> Iterator[dict[str, Any]]:
        """Newest first (Graph's order); 85% SSSU guests, 10% members, 5% invited guests."""
        rng = random.Random(self.size.seed + 2)
        count = self.size.sign_ins
        window = timedelta(days=self.size.signin_days).total_seconds()
        active = [i for i, a in enumerate(self.guest_active) if a] or list(range(len(self.guest_ids)))
        # Heavy-tailed activity: a few guests sign in a lot, most now and then.
        cum: list[float] = []
        total = 0.0
        for _ in active:
            total += rng.paretovariate(1.5)
            cum.append(total)
        pool = self._applied_pool
        batch = 4096
        made = 0
        while made < count:
            n = min(batch, count - made)
            picks = rng.choices(active, cum_weights=cum, k=n) if active else [0] * n
            for k in range(n):
                offset = window * (made + k) / max(count, 1) + rng.random() * 30
                created = iso(self.now - timedelta(seconds=offset))
                yield self._one_sign_in(rng, created, picks[k], pool)
            made += n

    def _one_sign_in(self, rng: random.Random, created: str, guest_index: int,
                     pool: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
        roll = rng.random()
        device = rng.randrange(4)
        location = rng.randrange(6)
        sign_in_id = uuid_from(rng)
        ip = f"198.51.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        if roll < 0.15 or not self.guest_ids:  # members and invited (not self-service) guests
            member = roll < 0.10 or not self.guest_ids
            user_id = rng.choice(self.member_ids)
            app_id, app_name = rng.choice(self.office_apps)
            applied = [entries[rng.choice(("success", "notApplied"))] for entries in rng.sample(pool, k=min(3, len(pool)))]
            return sign_in(sign_in_id, created, user_id=user_id, user_name="Contoso colleague",
                           upn=f"u{user_id[:8]}@contoso.example", app_id=app_id, app_name=app_name,
                           user_type="member" if member else "guest",
                           requirement="multiFactorAuthentication" if rng.random() < 0.7 else "singleFactorAuthentication",
                           applied=applied, ip=ip, device=device, location=location,
                           cross_tenant="none" if member else "b2bCollaboration")
        name, mail = self._guest_name(guest_index)
        flow_index = self.guest_flow[guest_index]
        apps = self.flows[flow_index].apps if flow_index >= 0 else []
        app_id, app_name = rng.choice(apps) if apps and rng.random() < 0.85 else rng.choice(self.office_apps)
        mfa = rng.random() < 0.45
        applied = []
        error_code = 0
        for entries in rng.sample(pool, k=min(rng.randint(2, 6), len(pool))):
            result = rng.choices(("success", "notApplied", "failure", "reportOnlySuccess"), (40, 50, 4, 6))[0]
            if result == "failure":
                error_code = 53003
            applied.append(entries[result])
        if error_code == 0 and rng.random() < 0.04:
            error_code = rng.choice((50126, 50074, 500121))
        if error_code == 53003:
            ca_status = "failure"
        elif any(a["result"] == "success" for a in applied):
            ca_status = "success"
        else:
            ca_status = "notApplied"
        return sign_in(sign_in_id, created, user_id=self.guest_ids[guest_index], user_name=name,
                       upn=mail, app_id=app_id, app_name=app_name,
                       requirement="multiFactorAuthentication" if mfa else "singleFactorAuthentication",
                       error_code=error_code, ca_status=ca_status, applied=applied, ip=ip, device=device,
                       location=location)

    # -- writing -------------------------------------------------------------------------------
    def write(self, out: Path) -> Path:
        window = (self.now - timedelta(days=self.size.signin_days), self.now)
        writer = SnapshotWriter(out, tenant_id=self.tenant_id, collected_at=self.now, sign_in_window=window)
        try:
            writer.write_source("authenticationFlowsPolicy", [{
                "id": "authenticationFlowsPolicy", "displayName": "Authentication flows policy",
                "description": "Authentication flows policy allows modification of settings related to "
                               "authentication flows in AAD tenant, such as self-service sign up configuration.",
                "selfServiceSignUp": {"isEnabled": True}}])
            writer.write_source("b2xUserFlows", self.user_flows)
            writer.write_source("userFlowAttributes", self.attributes)
            writer.write_source("apiConnectors", self.connectors)
            writer.write_source("identityProviders", [
                provider("MSASignup-OAUTH", odata_hash=False), provider("Google-OAuth", old_shape=True),
                provider("Facebook-OAUTH")])
            writer.write_source("userFlowApplications", self.listeners)
            writer.write_source("conditionalAccessPolicies", self.policies)
            writer.write_source("namedLocations", self.named_locations)
            writer.write_source("conditionalAccessGroups", self.groups())
            writer.write_source("crossTenantAccessPolicy", self.cross_tenant)
            writer.write_source("authenticationStrengthPolicies", BUILTIN_STRENGTHS)
            writer.write_source("emailAuthenticationMethod", [{
                "@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration", "id": "Email",
                "state": "enabled", "allowExternalIdToUseEmailOtp": "default", "includeTargets": []}])
            writer.write_source("authorizationPolicy", [{
                "id": "authorizationPolicy", "displayName": "Authorization Policy",
                "allowInvitesFrom": "adminsAndGuestInviters", "allowedToSignUpEmailBasedSubscriptions": True,
                "guestUserRoleId": "10dae51f-b6af-4016-8d66-8c2a99b929b3"}])
            writer.write_source("selfServiceSignUpUsers", self.users())
            writer.manifest["sources"]["selfServiceSignUpUsers"]["signInActivity"] = True  # as the collector says
            writer.write_source("signIns", self.sign_ins())
        except BaseException:
            writer.abort()
            raise
        return writer.close()


def make_tenant(out: str | Path, size: TenantSize | None = None, collected_at: datetime = COLLECTED_AT) -> Path:
    """Write a synthetic tenant snapshot to ``out`` (directory, or .zip) and return its path."""
    return SyntheticTenant(size or TenantSize(), collected_at).write(Path(out))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = TenantSize()
    parser.add_argument("--guests", type=int, default=defaults.guests)
    parser.add_argument("--sign-ins", type=int, default=defaults.sign_ins)
    parser.add_argument("--flows", type=int, default=defaults.flows)
    parser.add_argument("--connectors", type=int, default=defaults.connectors)
    parser.add_argument("--attributes", type=int, default=defaults.attributes)
    parser.add_argument("--policies", type=int, default=defaults.policies)
    parser.add_argument("--named-locations", type=int, default=defaults.named_locations)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--out", type=Path, required=True, help="snapshot directory (or .zip) to write")
    args = parser.parse_args(argv)
    for name in ("guests", "sign_ins", "flows", "connectors", "attributes", "policies", "named_locations"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    size = TenantSize(guests=args.guests, sign_ins=args.sign_ins, flows=args.flows, connectors=args.connectors,
                      attributes=args.attributes, policies=args.policies, named_locations=args.named_locations,
                      seed=args.seed)
    path = make_tenant(args.out, size)
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
