"""APP001: an application linked to several user flows — keep it on the listener a person picks.

Which flow should serve the application is a business decision, so the change needs input
(``inputs.keep``: a listener id). Every other listener that names the application gets it removed
from its ``sourceFilter.includeApplications``; the listener itself stays (with its other
applications, or none), so the rollback is a PATCH of the original list.
"""

from __future__ import annotations

from typing import Any

from auditor.plan.inputs import pointer_get
from auditor.plan.permissions import USER_FLOW_LISTENERS
from auditor.plan.remedies import Draft, NoRemedy, RemedyContext, check, need, remedy, request, step
from auditor.result import Finding

LISTENER_TYPE = "#microsoft.graph.invokeUserFlowListener"
APPS = "/sourceFilter/includeApplications"


def _apps(listener: dict[str, Any]) -> list[str]:
    found = pointer_get(listener, APPS)
    return [a for a in found if isinstance(a, str)] if isinstance(found, list) else []


@remedy("APP001")
def keep_one_flow(ctx: RemedyContext, finding: Finding) -> list[Draft]:
    app = finding.resource.id.casefold()
    listeners = [li for li in ctx.records("userFlowApplications")
                 if app in {a.casefold() for a in _apps(li)} and li.get("id")]
    listeners.sort(key=lambda li: (str(pointer_get(li, "/userFlow/id")).casefold(), str(li["id"])))
    if len(listeners) < 2:
        raise NoRemedy("the snapshot does not show the application in two or more listeners")
    keep = need("keep", "choice", "Which listener (user flow) keeps this application? The application is "
                "removed from every other listener.",
                choices=[{"value": li["id"], "label": f"user flow {pointer_get(li, '/userFlow/id')} "
                                                    f"(listener {li['id']}, priority {li.get('priority')})"}
                         for li in listeners])
    steps = []
    for index, listener in enumerate(listeners, start=1):
        url = ctx.url("userFlowApplications", ctx.item(listener["id"]))
        before = _apps(listener)
        after = [a for a in before if a.casefold() != app]
        flow = pointer_get(listener, "/userFlow/id")
        body = {"@odata.type": LISTENER_TYPE, "sourceFilter": {"includeApplications": after}}
        undo = step(f"r{index}", f"Link the application to user flow {flow} again",
                    request("PATCH", url, {"@odata.type": LISTENER_TYPE,
                                           "sourceFilter": {"includeApplications": before}}),
                    USER_FLOW_LISTENERS, reads=("userFlowApplications",),
                    precondition=[check("the listener's applications are as this change left them", url,
                                        "equals", APPS, after)])
        kept_still_links = [check(f"the kept listener {other['id']} still links the application",
                                  ctx.url("userFlowApplications", ctx.item(other["id"])), "equals", APPS,
                                  _apps(other), when={"input": "keep", "equals": other["id"]})
                            for other in listeners if other is not listener]
        steps.append(step(
            f"s{index}", f"Remove the application from user flow {flow} (listener {listener['id']})",
            request("PATCH", url, body), USER_FLOW_LISTENERS, reads=("userFlowApplications",),
            precondition=[check("the listener's applications are as in the snapshot", url, "equals", APPS, before),
                          *kept_still_links],
            rollback=[undo], when={"input": "keep", "notEquals": listener["id"]}))
    flows = ", ".join(str(pointer_get(li, "/userFlow/id")) for li in listeners)
    return [Draft(key=("APP001", app), steps=steps, needs=[keep],
                  summary=f"Link the application to one user flow only (today: {flows}); which flow keeps it "
                          "is for a person to decide.")]
