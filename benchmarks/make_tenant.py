"""Generate a large synthetic tenant snapshot (docs/snapshot-format.md) for benchmarks and scale tests.

    python benchmarks/make_tenant.py --guests 40000 --sign-ins 600000 --flows 20 --policies 200 --out DIR

Every record has the shape Microsoft Graph really returns, quirks included (PascalCase enums,
``Google-OAuth``/``Google-OAUTH``, old-shape providers, CSV ``guestOrExternalUserTypes``, an
``@odata.type`` without ``#``, ``******`` secrets, the ``0001-01-01T00:00:00Z`` sentinel). The
output is seeded: the same arguments give the same bytes. Sign-ins are generated lazily and
streamed into the gzip file, so memory does not grow with ``--sign-ins``.

The Graph-object builders live in :mod:`auditor.shapes` (shared with the tests and the samples).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from auditor.shapes import (
    BUILTIN_STRENGTHS,
    COLLECTED_AT,
    applied_policy,
    assignment,
    attribute,
    ca_policy,
    certificate,
    connector,
    guest_user,
    iso,
    listener,
    provider,
    sign_in,
    user_flow,
    uuid_from,
)
from auditor.snapshot.writer import SnapshotWriter


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
