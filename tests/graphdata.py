"""Test defaults over :mod:`auditor.shapes` (the one library of Graph shapes), and snapshots of them.

Tests build exactly the tenant a case needs: ``write_snapshot(tmp_path, b2xUserFlows=[flow(...)])``
starts from a quiet tenant (sign-up on, Email OTP default, no flows, no policies) and overrides only
the sources given. A source given as a string (e.g. ``"forbidden"``) is recorded with that status
and no data; ``None`` leaves it out of the manifest.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from auditor import shapes
from auditor.snapshot.writer import SnapshotWriter
from auditor.sources import SOURCE_KEYS

TENANT_ID = "0b6e6b8c-1d0e-4e59-9a57-2f1c7f0f1a11"
COLLECTED_AT = "2026-11-01T06:00:00Z"

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


def _at(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(timezone.utc)


def epoch(moment: str) -> int:
    return shapes.epoch(_at(moment))


def provider(provider_id: str) -> dict[str, Any]:
    return shapes.provider(provider_id)


def attribute(attr_id: str, data_type: str = "string", custom: bool = True, name: str | None = None) -> dict[str, Any]:
    return shapes.attribute(attr_id, data_type, custom=custom, name=name)


def assignment(attr_id: str, data_type: str = "string", custom: bool = True, optional: bool = False,
               input_type: str = "TextBox", values: list[dict[str, Any]] | None = None,
               expand: bool = True) -> dict[str, Any]:
    item = shapes.assignment(shapes.attribute(attr_id, data_type, custom=custom), optional=optional,
                             input_type=input_type, expand=expand)
    item["userAttributeValues"] = values or []  # tests give the choices as Graph objects
    return item


def cert(not_after: str, not_before: str = "2025-01-01T00:00:00Z", active: bool = True,
         thumbprint: str = "0EB255CC895477798BA418B378255204304897AD") -> dict[str, Any]:
    return shapes.certificate(_at(not_after), _at(not_before), active=active, thumbprint=thumbprint)


def connector(connector_id: str, name: str | None = None, url: str = "https://api.contoso.example/signup",
              auth: str = "certificate", certs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return shapes.connector(connector_id, name or connector_id, url, basic=auth == "basic",
                            certificates=certs if certs is not None else [cert(not_after="2027-06-01T00:00:00Z")])


def flow(flow_id: str, providers: tuple[str, ...] | list[str] = ("AADSignup-OAUTH", "EmailOtpSignup-OAUTH"),
         attributes: list[dict[str, Any]] | None = None, post_attribute_collection: dict[str, Any] | None = None,
         post_federation_signup: dict[str, Any] | None = None, with_connectors: bool = True) -> dict[str, Any]:
    item = shapes.user_flow(flow_id, [provider(p) for p in providers], attributes or [],
                            post_federation_signup=post_federation_signup,
                            post_attribute_collection=post_attribute_collection)
    if not with_connectors:
        del item["apiConnectorConfiguration"]
    return item


def listener(flow_id: str, app_ids: list[str], listener_id: str | None = None, priority: int = 100) -> dict[str, Any]:
    return shapes.listener(listener_id or f"listener-{flow_id}-{'-'.join(app_ids)}", flow_id, app_ids, priority)


def strength(strength_id: str = shapes.STRENGTH_PHISHING_RESISTANT, name: str = "Phishing resistant MFA") -> dict[str, Any]:
    return shapes.strength_policy(strength_id, name, ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"])


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
    return shapes.ca_policy(
        policy_id, name or policy_id, state=state,
        include_users=include_users if include_users is not None else ["All"], exclude_users=exclude_users or [],
        include_groups=include_groups or [], exclude_groups=exclude_groups or [], guest_types=guest_types,
        exclude_guest_types=exclude_guest_types, guest_tenants=guest_tenants,
        include_apps=include_apps if include_apps is not None else ["All"], exclude_apps=exclude_apps or [],
        controls=controls if controls is not None else ["mfa"], operator=operator, strength=auth_strength,
        terms_of_use=terms_of_use or [], conditions=conditions)


_ISSUER_KINDS = {"mail": "emailOtp", "google.com": "google", "facebook.com": "facebook",
                 "MicrosoftAccount": "microsoftAccount", "ExternalAzureAD": "aadSignup"}


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
         issuer: str = "mail", with_activity: bool = True,
         sponsors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A guest as the v2 collector writes it: ``sponsors`` nested (empty unless given; delete the key for
    a record collected without them)."""
    mail = f"{user_id[:8]}@partner.example"
    item = shapes.guest_user(user_id, name or f"Guest {user_id[:8]}", mail, idp=_ISSUER_KINDS.get(issuer, "emailOtp"),
                             created=_at(created), last_sign_in=_at(last_sign_in) if last_sign_in else None,
                             with_activity=with_activity)
    item["creationType"] = creation_type
    item["identities"][0]["issuer"] = issuer
    if with_activity and last_sign_in is None:
        item["signInActivity"] = None  # what Graph returns for a guest that never signed in
    item["sponsors"] = sponsors or []
    return item


