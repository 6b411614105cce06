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

from auditor.model.conditional_access import (
    ConditionalAccessGroup,
    CrossTenantAccessPolicyConfiguration,
    NamedLocation,
    WhatIfRecord,
)
from auditor.model.directory import AccessReviewDefinition, ServicePrincipal
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
from auditor.model.signins import SIGN_IN_DECODER, SignIn, SignInAggregates, aggregate_sign_ins
from auditor.snapshot.reader import Snapshot, SourceDamaged, SourceEntry, memory_snapshot
from auditor.sources import OK, missing_record_keys
from auditor.validation import describe_validation

M = TypeVar("M", bound=BaseModel)

# Damage is reported per record for the first few; the rest are counted (a sign-in file of another
# source's records would otherwise put millions of lines into a rule's reason).
DAMAGE_EXAMPLES = 5


class SourceDamage:
    """What was wrong with one source's data: records set aside, and a file that disagrees with its
    manifest entry. Any of it makes the rules reading the source not evaluated (docs/snapshot-format.md)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.examples: list[str] = []
        self.records = 0
        self.mismatch: str | None = None

    def record(self, lineno: int, record: Any, problem: str) -> None:
        self.records += 1
        if len(self.examples) < DAMAGE_EXAMPLES:
            self.examples.append(f"{self.label}: line {lineno}{_record_name(record)}: {problem} (record not judged)")

    def messages(self) -> list[str]:
        messages = list(self.examples)
        if self.records > len(self.examples):
            messages.append(f"{self.label}: {self.records - len(self.examples)} more record(s) set aside as not "
                            "what Graph returns")
        if self.mismatch:
            messages.append(f"{self.mismatch}: the file disagrees with its manifest, so the source is damaged")
        return messages


def _record_name(record: Any) -> str:
    ident = record.get("id") if isinstance(record, dict) else getattr(record, "id", None)  # a dict, or a SignIn
    return f" (id {ident[:80]!r})" if isinstance(ident, str) and ident else ""


# Beyond their keys, a few record values every rule of a source depends on, checked on the raw record
# (before any model): a Conditional Access policy's state decides whether it is enforced at all, and
# a state Graph does not document ("", text with a lone surrogate) must not read as "not enabled",
# nor a policy without its (required) users or applications condition as one that applies to nobody.
_CA_STATES = {"enabled", "disabled", "enabledforreportingbutnotenforced"}


def _ca_policy_problem(record: dict[str, Any]) -> str | None:
    state = record.get("state")
    if not isinstance(state, str) or state.casefold() not in _CA_STATES:
        return f"field 'state': {state!r} is not enabled, disabled or enabledForReportingButNotEnforced"
    conditions = record.get("conditions")
    if not isinstance(conditions, dict):
        return "field 'conditions': expected an object"
    for name in ("users", "applications"):  # "Required" (conditionalAccessConditionSet)
        if not isinstance(conditions.get(name), dict):
            return f"field 'conditions.{name}': missing, null or not an object; every policy has it"
    return None


RECORD_CHECKS: dict[str, Any] = {"conditionalAccessPolicies": _ca_policy_problem}


class Tenant:
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._damage: dict[str, SourceDamage] = {}

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
        """What was wrong with the source's data as read so far: records set aside as not what Graph
        returns (each names its file, line and field) and a record count that disagrees with the
        manifest (naming the file and both numbers). The engine turns them into data gaps of the rules
        that read the source, so none of those rules can pass."""
        if not self.is_ok(key):
            return []  # its rules are already not evaluated (or not applicable) for its status
        if key not in self._damage:
            # Read the source now, so a rule's outcome never depends on whether another rule happened
            # to read it first (the read is cached: rules that need the data pay nothing more).
            self._load(key)
        damage = self._damage.get(key)
        return damage.messages() if damage else []

    def _load(self, key: str) -> None:
        loaders: dict[str, Any] = {
            "authenticationFlowsPolicy": lambda: self.authentication_flows_policy,
            "b2xUserFlows": lambda: self.user_flows,
            "userFlowAttributes": lambda: self.user_flow_attributes,
            "apiConnectors": lambda: self.api_connectors,
            "identityProviders": lambda: self.identity_providers,
            "userFlowApplications": lambda: self.user_flow_listeners,
            "conditionalAccessPolicies": lambda: self.conditional_access_policies,
            "authenticationStrengthPolicies": lambda: self.authentication_strength_policies,
            "emailAuthenticationMethod": lambda: self.email_authentication_method,
            "authorizationPolicy": lambda: self.authorization_policy,
            "selfServiceSignUpUsers": lambda: self._users,
            "signIns": lambda: self.sign_in_aggregates,
        }
        loader = loaders.get(key)
        if loader is not None:
            loader()
        if key not in self._damage:
            # A source no model here reads (yet): still check its record keys and its count.
            damage = self._new_damage(key)
            for _ in self._records(key, damage):
                pass

    # -- parsing ------------------------------------------------------------------------------
    def _new_damage(self, key: str) -> SourceDamage:
        # A source is parsed once (cached properties); a new pass starts its account afresh.
        damage = self._damage[key] = SourceDamage(self.snapshot.file_label(key))
        return damage

    def _records(self, key: str, damage: SourceDamage) -> Iterator[tuple[int, dict[str, Any]]]:
        """The source's raw records that carry its record keys, with their line numbers; the others
        (another source's records, say) are set aside as damage, and so is a file whose number of
        records disagrees with the manifest's count (known when the stream ends)."""
        try:
            # Sign-ins are folded field by field, never walked (see model/signins.py).
            for lineno, record in self.snapshot.iter_numbered(key, walked=key != "signIns"):
                missing = missing_record_keys(key, record)
                if missing:
                    damage.record(lineno, record, f"lacks {', '.join(missing)}, which every {key} record carries")
                    continue
                check = RECORD_CHECKS.get(key)
                problem = check(record) if check else None
                if problem:
                    damage.record(lineno, record, problem)
                    continue
                yield lineno, record
        except SourceDamaged as exc:
            damage.mismatch = str(exc)

    def _iter(self, key: str, model: type[M]) -> Iterator[M]:
        """The source's records as models; a record that does not validate is recorded, not judged."""
        damage = self._new_damage(key)
        for lineno, record in self._records(key, damage):
            try:
                yield model.model_validate(record)
            except ValidationError as exc:
                damage.record(lineno, record, describe_validation(exc))

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
        if not self.is_ok("userFlowApplications"):
            return []
        damage = self._new_damage("userFlowApplications")
        read: list[tuple[int, dict[str, Any], UserFlowListener]] = []
        for lineno, record in self._records("userFlowApplications", damage):
            try:
                read.append((lineno, record, UserFlowListener.model_validate(record)))
            except ValidationError as exc:
                damage.record(lineno, record, describe_validation(exc))
        # Collected with $expand=...invokeUserFlowListener/userFlow every listener names its flow;
        # without it none does (the APP and CAP rules say links are unknown). A few without one in an
        # expanded collection are not what Graph returns: set aside, never read as "links nothing".
        if any(listener.flow_id for _, _, listener in read):
            for lineno, record, listener in read:
                if listener.flow_id is None:
                    damage.record(lineno, record, "field 'userFlow': missing or null where the other listeners "
                                                  "name their user flow")
            return [listener for _, _, listener in read if listener.flow_id]
        return [listener for _, _, listener in read]

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
            damage = self._new_damage("selfServiceSignUpUsers")
            for lineno, record in self._records("selfServiceSignUpUsers", damage):
                try:
                    user = User.model_validate(record)
                except ValidationError as exc:
                    damage.record(lineno, record, describe_validation(exc))
                    continue
                # The source is filtered on creationType eq 'SelfServiceSignUp' server-side, so
                # another value is not what Graph returned: set aside (a guest the SSSU rules would
                # silently lose), never judged as a member.
                if not user.is_self_service:
                    damage.record(lineno, record, f"field 'creationType': {user.creationType!r} in a source "
                                                  "filtered on creationType eq 'SelfServiceSignUp'")
                    continue
                saw_activity = saw_activity or "signInActivity" in user.model_fields_set
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
        if not self.is_ok("signIns"):
            return aggregate_sign_ins((), guest_ids)
        # One streamed pass: a sign-in the aggregation cannot judge is added to the source's damage.
        damage = self._new_damage("signIns")
        return aggregate_sign_ins(self._sign_in_records(damage), guest_ids, reject=damage.record)

    def _sign_in_records(self, damage: SourceDamage) -> Iterator[tuple[int, dict[str, Any] | SignIn]]:
        """:meth:`_records` of the sign-ins, decoded typed: a :class:`SignIn` carries the record keys by
        its type (required, not null), so only the raw dicts (any other shape) are checked for them.
        Sign-ins are folded field by field, never walked: no depth check (see model/signins.py)."""
        try:
            for lineno, record in self.snapshot.iter_typed("signIns", SIGN_IN_DECODER):
                if type(record) is not SignIn:
                    assert isinstance(record, dict)
                    missing = missing_record_keys("signIns", record)
                    if missing:
                        damage.record(lineno, record, f"lacks {', '.join(missing)}, which every signIns record "
                                                      "carries")
                        continue
                yield lineno, record
        except SourceDamaged as exc:
            damage.mismatch = str(exc)

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

    def application_label(self, app_id: str) -> str:
        """How a message names an application: its service principal's display name when one was
        collected, otherwise the appId (listeners and policies carry nothing else)."""
        sps = self.service_principals_by_app_id.get(app_id.casefold(), [])
        return next((sp.displayName for sp in sps if sp.displayName), app_id)

    @cached_property
    def access_review_definitions(self) -> list[AccessReviewDefinition]:
        return sorted(self._list("accessReviewDefinitions", AccessReviewDefinition), key=lambda d: d.id.casefold())

    @property
    def cross_tenant_access_default(self) -> CrossTenantAccessPolicyConfiguration | None:
        """The default configuration (the one line without a ``tenantId``), or None if not collected."""
        return next((c for c in self.cross_tenant_access if not c.is_partner), None)

    @property
    def cross_tenant_access_partners(self) -> list[CrossTenantAccessPolicyConfiguration]:
        return sorted((c for c in self.cross_tenant_access if c.is_partner),
                      key=lambda c: (c.tenantId or "").casefold())
