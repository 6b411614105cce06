"""The sign-in matrix Conditional Access is judged over, shared by the evaluator and the What-If collector.

For each user flow, each application linked to it and each kind of guest the flow signs up, a
policy is judged for every context: a device platform × a client app type, at a location that is
either "the internet" (inside no named location) or inside one named location. The sign-in itself
is ordinary: no sign-in, user or insider risk, an unregistered device, no device-code or
authentication-transfer flow.

A What-If answer stored in the snapshot (source ``conditionalAccessWhatIf``) is one JSON line::

    {"context": {"applicationId": "<appId>", "guestKind": "emailOtp", "userId": "<guest id>",
                 "platform": "android", "client": "browser", "location": "internet" | "<named location id>"},
     "request": {... the POST /identity/conditionalAccess/evaluate body ...},
     "value": [... whatIfAnalysisResult objects as Graph returned them ...]}

``context`` is flowaudit's own annotation (which cell of the matrix the call answers);
``request`` and ``value`` are exactly what was sent and received.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Values as Graph spells them in conditions.platforms and signInConditions.devicePlatform.
PLATFORMS: tuple[str, ...] = ("android", "iOS", "windows", "macOS", "linux")
# conditions.clientAppTypes / signInConditions.clientAppType ("exchangeActiveSync" and "other" are legacy
# authentication, which guests signing up through a user flow do not use).
CLIENTS: tuple[str, ...] = ("browser", "mobileAppsAndDesktopClients")
INTERNET = "internet"

# Guest kinds, named like the identity-provider kinds of the model.
EMAIL_OTP = "emailOtp"
GOOGLE = "google"
FACEBOOK = "facebook"
MICROSOFT_ACCOUNT = "microsoftAccount"
ENTRA_ID = "aadSignup"
MAIL_BASED_KINDS: frozenset[str] = frozenset({EMAIL_OTP, GOOGLE, FACEBOOK, MICROSOFT_ACCOUNT})
GUEST_KINDS: tuple[str, ...] = (EMAIL_OTP, GOOGLE, FACEBOOK, MICROSOFT_ACCOUNT, ENTRA_ID)
KIND_LABELS = {EMAIL_OTP: "Email one-time passcode", GOOGLE: "Google", FACEBOOK: "Facebook",
               MICROSOFT_ACCOUNT: "Microsoft account", ENTRA_ID: "Microsoft Entra ID"}

# users.identities[].issuer of a self-service sign-up guest -> guest kind (casefolded issuer).
_ISSUER_KINDS = {"mail": EMAIL_OTP, "google.com": GOOGLE, "facebook.com": FACEBOOK,
                 "microsoftaccount": MICROSOFT_ACCOUNT, "live.com": MICROSOFT_ACCOUNT,
                 "externalazuread": ENTRA_ID}


def guest_kind_of_issuer(issuer: str | None) -> str | None:
    """The guest kind an identity issuer stands for, or None for an issuer that is not a sign-up kind."""
    return _ISSUER_KINDS.get(issuer.casefold()) if isinstance(issuer, str) else None


@dataclass(frozen=True, order=True)
class SignInContext:
    platform: str
    client: str
    location: str = INTERNET  # INTERNET, or the id of a named location

    @property
    def from_internet(self) -> bool:
        return self.location == INTERNET

    def as_dict(self) -> dict[str, str]:
        return {"platform": self.platform, "client": self.client, "location": self.location}


def internet_contexts() -> list[SignInContext]:
    return [SignInContext(p, c) for p in PLATFORMS for c in CLIENTS]


def contexts(named_location_ids: Iterable[str] = ()) -> list[SignInContext]:
    """Every context of the matrix: the internet ones first, then each named location's."""
    cells = internet_contexts()
    for location in sorted(set(named_location_ids), key=str.casefold):
        cells += [SignInContext(p, c, location) for p in PLATFORMS for c in CLIENTS]
    return cells
