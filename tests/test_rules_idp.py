from graphdata import flow, provider


def email_method(allow: str) -> list[dict]:
    return [{"@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration", "id": "Email",
             "state": "enabled", "allowExternalIdToUseEmailOtp": allow, "includeTargets": []}]


OTP_FLOW = flow("B2X_1_Partner", providers=("AADSignup-OAUTH", "EmailOtpSignup-OAUTH"))
NO_OTP_FLOW = flow("B2X_1_Staff", providers=("AADSignup-OAUTH",))


# --- IDP001 -----------------------------------------------------------------------------------

def test_idp001_fails_when_external_email_otp_disabled(audit_rule):
    outcome, findings = audit_rule("IDP001", b2xUserFlows=[OTP_FLOW, NO_OTP_FLOW],
                                   emailAuthenticationMethod=email_method("disabled"))
    assert outcome.outcome == "fail"
    assert [f.resource.id for f in findings] == ["B2X_1_Partner"]
    assert findings[0].resource.type == "userFlow"
    assert findings[0].evidence["allowExternalIdToUseEmailOtp"] == "disabled"
    assert findings[0].evidence["providerIds"] == ["EmailOtpSignup-OAUTH"]


def test_idp001_default_counts_as_enabled(audit_rule):
    outcome, findings = audit_rule("IDP001", b2xUserFlows=[OTP_FLOW], emailAuthenticationMethod=email_method("default"))
    assert outcome.outcome == "pass" and findings == []


def test_idp001_passes_when_enabled(audit_rule):
    outcome, _ = audit_rule("IDP001", b2xUserFlows=[OTP_FLOW], emailAuthenticationMethod=email_method("enabled"))
    assert outcome.outcome == "pass"


def test_idp001_compares_case_insensitively(audit_rule):
    # Graph spells the provider type "EmailOTP"; a differently cased id/type must still be recognised.
    odd = flow("B2X_1_Odd", providers=())
    odd["userFlowIdentityProviders"] = [{"@odata.type": "microsoft.graph.builtInIdentityProvider",
                                         "id": "EMAILOTPSIGNUP-OAuth", "displayName": "Email OTP",
                                         "identityProviderType": "emailotp"}]
    outcome, findings = audit_rule("IDP001", b2xUserFlows=[odd], emailAuthenticationMethod=email_method("Disabled"))
    assert outcome.outcome == "fail" and findings[0].resource.id == "B2X_1_Odd"


def test_idp001_passes_when_no_flow_offers_otp(audit_rule):
    outcome, _ = audit_rule("IDP001", b2xUserFlows=[NO_OTP_FLOW], emailAuthenticationMethod=email_method("disabled"))
    assert outcome.outcome == "pass"


def test_idp001_not_applicable_without_flows(audit_rule):
    outcome, _ = audit_rule("IDP001", emailAuthenticationMethod=email_method("disabled"))
    assert outcome.outcome == "notApplicable"


def test_idp001_not_evaluated_when_email_method_forbidden(audit_rule):
    outcome, _ = audit_rule("IDP001", b2xUserFlows=[OTP_FLOW], emailAuthenticationMethod="forbidden")
    assert outcome.outcome == "notEvaluated"
    assert "emailAuthenticationMethod" in outcome.reason and "forbidden" in outcome.reason


def test_idp001_not_evaluated_when_only_deprecated_provider_list_known(audit_rule):
    # The deprecated identityProviders relationship lists social providers only: Email OTP is invisible.
    legacy = {"id": "B2X_1_Legacy", "userFlowType": "signUpOrSignIn", "userFlowTypeVersion": 1,
              "identityProviders": [{"id": "Facebook-OAuth", "type": "Facebook", "name": "Facebook",
                                     "clientId": "x", "clientSecret": "*******"}],
              "userAttributeAssignments": []}
    outcome, findings = audit_rule("IDP001", b2xUserFlows=[legacy], emailAuthenticationMethod=email_method("disabled"))
    assert outcome.outcome == "notEvaluated" and findings == []
    assert "B2X_1_Legacy" in outcome.reason and "userFlowIdentityProviders" in outcome.reason


