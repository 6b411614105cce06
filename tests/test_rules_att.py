from graphdata import assignment, attribute, connector, flow

AGREE = "extension_d09380e2b4c6429a203fb816a04a7ad_Agree"
SHOE = "extension_d09380e2b4c6429a203fb816a04a7ad_ShoeSize"
TAGS = "extension_d09380e2b4c6429a203fb816a04a7ad_Tags"
BORN = "extension_d09380e2b4c6429a203fb816a04a7ad_Born"
PERSIST = connector("7d3a9c1e-0000-4000-8000-000000000001", name="Persist attributes")


def partner(*attributes, **kwargs):
    return flow("B2X_1_Partner", attributes=list(attributes), **kwargs)


# --- ATT001 / ATT002 --------------------------------------------------------------------------

def test_att001_fails_for_assigned_boolean_custom_attribute(audit_rule):
    outcome, findings = audit_rule("ATT001", b2xUserFlows=[partner(assignment(AGREE, "boolean"),
                                                                   assignment(SHOE, "int64"))])
    assert outcome.outcome == "fail" and len(findings) == 1
    finding = findings[0]
    assert finding.resource.type == "userFlowAttributeAssignment"
    assert finding.resource.id == f"B2X_1_Partner/{AGREE}"
    assert finding.resource.displayName == "B2X_1_Partner: Agree"
    assert finding.evidence["dataType"] == "boolean"


def test_att001_passes_for_string_and_integer(audit_rule):
    outcome, findings = audit_rule("ATT001", b2xUserFlows=[partner(assignment(SHOE, "int64"), assignment(TAGS))])
    assert outcome.outcome == "pass" and findings == []


def test_att001_ignores_built_in_boolean(audit_rule):
    outcome, _ = audit_rule("ATT001", b2xUserFlows=[partner(assignment("Consent", "boolean", custom=False))])
    assert outcome.outcome == "pass"


def test_att001_uses_tenant_list_when_not_expanded(audit_rule):
    outcome, findings = audit_rule("ATT001", b2xUserFlows=[partner(assignment(AGREE, expand=False))],
                                   userFlowAttributes=[attribute(AGREE, "Boolean")])
    assert outcome.outcome == "fail" and findings[0].resource.id.endswith(AGREE)


def test_att001_case_insensitive_data_type_and_id(audit_rule):
    outcome, findings = audit_rule("ATT001", b2xUserFlows=[partner(assignment(AGREE.upper(), expand=False))],
                                   userFlowAttributes=[attribute(AGREE, "BOOLEAN")])
    assert outcome.outcome == "fail" and len(findings) == 1


def test_att001_not_evaluated_when_type_unknown(audit_rule):
    outcome, findings = audit_rule("ATT001", b2xUserFlows=[partner(assignment(AGREE, expand=False))],
                                   userFlowAttributes=[])
    assert outcome.outcome == "notEvaluated" and findings == []
    assert AGREE in outcome.reason


def test_att001_not_evaluated_when_type_unknown_and_attribute_list_forbidden(audit_rule):
    outcome, _ = audit_rule("ATT001", b2xUserFlows=[partner(assignment(AGREE, expand=False))],
                            userFlowAttributes="forbidden")
    assert outcome.outcome == "notEvaluated" and "forbidden" in outcome.reason


def test_att001_unexpanded_built_in_needs_no_type(audit_rule):
    outcome, _ = audit_rule("ATT001", b2xUserFlows=[partner(assignment("City", expand=False))],
                            userFlowAttributes="forbidden")
    assert outcome.outcome == "pass"


def test_att001_not_evaluated_when_assignments_missing(audit_rule):
    missing = flow("B2X_1_Unknown")
    del missing["userAttributeAssignments"]
    outcome, _ = audit_rule("ATT001", b2xUserFlows=[partner(assignment(SHOE, "int64")), missing])
    assert outcome.outcome == "notEvaluated" and "B2X_1_Unknown" in outcome.reason


def test_att001_reports_known_flows_even_when_another_is_missing(audit_rule):
    missing = flow("B2X_1_Unknown")
    del missing["userAttributeAssignments"]
    outcome, findings = audit_rule("ATT001", b2xUserFlows=[partner(assignment(AGREE, "boolean")), missing])
    assert outcome.outcome == "fail" and len(findings) == 1
    assert "B2X_1_Unknown" in outcome.reason


def test_att001_not_applicable_without_flows(audit_rule):
    outcome, _ = audit_rule("ATT001")
    assert outcome.outcome == "notApplicable"


