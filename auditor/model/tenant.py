"""The tenant model: typed views over a snapshot's sources, loaded on first use.

Small sources are parsed into pydantic models; the sign-in log is folded into aggregates in one
streamed pass (see :mod:`auditor.model.signins`). Rules never read the snapshot directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from auditor.model.directory import (
    AccessReviewDefinition,
    AsideRead,
    AuthorizationSettings,
    CrossTenantAccessConfiguration,
    GuestSponsors,
    ServicePrincipal,
)
from auditor.model.graph import (
    ApiConnector,
    AuthenticationFlowsPolicy,
    AuthenticationStrengthPolicy,
    AuthorizationPolicy,
    ConditionalAccessPolicy,
    EmailAuthenticationMethod,
    IdentityProvider,
    User,
    UserFlow,
    UserFlowAttribute,
    UserFlowListener,
)
from auditor.model.signins import SignInAggregates, aggregate_sign_ins
from auditor.snapshot.reader import Snapshot, SourceEntry, memory_snapshot
from auditor.sources import OK
from auditor.validation import describe_validation

M = TypeVar("M", bound=BaseModel)


class Tenant:
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._damage: dict[str, list[str]] = {}

    @classmethod
    def from_records(cls, sources: Mapping[str, list[dict[str, Any]] | str | None], *, tenant_id: str,
                     collected_at: datetime, cloud: str = "global",
                     extra: Mapping[str, dict[str, Any]] | None = None) -> Tenant:
        """A tenant of in-memory records (see :func:`auditor.snapshot.memory_snapshot`): rule tests and
        fixtures need no files."""
        return cls(memory_snapshot(sources, tenant_id=tenant_id, collected_at=collected_at, cloud=cloud,
                                   extra=extra))

    # -- provenance ---------------------------------------------------------------------------
    @property
    def tenant_id(self) -> str:
        return self.snapshot.manifest.tenantId

    @property
    def collected_at(self) -> datetime:
        return self.snapshot.collected_at

    def source(self, key: str) -> SourceEntry | None:
        return self.snapshot.source(key)

    def status(self, key: str) -> str:
        return self.snapshot.status(key)

    def is_ok(self, key: str) -> bool:
        return self.status(key) == OK

    def is_partial(self, key: str) -> bool:
        entry = self.source(key)
        return bool(entry and entry.partial)

    def damage(self, key: str) -> list[str]:
        """Records of the source that were read and set aside as not what Graph returns (each names its
        file, line and field). The engine turns them into data gaps of the rules that read the source."""
        return self._damage.get(key, [])

    # -- parsing ------------------------------------------------------------------------------
    def _iter(self, key: str, model: type[M]) -> Iterator[M]:
        """The source's records as models; a record that does not validate is recorded, not judged."""
        label = self.snapshot.file_label(key)
        damage = self._damage.setdefault(key, [])
        damage.clear()  # a source is parsed once (cached properties); a second pass must not double-count
        for index, record in enumerate(self.snapshot.iter_records(key), start=1):
            try:
                yield model.model_validate(record)
            except ValidationError as exc:
                damage.append(f"{label}: line {index}: {describe_validation(exc)} (record not judged)")

    def _list(self, key: str, model: type[M]) -> list[M]:
        return list(self._iter(key, model)) if self.is_ok(key) else []

    def _single(self, key: str, model: type[M]) -> M | None:
        items = self._list(key, model)
        return items[0] if items else None

    # -- sources ------------------------------------------------------------------------------
    @cached_property
    def authentication_flows_policy(self) -> AuthenticationFlowsPolicy | None:
        return self._single("authenticationFlowsPolicy", AuthenticationFlowsPolicy)

    @cached_property
    def user_flows(self) -> list[UserFlow]:
        return sorted(self._list("b2xUserFlows", UserFlow), key=lambda f: f.id.casefold())

    @cached_property
    def user_flow_attributes(self) -> list[UserFlowAttribute]:
        return self._list("userFlowAttributes", UserFlowAttribute)

    @cached_property
    def api_connectors(self) -> list[ApiConnector]:
        return sorted(self._list("apiConnectors", ApiConnector), key=lambda c: c.id.casefold())

    @cached_property
    def identity_providers(self) -> list[IdentityProvider]:
        return self._list("identityProviders", IdentityProvider)

    @cached_property
    def user_flow_listeners(self) -> list[UserFlowListener]:
        return self._list("userFlowApplications", UserFlowListener)

    @cached_property
    def conditional_access_policies(self) -> list[ConditionalAccessPolicy]:
        return sorted(self._list("conditionalAccessPolicies", ConditionalAccessPolicy),
                      key=lambda p: p.id.casefold())

    @cached_property
    def authentication_strength_policies(self) -> list[AuthenticationStrengthPolicy]:
        return self._list("authenticationStrengthPolicies", AuthenticationStrengthPolicy)

    @cached_property
    def email_authentication_method(self) -> EmailAuthenticationMethod | None:
        return self._single("emailAuthenticationMethod", EmailAuthenticationMethod)

    @cached_property
    def authorization_policy(self) -> AuthorizationPolicy | None:
        return self._single("authorizationPolicy", AuthorizationPolicy)

    @cached_property
    def _users(self) -> tuple[list[User], bool]:
        users: list[User] = []
        saw_activity = False
        if self.is_ok("selfServiceSignUpUsers"):
            for user in self._iter("selfServiceSignUpUsers", User):
                saw_activity = saw_activity or "signInActivity" in user.model_fields_set
                # The source filters on creationType server-side; check again so a broader
                # collection never lets members or invited guests into the SSSU rules.
                if user.is_self_service:
                    users.append(user)
        users.sort(key=lambda u: u.id.casefold())
        return users, saw_activity

    @property
    def self_service_users(self) -> list[User]:
        return self._users[0]

    @cached_property
    def self_service_users_by_id(self) -> dict[str, User]:
        """casefolded user id -> user (sign-ins name users by id)."""
        return {u.id.casefold(): u for u in self.self_service_users}

    @property
    def users_have_sign_in_activity(self) -> bool:
        """False when users were collected without signInActivity (no licence or permission)."""
        return self._users[1]

    @cached_property
    def sign_in_aggregates(self) -> SignInAggregates:
        guest_ids = {u.id for u in self.self_service_users}
        records = self.snapshot.iter_records("signIns") if self.is_ok("signIns") else iter(())
        return aggregate_sign_ins(records, guest_ids)

    # -- derived ------------------------------------------------------------------------------
    @cached_property
    def attributes_by_id(self) -> dict[str, UserFlowAttribute]:
        return {a.id.casefold(): a for a in self.user_flow_attributes}

    @cached_property
    def apps_by_flow(self) -> dict[str, list[str]]:
        """flow id (casefolded) -> sorted distinct appIds linked to it through onSignupStart listeners."""
        links: dict[str, set[str]] = {}
        for listener in self.user_flow_listeners:
            if listener.flow_id:
                links.setdefault(listener.flow_id.casefold(), set()).update(a.casefold() for a in listener.app_ids)
        return {flow: sorted(apps) for flow, apps in links.items()}

    # -- directory: who can get in, and what they can do (model/directory.py) --------------------
    def _read_aside(self, key: str, model: type[M]) -> AsideRead[M]:
        """The source's records validated with ``model`` without touching the source's damage list
        (the model it is normally parsed with owns that): for sources two models read."""
        read: AsideRead[M] = AsideRead()
        if not self.is_ok(key):
            return read
        label = self.snapshot.file_label(key)
        for index, record in enumerate(self.snapshot.iter_records(key), start=1):
            try:
                read.items.append(model.model_validate(record))
            except ValidationError as exc:
                read.problems.append(f"{label}: line {index}: {describe_validation(exc)} (record not judged)")
        return read

    @cached_property
    def authorization_settings(self) -> AsideRead[AuthorizationSettings]:
        """The authorization policy's guest settings (guestUserRoleId, allowInvitesFrom, email sign-up)."""
        return self._read_aside("authorizationPolicy", AuthorizationSettings)

    @cached_property
    def self_service_sponsors(self) -> AsideRead[GuestSponsors]:
        """The ``sponsors`` nested under each self-service sign-up guest record."""
        return self._read_aside("selfServiceSignUpUsers", GuestSponsors)

    @cached_property
    def linked_service_principals(self) -> list[ServicePrincipal]:
        return sorted(self._list("linkedServicePrincipals", ServicePrincipal), key=lambda s: s.appId.casefold())

    @cached_property
    def service_principals_by_app_id(self) -> dict[str, list[ServicePrincipal]]:
        """casefolded appId -> its service principals in the tenant (one, unless the data is odd)."""
        out: dict[str, list[ServicePrincipal]] = {}
        for sp in self.linked_service_principals:
            out.setdefault(sp.appId.casefold(), []).append(sp)
        return out

    @cached_property
    def access_review_definitions(self) -> list[AccessReviewDefinition]:
        return sorted(self._list("accessReviewDefinitions", AccessReviewDefinition), key=lambda d: d.id.casefold())

    @cached_property
    def cross_tenant_access_settings(self) -> list[CrossTenantAccessConfiguration]:
        return self._list("crossTenantAccessPolicy", CrossTenantAccessConfiguration)

    @property
    def cross_tenant_access_default(self) -> CrossTenantAccessConfiguration | None:
        """The default configuration (the one line without a ``tenantId``), or None if not collected."""
        return next((c for c in self.cross_tenant_access_settings if not c.is_partner), None)

    @property
    def cross_tenant_access_partners(self) -> list[CrossTenantAccessConfiguration]:
        return sorted((c for c in self.cross_tenant_access_settings if c.is_partner),
                      key=lambda c: (c.tenantId or "").casefold())