# --- IDP002 -----------------------------------------------------------------------------------

def test_idp002_fails_when_google_not_configured(audit_rule):
    outcome, findings = audit_rule(
        "IDP002", b2xUserFlows=[flow("B2X_1_Social", providers=("AADSignup-OAUTH", "Google-OAUTH", "Facebook-OAUTH"))],
        identityProviders=[provider("Facebook-OAUTH")])
    assert outcome.outcome == "fail" and len(findings) == 1
    assert findings[0].resource.id == "B2X_1_Social"
    assert findings[0].evidence["missingProviders"] == ["Google"]


def test_idp002_one_finding_per_flow_listing_every_missing_kind(audit_rule):
    outcome, findings = audit_rule(
        "IDP002", b2xUserFlows=[flow("B2X_1_Social", providers=("Google-OAUTH", "Facebook-OAUTH"))],
        identityProviders=[])
    assert len(findings) == 1
    assert findings[0].evidence["missingProviders"] == ["Facebook", "Google"]


def test_idp002_passes_when_configured_in_old_shape(audit_rule):
    # Tenant provider in the old type/name shape, flow provider spelled "Google-OAuth" in the old shape too.
    social = flow("B2X_1_Social", providers=("AADSignup-OAUTH",))
    social["userFlowIdentityProviders"].append({"@odata.type": "#microsoft.graph.socialIdentityProvider",
                                                "id": "Google-OAuth", "type": "Google", "name": "Google",
                                                "clientId": "clientIdFromGoogle", "clientSecret": "*****"})
    outcome, findings = audit_rule(
        "IDP002", b2xUserFlows=[social],
        identityProviders=[{"id": "Google-OAUTH", "type": "Google", "name": "Google", "clientId": "g",
                            "clientSecret": "******"}])
    assert outcome.outcome == "pass" and findings == []


def test_idp002_reads_deprecated_flow_relationship(audit_rule):
    legacy = {"id": "B2X_1_Legacy", "userFlowType": "signUpOrSignIn", "userFlowTypeVersion": 1,
              "identityProviders": [{"id": "Facebook-OAuth", "type": "Facebook", "name": "Facebook",
                                     "clientId": "x", "clientSecret": "*******"}]}
    outcome, findings = audit_rule("IDP002", b2xUserFlows=[legacy], identityProviders=[provider("Google-OAUTH")])
    assert outcome.outcome == "fail" and findings[0].evidence["missingProviders"] == ["Facebook"]


def test_idp002_passes_when_all_configured(audit_rule):
    outcome, _ = audit_rule("IDP002", b2xUserFlows=[flow("B2X_1_Social", providers=("Google-OAUTH", "Facebook-OAUTH"))])
    assert outcome.outcome == "pass"


def test_idp002_not_evaluated_when_providers_forbidden(audit_rule):
    outcome, _ = audit_rule("IDP002", b2xUserFlows=[flow("B2X_1_Social", providers=("Google-OAUTH",))],
                            identityProviders="forbidden")
    assert outcome.outcome == "notEvaluated" and "identityProviders" in outcome.reason


# --- IDP003 -----------------------------------------------------------------------------------

def test_idp003_reports_flows_offering_entra_sign_up(audit_rule):
    outcome, findings = audit_rule("IDP003", b2xUserFlows=[
        flow("B2X_1_Entra", providers=("AADSignup-OAUTH", "EmailOtpSignup-OAUTH")),
        flow("B2X_1_OtpOnly", providers=("EmailOtpSignup-OAUTH",))])
    assert outcome.outcome == "fail"
    assert [f.resource.id for f in findings] == ["B2X_1_Entra"]
    assert findings[0].severity == "info"


def test_idp003_passes_without_entra_sign_up(audit_rule):
    outcome, _ = audit_rule("IDP003", b2xUserFlows=[flow("B2X_1_OtpOnly", providers=("EmailOtpSignup-OAUTH",))])
    assert outcome.outcome == "pass"


def test_idp003_not_applicable_without_flows(audit_rule):
    outcome, _ = audit_rule("IDP003")
    assert outcome.outcome == "notApplicable"
