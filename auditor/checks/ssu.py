"""SSU: the tenant-wide self-service sign-up switch against the user flows that exist."""

from __future__ import annotations

from auditor.checks import CheckContext, Hit, NotEvaluated, Resource, check
from auditor.model.graph import AuthenticationFlowsPolicy


def _policy(ctx: CheckContext) -> AuthenticationFlowsPolicy:
    policy = ctx.tenant.authentication_flows_policy
    if policy is None:
        raise NotEvaluated("source authenticationFlowsPolicy returned no object")
    if not policy.sign_up_known:  # null is "not said", not "disabled"
        raise NotEvaluated("authenticationFlowsPolicy.selfServiceSignUp is null: whether self-service sign-up "
                           "is enabled is unknown")
    return policy


def _resource() -> Resource:
    return Resource("authenticationFlowsPolicy", "authenticationFlowsPolicy", "Authentication flows policy")


@check("SSU001")
def flows_without_sign_up(ctx: CheckContext) -> list[Hit]:
    policy = _policy(ctx)
    flows = ctx.tenant.user_flows
    if policy.sign_up_enabled or not flows:
        return []
    ids = [f.id for f in flows]
    return [Hit(_resource(), f"Self-service sign-up is disabled but {len(ids)} user flow(s) exist and are inert.",
                {"selfServiceSignUpEnabled": False, "userFlows": ids})]


@check("SSU002")
def sign_up_without_flows(ctx: CheckContext) -> list[Hit]:
    policy = _policy(ctx)
    if not policy.sign_up_enabled or ctx.tenant.user_flows:
        return []
    return [Hit(_resource(), "Self-service sign-up is enabled but no user flow exists.",
                {"selfServiceSignUpEnabled": True, "userFlows": []})]