def test_att001_not_evaluated_when_flows_forbidden(audit_rule):
    outcome, _ = audit_rule("ATT001", b2xUserFlows="forbidden")
    assert outcome.outcome == "notEvaluated" and "b2xUserFlows" in outcome.reason


def test_att002_fails_for_string_collection_and_datetime_not_boolean(audit_rule):
    flows = [partner(assignment(AGREE, "boolean"), assignment(TAGS, "stringCollection"),
                     assignment(BORN, "dateTime"), assignment(SHOE, "int64"))]
    outcome, findings = audit_rule("ATT002", b2xUserFlows=flows)
    assert outcome.outcome == "fail"
    assert sorted(f.evidence["dataType"] for f in findings) == ["dateTime", "stringCollection"]
    assert "stringCollection" in " ".join(f.message for f in findings)
    # ... and the Boolean is ATT001's alone.
    outcome1, findings1 = audit_rule("ATT001", b2xUserFlows=flows)
    assert [f.evidence["dataType"] for f in findings1] == ["boolean"]


def test_att002_passes_for_string_int_and_boolean(audit_rule):
    outcome, _ = audit_rule("ATT002", b2xUserFlows=[partner(assignment(AGREE, "boolean"), assignment(SHOE, "int64"),
                                                            assignment(TAGS, "String"))])
    assert outcome.outcome == "pass"


def test_att002_ignores_built_in_of_other_type(audit_rule):
    outcome, _ = audit_rule("ATT002", b2xUserFlows=[partner(assignment("Born", "dateTime", custom=False))])
    assert outcome.outcome == "pass"


# --- ATT003 -----------------------------------------------------------------------------------

def test_att003_fires_for_unassigned_boolean_only(audit_rule):
    attrs = [attribute(AGREE, "boolean"), attribute(SHOE, "int64"), attribute("Consent", "boolean", custom=False)]
    outcome, findings = audit_rule("ATT003", userFlowAttributes=attrs, b2xUserFlows=[partner(assignment(SHOE, "int64"))])
    assert outcome.outcome == "fail"
    assert [(f.resource.type, f.resource.id) for f in findings] == [("userFlowAttribute", AGREE)]
    # The same tenant: ATT001 has nothing to say about an unassigned attribute.
    outcome1, _ = audit_rule("ATT001", userFlowAttributes=attrs, b2xUserFlows=[partner(assignment(SHOE, "int64"))])
    assert outcome1.outcome == "pass"


def test_att003_fires_without_any_flow(audit_rule):
    outcome, findings = audit_rule("ATT003", userFlowAttributes=[attribute(AGREE, "boolean")])
    assert outcome.outcome == "fail" and findings[0].resource.id == AGREE


def test_att003_assigned_boolean_is_att001s(audit_rule):
    flows = [partner(assignment(AGREE.lower(), "boolean"))]
    attrs = [attribute(AGREE, "boolean")]
    outcome3, _ = audit_rule("ATT003", userFlowAttributes=attrs, b2xUserFlows=flows)
    outcome1, findings1 = audit_rule("ATT001", userFlowAttributes=attrs, b2xUserFlows=flows)
    assert outcome3.outcome == "pass"
    assert outcome1.outcome == "fail" and len(findings1) == 1


def test_att003_not_evaluated_when_some_flow_assignments_missing(audit_rule):
    missing = flow("B2X_1_Unknown")
    del missing["userAttributeAssignments"]
    outcome, findings = audit_rule("ATT003", userFlowAttributes=[attribute(AGREE, "boolean")], b2xUserFlows=[missing])
    assert outcome.outcome == "notEvaluated" and findings == []


def test_att003_not_evaluated_when_attribute_list_forbidden(audit_rule):
    outcome, _ = audit_rule("ATT003", userFlowAttributes="forbidden")
    assert outcome.outcome == "notEvaluated" and "userFlowAttributes" in outcome.reason


# --- ATT004 -----------------------------------------------------------------------------------

def test_att004_says_where_the_values_live_without_post_attribute_collection(audit_rule):
    outcome, findings = audit_rule("ATT004", b2xUserFlows=[partner(assignment(SHOE, "int64"), assignment("City", custom=False))])
    assert outcome.outcome == "fail" and outcome.severity == "info"
    assert outcome.title == "Custom attributes live only as directory extension properties"
    assert findings[0].resource.type == "userFlow" and findings[0].resource.id == "B2X_1_Partner"
    assert findings[0].evidence["customAttributes"] == [SHOE]
    assert findings[0].evidence["extensionProperties"] == [SHOE]
    # Microsoft documents the values as stored on the guest: the rule must not claim they are lost
    message = findings[0].message
    assert "directory extension properties" in message and "Microsoft Graph" in message
    assert "not persisted" not in message and "lost" not in message and "not persisted" not in outcome.rationale


