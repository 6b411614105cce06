"""Conditional Access coverage of a user flow's guests (SPEC §6), shared by the CAP rules.

A policy *covers* a flow's guests on an application when it is enforced, its users include
self-service sign-up guests and do not exclude them, and its applications include that appId (or
``All``) and do not exclude it. Coverage is judged per application linked to the flow. When the
application links cannot be read, the rules fall back to policies that target all applications.

Group- and role-based assignments cannot be resolved from the collected data (guests are not
expanded into groups), so they never count as coverage; :func:`unresolved_scope` names them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from auditor.checks import CheckContext
from auditor.model.graph import (
    ConditionalAccessPolicy,
    GuestsOrExternalUsers,
    IdentityProvider,
    UserFlow,
    fold,
)
from auditor.model.tenant import Tenant

# Self-service sign-up guests are B2B collaboration guests; mail-based ones have no home tenant,
# so a condition limited to an enumerated list of external tenants cannot include them.
SSSU_GUEST_TYPE = "b2bcollaborationguest"
ALL = "all"
GUESTS = "guestsorexternalusers"

# Stands for "every application linked to the flow" when the links could not be read.
UNKNOWN_APPS = "*"
FALLBACK_LABEL = "all applications (application links unavailable)"


# --- one policy ---------------------------------------------------------------------------------

def _guest_condition_matches(condition: GuestsOrExternalUsers | None) -> bool:
    return bool(condition and SSSU_GUEST_TYPE in condition.types and condition.all_external_tenants)


def includes_guests(policy: ConditionalAccessPolicy) -> bool:
    users = policy.conditions.users if policy.conditions else None
    if users is None:
        return False
    named = {fold(u) for u in users.includeUsers}
    return ALL in named or GUESTS in named or _guest_condition_matches(users.includeGuestsOrExternalUsers)


def excludes_guests(policy: ConditionalAccessPolicy) -> bool:
    users = policy.conditions.users if policy.conditions else None
    if users is None:
        return False
    return GUESTS in {fold(u) for u in users.excludeUsers} or \
        _guest_condition_matches(users.excludeGuestsOrExternalUsers)


def covers_guests(policy: ConditionalAccessPolicy) -> bool:
    return includes_guests(policy) and not excludes_guests(policy)


def unresolved_scope(policy: ConditionalAccessPolicy) -> bool:
    """Guests are reached only through groups or roles, which this data cannot resolve."""
    users = policy.conditions.users if policy.conditions else None
    return bool(users and not includes_guests(policy) and (users.includeGroups or users.includeRoles))


def _apps(policy: ConditionalAccessPolicy) -> tuple[frozenset[str], frozenset[str]]:
    apps = policy.conditions.applications if policy.conditions else None
    if apps is None:
        return frozenset(), frozenset()
    return frozenset(fold(a) for a in apps.includeApplications), frozenset(fold(a) for a in apps.excludeApplications)


@dataclass(frozen=True)
class PolicyView:
    """What coverage needs from one policy, computed once (tenants have hundreds of apps × policies)."""

    policy: ConditionalAccessPolicy
    enabled: bool
    report_only: bool
    covers_guests: bool
    unresolved_scope: bool
    include_apps: frozenset[str]
    exclude_apps: frozenset[str]
    mfa_control: bool
    mfa_alternative: bool
    has_strength: bool
    strength_name: str | None
    strength_requires_mfa: bool

    @classmethod
    def of(cls, policy: ConditionalAccessPolicy) -> PolicyView:
        grant = policy.grantControls
        strength = grant.authenticationStrength if grant else None
        include, exclude = _apps(policy)
        mfa = bool(grant and "mfa" in grant.controls)
        return cls(
            policy=policy, enabled=policy.is_enabled, report_only=policy.is_report_only,
            covers_guests=covers_guests(policy), unresolved_scope=unresolved_scope(policy),
            include_apps=include, exclude_apps=exclude, mfa_control=mfa,
            # Guests who cannot satisfy a strength can still pass with classic MFA only under OR.
            mfa_alternative=mfa and fold(grant.operator if grant else None) == "or",
            has_strength=strength is not None,
            strength_name=(strength.displayName or strength.id) if strength else None,
            # Every built-in strength satisfies MFA; only a custom one declared "none" does not.
            strength_requires_mfa=strength is not None and fold(strength.requirementsSatisfied) != "none",
        )

    @property
    def id(self) -> str:
        return self.policy.id

    @property
    def name(self) -> str:
        return self.policy.displayName or self.policy.id

    def active(self, report_only: bool = False) -> bool:
        """Enforced; with ``report_only`` a report-only policy is judged as if it were enforced."""
        return self.enabled or (report_only and self.report_only)

    @property
    def targets_all_apps(self) -> bool:
        return ALL in self.include_apps

    def targets_app(self, app_id: str) -> bool:
        """``app_id`` is a casefolded appId, or :data:`UNKNOWN_APPS` (fallback: only ``All`` counts)."""
        if app_id == UNKNOWN_APPS:
            return ALL in self.include_apps  # exclusions cannot be judged against unknown applications
        return (ALL in self.include_apps or app_id in self.include_apps) and app_id not in self.exclude_apps

    def covers(self, app_id: str, report_only: bool = False) -> bool:
        return self.active(report_only) and self.covers_guests and self.targets_app(app_id)

    def satisfies_mfa(self, mail_based: bool) -> bool:
        """Demands MFA these guests can perform: ``mfa``, or a strength when no provider is mail-based."""
        return self.mfa_control or (not mail_based and self.strength_requires_mfa)

    @property
    def strength_without_mfa_alternative(self) -> bool:
        return self.has_strength and not self.mfa_alternative

    def ref(self) -> dict[str, str | None]:
        return {"id": self.policy.id, "displayName": self.policy.displayName, "state": self.policy.state}


def policy_views(tenant: Tenant) -> list[PolicyView]:
    return [PolicyView.of(p) for p in tenant.conditional_access_policies]


# --- application links ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Links:
    known: bool
    note: str | None = None

    def targets(self, tenant: Tenant, flow: UserFlow) -> list[str]:
        """The applications to judge a flow on: its linked appIds, or the fallback marker."""
        if not self.known:
            return [UNKNOWN_APPS]
        return tenant.apps_by_flow.get(flow.id.casefold(), [])


def listeners_lack_flows(tenant: Tenant) -> bool:
    """Listeners were read but none names its flow (collected without ``$expand``): links unknown."""
    listeners = tenant.user_flow_listeners
    return bool(listeners) and all(listener.flow_id is None for listener in listeners)


def application_links(ctx: CheckContext) -> Links:
    """Whether links are known; when not, record the fallback note on the rule."""
    status = ctx.tenant.status("userFlowApplications")
    if status == "ok" and not listeners_lack_flows(ctx.tenant):
        return Links(known=True)
    reason = status if status != "ok" else "listeners carry no userFlow"
    note = (f"application links unavailable (userFlowApplications {reason}): "
            "judged on policies that target all applications")
    ctx.note(note)
    return Links(known=False, note=note)


def app_label(app_id: str) -> str:
    return FALLBACK_LABEL if app_id == UNKNOWN_APPS else app_id


def provider_ids(flow: UserFlow, mail_based_only: bool = False) -> list[str]:
    providers: Iterable[IdentityProvider] = flow.mail_based_providers() if mail_based_only else flow.providers or []
    return sorted({p.id for p in providers if p.id}, key=str.casefold)
