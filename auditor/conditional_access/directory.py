"""What the evaluator knows besides the policies: who is asking, and the directory facts it judges against.

A source that was not collected (or not ``ok``) is ``None`` here, never empty: a missing group list
means "membership unknown", not "no members".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from auditor.model._base import fold
from auditor.model.conditional_access import (
    AuthenticationStrengthPolicy,
    ConditionalAccessGroup,
    CrossTenantAccessPolicyConfiguration,
    InboundTrust,
    NamedLocation,
)
from auditor.model.graph import User
from auditor.model.signin_matrix import MAIL_BASED_KINDS, guest_kind_of_issuer
from auditor.model.tenant import Tenant
from auditor.sources import OK, status_reason

# A built-in location id that is not a named location: the legacy MFA service's trusted IPs. The
# "All trusted networks and locations" option includes it.
MFA_TRUSTED_IPS = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class Audience:
    """Whose sign-in is judged: a guest of ``kind`` who signs up from now on, or one current guest."""

    kind: str
    user_id: str | None = None  # casefolded id of a current self-service guest

    @property
    def mail_based(self) -> bool:
        return self.kind in MAIL_BASED_KINDS

    @property
    def label(self) -> str:
        return f"current guest {self.user_id}" if self.user_id else "a guest who signs up"


@dataclass(frozen=True)
class CrossTenantTrust:
    """Inbound trust of the cross-tenant access settings: the default and each partner's own."""

    default: InboundTrust | None
    partners: tuple[tuple[str, InboundTrust | None], ...] = ()

    @classmethod
    def of(cls, records: list[CrossTenantAccessPolicyConfiguration]) -> CrossTenantTrust:
        default = next((r for r in records if not r.is_partner), None)
        partners = tuple((r.tenantId or "", r.inboundTrust) for r in records if r.is_partner)
        return cls(default.inboundTrust if default else None, partners)

    def accepted_by(self, claim: str) -> list[str]:
        """Where the claim (``isMfaAccepted``, ``isCompliantDeviceAccepted``, ...) is accepted: "default"
        and/or partner tenant ids. A partner without inbound trust settings inherits the default."""
        where = []
        default_value = bool(self.default and getattr(self.default, claim))
        if default_value:
            where.append("default")
        for tenant, trust in self.partners:
            value = getattr(trust, claim) if trust is not None and getattr(trust, claim) is not None else default_value
            if value and tenant:
                where.append(f"partner {tenant}")
        return where


class GuestKinds(Mapping[str, str]):
    """casefolded current guest id -> guest kind, read from the guest's identities on first use.

    Lazy because only guests a policy names are ever looked up, and tenants have tens of thousands.
    Guests whose identities name no single sign-up kind are absent.
    """

    def __init__(self, users: Mapping[str, User]) -> None:
        self._users = users
        self._kinds: dict[str, str | None] = {}

    def _kind(self, user_id: str) -> str | None:
        if user_id not in self._kinds:
            user = self._users.get(user_id)
            kinds = {guest_kind_of_issuer(i) for i in user.issuers()} - {None} if user is not None else set()
            self._kinds[user_id] = kinds.pop() if len(kinds) == 1 else None
        return self._kinds[user_id]

    def __getitem__(self, user_id: str) -> str:
        kind = self._kind(user_id)
        if kind is None:
            raise KeyError(user_id)
        return kind

    def __iter__(self) -> Iterator[str]:
        return (u for u in self._users if self._kind(u) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass
class Directory:
    named_locations: dict[str, NamedLocation] | None = None  # casefolded id -> location; None: not collected
    groups: dict[str, ConditionalAccessGroup] | None = None  # casefolded id -> group; None: not collected
    trust: CrossTenantTrust | None = None  # None: crossTenantAccessPolicy not collected
    strengths: dict[str, AuthenticationStrengthPolicy] = field(default_factory=dict)  # casefolded id
    guests: Mapping[str, str] = field(default_factory=dict)  # casefolded current guest id -> guest kind
    unavailable: dict[str, str] = field(default_factory=dict)  # source key -> why it cannot be used

    @classmethod
    def from_tenant(cls, tenant: Tenant) -> Directory:
        unavailable: dict[str, str] = {}

        def usable(key: str) -> bool:
            # A partial source is usable: what is missing from it is judged unknown item by item, and
            # the engine already keeps a rule with a partial optional source from passing.
            if tenant.is_ok(key):
                return True
            entry = tenant.source(key)
            unavailable[key] = status_reason(key, tenant.status(key),
                                             error=entry.error_text() if entry else None,
                                             partial=bool(entry and entry.partial))
            return False

        guests = GuestKinds(tenant.self_service_users_by_id) if tenant.is_ok("selfServiceSignUpUsers") else {}
        return cls(
            named_locations=tenant.named_locations_by_id if usable("namedLocations") else None,
            groups=tenant.conditional_access_groups if usable("conditionalAccessGroups") else None,
            trust=CrossTenantTrust.of(tenant.cross_tenant_access) if usable("crossTenantAccessPolicy") else None,
            strengths={fold(s.id): s for s in tenant.authentication_strength_policies
                       if s.id} if tenant.is_ok("authenticationStrengthPolicies") else {},
            guests=guests,
            unavailable=unavailable,
        )

    def why(self, key: str) -> str:
        return self.unavailable.get(key, status_reason(key, OK))
