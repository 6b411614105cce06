"""Small builders of Graph-shaped objects and snapshots for tests (shapes from shared/graph-examples).

Tests build exactly the tenant a case needs: ``write_snapshot(tmp_path, b2xUserFlows=[flow(...)])``
starts from a quiet tenant (sign-up on, Email OTP default, no flows, no policies) and overrides only
the sources given. A source given as a string (e.g. ``"forbidden"``) is recorded with that status
and no data; ``None`` leaves it out of the manifest.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from auditor.snapshot.writer import SnapshotWriter
from auditor.sources import SOURCE_KEYS

TENANT_ID = "0b6e6b8c-1d0e-4e59-9a57-2f1c7f0f1a11"
COLLECTED_AT = "2026-11-01T06:00:00Z"

BUILTIN = {
    "AADSignup-OAUTH": ("AADSignup", "Azure Active Directory Sign up"),
    "MSASignup-OAUTH": ("MicrosoftAccount", "Microsoft Account"),
    "EmailOtpSignup-OAUTH": ("EmailOTP", "Email one-time passcode"),
}
SOCIAL = {"Google-OAUTH": "Google", "Facebook-OAUTH": "Facebook"}

_ERRORS = {
    "forbidden": {"httpStatus": 403, "code": "Authorization_RequestDenied",
                  "message": "Insufficient privileges to complete the operation."},
    "unlicensed": {"httpStatus": 403, "code": "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                   "message": "Neither tenant is B2C or tenant doesn't have premium license"},
    "unavailable": {"httpStatus": 404, "code": "BadRequest", "message": "Resource not found for the segment 'events'."},
    "notApplicable": {"httpStatus": 400, "code": "BadRequest",
                      "message": "The feature self service sign up is not enabled for the tenant."},
    "error": {"httpStatus": 500, "code": "InternalServerError", "message": "boom"},
}


def provider(provider_id: str) -> dict[str, Any]:
    if provider_id in BUILTIN:
        kind, name = BUILTIN[provider_id]
        return {"@odata.type": "#microsoft.graph.builtInIdentityProvider", "id": provider_id,
                "displayName": name, "identityProviderType": kind}
    kind = SOCIAL.get(provider_id, provider_id.split("-")[0])
    return {"@odata.type": "#microsoft.graph.socialIdentityProvider", "id": provider_id, "displayName": kind,
            "identityProviderType": kind, "clientId": f"client-{kind.lower()}", "clientSecret": "******"}


def attribute(attr_id: str, data_type: str = "string", custom: bool = True, name: str | None = None) -> dict[str, Any]:
    return {"id": attr_id, "displayName": name or attr_id.split("_")[-1], "description": "",
            "userFlowAttributeType": "custom" if custom else "builtIn", "dataType": data_type}


def assignment(attr_id: str, data_type: str = "string", custom: bool = True, optional: bool = False,
               input_type: str = "TextBox", values: list[dict[str, Any]] | None = None,
               expand: bool = True) -> dict[str, Any]:
    item: dict[str, Any] = {"id": attr_id, "isOptional": optional, "requiresVerification": False,
                            "userInputType": input_type, "displayName": attr_id.split("_")[-1],
                            "userAttributeValues": values or []}
    if expand:
        item["userAttribute"] = {
            "@odata.type": "#microsoft.graph.identityCustomUserFlowAttribute" if custom
            else "#microsoft.graph.identityBuiltInUserFlowAttribute",
            **attribute(attr_id, data_type, custom)}
    return item


def connector(connector_id: str, name: str | None = None, url: str = "https://api.contoso.example/signup",
              auth: str = "certificate", certs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if auth == "basic":
        config: dict[str, Any] = {"@odata.type": "#microsoft.graph.basicAuthentication",
                                  "username": "apiAccount", "password": "******"}
    else:
        config = {"@odata.type": "#microsoft.graph.clientCertificateAuthentication",
                  "certificateList": certs if certs is not None else [cert(not_after="2027-06-01T00:00:00Z")]}
    return {"id": connector_id, "displayName": name or connector_id, "targetUrl": url,
            "authenticationConfiguration": config}


def epoch(moment: str) -> int:
    return int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp())


def cert(not_after: str, not_before: str = "2025-01-01T00:00:00Z", active: bool = True,
         thumbprint: str = "0EB255CC895477798BA418B378255204304897AD") -> dict[str, Any]:
    return {"thumbprint": thumbprint, "notAfter": epoch(not_after), "notBefore": epoch(not_before), "isActive": active}


def flow(flow_id: str, providers: tuple[str, ...] | list[str] = ("AADSignup-OAUTH", "EmailOtpSignup-OAUTH"),
         attributes: list[dict[str, Any]] | None = None, post_attribute_collection: dict[str, Any] | None = None,
         post_federation_signup: dict[str, Any] | None = None, with_connectors: bool = True) -> dict[str, Any]:
    item: dict[str, Any] = {"id": flow_id, "userFlowType": "signUpOrSignIn", "userFlowTypeVersion": 1,
                            "userFlowIdentityProviders": [provider(p) for p in providers],
                            "userAttributeAssignments": attributes or []}
    if with_connectors:
        item["apiConnectorConfiguration"] = {"postFederationSignup": post_federation_signup,
                                             "postAttributeCollection": post_attribute_collection}
    return item


def listener(flow_id: str, app_ids: list[str], listener_id: str | None = None, priority: int = 100) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.invokeUserFlowListener",
            "id": listener_id or f"listener-{flow_id}-{'-'.join(app_ids)}", "priority": priority,
            "sourceFilter": {"includeApplications": app_ids},
            "userFlow": {"id": flow_id, "userFlowType": "signUpOrSignIn", "userFlowTypeVersion": 1}}


def strength(strength_id: str = "00000000-0000-0000-0000-000000000004",
             name: str = "Phishing resistant MFA") -> dict[str, Any]:
    return {"id": strength_id, "displayName": name, "policyType": "builtIn", "requirementsSatisfied": "mfa",
            "allowedCombinations": ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"]}


def ca_policy(policy_id: str, name: str | None = None, state: str = "enabled",
              include_users: list[str] | None = None, exclude_users: list[str] | None = None,
              guest_types: str | None = None, exclude_guest_types: str | None = None,
              include_apps: list[str] | None = None, exclude_apps: list[str] | None = None,
              controls: list[str] | None = None, operator: str = "OR",
              auth_strength: dict[str, Any] | None = None, include_groups: list[str] | None = None,
              guest_tenants: list[str] | None = None, exclude_groups: list[str] | None = None,
              terms_of_use: list[str] | None = None, conditions: dict[str, Any] | None = None) -> dict[str, Any]:
    """``guest_tenants`` limits the guest condition to an enumerated list of external tenant ids;
    ``conditions`` adds or replaces condition keys (platforms, locations, devices, risk levels...)."""
    users: dict[str, Any] = {"includeUsers": include_users if include_users is not None else ["All"],
                             "excludeUsers": exclude_users or [], "includeGroups": include_groups or [],
                             "excludeGroups": exclude_groups or [],
                             "includeRoles": [], "excludeRoles": [],
                             "includeGuestsOrExternalUsers": None, "excludeGuestsOrExternalUsers": None}
    if guest_types:
        users["includeGuestsOrExternalUsers"] = {
            "guestOrExternalUserTypes": guest_types,
            "externalTenants": {"@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants",
                                "membershipKind": "all"}}
        if guest_tenants:
            users["includeGuestsOrExternalUsers"]["externalTenants"] = {
                "@odata.type": "#microsoft.graph.conditionalAccessEnumeratedExternalTenants",
                "membershipKind": "enumerated", "members": guest_tenants}
    if exclude_guest_types:
        users["excludeGuestsOrExternalUsers"] = {
            "guestOrExternalUserTypes": exclude_guest_types,
            "externalTenants": {"@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants",
                                "membershipKind": "all"}}
    return {"id": policy_id, "displayName": name or policy_id, "state": state,
            "conditions": {"users": users,
                           "applications": {"includeApplications": include_apps if include_apps is not None else ["All"],
                                            "excludeApplications": exclude_apps or [], "includeUserActions": []},
                           "clientAppTypes": ["all"], **(conditions or {})},
            "grantControls": {"operator": operator, "builtInControls": controls if controls is not None else ["mfa"],
                              "customAuthenticationFactors": [], "termsOfUse": terms_of_use or [],
                              "authenticationStrength": auth_strength}}


def ip_location(location_id: str, name: str, cidrs: list[str], trusted: bool = False) -> dict[str, Any]:
    """A named location of IP ranges, shaped as GET /identity/conditionalAccess/namedLocations returns it."""
    return {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": location_id, "displayName": name,
            "modifiedDateTime": "2026-01-05T10:00:00Z", "createdDateTime": "2025-06-01T10:00:00Z",
            "isTrusted": trusted,
            "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": c} for c in cidrs]}


def country_location(location_id: str, name: str, countries: list[str]) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": location_id, "displayName": name,
            "countriesAndRegions": countries, "includeUnknownCountriesAndRegions": False,
            "countryLookupMethod": "clientIpAddress"}


def group(group_id: str, name: str, members: list[str] | None = (), rule: str | None = None,
          processing: str = "On") -> dict[str, Any]:
    """A group named by a policy with its user members nested as transitiveMembers (None: not collected).
    With ``rule`` the group is dynamic."""
    item: dict[str, Any] = {"id": group_id, "displayName": name,
                            "groupTypes": ["DynamicMembership"] if rule else [],
                            "membershipRule": rule, "membershipRuleProcessingState": processing if rule else None}
    if members is not None:
        item["transitiveMembers"] = [{"@odata.type": "#microsoft.graph.user", "id": m, "userType": "Guest",
                                      "creationType": "SelfServiceSignUp"} for m in members]
    return item


def cross_tenant_default(mfa: bool = False, compliant: bool = False, hybrid: bool = False) -> dict[str, Any]:
    return {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/crossTenantAccessPolicy/default/$entity",
            "isServiceDefault": not (mfa or compliant or hybrid),
            "inboundTrust": {"isMfaAccepted": mfa, "isCompliantDeviceAccepted": compliant,
                             "isHybridAzureADJoinedDeviceAccepted": hybrid}}


def cross_tenant_partner(tenant_id: str, mfa: bool | None = None) -> dict[str, Any]:
    return {"tenantId": tenant_id, "isServiceProvider": False,
            "inboundTrust": None if mfa is None else {"isMfaAccepted": mfa, "isCompliantDeviceAccepted": False,
                                                      "isHybridAzureADJoinedDeviceAccepted": False}}


def what_if(app_id: str, kind: str, user_id: str, platform: str, client: str, results: list[dict[str, Any]],
            location: str = "internet", annotate: bool = True, ip: str | None = None) -> dict[str, Any]:
    """One conditionalAccessWhatIf line: the POST /identity/conditionalAccess/evaluate body and its answer.
    ``results`` are policies (ca_policy shapes) that apply; they become whatIfAnalysisResult objects."""
    conditions: dict[str, Any] = {"devicePlatform": platform, "clientAppType": client}
    if ip:
        conditions["ipAddress"] = ip
    record: dict[str, Any] = {
        "request": {"signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": user_id},
                    "signInContext": {"@odata.type": "#microsoft.graph.applicationContext",
                                      "includeApplications": [app_id]},
                    "signInConditions": conditions, "appliedPoliciesOnly": True},
        "value": [{**p, "policyApplies": True, "analysisReasons": "notSet"} for p in results]}
    if annotate:
        record["context"] = {"applicationId": app_id, "guestKind": kind, "userId": user_id, "platform": platform,
                             "client": client, "location": location}
    return record


def user(user_id: str, name: str | None = None, created: str = "2026-01-10T09:00:00Z",
         last_sign_in: str | None = "2026-10-20T09:00:00Z", creation_type: str = "SelfServiceSignUp",
         issuer: str = "mail", with_activity: bool = True) -> dict[str, Any]:
    mail = f"{user_id[:8]}@partner.example"
    item: dict[str, Any] = {
        "id": user_id, "displayName": name or f"Guest {user_id[:8]}", "mail": mail,
        "userPrincipalName": f"{mail.replace('@', '_')}#EXT#@contoso.onmicrosoft.com",
        "userType": "Guest", "creationType": creation_type,
        "identities": [{"signInType": "federated", "issuer": issuer, "issuerAssignedId": None}],
        "createdDateTime": created, "externalUserState": "Accepted", "accountEnabled": True}
    if with_activity:
        item["signInActivity"] = None if last_sign_in is None else {
            "lastSignInDateTime": last_sign_in, "lastSignInRequestId": "r1",
            "lastNonInteractiveSignInDateTime": "0001-01-01T00:00:00Z", "lastNonInteractiveSignInRequestId": ""}
    return item


_SEQ = [0]


def sign_in(user_id: str, app_id: str = "3dfff01b-0afb-4a07-967f-d1ccbd81102a", error_code: int = 0,
            requirement: str = "singleFactorAuthentication", ca_status: str = "success",
            applied: list[dict[str, Any]] | None = None, created: str = "2026-10-30T10:00:00Z",
            app_name: str = "Partner Portal", sign_in_id: str | None = None) -> dict[str, Any]:
    _SEQ[0] += 1
    return {"id": sign_in_id or f"si-{_SEQ[0]:08d}", "createdDateTime": created, "userId": user_id,
            "userDisplayName": f"Guest {user_id[:8]}", "userPrincipalName": f"{user_id[:8]}@partner.example",
            "appId": app_id, "appDisplayName": app_name, "userType": "guest",
            "crossTenantAccessType": "b2bCollaboration", "authenticationRequirement": requirement,
            "conditionalAccessStatus": ca_status, "isInteractive": True,
            "status": {"errorCode": error_code, "failureReason": "Other." if error_code == 0 else "Failed",
                       "additionalDetails": None},
            "appliedConditionalAccessPolicies": applied or []}


def applied_policy(policy_id: str, result: str = "failure", name: str | None = None,
                   with_strength: bool = False) -> dict[str, Any]:
    item: dict[str, Any] = {"id": policy_id, "displayName": name or policy_id, "result": result,
                            "enforcedGrantControls": ["Require authentication strength"] if with_strength
                            else ["Require multifactor authentication"], "enforcedSessionControls": []}
    if with_strength:
        item["authenticationStrength"] = {"authenticationStrengthId": "00000000-0000-0000-0000-000000000004",
                                          "displayName": "Phishing resistant MFA",
                                          "authenticationStrengthResult": "cannotSatisfy"}
    return item


DEFAULT_SOURCES: dict[str, Any] = {
    "authenticationFlowsPolicy": [{"id": "authenticationFlowsPolicy", "displayName": "Authentication flows policy",
                                   "selfServiceSignUp": {"isEnabled": True}}],
    "b2xUserFlows": [],
    "userFlowAttributes": [],
    "apiConnectors": [],
    "identityProviders": [provider("Google-OAUTH"), provider("Facebook-OAUTH")],
    "userFlowApplications": [],
    "conditionalAccessPolicies": [],
    "authenticationStrengthPolicies": [strength()],
    "emailAuthenticationMethod": [{"@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration",
                                   "id": "Email", "state": "enabled", "allowExternalIdToUseEmailOtp": "default",
                                   "includeTargets": []}],
    "authorizationPolicy": [{"id": "authorizationPolicy", "allowInvitesFrom": "everyone"}],
    "selfServiceSignUpUsers": [],
    "signIns": [],
}


def write_snapshot(dest: Path, *, collected_at: str = COLLECTED_AT, partial: tuple[str, ...] = (),
                   zip_file: bool = False, manifest_extra: dict[str, dict[str, Any]] | None = None,
                   **sources: Any) -> Path:
    """Write a snapshot of a quiet tenant, overriding the given sources; returns its path.

    Sources not in DEFAULT_SOURCES (the v2 ones: namedLocations, conditionalAccessGroups, ...) are left
    out unless given, like a snapshot taken before they existed. ``manifest_extra`` adds keys to a
    source's manifest entry (e.g. ``{"selfServiceSignUpUsers": {"signInActivity": True}}``).
    """
    unknown = set(sources) - set(SOURCE_KEYS)
    if unknown:
        raise KeyError(f"unknown source(s) {unknown}")
    merged = {**DEFAULT_SOURCES, **sources}
    moment = datetime.fromisoformat(collected_at.replace("Z", "+00:00")).astimezone(timezone.utc)
    target = dest.with_suffix(".zip") if zip_file else dest
    writer = SnapshotWriter(target, tenant_id=TENANT_ID, collected_at=moment)
    for key, value in merged.items():
        if value is None:
            continue
        if isinstance(value, str):
            writer.set_status(key, value, error=_ERRORS.get(value))
        else:
            writer.write_source(key, value, partial=key in partial)
    for key, extra in (manifest_extra or {}).items():
        writer.manifest["sources"][key].update(extra)
    return writer.close()