_SEQ = [0]


def sign_in(user_id: str, app_id: str = "3dfff01b-0afb-4a07-967f-d1ccbd81102a", error_code: int = 0,
            requirement: str = "singleFactorAuthentication", ca_status: str = "success",
            applied: list[dict[str, Any]] | None = None, created: str = "2026-10-30T10:00:00Z",
            app_name: str = "Partner Portal", sign_in_id: str | None = None) -> dict[str, Any]:
    _SEQ[0] += 1
    return shapes.sign_in(sign_in_id or f"si-{_SEQ[0]:08d}", created, user_id=user_id,
                          user_name=f"Guest {user_id[:8]}", upn=f"{user_id[:8]}@partner.example", app_id=app_id,
                          app_name=app_name, requirement=requirement, error_code=error_code, ca_status=ca_status,
                          applied=applied)


def applied_policy(policy_id: str, result: str = "failure", name: str | None = None,
                   with_strength: bool = False) -> dict[str, Any]:
    """A policy as a sign-in lists it; ``with_strength``: it failed an authentication strength."""
    policy = ca_policy(policy_id, name=name, controls=[] if with_strength else ["mfa"],
                       auth_strength=strength() if with_strength else None)
    return shapes.applied_policy(policy, result)


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
    "authorizationPolicy": [{"id": "authorizationPolicy", "allowInvitesFrom": "adminsAndGuestInviters",
                             "guestUserRoleId": "10dae51f-b6af-4016-8d66-8c2a99b929b3",
                             "allowedToSignUpEmailBasedSubscriptions": False,
                             "allowEmailVerifiedUsersToJoinOrganization": False}],
    "selfServiceSignUpUsers": [],
    "signIns": [],
    # v2 sources: collected, nothing configured (conditionalAccessWhatIf exists only in live snapshots)
    "namedLocations": [],
    "conditionalAccessGroups": [],
    "crossTenantAccessPolicy": [{"id": "crossTenantAccessPolicy/default", "isServiceDefault": True,
                                 "inboundTrust": {"isMfaAccepted": False, "isCompliantDeviceAccepted": False,
                                                  "isHybridAzureADJoinedDeviceAccepted": False}}],
    "linkedServicePrincipals": [],
    "accessReviewDefinitions": [],
}


def write_snapshot(dest: Path, *, collected_at: str = COLLECTED_AT, partial: tuple[str, ...] = (),
                   zip_file: bool = False, manifest_extra: dict[str, dict[str, Any]] | None = None,
                   **sources: Any) -> Path:
    """Write a snapshot of a quiet tenant, overriding the given sources; returns its path.

    ``manifest_extra`` adds keys to a source's manifest entry (e.g.
    ``{"selfServiceSignUpUsers": {"signInActivity": True}}``)."""
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
