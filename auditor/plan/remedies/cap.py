"""CAP001–CAP003: Conditional Access for the guests of user flows.

A policy flowaudit creates is always report-only (``enabledForReportingButNotEnforced``): it
starts logging what it would do and enforces nothing until a person switches it on — so CAP002's
change leaves CAP002 failing by design (and makes CAP003 name the new policy). Switching a policy on
(CAP003) and lifting an enforced requirement (CAP001) are changes only a person can approve: they
need the input ``confirmed: true``.
"""

from __future__ import annotations

import copy
from typing import Any

from auditor.model.graph import fold
from auditor.plan.inputs import GUID
from auditor.plan.model import REPORT_ONLY, Need
from auditor.plan.permissions import CONDITIONAL_ACCESS
from auditor.plan.remedies import Draft, NoRemedy, RemedyContext, check, need, remedy, request, step
from auditor.result import Finding

SSSU_GUESTS = "b2bCollaborationGuest"  # what self-service sign-up guests are to Conditional Access
ALL_TENANTS = {"@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants", "membershipKind": "all"}
NAME_LIMIT = 80


def guest_mfa_policy(name: str, applications: Any) -> dict[str, Any]:
    """A report-only policy: B2B collaboration guests of every external tenant, on ``applications``,
    must satisfy the classic MFA grant (the only control mail-based guests can perform)."""
    return {
        "displayName": name,
        "state": REPORT_ONLY,
        "conditions": {
            "clientAppTypes": ["all"],
            "applications": {"includeApplications": applications},
            "users": {"includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": SSSU_GUESTS,
                                                       "externalTenants": dict(ALL_TENANTS)}},
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
    }


def _short(text: str) -> str:
    return text if len(text) <= NAME_LIMIT else text[: NAME_LIMIT - 1] + "…"


def _create_policy_step(ctx: RemedyContext, step_id: str, undo_id: str, body: dict[str, Any]) -> Any:
    collection = ctx.url("conditionalAccessPolicies")
    created = f"{collection}/{{step:{step_id}:/id}}"
    undo = step(undo_id, "Delete the report-only policy this change created", request("DELETE", created),
                CONDITIONAL_ACCESS, reads=("conditionalAccessPolicies",),
                precondition=[check("the created policy is still report-only (nobody adopted it)", created,
                                    "equals", "/state", REPORT_ONLY)])
    return step(step_id, f"Create the report-only policy '{body['displayName']}'",
                request("POST", collection, body), CONDITIONAL_ACCESS, reads=("conditionalAccessPolicies",),
                precondition=[check("no policy of that name exists yet", collection, "noneMatch",
                                    match={"displayName": body["displayName"]})],
                rollback=[undo])


def _confirm(prompt: str) -> Need:
    return need("confirmed", "confirm", prompt)


@remedy("CAP002")
def create_guest_mfa_policy(ctx: RemedyContext, finding: Finding) -> list[Draft]:
    flow = finding.resource.id
    apps = [a for a in finding.evidence.get("uncoveredApplications") or [] if isinstance(a, str)]
    known = [a for a in apps if GUID.match(a)]
    needs: list[Need] = []
    applications: Any = sorted(set(known), key=str.casefold)
    if not known:
        # Links could not be read: which applications to cover is for a person to say.
        needs.append(need("applications", "appIds", f"Application (client) ids linked to {flow} that the new "
                          "policy should cover (the snapshot could not read the links)."))
        applications = {"$input": "applications"}
    name = _short(f"flowaudit: require MFA for guests of {flow} (report-only)")
    main = _create_policy_step(ctx, "s1", "r1", guest_mfa_policy(name, applications))
    return [Draft(key=("CAP002", flow.casefold()), steps=[main], needs=needs,
                  summary=f"Create a report-only Conditional Access policy requiring MFA for the guests of {flow} "
                          "on its uncovered applications. It only reports: switch it on after reviewing its "
                          "sign-in log (CAP002 keeps failing, and CAP003 names it, until then).")]


def _policy(ctx: RemedyContext, policy_id: str) -> dict[str, Any]:
    record = ctx.record("conditionalAccessPolicies", policy_id)
    if record is None:
        raise NoRemedy(f"Conditional Access policy {policy_id} is not in the snapshot")
    return record


