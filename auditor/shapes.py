"""Builders of Microsoft Graph objects exactly as Graph returns them, quirks included.

One library of shapes for the tests, the benchmark tenant generator (``benchmarks/make_tenant.py``)
and the bundled samples (``scripts/make_samples.py``): PascalCase enums, ``Google-OAuth`` next to
``Google-OAUTH``, the old provider shape, CSV ``guestOrExternalUserTypes``, an ``@odata.type``
without ``#``, ``******`` secrets, the ``0001-01-01T00:00:00Z`` "never" sentinel. Each builder returns
a plain dict (raw Graph JSON) and takes only what varies; nothing here is imported by the audit.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from auditor.timefmt import iso_utc

COLLECTED_AT = datetime(2026, 11, 1, 6, 0, 0, tzinfo=timezone.utc)
NEVER = "0001-01-01T00:00:00Z"  # Graph's "never signed in" value in signInActivity
STRENGTH_MFA = "00000000-0000-0000-0000-000000000002"
STRENGTH_PASSWORDLESS = "00000000-0000-0000-0000-000000000003"
STRENGTH_PHISHING_RESISTANT = "00000000-0000-0000-0000-000000000004"


iso = iso_utc


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
               values: Sequence[tuple[str, str]] = (), expand: bool = True) -> dict[str, Any]:
    """A userAttributeAssignment, with its userAttribute expanded (as the collector nests it) unless
    ``expand`` is false."""
    custom = attr["userFlowAttributeType"] == "custom"
    item: dict[str, Any] = {
        "id": attr["id"], "isOptional": optional, "requiresVerification": False,
        "userInputType": input_type, "displayName": attr["displayName"],
        "userAttributeValues": [{"name": n, "value": v, "isDefault": i == 0} for i, (n, v) in enumerate(values)]}
    if expand:
        item["userAttribute"] = {"@odata.type": "#Microsoft.Graph.CustomUserFlowAttribute" if custom
                                 else "#Microsoft.Graph.BuiltInUserFlowAttribute", **attr}
    return item


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
              created: str = "2024-03-14T09:12:44.1234567Z", exclude_groups: Sequence[str] = (),
              guest_tenants: Sequence[str] | None = None,
              conditions: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Conditional Access policy; guest types are given as Graph sends them: one CSV string.

    ``guest_tenants`` limits the included guest types to an enumerated list of external tenant ids;
    ``conditions`` replaces or adds condition keys (platforms, locations, devices, risk levels, ...)."""

    def guests(types: str | None, tenants: Sequence[str] | None = None) -> dict[str, Any] | None:
        if not types:
            return None
        external: dict[str, Any] = (
            {"@odata.type": "#microsoft.graph.conditionalAccessEnumeratedExternalTenants",
             "membershipKind": "enumerated", "members": list(tenants)} if tenants else
            {"@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants", "membershipKind": "all"})
        return {"guestOrExternalUserTypes": types, "externalTenants": external}

    return {
        "id": policy_id, "templateId": None, "displayName": name, "createdDateTime": created,
        "modifiedDateTime": created, "state": state, "sessionControls": None,
        "conditions": {
            "userRiskLevels": [], "signInRiskLevels": [], "clientAppTypes": list(client_app_types),
            "platforms": None, "locations": None, "devices": None,
            "applications": {"includeApplications": list(include_apps), "excludeApplications": list(exclude_apps),
                             "includeUserActions": [], "includeAuthenticationContextClassReferences": []},
            "users": {"includeUsers": list(include_users), "excludeUsers": list(exclude_users),
                      "includeGroups": list(include_groups), "excludeGroups": list(exclude_groups),
                      "includeRoles": list(include_roles), "excludeRoles": [],
                      "includeGuestsOrExternalUsers": guests(guest_types, guest_tenants),
                      "excludeGuestsOrExternalUsers": guests(exclude_guest_types)},
            **(conditions or {}),
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
               with_activity: bool = True, enabled: bool = True) -> dict[str, Any]:
    """A self-service sign-up guest as the users source returns it (the $select of auditor/sources.py)."""
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


# --- v2 sources: named locations, groups, cross-tenant access, service principals, access reviews ---

def ip_location(location_id: str, cidrs: list[str], *, trusted: bool = False, name: str | None = None
                ) -> dict[str, Any]:
    ranges = [{"@odata.type": "#microsoft.graph.iPv6CidrRange" if ":" in c else "#microsoft.graph.iPv4CidrRange",
               "cidrAddress": c} for c in cidrs]
    return {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": location_id, "displayName": name or location_id,
            "modifiedDateTime": "2026-01-01T00:00:00Z", "createdDateTime": "2026-01-01T00:00:00Z",
            "isTrusted": trusted, "ipRanges": ranges}


def country_location(location_id: str, countries: list[str], *, unknown: bool = False) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": location_id, "displayName": location_id,
            "modifiedDateTime": "2026-01-01T00:00:00Z", "createdDateTime": "2026-01-01T00:00:00Z",
            "countriesAndRegions": countries, "includeUnknownCountriesAndRegions": unknown,
            "countryLookupMethod": "clientIpAddress"}


def member(user_id: str, user_type: str = "Guest", creation_type: str | None = "SelfServiceSignUp") -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.user", "id": user_id, "userType": user_type, "creationType": creation_type}


def group(group_id: str, members: list[dict[str, Any]] | None = None, *, rule: str | None = None,
          name: str | None = None) -> dict[str, Any]:
    """A group as GET /groups/{id}?$select=… returns it, with its user members nested (transitiveMembers)."""
    return {"id": group_id, "displayName": name or group_id,
            "groupTypes": ["DynamicMembership"] if rule else [], "membershipRule": rule,
            "membershipRuleProcessingState": "On" if rule else None, "transitiveMembers": members or []}


def cross_tenant_default(*, mfa: bool = False) -> dict[str, Any]:
    return {"isServiceDefault": not mfa, "inboundTrust": {"isMfaAccepted": mfa, "isCompliantDeviceAccepted": False,
                                                          "isHybridAzureADJoinedDeviceAccepted": False}}


def partner(tenant_id: str, *, mfa: bool = True) -> dict[str, Any]:
    return {"tenantId": tenant_id, "isServiceProvider": False, "isInMultiTenantOrganization": False,
            "inboundTrust": {"isMfaAccepted": mfa, "isCompliantDeviceAccepted": False,
                             "isHybridAzureADJoinedDeviceAccepted": False}}


def service_principal(app_id: str, *, required: bool = False, enabled: bool = True) -> dict[str, Any]:
    return {"id": f"sp-{app_id}", "appId": app_id, "displayName": f"App {app_id[:8]}",
            "appRoleAssignmentRequired": required, "accountEnabled": enabled}


def access_review(review_id: str, query: str = "/users?$filter=(userType eq 'Guest')",
                  recurrence: str | None = "absoluteMonthly") -> dict[str, Any]:
    settings: dict[str, Any] = {"autoApplyDecisionsEnabled": True}
    if recurrence:
        settings["recurrence"] = {"pattern": {"type": recurrence, "interval": 3},
                                  "range": {"type": "noEnd", "startDate": "2026-01-01"}}
    return {"id": review_id, "displayName": review_id, "status": "InProgress",
            "scope": {"@odata.type": "#microsoft.graph.accessReviewQueryScope", "query": query,
                      "queryType": "MicrosoftGraph"}, "settings": settings}


def sponsor(sponsor_id: str, name: str = "Sponsor") -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.user", "id": sponsor_id, "displayName": name}
