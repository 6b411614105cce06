"""ATT: the user attributes each flow collects (custom attribute types, where values live, choices)."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.checks import CheckContext, Hit, NotApplicable, NotEvaluated, Resource, check
from auditor.model.graph import SUPPORTED_CUSTOM_TYPES, AttributeAssignment, UserFlow, UserFlowAttribute, fold

UNSUPPORTED_DATA_TYPE = "boolean"  # ATT001's; ATT002 takes every other unsupported type


@dataclass
class Assigned:
    """One attribute assigned to one flow, with what is known about the attribute itself."""

    flow: UserFlow
    assignment: AttributeAssignment
    defined: UserFlowAttribute | None  # the expanded userAttribute, else the tenant's definition
    data_type_raw: str | None  # as Graph spells it; None when neither source tells it

    @property
    def data_type(self) -> str:
        return fold(self.data_type_raw)

    @property
    def attribute_id(self) -> str:
        return self.assignment.id or (self.defined.id if self.defined else "")

    @property
    def is_custom(self) -> bool:
        if self.defined is not None:
            return self.defined.is_custom
        # Neither expanded nor listed: custom attributes are always named extension_<appId>_<Name>.
        return fold(self.attribute_id).startswith("extension_")

    @property
    def display_name(self) -> str:
        return (self.assignment.displayName or (self.defined.displayName if self.defined else None)
                or self.attribute_id)

    def resource(self) -> Resource:
        return Resource("userFlowAttributeAssignment", f"{self.flow.id}/{self.attribute_id}",
                        f"{self.flow.id}: {self.display_name}")

    def evidence(self) -> dict[str, object]:
        return {"userFlow": self.flow.id, "attribute": self.attribute_id, "displayName": self.display_name,
                "dataType": self.data_type_raw, "custom": self.is_custom,
                "userInputType": self.assignment.userInputType, "isOptional": self.assignment.isOptional}


class Collected:
    """Every flow's assignments, and what could not be known (flows not collected, types unknown)."""

    def __init__(self, ctx: CheckContext) -> None:
        tenant = ctx.tenant
        self.items: list[Assigned] = []
        self.flows_missing: list[str] = []
        for flow in tenant.user_flows:
            if flow.userAttributeAssignments is None:
                self.flows_missing.append(flow.id)
                continue
            for assignment in flow.userAttributeAssignments:
                expanded = assignment.userAttribute
                listed = tenant.attributes_by_id.get(fold(assignment.id))
                defined = expanded if expanded is not None and (expanded.userFlowAttributeType or expanded.type_name) \
                    else (listed or expanded)
                # dataType from the expansion, else the tenant's list (as Tenant.attribute_data_type).
                data_type = (expanded.dataType if expanded is not None and expanded.dataType
                             else listed.dataType if listed is not None else None)
                self.items.append(Assigned(flow, assignment, defined, data_type))
        self._status = tenant.status("userFlowAttributes")

    def flows_missing_reason(self) -> str | None:
        if not self.flows_missing:
            return None
        return f"userAttributeAssignments was not collected for user flow(s) {', '.join(self.flows_missing)}"

    def custom(self) -> list[Assigned]:
        return [item for item in self.items if item.is_custom]

    def untyped_reason(self) -> str | None:
        """Custom attributes whose dataType neither the expansion nor userFlowAttributes tells."""
        unknown = [f"{i.flow.id}/{i.attribute_id}" for i in self.custom() if not i.data_type]
        if not unknown:
            return None
        where = "does not list them" if self._status == "ok" else f"is {self._status}"
        return (f"the data type of custom attribute(s) {', '.join(unknown)} is unknown: userAttribute was not "
                f"expanded and userFlowAttributes {where}")


def _flows_or_not_applicable(ctx: CheckContext) -> None:
    if not ctx.tenant.user_flows:
        raise NotApplicable("no user flow exists")


def _conclude(ctx: CheckContext, hits: list[Hit], gaps: list[str | None]) -> list[Hit]:
    """Record what could not be judged; the engine turns "no finding but a gap" into notEvaluated."""
    for reason in gaps:
        if reason:
            ctx.gap(reason)
    return hits


@check("ATT001")
def boolean_custom_attribute_assigned(ctx: CheckContext) -> list[Hit]:
    _flows_or_not_applicable(ctx)
    collected = Collected(ctx)
    hits = [Hit(item.resource(),
                f"User flow {item.flow.id} collects the Boolean custom attribute '{item.display_name}': workforce "
                "user flows support only String and Integer custom attributes.",
                item.evidence())
            for item in collected.custom() if item.data_type == UNSUPPORTED_DATA_TYPE]
    return _conclude(ctx, hits, [collected.flows_missing_reason(), collected.untyped_reason()])


