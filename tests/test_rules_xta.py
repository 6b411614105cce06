"""XTA001: inbound MFA trust in the cross-tenant default, for flows that offer Entra ID sign-up."""

from graphdata import flow, listener

APP = "3dfff01b-0afb-4a07-967f-d1ccbd81102a"
PARTNER = "4c9b6a1e-2f3d-4e5a-8b7c-9d0e1f2a3b4c"
OTHER = "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b"
ENTRA = flow("B2X_1_Partner", providers=("AADSignup-OAUTH", "EmailOtpSignup-OAUTH"))


def default(mfa, **extra):
    return {"isServiceDefault": False, "inboundTrust": {"isMfaAccepted": mfa, "isCompliantDeviceAccepted": False,
                                                        "isHybridAzureADJoinedDeviceAccepted": False}, **extra}


def partner(tenant_id: str, mfa):
    return {"tenantId": tenant_id, "isServiceProvider": False,
            "inboundTrust": None if mfa is None else {"isMfaAccepted": mfa}}


def test_xta001_default_trust_fails_and_names_flows_apps_and_partner_overrides(audit_rule):
    outcome, findings = audit_rule("XTA001", b2xUserFlows=[ENTRA, flow("B2X_1_Otp", providers=("EmailOtpSignup-OAUTH",))],
                                   userFlowApplications=[listener("B2X_1_Partner", [APP])],
                                   crossTenantAccessPolicy=[default(True), partner(PARTNER, False), partner(OTHER, None)])
    assert outcome.outcome == "fail" and len(findings) == 1
    finding = findings[0]
    assert (finding.resource.type, finding.resource.id) == ("crossTenantAccessPolicy", "default")
    assert finding.evidence["userFlowsWithEntraSignUp"] == [{"flow": "B2X_1_Partner", "applications": [APP]}]
    assert finding.evidence["inboundTrust"]["isMfaAccepted"] is True
    # a partner with inboundTrust null inherits the default: it is not an exemption
    assert finding.evidence["partnersNotTrustingMfa"] == [PARTNER]
    assert "any tenant" in finding.message


def test_xta001_partner_only_trust_passes_with_a_note(audit_rule):
    outcome, findings = audit_rule("XTA001", b2xUserFlows=[ENTRA],
                                   crossTenantAccessPolicy=[default(False), partner(PARTNER, True)])
    assert outcome.outcome == "pass" and findings == []
    assert "1 partner configuration(s) accept MFA" in outcome.reason


def test_xta001_not_evaluated_when_the_default_says_nothing(audit_rule):
    outcome, _ = audit_rule("XTA001", b2xUserFlows=[ENTRA], crossTenantAccessPolicy=[{"isServiceDefault": True}])
    assert outcome.outcome == "notEvaluated" and "isMfaAccepted" in outcome.reason


def test_xta001_unknown_providers_are_a_gap(audit_rule):
    unknown = flow("B2X_1_Unknown")
    del unknown["userFlowIdentityProviders"]
    outcome, _ = audit_rule("XTA001", b2xUserFlows=[unknown], crossTenantAccessPolicy=[default(True)])
    assert outcome.outcome == "notEvaluated" and "B2X_1_Unknown" in outcome.reason


def test_xta001_forbidden_source_names_the_permission(audit_rule):
    outcome, _ = audit_rule("XTA001", b2xUserFlows=[ENTRA], crossTenantAccessPolicy="forbidden")
    assert outcome.outcome == "notEvaluated" and "crossTenantAccessPolicy" in outcome.reason
    assert any("Policy.Read.All" in action for action in outcome.actions)
