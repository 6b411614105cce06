"""APP: applications linked to user flows (beta onSignupStart listeners) and their service principals."""

from __future__ import annotations

from typing import Any

from auditor.checks import CheckContext, Hit, NotApplicable, NotEvaluated, Resource, check
from auditor.checks._coverage import listeners_lack_flows
from auditor.model.directory import ServicePrincipal
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
        flows: list[dict[str, Any]] = [
            {"flow": names[key], "listeners": sorted(li.id for li in by_flow[key]),
             "priorities": sorted({li.priority for li in by_flow[key] if li.priority is not None})}
            for key in sorted(by_flow)]
        flow_ids = ", ".join(str(f["flow"]) for f in flows)
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


# --- the applications' service principals (linkedServicePrincipals) ----------------------------

def _linked_apps(ctx: CheckContext) -> dict[str, dict[str, list[str]]]:
    """appId (casefolded) -> {"flows": flow ids, "listeners": listener ids}, for listeners that name a flow."""
    apps: dict[str, dict[str, list[str]]] = {}
    for listener in ctx.tenant.user_flow_listeners:
        if listener.flow_id is None:
            continue
        for app in {a.casefold() for a in listener.app_ids}:
            entry = apps.setdefault(app, {"flows": [], "listeners": []})
            if listener.flow_id not in entry["flows"]:
                entry["flows"].append(listener.flow_id)
            entry["listeners"].append(listener.id)
    for entry in apps.values():
        entry["flows"].sort(key=str.casefold)
        entry["listeners"].sort()
    if not apps:
        raise NotApplicable("no application is linked to a user flow")
    return apps


def _sp_evidence(sp: ServicePrincipal) -> dict[str, object]:
    return {"id": sp.id, "displayName": sp.displayName, "accountEnabled": sp.accountEnabled,
            "appRoleAssignmentRequired": sp.appRoleAssignmentRequired}


def _note_sign_up_off(ctx: CheckContext) -> None:
    """The configuration is judged as it stands; say so when the tenant switch is off right now."""
    policy = ctx.tenant.authentication_flows_policy
    if policy is not None and policy.selfServiceSignUp is not None and policy.selfServiceSignUp.isEnabled is False:
        ctx.note("self-service sign-up is disabled for the tenant at the moment (SSU001): this applies as soon as "
                 "it is enabled again")


def _open_flow(flow: UserFlow) -> tuple[bool | None, str | None]:
    """(whether anyone with a mail-based identity can complete sign-up unchecked, why it is unknown)."""
    if flow.apiConnectorConfiguration is None:
        return None, (f"apiConnectorConfiguration was not collected for user flow {flow.id} (reading it "
                      "requires IdentityUserFlow.ReadWrite.All)")
    if flow.apiConnectorConfiguration.connectors():
        return False, None
    if flow.providers is None:
        return None, f"the identity providers of user flow {flow.id} were not collected"
    return bool(flow.mail_based_providers()), None


@check("APP003")
def sign_up_without_approval(ctx: CheckContext) -> list[Hit]:
    flows = {f.id.casefold(): f for f in _flows(ctx)}
    apps = _linked_apps(ctx)
    _note_sign_up_off(ctx)
    by_app = ctx.tenant.service_principals_by_app_id
    hits = []
    for app, link in sorted(apps.items()):
        open_flows = []
        for flow_id in link["flows"]:
            flow = flows.get(flow_id.casefold())
            if flow is None:
                continue  # a listener naming a flow that does not exist: nothing to sign up through
            is_open, unknown = _open_flow(flow)
            if unknown:
                ctx.gap(unknown)
            elif is_open:
                open_flows.append(flow)
        if not open_flows:
            continue
        sps = by_app.get(app, [])
        if not sps:
            continue  # not in the tenant: APP004's
        usable = [sp for sp in sps if sp.accountEnabled is not False]
        if not usable:
            continue  # disabled: nobody can sign in to it (APP004)
        if any(sp.appRoleAssignmentRequired is None for sp in usable):
            ctx.gap(f"appRoleAssignmentRequired of application {app} was not collected")
            continue
        if any(sp.appRoleAssignmentRequired for sp in usable):
            continue
        sp = usable[0]
        flow_ids = [f.id for f in open_flows]
        hits.append(Hit(
            Resource("application", app, sp.label),
            f"Anyone with an email address can sign up through {', '.join(flow_ids)} and use application "
            f"'{sp.label}': the flow calls no API connector that could reject a sign-up, and the application does "
            "not require an assignment.",
            {"appId": app, "servicePrincipal": _sp_evidence(sp),
             "userFlows": [{"flow": f.id, "mailBasedProviders": sorted({p.label for p in f.mail_based_providers()},
                                                                        key=str.casefold),
                            "postFederationSignup": None, "postAttributeCollection": None} for f in open_flows],
             "listeners": link["listeners"]}))
    return hits


@check("APP004")
def linked_application_missing(ctx: CheckContext) -> list[Hit]:
    _flows(ctx)
    apps = _linked_apps(ctx)
    by_app = ctx.tenant.service_principals_by_app_id
    partial = ctx.tenant.is_partial("linkedServicePrincipals")
    hits = []
    for app, link in sorted(apps.items()):
        sps = by_app.get(app, [])
        evidence: dict[str, object] = {"appId": app, "flows": link["flows"], "listeners": link["listeners"]}
        flows = ", ".join(link["flows"])
        if not sps:
            if partial:
                ctx.gap(f"no service principal was collected for application {app}, but the collection was partial")
                continue
            hits.append(Hit(Resource("application", app, app),
                            f"User flow(s) {flows} are linked to application {app}, which has no service principal "
                            "in the tenant: the link points at an application that does not exist here.",
                            {**evidence, "servicePrincipal": None, "problem": "noServicePrincipal"}))
            continue
        if all(sp.accountEnabled is False for sp in sps):
            sp = sps[0]
            hits.append(Hit(Resource("application", app, sp.label),
                            f"User flow(s) {flows} are linked to application '{sp.label}', whose service principal "
                            "is disabled (accountEnabled false): nobody can sign in to it.",
                            {**evidence, "servicePrincipal": _sp_evidence(sp), "problem": "disabled"}))
        elif any(sp.accountEnabled is None for sp in sps):
            ctx.gap(f"accountEnabled of application {app} was not collected")
    return hits