def test_att004_post_federation_connector_never_sees_the_answers(audit_rule):
    outcome, findings = audit_rule("ATT004", b2xUserFlows=[partner(assignment(SHOE, "int64"),
                                                                   post_federation_signup=PERSIST)])
    assert outcome.outcome == "fail" and findings[0].evidence["postFederationSignup"] == "Persist attributes"


def test_att004_passes_with_post_attribute_collection(audit_rule):
    outcome, _ = audit_rule("ATT004", b2xUserFlows=[partner(assignment(SHOE, "int64"), post_attribute_collection=PERSIST)])
    assert outcome.outcome == "pass"


def test_att004_built_in_attributes_need_no_connector(audit_rule):
    outcome, _ = audit_rule("ATT004", b2xUserFlows=[partner(assignment("City", custom=False),
                                                            assignment("extension_lookalike", custom=False))])
    assert outcome.outcome == "pass"


def test_att004_unexpanded_custom_typed_via_tenant_list(audit_rule):
    outcome, findings = audit_rule("ATT004", b2xUserFlows=[partner(assignment("Hobby", expand=False))],
                                   userFlowAttributes=[attribute("Hobby", "string", custom=True)])
    assert outcome.outcome == "fail" and findings[0].evidence["customAttributes"] == ["Hobby"]


def test_att004_not_evaluated_without_connector_configuration(audit_rule):
    outcome, findings = audit_rule("ATT004", b2xUserFlows=[partner(assignment(SHOE, "int64"), with_connectors=False)])
    assert outcome.outcome == "notEvaluated" and findings == []
    assert "apiConnectorConfiguration" in outcome.reason and "B2X_1_Partner" in outcome.reason


def test_att004_missing_configuration_irrelevant_without_custom_attributes(audit_rule):
    outcome, _ = audit_rule("ATT004", b2xUserFlows=[partner(assignment("City", custom=False), with_connectors=False)])
    assert outcome.outcome == "pass"


# --- ATT005 -----------------------------------------------------------------------------------

def test_att005_reports_optional_custom_attribute(audit_rule):
    outcome, findings = audit_rule("ATT005", b2xUserFlows=[partner(assignment(SHOE, "int64", optional=True),
                                                                   assignment(TAGS, optional=False))])
    assert outcome.outcome == "fail" and [f.resource.id for f in findings] == [f"B2X_1_Partner/{SHOE}"]
    assert findings[0].severity == "info"


def test_att005_passes_for_required_and_optional_built_in(audit_rule):
    outcome, _ = audit_rule("ATT005", b2xUserFlows=[partner(assignment(SHOE, "int64"),
                                                            assignment("City", custom=False, optional=True))])
    assert outcome.outcome == "pass"


# --- ATT006 -----------------------------------------------------------------------------------

def test_att006_fails_for_choice_inputs_without_values(audit_rule):
    outcome, findings = audit_rule("ATT006", b2xUserFlows=[partner(
        assignment("City", custom=False, input_type="RadioSingleSelect"),
        assignment(TAGS, input_type="checkboxMultiSelect"),
        assignment(SHOE, "int64", input_type="DROPDOWNSINGLESELECT"),
        assignment(BORN, input_type="TextBox"))])
    assert outcome.outcome == "fail"
    assert sorted(f.resource.id for f in findings) == sorted(f"B2X_1_Partner/{a}" for a in ("City", TAGS, SHOE))


def test_att006_passes_with_values(audit_rule):
    values = [{"name": "Yes", "value": "yes", "isDefault": True}, {"name": "No", "value": "no", "isDefault": False}]
    outcome, _ = audit_rule("ATT006", b2xUserFlows=[partner(assignment(AGREE, input_type="radioSingleSelect",
                                                                       values=values))])
    assert outcome.outcome == "pass"


def test_att006_null_values_count_as_none(audit_rule):
    item = assignment(AGREE, input_type="dropdownSingleSelect")
    item["userAttributeValues"] = None
    outcome, findings = audit_rule("ATT006", b2xUserFlows=[partner(item)])
    assert outcome.outcome == "fail" and len(findings) == 1
