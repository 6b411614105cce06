"""Build the bundled sample snapshots (samples/contoso, samples/fabrikam, samples/clean), deterministically.

    .venv/bin/python scripts/make_samples.py            # rewrite all samples
    .venv/bin/python scripts/make_samples.py --check    # exit 1 if a committed sample is out of date
    .venv/bin/python scripts/make_samples.py --coverage # which rules fire in which sample

Each sample tells a small, plausible story (see samples/README.md) in the real Graph shapes of
auditor/sources.py, with the quirks Graph really has. All dates are relative to a fixed ``collectedAt`` so
time-based rules (certificate expiry, inactivity) give the same answer forever.
"""

from __future__ import annotations

import argparse
import filecmp
import random
import sys
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from auditor.shapes import (
    BUILTIN_STRENGTHS,
    COLLECTED_AT,
    STRENGTH_PHISHING_RESISTANT,
    access_review,
    applied_policy,
    assignment,
    attribute,
    ca_policy,
    certificate,
    connector,
    cross_tenant_default,
    group,
    guest_user,
    ip_location,
    listener,
    provider,
    service_principal,
    sign_in,
    sponsor,
    user_flow,
    uuid_from,
)
from auditor.shapes import (
    member as group_member,
)
from auditor.snapshot.writer import SnapshotWriter

ROOT = Path(__file__).resolve().parents[1]

NOW = COLLECTED_AT  # 2026-11-01T06:00:00Z
SIGNIN_DAYS = 30
GLOBAL_ADMIN_ROLE = "62e90394-69f5-4237-9190-012177145e10"
OFFICE_APPS = [("00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"),
               ("00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online")]
Sources = dict[str, Any]


def days(n: float) -> timedelta:
    return timedelta(days=n)


def flows_policy(enabled: bool) -> list[dict[str, Any]]:
    return [{"id": "authenticationFlowsPolicy", "displayName": "Authentication flows policy",
             "description": "Authentication flows policy allows modification of settings related to authentication "
                            "flows in AAD tenant, such as self-service sign up configuration.",
             "selfServiceSignUp": {"isEnabled": enabled}}]


def email_method(external_otp: str) -> list[dict[str, Any]]:
    return [{"@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration", "id": "Email",
             "state": "enabled", "allowExternalIdToUseEmailOtp": external_otp, "includeTargets": [
                 {"targetType": "group", "id": "all_users", "isRegistrationRequired": False}]}]


GUEST_ROLE = "10dae51f-b6af-4016-8d66-8c2a99b929b3"  # Guest User: limited directory access (the default)
MEMBER_ROLE = "a0b1b346-4d3e-4e8b-98f8-753987be4970"  # User: the same directory access as members


def authorization_policy(invites_from: str, *, email_sign_up: bool = True,
                         guest_role: str = GUEST_ROLE) -> list[dict[str, Any]]:
    return [{"id": "authorizationPolicy", "displayName": "Authorization Policy",
             "description": "Used to manage authorization related settings across the company.",
             "allowInvitesFrom": invites_from, "allowedToSignUpEmailBasedSubscriptions": email_sign_up,
             "allowEmailVerifiedUsersToJoinOrganization": False, "guestUserRoleId": guest_role}]


BUILTIN_ATTRIBUTES = [attribute("City", custom=False, description="Your city"),
                      attribute("Country", custom=False, name="Country/Region", description="Your country"),
                      attribute("DisplayName", custom=False, name="Display Name", description="Your display name"),
                      attribute("GivenName", custom=False, name="Given Name", description="Your given name"),
                      attribute("Surname", custom=False, description="Your surname"),
                      attribute("JobTitle", custom=False, name="Job Title", description="Your job title")]
BUILTIN = {a["id"]: a for a in BUILTIN_ATTRIBUTES}


