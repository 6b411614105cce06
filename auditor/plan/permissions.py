"""The least-privileged application permission for each kind of write a plan makes.

One table, read by the remedies (each step names its permission) and by ``plan --permissions``.
Each entry cites the Microsoft Graph page that documents it. The reads that verify preconditions
use the collecting identity's permissions from :mod:`auditor.sources`.
"""

from __future__ import annotations

from dataclasses import dataclass

LEARN = "https://learn.microsoft.com/graph/api"


@dataclass(frozen=True)
class WritePermission:
    permission: str
    also: tuple[str, ...] = ()  # what Microsoft documents alongside it for the call
    doc: str = ""


AUTHENTICATION_FLOWS = WritePermission("Policy.ReadWrite.AuthenticationFlows",
                                       doc=f"{LEARN}/authenticationflowspolicy-update")
EMAIL_METHOD = WritePermission("Policy.ReadWrite.AuthenticationMethod",
                               doc=f"{LEARN}/emailauthenticationmethodconfiguration-update")
# Create and update both document "Policy.Read.All, Policy.ReadWrite.ConditionalAccess and
# Application.Read.All" for application permissions.
CONDITIONAL_ACCESS = WritePermission("Policy.ReadWrite.ConditionalAccess", ("Policy.Read.All", "Application.Read.All"),
                                     doc=f"{LEARN}/conditionalaccessroot-post-policies")
API_CONNECTORS = WritePermission("APIConnectors.ReadWrite.All", doc=f"{LEARN}/identityapiconnector-update")
# accountEnabled is a sensitive property: User.EnableDisableAccount.All with User.Read.All is the
# least-privileged combination (User.ReadWrite.All alone would also allow far more).
USER_ACCOUNT = WritePermission("User.EnableDisableAccount.All", ("User.Read.All",), doc=f"{LEARN}/user-update")
USER_FLOW_LISTENERS = WritePermission("Policy.ReadWrite.ApplicationConfiguration",
                                      doc=f"{LEARN}/authenticationlistener-update?view=graph-rest-beta")
AUTHORIZATION = WritePermission("Policy.ReadWrite.Authorization", doc=f"{LEARN}/authorizationpolicy-update")

ALL: tuple[WritePermission, ...] = (AUTHENTICATION_FLOWS, EMAIL_METHOD, CONDITIONAL_ACCESS, API_CONNECTORS,
                                    USER_ACCOUNT, USER_FLOW_LISTENERS, AUTHORIZATION)
