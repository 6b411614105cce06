"""The tenant model: typed views over a snapshot's sources, loaded on first use.

Small sources are parsed into pydantic models; the sign-in log is folded into aggregates in one
streamed pass (see :mod:`auditor.model.signins`). Rules never read the snapshot directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from auditor.errors import InputError
from auditor.model.conditional_access import (
    ConditionalAccessGroup,
    CrossTenantAccessPolicyConfiguration,
    NamedLocation,
    WhatIfRecord,
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
from auditor.snapshot.reader import Snapshot, SourceEntry
from auditor.sources import OK

M = TypeVar("M", bound=BaseModel)


class Tenant:
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

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

    # -- parsing ------------------------------------------------------------------------------
    def _iter(self, key: str, model: type[M]) -> Iterator[M]:
        label = self.snapshot.file_label(key)
        for index, record in enumerate(self.snapshot.iter_records(key), start=1):
            try:
                yield model.model_validate(record)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise InputError(f"{label}: line {index}: field '{where}': {first['msg']}") from None

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
            label = self.snapshot.file_label("selfServiceSignUpUsers")
            for index, record in enumerate(self.snapshot.iter_records("selfServiceSignUpUsers"), start=1):
                saw_activity = saw_activity or "signInActivity" in record
                try:
                    user = User.model_validate(record)
                except ValidationError as exc:
                    first = exc.errors()[0]
                    where = ".".join(str(p) for p in first["loc"])
                    raise InputError(f"{label}: line {index}: field '{where}': {first['msg']}") from None
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

    # -- Conditional Access: directory facts the evaluator judges policies against -------------
    # Each is empty when its source is not ok; callers check ``is_ok`` first, because a source that
    # was not collected means "cannot be judged", never "there are none".
    @cached_property
    def named_locations(self) -> list[NamedLocation]:
        return sorted(self._list("namedLocations", NamedLocation), key=lambda n: n.id.casefold())

    @cached_property
    def named_locations_by_id(self) -> dict[str, NamedLocation]:
        return {n.id.casefold(): n for n in self.named_locations if n.id}

    @cached_property
    def conditional_access_groups(self) -> dict[str, ConditionalAccessGroup]:
        """casefolded group id -> group (with its user members) for the groups policies name."""
        return {g.id.casefold(): g for g in self._list("conditionalAccessGroups", ConditionalAccessGroup) if g.id}

    @cached_property
    def cross_tenant_access(self) -> list[CrossTenantAccessPolicyConfiguration]:
        """The default configuration and the partner ones (``tenantId``), as collected."""
        return self._list("crossTenantAccessPolicy", CrossTenantAccessPolicyConfiguration)

    @cached_property
    def what_if_records(self) -> list[WhatIfRecord]:
        return self._list("conditionalAccessWhatIf", WhatIfRecord)

    @cached_property
    def sign_in_activity_collected(self) -> bool | None:
        """Whether ``selfServiceSignUpUsers`` was collected with signInActivity, as its manifest entry says.

        The collector writes ``"signInActivity": true|false``, or (older collectors) records the refused
        property under ``"omitted": {"signInActivity": ...}``. None when the entry says neither.
        """
        entry = self.source("selfServiceSignUpUsers")
        extra = (entry.model_extra or {}) if entry else {}
        declared = extra.get("signInActivity")
        if isinstance(declared, bool):
            return declared
        omitted = extra.get("omitted")
        if isinstance(omitted, dict) and "signInActivity" in omitted:
            return False
        return None

    # -- derived ------------------------------------------------------------------------------
    @cached_property
    def flows_by_id(self) -> dict[str, UserFlow]:
        return {f.id.casefold(): f for f in self.user_flows}

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

    @cached_property
    def flows_by_app(self) -> dict[str, list[str]]:
        """appId (casefolded) -> sorted distinct flow ids that list it."""
        links: dict[str, set[str]] = {}
        for listener in self.user_flow_listeners:
            if listener.flow_id:
                for app in listener.app_ids:
                    links.setdefault(app.casefold(), set()).add(listener.flow_id)
        return {app: sorted(flows, key=str.casefold) for app, flows in links.items()}

    def attribute_data_type(self, assignment_id: str, expanded: Any = None) -> str:
        """dataType of an assigned attribute: from the expanded userAttribute, else the tenant list."""
        if expanded is not None and getattr(expanded, "dataType", None):
            return expanded.data_type
        attribute = self.attributes_by_id.get(assignment_id.casefold())
        return attribute.data_type if attribute else ""