@remedy("CAP003")
def enable_report_only_policy(ctx: RemedyContext, finding: Finding) -> list[Draft]:
    refs = [r for r in finding.evidence.get("reportOnlyPolicies") or [] if isinstance(r, dict) and r.get("id")]
    if not refs:
        raise NoRemedy("the finding names no report-only policy")
    drafts = []
    for ref in refs:
        record = _policy(ctx, str(ref["id"]))
        if fold(record.get("state")) != fold(REPORT_ONLY):
            continue
        item = ctx.url("conditionalAccessPolicies", ctx.item(record["id"]))
        name = str(record.get("displayName") or record["id"])
        undo = step("r1", "Put the policy back in report-only", request("PATCH", item, {"state": REPORT_ONLY}),
                    CONDITIONAL_ACCESS, reads=("conditionalAccessPolicies",),
                    precondition=[check("the policy is enabled", item, "equals", "/state", "enabled")])
        main = step("s1", f"Switch the policy '{name}' on", request("PATCH", item, {"state": "enabled"}),
                    CONDITIONAL_ACCESS, reads=("conditionalAccessPolicies",),
                    precondition=[
                        check("the policy is report-only", item, "equals", "/state", REPORT_ONLY),
                        # what the board reviewed is what gets enforced
                        check("its conditions are those in the snapshot", item, "equals", "/conditions",
                              record.get("conditions")),
                        check("its grant controls are those in the snapshot", item, "equals", "/grantControls",
                              record.get("grantControls")),
                    ],
                    rollback=[undo])
        drafts.append(Draft(
            key=("CAP003", record["id"].casefold()), steps=[main], resource=("conditionalAccessPolicy", record["id"]),
            needs=[_confirm(f"Set to true to enforce '{name}' (check its report-only results in the sign-in log "
                            "first: guests who cannot do MFA will be blocked).")],
            summary=f"Switch the report-only policy '{name}' on: it would require MFA for flow guests, but today "
                    "it only logs. Needs confirmation."))
    if not drafts:
        raise NoRemedy("the snapshot shows none of the named policies in report-only")
    return drafts


def _exclude_guests(users: dict[str, Any]) -> dict[str, Any]:
    after = copy.deepcopy(users)
    current = users.get("excludeGuestsOrExternalUsers")
    if not isinstance(current, dict):
        after["excludeGuestsOrExternalUsers"] = {"guestOrExternalUserTypes": SSSU_GUESTS,
                                                 "externalTenants": dict(ALL_TENANTS)}
        return after
    tenants = current.get("externalTenants")
    if isinstance(tenants, dict) and fold(tenants.get("membershipKind")) not in ("", "all"):
        raise NoRemedy("the policy already excludes guests of enumerated tenants: combine the exclusion by hand")
    raw = current.get("guestOrExternalUserTypes")
    types = [t.strip() for t in raw.split(",")] if isinstance(raw, str) else list(raw or [])
    if SSSU_GUESTS.casefold() not in {t.casefold() for t in types}:
        types.append(SSSU_GUESTS)
    after["excludeGuestsOrExternalUsers"] = {**current, "guestOrExternalUserTypes": ",".join(t for t in types if t)}
    return after


@remedy("CAP001")
def guest_mfa_instead_of_strength(ctx: RemedyContext, finding: Finding) -> list[Draft]:
    record = _policy(ctx, finding.resource.id)
    users = (record.get("conditions") or {}).get("users")
    if not isinstance(users, dict):
        raise NoRemedy("the policy has no user conditions in the snapshot")
    apps = sorted({a for flow in finding.evidence.get("affectedFlows") or [] if isinstance(flow, dict)
                   for a in flow.get("applications") or [] if isinstance(a, str) and GUID.match(a)}, key=str.casefold)
    if not apps:  # links unknown: the policy's own application scope
        apps = list(((record.get("conditions") or {}).get("applications") or {}).get("includeApplications") or [])
    if not apps:
        raise NoRemedy("no application to cover could be read from the finding or the policy")
    name = str(record.get("displayName") or record["id"])
    after = _exclude_guests(users)
    item = ctx.url("conditionalAccessPolicies", ctx.item(record["id"]))
    strength = ((record.get("grantControls") or {}).get("authenticationStrength") or {}).get("id")
    create = _create_policy_step(ctx, "s1", "r1", guest_mfa_policy(
        f"flowaudit: require MFA for guests excluded from '{name[:40]}' (report-only)", apps))
    undo = step("r2", f"Include the guests in '{name}' again", request("PATCH", item, {"conditions": {"users": users}}),
                CONDITIONAL_ACCESS, reads=("conditionalAccessPolicies",),
                precondition=[check("the policy's users are as this change left them", item, "equals",
                                    "/conditions/users", after)])
    exclude = step("s2", f"Exclude B2B collaboration guests from '{name}'",
                   request("PATCH", item, {"conditions": {"users": after}}), CONDITIONAL_ACCESS,
                   reads=("conditionalAccessPolicies",),
                   precondition=[
                       check("the policy is enabled", item, "equals", "/state", record.get("state")),
                       check("its users are those in the snapshot", item, "equals", "/conditions/users", users),
                       check("it still grants through the same authentication strength", item, "equals",
                             "/grantControls/authenticationStrength/id", strength),
                   ],
                   rollback=[undo])
    return [Draft(
        key=("CAP001", record["id"].casefold()), steps=[create, exclude], resource=("conditionalAccessPolicy", record["id"]),
        needs=[_confirm("Set to true to exclude guests from the strength policy. From then on they are held to "
                        "the new guest MFA policy, which only reports until someone switches it on: approve this "
                        "together with enforcing that policy.")],
        summary=f"Replace the authentication strength of '{name}' for guests by classic MFA: create a report-only "
                "guest MFA policy for its applications, then exclude B2B collaboration guests from it (mail-based "
                "guests cannot satisfy a strength and are locked out). Needs confirmation: the exclusion lifts an "
                "enforced requirement.")]
