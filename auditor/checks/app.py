"""APP: applications linked to user flows through the beta onSignupStart listeners."""

from __future__ import annotations

from auditor.checks import CheckContext, Hit, NotApplicable, NotEvaluated, Resource, check
from auditor.checks._coverage import listeners_lack_flows
from auditor.model.graph import UserFlow, UserFlowListener


def _flows(ctx: CheckContext) -> list[UserFlow]:
    flows = ctx.tenant.user_flows
    if not flows:
        raise NotApplicable("no user flow exists")
    if listeners_lack_flows(ctx.tenant):
        raise NotEvaluated("userFlowApplications listeners carry no userFlow reference (collected without "
                           "$expand=microsoft.graph.invokeUserFlowListener/userFlow): links cannot be read")
    unnamed = sum(1 for listener in ctx.tenant.user_flow_listeners if listener.flow_id is None)
    if unnamed:
        # Which flow they link is unknown: a link APP001/APP002 cannot see must not read as "no link".
        ctx.gap(f"{unnamed} listener(s) name no user flow: the flows their applications are linked to are unknown")
    return flows


@check("APP001")
def app_in_several_flows(ctx: CheckContext) -> list[Hit]:
    _flows(ctx)
    listeners: dict[str, dict[str, list[UserFlowListener]]] = {}  # appId -> flow key -> listeners
    names: dict[str, str] = {}  # flow key -> flow id as written
    for listener in ctx.tenant.user_flow_listeners:
        if listener.flow_id is None:
            continue
        flow_key = listener.flow_id.casefold()
        names.setdefault(flow_key, listener.flow_id)
        for app in {a.casefold() for a in listener.app_ids}:
            listeners.setdefault(app, {}).setdefault(flow_key, []).append(listener)
    hits = []
    for app, by_flow in sorted(listeners.items()):
        if len(by_flow) < 2:
            continue
        flows = [{"flow": names[key], "listeners": sorted(li.id for li in by_flow[key]),
                  "priorities": sorted({li.priority for li in by_flow[key] if li.priority is not None})}
                 for key in sorted(by_flow)]
        flow_ids = ", ".join(f["flow"] for f in flows)
        hits.append(Hit(Resource("application", app, app),
                        f"Application {app} is linked to {len(flows)} user flows ({flow_ids}); an application "
                        "can be linked to only one, so which flow its guests get is undefined.",
                        {"appId": app, "flows": flows}))
    return hits


@check("APP002")
def flow_without_application(ctx: CheckContext) -> list[Hit]:
    flows = _flows(ctx)
    listener_counts: dict[str, int] = {}
    for listener in ctx.tenant.user_flow_listeners:
        if listener.flow_id:
            key = listener.flow_id.casefold()
            listener_counts[key] = listener_counts.get(key, 0) + 1
    hits = []
    for flow in flows:
        key = flow.id.casefold()
        if ctx.tenant.apps_by_flow.get(key):
            continue
        count = listener_counts.get(key, 0)
        detail = "has no onSignupStart listener" if not count else \
            f"has {count} listener(s) that name no application"
        hits.append(Hit(Resource("userFlow", flow.id, flow.id),
                        f"User flow {flow.id} is not linked to any application: it {detail}.",
                        {"flow": flow.id, "listeners": count, "applications": []}))
    return hits
