"""Which applications each user flow is judged on: its linked appIds, or the fallback when links are unknown.

Conditional Access itself is judged by :mod:`auditor.conditional_access`. When the application links
cannot be read (``userFlowApplications`` not ok, or listeners without their flow), the CAP rules fall
back to policies that target all applications: such a fallback may produce findings but never a pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from auditor.checks import CheckContext
from auditor.conditional_access import UNKNOWN_APP
from auditor.model.graph import IdentityProvider, UserFlow
from auditor.model.tenant import Tenant

# Stands for "every application linked to the flow" when the links could not be read.
UNKNOWN_APPS = UNKNOWN_APP
FALLBACK_LABEL = "all applications (application links unavailable)"


@dataclass(frozen=True)
class Links:
    known: bool
    note: str | None = None

    def targets(self, tenant: Tenant, flow: UserFlow) -> list[str]:
        """The applications to judge a flow on: its linked appIds (casefolded), or the fallback marker."""
        if not self.known:
            return [UNKNOWN_APPS]
        return tenant.apps_by_flow.get(flow.id.casefold(), [])


def listeners_lack_flows(tenant: Tenant) -> bool:
    """Listeners were read but none names its flow (collected without ``$expand``): links unknown."""
    listeners = tenant.user_flow_listeners
    return bool(listeners) and all(listener.flow_id is None for listener in listeners)


def application_links(ctx: CheckContext) -> Links:
    """Whether links are known. When not, the rule records the fallback as a gap: findings still count,
    but a rule that finds nothing cannot pass on policies it could not match to the flows' applications."""
    status = ctx.tenant.status("userFlowApplications")
    if status == "ok" and not listeners_lack_flows(ctx.tenant):
        return Links(known=True)
    reason = status if status != "ok" else "listeners carry no userFlow"
    note = (f"application links unavailable (userFlowApplications {reason}): "
            "judged on policies that target all applications")
    ctx.gap(note)
    return Links(known=False, note=note)


def app_label(app_id: str) -> str:
    return FALLBACK_LABEL if app_id == UNKNOWN_APPS else app_id


def provider_ids(flow: UserFlow, mail_based_only: bool = False) -> list[str]:
    providers: Iterable[IdentityProvider] = flow.mail_based_providers() if mail_based_only else flow.providers or []
    return sorted({p.id for p in providers if p.id}, key=str.casefold)