@check("ATT002")
def other_unsupported_custom_attribute(ctx: CheckContext) -> list[Hit]:
    _flows_or_not_applicable(ctx)
    collected = Collected(ctx)
    hits = [Hit(item.resource(),
                f"User flow {item.flow.id} collects the custom attribute '{item.display_name}' of type "
                f"{item.data_type_raw}: "
                "workforce user flows support only String and Integer custom attributes.",
                item.evidence())
            for item in collected.custom()
            if item.data_type and item.data_type not in SUPPORTED_CUSTOM_TYPES
            and item.data_type != UNSUPPORTED_DATA_TYPE]
    return _conclude(ctx, hits, [collected.flows_missing_reason(), collected.untyped_reason()])


@check("ATT003")
def boolean_custom_attribute_defined(ctx: CheckContext) -> list[Hit]:
    collected = Collected(ctx)
    if collected.flows_missing:
        # An attribute might be assigned to a flow whose assignments are unknown.
        raise NotEvaluated(collected.flows_missing_reason() or "")
    assigned = {fold(item.attribute_id) for item in collected.items}
    hits = []
    for attribute in sorted(ctx.tenant.user_flow_attributes, key=lambda a: fold(a.id)):
        if attribute.is_custom and attribute.data_type == UNSUPPORTED_DATA_TYPE and fold(attribute.id) not in assigned:
            hits.append(Hit(
                Resource("userFlowAttribute", attribute.id, attribute.displayName or attribute.id),
                f"The Boolean custom attribute '{attribute.displayName or attribute.id}' is defined in the tenant: "
                "it is not assigned to a user flow yet, but workforce user flows cannot collect Boolean attributes.",
                {"attribute": attribute.id, "displayName": attribute.displayName, "dataType": attribute.dataType,
                 "assignedToFlows": []}))
    return hits


@check("ATT004")
def custom_attributes_only_as_extensions(ctx: CheckContext) -> list[Hit]:
    _flows_or_not_applicable(ctx)
    collected = Collected(ctx)
    by_flow: dict[str, list[Assigned]] = {}
    for item in collected.custom():
        by_flow.setdefault(item.flow.id, []).append(item)
    hits = []
    no_config = []
    for flow in ctx.tenant.user_flows:
        custom = by_flow.get(flow.id)
        if not custom:
            continue
        config = flow.apiConnectorConfiguration
        if config is None:
            no_config.append(flow.id)
            continue
        if config.postAttributeCollection is None:
            federation = config.postFederationSignup
            hits.append(Hit(
                Resource("userFlow", flow.id, flow.id),
                f"User flow {flow.id} collects {len(custom)} custom attribute(s) and calls no API connector before "
                "the user is created: the answers exist only as directory extension properties on the guest "
                "(extension_<app id>_<name>), where nothing outside Entra sees them unless it reads them through "
                "Microsoft Graph.",
                {"customAttributes": sorted(i.attribute_id for i in custom),
                 "extensionProperties": sorted({i.attribute_id for i in custom
                                                if fold(i.attribute_id).startswith("extension_")}),
                 "postAttributeCollection": None,
                 "postFederationSignup": federation.displayName or federation.id if federation else None}))
    gaps = [collected.flows_missing_reason()]
    if no_config:
        gaps.append(f"apiConnectorConfiguration was not collected for user flow(s) {', '.join(no_config)} "
                    "(reading it requires IdentityUserFlow.ReadWrite.All)")
    return _conclude(ctx, hits, gaps)


@check("ATT005")
def optional_custom_attribute(ctx: CheckContext) -> list[Hit]:
    _flows_or_not_applicable(ctx)
    collected = Collected(ctx)
    hits = [Hit(item.resource(),
                f"User flow {item.flow.id} asks for the custom attribute '{item.display_name}' as optional: users "
                "who skip it at sign-up are never asked again.",
                item.evidence())
            for item in collected.custom() if item.assignment.isOptional is True]
    return _conclude(ctx, hits, [collected.flows_missing_reason()])


@check("ATT006")
def choice_input_without_choices(ctx: CheckContext) -> list[Hit]:
    _flows_or_not_applicable(ctx)
    collected = Collected(ctx)
    hits = [Hit(item.resource(),
                f"User flow {item.flow.id} shows '{item.display_name}' as {item.assignment.userInputType} but "
                "defines no choices: users cannot answer it.",
                {**item.evidence(), "choiceCount": 0})
            for item in collected.items if item.assignment.is_choice and not item.assignment.userAttributeValues]
    return _conclude(ctx, hits, [collected.flows_missing_reason()])
