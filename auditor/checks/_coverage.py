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
from auditor.model.graph import ConditionalAccessPolicy, GuestsOrExternalUsers, UserFlow, fold
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

def is_active(policy: ConditionalAccessPolicy, report_only: bool = False) -> bool:
    """Enforced; with ``report_only`` a report-only policy is judged as if it were enforced."""
    return policy.is_enabled or (report_only and policy.is_report_only)


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


def _apps(policy: ConditionalAccessPolicy) -> tuple[set[str], set[str]]:
    apps = policy.conditions.applications if policy.conditions else None
    if apps is None:
        return set(), set()
    return {fold(a) for a in apps.includeApplications}, {fold(a) for a in apps.excludeApplications}


def targets_all_apps(policy: ConditionalAccessPolicy) -> bool:
    return ALL in _apps(policy)[0]


def excluded_apps(policy: ConditionalAccessPolicy) -> list[str]:
    return sorted(_apps(policy)[1])


def targets_app(policy: ConditionalAccessPolicy, app_id: str) -> bool:
    """``app_id`` is a casefolded appId, or :data:`UNKNOWN_APPS` (fallback: only ``All`` counts)."""
    include, exclude = _apps(policy)
    if app_id == UNKNOWN_APPS:
        return ALL in include  # exclusions cannot be judged against applications we do not know
    return (ALL in include or app_id in include) and app_id not in exclude


def covers(policy: ConditionalAccessPolicy, app_id: str, report_only: bool = False) -> bool:
    return is_active(policy, report_only) and covers_guests(policy) and targets_app(policy, app_id)


# --- grant controls -------------------------------------------------------------------------------

def has_strength(policy: ConditionalAccessPolicy) -> bool:
    grant = policy.grantControls
    return bool(grant and grant.authenticationStrength is not None)


def strength_name(policy: ConditionalAccessPolicy) -> str | None:
    grant = policy.grantControls
    strength = grant.authenticationStrength if grant else None
    if strength is None:
        return None
    return strength.displayName or strength.id


def requires_mfa_control(policy: ConditionalAccessPolicy) -> bool:
    grant = policy.grantControls
    return bool(grant and "mfa" in grant.controls)


def mfa_is_alternative(policy: ConditionalAccessPolicy) -> bool:
    """Guests who cannot satisfy the strength can still pass with classic MFA (operator OR)."""
    grant = policy.grantControls
    return bool(grant and "mfa" in grant.controls and fold(grant.operator) == "or")


def strength_without_mfa_alternative(policy: ConditionalAccessPolicy) -> bool:
    return has_strength(policy) and not mfa_is_alternative(policy)


def _strength_requires_mfa(policy: ConditionalAccessPolicy) -> bool:
    grant = policy.grantControls
    strength = grant.authenticationStrength if grant else None
    # Every built-in strength satisfies MFA; only a custom one declared "none" does not.
    return strength is not None and fold(strength.requirementsSatisfied) != "none"


def satisfies_mfa(policy: ConditionalAccessPolicy, mail_based: bool) -> bool:
    """The policy demands MFA these guests can perform: ``mfa``, or a strength when no provider is mail-based."""
    return requires_mfa_control(policy) or (not mail_based and _strength_requires_mfa(policy))


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


def policy_ref(policy: ConditionalAccessPolicy) -> dict[str, str | None]:
    return {"id": policy.id, "displayName": policy.displayName, "state": policy.state}


def provider_ids(flow: UserFlow, mail_based_only: bool = False) -> list[str]:
    providers: Iterable = flow.mail_based_providers() if mail_based_only else flow.providers or []
    return sorted({p.id for p in providers if p.id}, key=str.casefold)
