"""IDP: the identity providers each user flow offers, against what the tenant has configured."""

from __future__ import annotations

from auditor.checks import CheckContext, Hit, NotApplicable, NotEvaluated, Resource, check
from auditor.model.graph import PROVIDER_LABELS, IdentityProvider, UserFlow

SOCIAL_KINDS = ("google", "facebook")  # providers a flow can list only once configured in the tenant


def _flow_resource(flow: UserFlow) -> Resource:
    return Resource("userFlow", flow.id, flow.id)


def _labels(providers: list[IdentityProvider]) -> list[str]:
    return sorted({p.label for p in providers}, key=str.casefold)


def _providers(flow: UserFlow, builtins: bool) -> list[IdentityProvider] | None:
    if builtins:
        # The deprecated identityProviders relationship lists social providers only: it cannot tell
        # whether Email OTP or Entra ID sign-up is offered.
        return flow.userFlowIdentityProviders
    return flow.providers


def _flows_with_providers(ctx: CheckContext, builtins: bool) -> list[tuple[UserFlow, list[IdentityProvider]]]:
    """Flows whose provider list was collected; flows without one are noted or stop the rule."""
    flows = ctx.tenant.user_flows
    if not flows:
        raise NotApplicable("no user flow exists")
    known = [(f, p) for f in flows if (p := _providers(f, builtins)) is not None]
    missing = [f.id for f in flows if _providers(f, builtins) is None]
    if missing:
        reason = (f"userFlowIdentityProviders was not collected for user flow(s) {', '.join(missing)} "
                  "(it lists the built-in providers; the deprecated identityProviders relationship lists "
                  "social ones only)" if builtins else
                  f"the identity providers of user flow(s) {', '.join(missing)} were not collected")
        if not known:
            raise NotEvaluated(reason)
        ctx.gap(reason)
    return known


@check("IDP001")
def email_otp_offered_but_off(ctx: CheckContext) -> list[Hit]:
    method = ctx.tenant.email_authentication_method
    if method is None:
        raise NotEvaluated("source emailAuthenticationMethod returned no object")
    if not ctx.tenant.user_flows:
        raise NotApplicable("no user flow exists")
    if method.external_otp_enabled:  # "default" counts as enabled
        return []
    flows = _flows_with_providers(ctx, builtins=True)
    hits = []
    for flow, providers in flows:
        otp = [p for p in providers if p.kind == "emailOtp"]
        if otp:
            hits.append(Hit(
                _flow_resource(flow),
                f"User flow {flow.id} offers Email one-time passcode, but the Email OTP authentication method "
                "is disabled for external users (allowExternalIdToUseEmailOtp = disabled): guests who pick it "
                "cannot sign up.",
                {"providers": _labels(otp), "providerIds": sorted(p.id for p in otp),
                 "allowExternalIdToUseEmailOtp": method.allowExternalIdToUseEmailOtp}))
    return hits


@check("IDP002")
def social_provider_not_configured(ctx: CheckContext) -> list[Hit]:
    configured = {p.kind for p in ctx.tenant.identity_providers}
    hits = []
    for flow, providers in _flows_with_providers(ctx, builtins=False):
        offered = [p for p in providers if p.kind in SOCIAL_KINDS]
        missing = sorted({p.kind for p in offered} - configured)
        if missing:
            names = [PROVIDER_LABELS[k] for k in missing]
            hits.append(Hit(
                _flow_resource(flow),
                f"User flow {flow.id} offers {', '.join(names)}, but no such identity provider is configured "
                "in the tenant: that sign-up option cannot work.",
                {"missingProviders": names,
                 "flowProviderIds": sorted(p.id for p in offered if p.kind in missing),
                 "configuredProviders": sorted({PROVIDER_LABELS.get(k, k) for k in configured})}))
    return hits


@check("IDP003")
def entra_sign_up_needs_password(ctx: CheckContext) -> list[Hit]:
    hits = []
    for flow, providers in _flows_with_providers(ctx, builtins=True):
        aad = [p for p in providers if p.kind == "aadSignup"]
        if aad:
            hits.append(Hit(
                _flow_resource(flow),
                f"User flow {flow.id} offers Microsoft Entra ID sign-up: users who create an account through it "
                "must set a password at first sign-up; passwordless methods can be registered only afterwards.",
                {"providers": _labels(aad), "providerIds": sorted(p.id for p in aad)}))
    return hits