class Guests:
    """Self-service guests and their sign-ins, from a seeded RNG (names are obviously fictitious)."""

    FIRST = ["Aino", "Bastien", "Camila", "Dario", "Elif", "Finn", "Giulia", "Hamid", "Ingrid", "Jakub", "Keiko",
             "Lars", "Maëlle", "Nikolai", "Olga", "Pedro", "Renée", "Søren", "Thandiwe", "Úrsula", "Vikram", "Yara"]
    LAST = ["Aalto", "Berger", "Castillo", "Dąbrowski", "Esposito", "Fernández", "Gruber", "Halvorsen", "Iwasaki",
            "Jovanović", "Kirchner", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Pereira", "Quist", "Rahman"]

    def __init__(self, seed: int, tenant_domain: str) -> None:
        self.rng = random.Random(seed)
        self.tenant_domain = tenant_domain
        self.users: list[dict[str, Any]] = []
        self.sign_ins: list[dict[str, Any]] = []
        self._n = 0

    def add(self, count: int, *, idps: list[str], partner: str, created_days: tuple[int, int],
            last_days: tuple[int, int] | None, with_activity: bool = True,
            sponsors: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        made = []
        for _ in range(count):
            self._n += 1
            first = self.FIRST[self._n % len(self.FIRST)]
            last = self.LAST[(self._n * 7) % len(self.LAST)]
            mail = f"{first.lower()}.{self._n:03d}@{partner}"
            created = NOW - days(self.rng.uniform(*created_days))
            last_sign_in = None
            if last_days is not None:
                last_sign_in = max(created + days(0.01), NOW - days(self.rng.uniform(*last_days)))
            item = guest_user(uuid_from(self.rng), f"{first} {last}", mail, idp=idps[self._n % len(idps)],
                              created=created, last_sign_in=last_sign_in, tenant_domain=self.tenant_domain,
                              with_activity=with_activity, last_successful=True)
            # sponsors are set on invitation, not on self-service sign-up: most have none
            item["sponsors"] = list(sponsors or [])
            self.users.append(item)
            made.append(item)
        return made

    def sign_in(self, person: dict[str, Any], app: tuple[str, str], *, mfa: bool, error_code: int = 0,
                ca_status: str = "success", applied: list[dict[str, Any]] | None = None,
                user_type: str = "guest", within_days: float = SIGNIN_DAYS - 1) -> None:
        rng = self.rng
        self.sign_ins.append(sign_in(
            uuid_from(rng), NOW - days(rng.uniform(0.01, within_days)), user_id=person["id"],
            user_name=person["displayName"], upn=person.get("mail") or person["userPrincipalName"], app_id=app[0],
            app_name=app[1], user_type=user_type,
            requirement="multiFactorAuthentication" if mfa else "singleFactorAuthentication",
            error_code=error_code, ca_status=ca_status, applied=applied, ip=f"198.51.100.{rng.randrange(1, 255)}",
            device=rng.randrange(4), location=rng.randrange(6),
            cross_tenant="none" if user_type == "member" else "b2bCollaboration"))

    def sorted_sign_ins(self) -> list[dict[str, Any]]:
        return sorted(self.sign_ins, key=lambda s: (s["createdDateTime"], s["id"]), reverse=True)  # newest first


def member(rng: random.Random, name: str, domain: str) -> dict[str, Any]:
    """A colleague (not a guest): only needed as the author of sign-ins the audit must ignore."""
    return {"id": uuid_from(rng), "displayName": name, "userPrincipalName": f"{name.split()[0].lower()}@{domain}"}


# --- contoso: every rule fires ---------------------------------------------------------------------

def contoso() -> tuple[str, Sources]:
    """Contoso Manufacturing: four flows built up over two years, sign-up switched off last week."""
    rng = random.Random(20261101)
    tenant_id = "4c6a2b1e-8d3f-4f0a-9b7c-5e2d1a0f3c8b"
    ext = "b2c3d4e5f6a7489b9c0d1e2f3a4b5c6d"  # the b2c-extensions-app id custom attributes are named after
    portal = ("3dfff01b-0afb-4a07-967f-d1ccbd81102a", "Contoso Partner Portal")
    invoicing = ("b0e1638f-4c39-4cd1-82b3-91d1caef65f8", "Supplier Invoicing")
    hub = ("6a3c9e1d-2b7f-4e8a-9c5d-0f1e2d3c4b5a", "Supplier Hub")
    reseller = ("9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b", "Reseller Portal")
    webinar = ("2f4e6a8c-1b3d-4f5a-9c7e-0d2b4f6a8c1e", "Contoso Webinars")
    hq, visitor_wifi = "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f", "6a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"
    hub_group = "7b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"

    def custom(name: str, data_type: str, description: str) -> dict[str, Any]:
        return attribute(f"extension_{ext}_{name}", data_type, description=description)

    company_reg = custom("CompanyRegistration", "string", "Company registration number")
    tier = custom("PartnerTier", "string", "Partner programme tier")
    terms = custom("AcceptedTerms", "boolean", "Accepted the partner terms")
    contract = custom("ContractStart", "dateTime", "Contract start date")
    category = custom("SupplierCategory", "string", "Supplier category")
    vat = custom("VatNumber", "string", "VAT number")
    reseller_id = custom("ResellerId", "int64", "Reseller number")
    preferred = custom("IsPreferredSupplier", "boolean", "Preferred supplier (to be used in the next flow)")

    logic_app = connector(
        "f3a1c2d4-6b5e-4a7f-8c9d-0e1f2a3b4c5d", "Register partner (Logic App)",
        "https://prod-27.westeurope.logic.azure.com:443/workflows/4f2c8e1a9b7d4c3e8f6a5b2d1c0e9f8a/triggers/manual/"
        "paths/invoke?api-version=2016-10-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0"
        "&sig=Qm9ndXNTYW1wbGVTaWduYXR1cmVOb3RBU2VjcmV0MDEyMzQ1",
        certificates=[certificate(NOW + days(240), NOW - days(125), thumbprint="5C1E0A77D3B94F1A8E2C6D0B9F4A3E7C1D2B8A60")])
    persist = connector(
        "0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a", "Persist partner attributes",
        "https://partner-api.contoso.example/signup/persist",
        certificates=[certificate(NOW - days(353), NOW - days(718), active=False,
                                  thumbprint="2B7C4E9A1F0D3C6B8E5A2D7F4C1B9E0A3D6F8C21"),
                      certificate(NOW + days(12), NOW - days(353), thumbprint="A94F3C2E7B1D0E8F6C5A4B3D2E1F0A9B8C7D6E5F")])
    legacy_crm = connector("7b6a5c4d-3e2f-4a1b-8c9d-6e5f4a3b2c1d", "Legacy CRM validation",
                           "http://crm-legacy.contoso.example:8080/api/validate-supplier", basic=True)
    reseller_check = connector(
        "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b", "Reseller number check",
        "https://reseller-api.contoso.example/validate",
        certificates=[certificate(NOW - days(3), NOW - days(368), thumbprint="C3D2E1F0A9B8C7D6E5F4A3B2C1D0E9F8A7B6C5D4"),
                      certificate(NOW - days(370), NOW - days(735), active=False,
                                  thumbprint="D4C3B2A1F0E9D8C7B6A5F4E3D2C1B0A9F8E7D6C5")])
    old_webhook = connector(
        "1f2e3d4c-5b6a-4798-8a6b-5c4d3e2f1a0b", "Old onboarding webhook (pre-2025)",
        "https://onboarding-v1.contoso.example/hooks/signup",
        certificates=[certificate(NOW + days(400), NOW - days(330), thumbprint="E5F6A7B8C9D0E1F2A3B4C5D6E7F8A9B0C1D2E3F4")])

    flows = [
        user_flow("B2X_1_PartnerPortal",
                  [provider("AADSignup-OAUTH"), provider("EmailOtpSignup-OAUTH"), provider("Google-OAUTH")],
                  [assignment(BUILTIN["DisplayName"]), assignment(BUILTIN["City"]),
                   assignment(company_reg),
                   assignment(tier, input_type="RadioSingleSelect",
                              values=[("Gold", "gold"), ("Silver", "silver"), ("Bronze", "bronze")]),
                   assignment(terms, input_type="CheckboxMultiSelect", values=[("I accept the partner terms", "true")]),
                   assignment(contract, input_type="DateTimeDropdown")],
                  post_federation_signup=logic_app, post_attribute_collection=persist),
        user_flow("B2X_1_SupplierOnboarding",
                  [provider("EmailOtpSignup-OAUTH"), provider("MSASignup-OAUTH"), provider("Facebook-OAUTH")],
                  [assignment(BUILTIN["DisplayName"]),
                   assignment(category, input_type="DropdownSingleSelect"),
                   assignment(vat, optional=True)],
                  post_federation_signup=legacy_crm),
        user_flow("B2X_1_ResellerPortal",
                  [provider("AADSignup-OAUTH"), provider("Google-OAuth", old_shape=True)],
                  [assignment(BUILTIN["DisplayName"]), assignment(BUILTIN["Country"], input_type="DropdownSingleSelect",
                                                                  values=[("Netherlands", "NL"), ("Germany", "DE")]),
                   assignment(reseller_id)],
                  post_attribute_collection=reseller_check),
        user_flow("B2X_1_EventsRegistration", [provider("EmailOtpSignup-OAUTH")],
                  [assignment(BUILTIN["DisplayName"]), assignment(BUILTIN["City"])]),
        # set up by marketing in an afternoon: anyone with a mailbox signs up and is in (APP003)
        user_flow("B2X_1_WebinarSignUp", [provider("EmailOtpSignup-OAUTH")], [assignment(BUILTIN["DisplayName"])]),
    ]
    listeners = [
        listener("2adb5c12-5c12-2adb-125c-db2a125cdb2a", "B2X_1_PartnerPortal", [portal[0], invoicing[0]], 101),
        listener("0a09997f-fa0c-4f3c-9d02-76762ac069c8", "B2X_1_SupplierOnboarding", [hub[0], invoicing[0]], 102),
        listener("8e3b1f5d-7c2a-4b9e-a6d0-3f1c8e5b2a7d", "B2X_1_ResellerPortal", [reseller[0]], 103),
        listener("9f4c2e6a-8d3b-4c1a-b7e5-4d2f9a6c3b8e", "B2X_1_WebinarSignUp", [webinar[0]], 104),
    ]
    strength = next(s for s in BUILTIN_STRENGTHS if s["id"] == STRENGTH_PHISHING_RESISTANT)
    p_strength = ca_policy("a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a5b",
                           "GUESTS - Partner Portal - Require phishing-resistant MFA",
                           include_users=[], guest_types="b2bCollaborationGuest,b2bCollaborationMember",
                           include_apps=[portal[0]], controls=[], strength=strength, operator="OR")
    # MFA everywhere but the trusted headquarters network (CAP004: an exemption by location)
    p_supplier_mfa = ca_policy("a1b2c3d4-0002-4e5f-8a9b-0c1d2e3f4a5b",
                               "ALL - Invoicing and reseller apps - Require MFA outside the office",
                               include_apps=[invoicing[0], reseller[0]], controls=["mfa"],
                               conditions={"locations": {"includeLocations": ["All"],
                                                         "excludeLocations": ["AllTrusted"]}})
    p_hub_pilot = ca_policy("a1b2c3d4-0003-4e5f-8a9b-0c1d2e3f4a5b",
                            "ALL - Supplier Hub - Require MFA (pilot, report-only)",
                            state="enabledForReportingButNotEnforced", include_apps=[hub[0]], controls=["mfa"])
    p_guest_all = ca_policy("a1b2c3d4-0004-4e5f-8a9b-0c1d2e3f4a5b",
                            "GUESTS - All apps - Require MFA (disabled during tenant migration)",
                            state="disabled", include_users=["GuestsOrExternalUsers"], controls=["mfa"])
    p_legacy = ca_policy("a1b2c3d4-0005-4e5f-8a9b-0c1d2e3f4a5b", "ALL - Block legacy authentication",
                         controls=["block"], client_app_types=["exchangeActiveSync", "other"])
    p_devices = ca_policy("a1b2c3d4-0006-4e5f-8a9b-0c1d2e3f4a5b", "EMPLOYEES - Require compliant device",
                          exclude_users=["GuestsOrExternalUsers"], controls=["compliantDevice"])
    p_admins = ca_policy("a1b2c3d4-0007-4e5f-8a9b-0c1d2e3f4a5b", "ADMINS - Require phishing-resistant MFA",
                         include_users=[], include_roles=[GLOBAL_ADMIN_ROLE], controls=[], strength=strength)
    # reaches guests only through a static group: it protects today's members, never the next sign-up
    p_hub_group = ca_policy("a1b2c3d4-0008-4e5f-8a9b-0c1d2e3f4a5b", "GUESTS - Supplier Hub - Require MFA (group)",
                            include_users=[], include_groups=[hub_group], include_apps=[hub[0]], controls=["mfa"])
    # narrowed: MFA only in the mobile and desktop apps, and only for risky sign-ins (CAP002 evidence)
    p_portal_apps = ca_policy("a1b2c3d4-0009-4e5f-8a9b-0c1d2e3f4a5b",
                              "GUESTS - Partner Portal - Require MFA in mobile and desktop apps",
                              include_users=["GuestsOrExternalUsers"], include_apps=[portal[0]], controls=["mfa"],
                              client_app_types=["mobileAppsAndDesktopClients"])
    p_risky = ca_policy("a1b2c3d4-0010-4e5f-8a9b-0c1d2e3f4a5b", "ALL - Require MFA for risky sign-ins",
                        controls=["mfa"], conditions={"signInRiskLevels": ["medium", "high"]})
    policies = [p_strength, p_supplier_mfa, p_hub_pilot, p_guest_all, p_legacy, p_devices, p_admins, p_hub_group,
                p_portal_apps, p_risky]

    people = Guests(seed=4711, tenant_domain="contoso.onmicrosoft.com")
    portal_guests = people.add(90, idps=["emailOtp", "google", "emailOtp", "aadSignup"], partner="northwind.example",
                               created_days=(40, 700), last_days=(0.1, 25))
    supplier_guests = people.add(80, idps=["emailOtp", "microsoftAccount", "facebook", "emailOtp"],
                                 partner="tailspin.example", created_days=(40, 600), last_days=(0.1, 25))
    reseller_guests = people.add(50, idps=["aadSignup", "google"], partner="adventure-works.example",
                                 created_days=(60, 500), last_days=(0.1, 25))
    event_guests = people.add(20, idps=["emailOtp"], partner="gmail.example", created_days=(20, 300),
                              last_days=(0.1, 25))
    people.add(40, idps=["emailOtp", "aadSignup", "google"], partner="litware.example", created_days=(200, 730),
               last_days=(100, 400))  # lapsed partners: GST001
    people.add(15, idps=["emailOtp", "microsoftAccount"], partner="proseware.example", created_days=(95, 500),
               last_days=None)  # signed up, never came back: GST001
    people.add(5, idps=["emailOtp"], partner="wingtip.example", created_days=(2, 20), last_days=None)  # just joined
    # A lapsed partner whose only recent activity is failed attempts (a password spray): still inactive.
    sprayed = people.users[len(portal_guests) + len(supplier_guests) + len(reseller_guests) + len(event_guests)]
    sprayed["signInActivity"]["lastSignInDateTime"] = (NOW - days(2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # The partner manager sponsors the portal's first partners; nobody sponsors the rest (GUE004).
    for person in portal_guests[:10]:
        person["sponsors"] = [sponsor("0c9b8a7d-6e5f-4d3c-9b2a-1f0e9d8c7b6a", "Partner Manager")]
    # One reseller was exempted from the MFA policy "until the app is fixed" (CAP004: an excluded guest).
    p_supplier_mfa["conditions"]["users"]["excludeUsers"].append(reseller_guests[0]["id"])
    # One guest chose a display name with markup: reports must show it as text.
    people.users[3]["displayName"] = '<img src=x onerror=alert(1)> "Partner" & Co'

    def applied(*pairs: tuple[dict[str, Any], str]) -> list[dict[str, Any]]:
        return [applied_policy(p, r) for p, r in pairs] + [applied_policy(p_legacy, "notApplied"),
                                                            applied_policy(p_devices, "notApplied")]

    for person in portal_guests:
        mail_based = person["identities"][0]["issuer"] != "ExternalAzureAD"
        for _ in range(2):
            if mail_based and rng.random() < 0.35:
                # Phishing-resistant MFA cannot be met by an Email OTP / Google guest: blocked (SIG002, CAP001).
                people.sign_in(person, portal, mfa=False, error_code=53003, ca_status="failure",
                               applied=applied((p_strength, "failure")))
            elif mail_based:
                people.sign_in(person, invoicing, mfa=True, applied=applied((p_supplier_mfa, "success")))
            else:
                people.sign_in(person, portal, mfa=True, applied=applied((p_strength, "success")))
    for person in supplier_guests:
        # Supplier Hub is covered only by the report-only pilot: single-factor, CA not applied (SIG001, SIG003).
        people.sign_in(person, hub, mfa=False, ca_status="notApplied",
                       applied=applied((p_hub_pilot, "reportOnlyInterrupted")))
        if rng.random() < 0.5:
            people.sign_in(person, invoicing, mfa=True, applied=applied((p_supplier_mfa, "success")))
        if rng.random() < 0.1:
            people.sign_in(person, hub, mfa=False, error_code=50126, ca_status="notApplied",
                           applied=applied((p_hub_pilot, "reportOnlyNotApplied")))
    for person in reseller_guests:
        people.sign_in(person, reseller, mfa=True, applied=applied((p_supplier_mfa, "success")))
    for person in event_guests:
        people.sign_in(person, rng.choice(OFFICE_APPS), mfa=False, ca_status="notApplied", applied=applied())
    # Colleagues and invited (not self-service) guests share the log; the SIG rules must ignore them.
    for i in range(30):
        colleague = member(rng, f"Colleague {i:02d}", "contoso.example")
        people.sign_in(colleague, rng.choice(OFFICE_APPS), mfa=False, ca_status="notApplied",
                       applied=applied(), user_type="member")
    for i in range(10):
        invited = member(rng, f"Invited {i:02d}", "fabrikam.example")
        people.sign_in(invited, hub, mfa=False, ca_status="notApplied",
                       applied=applied((p_hub_pilot, "reportOnlyInterrupted")))

    return tenant_id, {
        "authenticationFlowsPolicy": flows_policy(False),  # switched off last week during an incident review
        "b2xUserFlows": flows,
        "userFlowAttributes": BUILTIN_ATTRIBUTES + [company_reg, tier, terms, contract, category, vat, reseller_id,
                                                    preferred],
        "apiConnectors": [logic_app, persist, legacy_crm, reseller_check, old_webhook],
        "identityProviders": [provider("MSASignup-OAUTH", odata_hash=False), provider("Google-OAuth", old_shape=True)],
        "userFlowApplications": listeners,
        "conditionalAccessPolicies": policies,
        "authenticationStrengthPolicies": BUILTIN_STRENGTHS,
        "emailAuthenticationMethod": email_method("disabled"),
        "authorizationPolicy": authorization_policy("everyone"),
        "selfServiceSignUpUsers": people.users,
        "signIns": people.sorted_sign_ins(),
        "namedLocations": [ip_location(hq, ["203.0.113.0/24"], trusted=True, name="Contoso HQ"),
                           ip_location(visitor_wifi, ["192.0.2.0/24"], name="Visitor Wi-Fi")],
        "conditionalAccessGroups": [group(hub_group, [group_member(g["id"]) for g in supplier_guests[:25]],
                                          name="Supplier Hub guests")],
        # MFA done in any home tenant is trusted (XTA001); Entra ID guests then meet the strength too
        "crossTenantAccessPolicy": [cross_tenant_default(mfa=True)],
        "linkedServicePrincipals": [service_principal(*portal), service_principal(*hub),
                                    service_principal(*invoicing, enabled=False),  # disabled (APP004)
                                    service_principal(*webinar)],  # the reseller app was deleted (APP004)
        "accessReviewDefinitions": [
            access_review("e1f2a3b4-0001-4c5d-8e6f-7a8b9c0d1e2f", recurrence=None),  # once, in 2025
            access_review("e1f2a3b4-0002-4c5d-8e6f-7a8b9c0d1e2f",
                          query="/users?$filter=(userType eq 'Member')")],  # members only
    }


# --- fabrikam: sign-up on, no flow -----------------------------------------------------------------

def fabrikam() -> tuple[str, Sources]:
    """Fabrikam Freight: the only flow was deleted after a pilot; the tenant switch was left on."""
    tenant_id = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
    people = Guests(seed=778, tenant_domain="fabrikamfreight.onmicrosoft.com")
    pilot = people.add(6, idps=["aadSignup", "emailOtp"], partner="carrier.example", created_days=(120, 300),
                       last_days=(1, 20))
    tracking = ("4b3a2c1d-0e9f-4a8b-9c7d-6e5f4a3b2c1e", "Shipment Tracking")
    p_guest_mfa = ca_policy("b2c3d4e5-0001-4f6a-8b7c-9d0e1f2a3b4c", "GUESTS - All apps - Require MFA",
                            include_users=["GuestsOrExternalUsers"], controls=["mfa"])
    for person in pilot:
        for _ in range(3):
            people.sign_in(person, tracking, mfa=True, applied=[applied_policy(p_guest_mfa, "success")])
    return tenant_id, {
        "authenticationFlowsPolicy": flows_policy(True),
        "b2xUserFlows": [],
        "userFlowAttributes": BUILTIN_ATTRIBUTES,
        "apiConnectors": [],
        "identityProviders": [provider("MSASignup-OAUTH")],
        "userFlowApplications": [],
        "conditionalAccessPolicies": [p_guest_mfa],
        "authenticationStrengthPolicies": BUILTIN_STRENGTHS,
        "emailAuthenticationMethod": email_method("default"),
        # guests see the directory as members do and may invite more guests (GUE001, GUE002)
        "authorizationPolicy": authorization_policy("everyone", guest_role=MEMBER_ROLE),
        "selfServiceSignUpUsers": people.users,
        "signIns": people.sorted_sign_ins(),
        "namedLocations": [],
        "conditionalAccessGroups": [],
        "crossTenantAccessPolicy": [cross_tenant_default()],
        "linkedServicePrincipals": [],
        "accessReviewDefinitions": [],
    }


# --- clean: nothing at low or above ----------------------------------------------------------------

def clean() -> tuple[str, Sources]:
    """Woodgrove Bank: a well-kept configuration; only informational notes remain."""
    rng = random.Random(4242)
    tenant_id = "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a"
    ext = "0f1e2d3c4b5a49687a6b5c4d3e2f1a0b"
    suppliers_app = ("5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a", "Woodgrove Supplier Portal")
    auditors_app = ("8c7b6a5f-4e3d-4c2b-9a1f-0e9d8c7b6a5f", "Woodgrove External Audit Workspace")
    company = attribute(f"extension_{ext}_CompanyName", "string", description="Registered company name")
    supplier_tier = attribute(f"extension_{ext}_SupplierTier", "string", description="Supplier tier")
    employees = attribute(f"extension_{ext}_EmployeeCount", "int64", description="Number of employees")
    persist = connector(
        "3c2b1a0f-9e8d-4c7b-8a6f-5e4d3c2b1a0f", "Persist supplier profile",
        "https://supplier-api.woodgrove.example/signup/persist",
        certificates=[certificate(NOW + days(410), NOW - days(320), thumbprint="1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D")])
    screen = connector(
        "6f5e4d3c-2b1a-4f0e-9d8c-7b6a5f4e3d2c", "Screen sign-up domain",
        "https://supplier-api.woodgrove.example/signup/screen",
        certificates=[certificate(NOW + days(410), NOW - days(320), thumbprint="1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D")])
    flows = [
        user_flow("B2X_1_WoodgroveSuppliers",
                  [provider("AADSignup-OAUTH"), provider("EmailOtpSignup-OAUTH"), provider("Google-OAUTH")],
                  [assignment(BUILTIN["DisplayName"]), assignment(company),
                   assignment(supplier_tier, input_type="RadioSingleSelect",
                              values=[("Strategic", "strategic"), ("Preferred", "preferred"), ("Other", "other")]),
                   assignment(employees, optional=True)],
                  post_federation_signup=screen, post_attribute_collection=persist),
        user_flow("B2X_1_WoodgroveAuditors", [provider("AADSignup-OAUTH")],
                  [assignment(BUILTIN["DisplayName"]), assignment(BUILTIN["JobTitle"])]),
    ]
    listeners = [listener("4e3d2c1b-0a9f-4e8d-8c7b-6a5f4e3d2c1c", "B2X_1_WoodgroveSuppliers", [suppliers_app[0]], 101),
                 listener("7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2e", "B2X_1_WoodgroveAuditors", [auditors_app[0]], 102)]
    strength = next(s for s in BUILTIN_STRENGTHS if s["id"] == STRENGTH_PHISHING_RESISTANT)
    p_guest_mfa = ca_policy("c3d4e5f6-0001-4a7b-8c9d-0e1f2a3b4c5d", "GUESTS - All apps - Require MFA",
                            include_users=[], guest_types="internalGuest,b2bCollaborationGuest,b2bCollaborationMember",
                            controls=["mfa"])
    p_legacy = ca_policy("c3d4e5f6-0002-4a7b-8c9d-0e1f2a3b4c5d", "ALL - Block legacy authentication",
                         controls=["block"], client_app_types=["exchangeActiveSync", "other"])
    p_admins = ca_policy("c3d4e5f6-0003-4a7b-8c9d-0e1f2a3b4c5d", "ADMINS - Require phishing-resistant MFA",
                         include_users=[], include_roles=[GLOBAL_ADMIN_ROLE], controls=[], strength=strength)
    people = Guests(seed=4243, tenant_domain="woodgrovebank.onmicrosoft.com")
    procurement = [sponsor("1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a", "Procurement desk")]
    supplier_guests = people.add(30, idps=["aadSignup", "emailOtp", "google"], partner="supplier.example",
                                 created_days=(30, 500), last_days=(0.1, 20), sponsors=procurement)
    auditor_guests = people.add(8, idps=["aadSignup"], partner="audit-firm.example", created_days=(30, 400),
                                last_days=(0.1, 20), sponsors=procurement)
    for person, app in [(p, suppliers_app) for p in supplier_guests] + [(p, auditors_app) for p in auditor_guests]:
        for _ in range(rng.randint(1, 3)):
            people.sign_in(person, app, mfa=True, applied=[applied_policy(p_guest_mfa, "success"),
                                                            applied_policy(p_legacy, "notApplied")],
                           within_days=20)
    return tenant_id, {
        "authenticationFlowsPolicy": flows_policy(True),
        "b2xUserFlows": flows,
        "userFlowAttributes": BUILTIN_ATTRIBUTES + [company, supplier_tier, employees],
        "apiConnectors": [persist, screen],
        "identityProviders": [provider("MSASignup-OAUTH"), provider("Google-OAUTH")],
        "userFlowApplications": listeners,
        "conditionalAccessPolicies": [p_guest_mfa, p_legacy, p_admins],
        "authenticationStrengthPolicies": BUILTIN_STRENGTHS,
        "emailAuthenticationMethod": email_method("enabled"),
        "authorizationPolicy": authorization_policy("adminsAndGuestInviters", email_sign_up=False),
        "selfServiceSignUpUsers": people.users,
        "signIns": people.sorted_sign_ins(),
        "namedLocations": [],
        "conditionalAccessGroups": [],
        "crossTenantAccessPolicy": [cross_tenant_default()],
        "linkedServicePrincipals": [service_principal(*suppliers_app),
                                    service_principal(*auditors_app, required=True)],
        # every quarter, guests of the Microsoft 365 groups are reviewed; denied access is removed
        "accessReviewDefinitions": [access_review("d4c3b2a1-0001-4e5f-9a8b-7c6d5e4f3a2b",
                                                  query="./members/microsoft.graph.user/?$count=true&$filter=("
                                                        "userType eq 'Guest')",
                                                  instances="/groups?$filter=(groupTypes/any(c:c eq 'Unified'))")],
    }


SAMPLES: dict[str, Callable[[], tuple[str, Sources]]] = {"contoso": contoso, "fabrikam": fabrikam, "clean": clean}


def write_sample(name: str, dest: Path) -> Path:
    tenant_id, sources = SAMPLES[name]()
    writer = SnapshotWriter(dest, tenant_id=tenant_id, collected_at=NOW,
                            sign_in_window=(NOW - days(SIGNIN_DAYS), NOW))
    try:
        for key, records in sources.items():
            writer.write_source(key, records)
        # what the collector states about the users source (read with signInActivity and sponsors)
        writer.manifest["sources"]["selfServiceSignUpUsers"].update({"signInActivity": True, "sponsors": True})
    except BaseException:
        writer.abort()
        raise
    return writer.close()


def _same_tree(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    if names != sorted(p.name for p in b.iterdir()):
        return False
    return all(filecmp.cmp(a / n, b / n, shallow=False) for n in names)


def coverage(samples: Path) -> str:
    """One line per catalog rule: its outcome in each sample (the samples are a showcase, not a gate)."""
    from auditor.engine import run_audit
    from auditor.snapshot import open_snapshot

    outcomes = {name: {r.id: r.outcome for r in run_audit(open_snapshot(samples / name)).rules} for name in SAMPLES}
    ids = sorted({rule for found in outcomes.values() for rule in found})
    lines = [f"{'rule':8}" + "".join(f"{name:>15}" for name in SAMPLES) + "  fires in"]
    for rule in ids:
        where = [name for name in SAMPLES if outcomes[name].get(rule) == "fail"]
        lines.append(f"{rule:8}" + "".join(f"{outcomes[name].get(rule, '-'):>15}" for name in SAMPLES)
                     + f"  {', '.join(where) or '-'}")
    fired = sum(1 for rule in ids if any(outcomes[n].get(rule) == "fail" for n in SAMPLES))
    lines.append(f"{fired} of {len(ids)} rules fire in at least one sample")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the bundled sample snapshots.")
    parser.add_argument("--out", type=Path, default=ROOT / "samples", help="samples directory")
    parser.add_argument("--check", action="store_true", help="only verify the committed samples are up to date")
    parser.add_argument("--coverage", action="store_true", help="print which rules fire in which sample")
    parser.add_argument("names", nargs="*", help=f"samples to build (default: all of {', '.join(SAMPLES)})")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(SAMPLES))
    if unknown:
        parser.error(f"unknown sample(s): {', '.join(unknown)}")
    if args.coverage:
        print(coverage(args.out), end="")
        return 0
    stale = []
    for name in args.names or list(SAMPLES):
        if args.check:
            with tempfile.TemporaryDirectory() as tmp:
                fresh = write_sample(name, Path(tmp) / name)
                if not (args.out / name).is_dir() or not _same_tree(fresh, args.out / name):
                    stale.append(name)
        else:
            print(f"wrote {write_sample(name, args.out / name)}", file=sys.stderr)
    if stale:
        print(f"samples out of date: {', '.join(stale)} (run scripts/make_samples.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
