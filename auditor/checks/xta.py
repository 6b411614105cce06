"""XTA: cross-tenant access settings as they apply to guests who sign up with a Microsoft Entra account."""

from __future__ import annotations

from auditor.checks import CheckContext, Hit, NotApplicable, NotEvaluated, Resource, check
from auditor.model.graph import UserFlow


def _entra_flows(ctx: CheckContext) -> list[UserFlow]:
    flows = ctx.tenant.user_flows
    if not flows:
        raise NotApplicable("no user flow exists")
    unknown = [f.id for f in flows if f.userFlowIdentityProviders is None]
    entra = [f for f in flows if f.userFlowIdentityProviders is not None and "aadSignup" in f.provider_kinds()]
    if unknown:
        reason = (f"userFlowIdentityProviders was not collected for user flow(s) {', '.join(unknown)}: whether "
                  "they offer Microsoft Entra ID sign-up cannot be told")
        if not entra:
            raise NotEvaluated(reason)
        ctx.gap(reason)
    if not entra:
        raise NotApplicable("no user flow offers Microsoft Entra ID sign-up")
    return entra


@check("XTA001")
def inbound_mfa_trust_from_every_tenant(ctx: CheckContext) -> list[Hit]:
    flows = _entra_flows(ctx)
    policy = ctx.tenant.authentication_flows_policy
    if policy is not None and policy.selfServiceSignUp is not None and policy.selfServiceSignUp.isEnabled is False:
        ctx.note("self-service sign-up is disabled for the tenant at the moment (SSU001): the flows' Entra ID "
                 "sign-up applies as soon as it is enabled again; invited guests are affected regardless")
    default = ctx.tenant.cross_tenant_access_default
    if default is None:
        raise NotEvaluated("crossTenantAccessPolicy holds no default configuration (only partner configurations "
                           "were collected)")
    accepted = default.accepts_mfa
    if accepted is None:
        raise NotEvaluated("the cross-tenant default carries no inboundTrust.isMfaAccepted")
    partners = ctx.tenant.cross_tenant_access_partners
    trusting = [p.tenantId for p in partners if p.accepts_mfa is True]
    if not accepted:
        if trusting:
            ctx.note(f"{len(trusting)} partner configuration(s) accept MFA from their own tenant only")
        return []
    exempt = [p.tenantId for p in partners if p.accepts_mfa is False]
    apps = ctx.tenant.apps_by_flow if ctx.tenant.is_ok("userFlowApplications") else None
    return [Hit(
        Resource("crossTenantAccessPolicy", "default", "Cross-tenant access default settings"),
        "The cross-tenant default accepts MFA from every other Microsoft Entra tenant (inboundTrust.isMfaAccepted "
        f"true), and {len(flows)} user flow(s) offer Microsoft Entra ID sign-up: a guest from any tenant, one an "
        "attacker controls included, satisfies your MFA requirement with whatever its home tenant accepts.",
        {"inboundTrust": default.inboundTrust.model_dump(exclude={"odata_type_raw"}) if default.inboundTrust else None,
         "isServiceDefault": default.isServiceDefault,
         "userFlowsWithEntraSignUp": [
             {"flow": f.id, "applications": apps.get(f.id.casefold(), []) if apps is not None else None}
             for f in flows],
         "partnersNotTrustingMfa": sorted(t for t in exempt if t),
         "partnersTrustingMfa": sorted(t for t in trusting if t)})]
