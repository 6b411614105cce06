"""Microsoft's own answers: the What-If records of ``conditionalAccessWhatIf``, indexed by matrix cell.

A record names its cell in flowaudit's ``context`` annotation (application, guest kind, asked guest,
platform, client, location). A record without it (written by another tool) is placed from its request:
the application of ``signInContext``, the guest kind of the ``signInIdentity`` user, the platform and
client of ``signInConditions``, and the named location its ``ipAddress`` or ``country`` falls in (none:
the internet). A record that cannot be placed, or that lands in a cell already answered, is skipped
with a note; it never decides anything.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from auditor.conditional_access.directory import Directory
from auditor.conditional_access.evaluator import WhatIfLookup
from auditor.model._base import fold
from auditor.model.conditional_access import NamedLocation, WhatIfAnalysisResult, WhatIfRecord, folded
from auditor.model.signin_matrix import CLIENTS, GUEST_KINDS, INTERNET, PLATFORMS, SignInContext

Key = tuple[str, str, str, str, str]  # appId, guest kind, platform, client, location (casefolded)
_PLATFORMS = {fold(p) for p in PLATFORMS}
_CLIENTS = {fold(c) for c in CLIENTS}
_KINDS = {fold(k): k for k in GUEST_KINDS}


@dataclass
class WhatIfAnswer:
    user_id: str | None
    applied_only: bool
    results: dict[str, WhatIfAnalysisResult]  # casefolded policy id -> result


def _in_location(location: NamedLocation, ip: Any, country: str | None) -> bool:
    if ip is not None:
        for cidr in location.ipRanges or ():
            try:
                if cidr.cidrAddress and ip in ipaddress.ip_network(cidr.cidrAddress, strict=False):
                    return True
            except ValueError:
                continue
    return bool(country and country.casefold() in folded(location.countriesAndRegions))


def locate(conditions: dict[str, Any], directory: Directory) -> str | None:
    """The named location (id) a request's signInConditions fall in, INTERNET for none, None if unknown."""
    raw_ip, country = conditions.get("ipAddress"), conditions.get("country")
    if not raw_ip and not country:
        return INTERNET
    if directory.named_locations is None:
        return None
    try:
        ip = ipaddress.ip_address(raw_ip) if isinstance(raw_ip, str) and raw_ip else None
    except ValueError:
        return None
    hits = [loc.id for loc in directory.named_locations.values()
            if _in_location(loc, ip, country if isinstance(country, str) else None)]
    if len(hits) > 1:
        return None  # inside several named locations: not one cell of the matrix
    return hits[0] if hits else INTERNET


class WhatIfIndex(WhatIfLookup):
    def __init__(self, records: list[WhatIfRecord], directory: Directory) -> None:
        self.answers: dict[Key, WhatIfAnswer] = {}
        self.notes: list[str] = []
        skipped = duplicates = 0
        for record in records:
            key, user_id = self._key(record, directory)
            if key is None:
                skipped += 1
                continue
            if key in self.answers:
                duplicates += 1
                continue
            request = record.request or {}
            self.answers[key] = WhatIfAnswer(
                user_id=user_id, applied_only=bool(request.get("appliedPoliciesOnly")),
                results={fold(r.id): r for r in record.value if r.id})
        if skipped:
            self.notes.append(f"{skipped} What-If answer(s) could not be placed in the sign-in matrix and were not used")
        if duplicates:
            self.notes.append(f"{duplicates} What-If answer(s) repeated a cell already answered and were not used")

    @staticmethod
    def _key(record: WhatIfRecord, directory: Directory) -> tuple[Key | None, str | None]:
        request = record.request or {}

        def part(name: str) -> dict[str, Any]:
            value = request.get(name)
            return value if isinstance(value, dict) else {}

        identity, target, conditions = part("signInIdentity"), part("signInContext"), part("signInConditions")
        context = record.context
        listed = target.get("includeApplications")
        apps: list[Any] = listed if isinstance(listed, list) else []
        app = (context.applicationId if context else None) or (apps[0] if len(apps) == 1 else None)
        user_id = (context.userId if context else None) or identity.get("userId")
        user_id = user_id if isinstance(user_id, str) else None
        kind = (context.guestKind if context else None) or (directory.guests.get(fold(user_id)) if user_id else None)
        platform = (context.platform if context else None) or conditions.get("devicePlatform")
        client = (context.client if context else None) or conditions.get("clientAppType")
        location = context.location if context and context.location else locate(conditions, directory)
        parts = [app, kind, platform, client, location]
        if not all(isinstance(p, str) and p for p in parts):
            return None, user_id
        if fold(platform) not in _PLATFORMS or fold(client) not in _CLIENTS or fold(kind) not in _KINDS:
            return None, user_id
        return (fold(app), _KINDS[fold(kind)], fold(platform), fold(client), fold(location)), user_id

    def answer(self, app_id: str, kind: str, context: SignInContext) -> WhatIfAnswer | None:
        return self.answers.get((fold(app_id), kind, fold(context.platform), fold(context.client),
                                 fold(context.location)))

    def __len__(self) -> int:
        return len(self.answers)


__all__ = ["WhatIfAnswer", "WhatIfIndex", "locate"]
