"""Conditional Access What-If during a live collection (source ``conditionalAccessWhatIf``).

For each application A linked to a user flow and each guest kind K for which a self-service
sign-up guest of kind K exists (the newest one, by ``createdDateTime``), Microsoft's own policy
engine is asked, through ``POST /identity/conditionalAccess/evaluate``, which policies apply to
that guest signing in to A in each cell of the sign-in matrix (auditor/model/signin_matrix.py):
every platform × client app type, from the internet first, then from each named location.

* internet: an address from the documentation ranges (RFC 5737, RFC 3849) that falls in no IP named
  location, and a country in no country named location; from an IP named location: an address
  inside its first range; from a country named location: its first country code;
* the sign-in is otherwise ordinary: no risk levels, no authentication flow, no device info;
* ``appliedPoliciesOnly: true``;
* at most ``--whatif-max-calls`` calls (internet contexts first); when the bound cuts calls the
  source is ``ok`` and ``partial``, and the manifest says how many were skipped;
* paced for the Conditional Access limit (1 request per second per tenant, shared with the policy
  and named-location reads; Graph sends no Retry-After there);
* a refusal (403: Policy.Read.ConditionalAccess or Policy.Read.All missing) stops the calls and the
  source is ``forbidden``.

Each answer is stored as one line ``{"context": …, "request": …, "value": […]}``.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from auditor.model.signin_matrix import GUEST_KINDS, INTERNET, guest_kind_of_issuer, internet_contexts
from auditor.sources import BY_KEY, FORBIDDEN, OK

if TYPE_CHECKING:
    from auditor.collect.fetch import Fetcher, SourceOutcome
    from auditor.collect.transport import GraphError

KEY = "conditionalAccessWhatIf"
DEFAULT_MAX_CALLS = 400
# Documentation addresses (never routed): one of them is in no named location in almost any tenant.
DOCUMENTATION_ADDRESSES = ("203.0.113.10", "198.51.100.10", "192.0.2.10", "2001:db8::10")
# Countries tried, in order, for "a country in no country named location".
CANDIDATE_COUNTRIES = ("US", "GB", "DE", "FR", "NL", "SE", "JP", "CA", "AU", "BR", "IN", "ZA", "SG", "NZ",
                       "IE", "ES", "IT", "PL", "CH", "NO")
WORKERS = 4  # calls in flight at once; the limiter keeps their starts at the Conditional Access rate
MAX_CONSECUTIVE_FAILURES = 5  # then stop: Graph is not answering What-If for this tenant
IP_LOCATION = "#microsoft.graph.ipnamedlocation"
COUNTRY_LOCATION = "#microsoft.graph.countrynamedlocation"


@dataclass(frozen=True)
class Guest:
    kind: str
    user_id: str


@dataclass(frozen=True)
class Place:
    location: str  # INTERNET or a named location id
    conditions: dict[str, str]  # ipAddress and/or country


@dataclass(frozen=True)
class Call:
    context: dict[str, str]
    body: dict[str, Any]


@dataclass
class Plan:
    calls: list[Call] = field(default_factory=list)
    skipped_locations: list[dict[str, str]] = field(default_factory=list)
    internet: dict[str, str] | None = None
    notes: list[str] = field(default_factory=list)


def _created(user: dict[str, Any]) -> datetime:
    value = user.get("createdDateTime")
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    return datetime.min.replace(tzinfo=timezone.utc)


def guest_kind(user: dict[str, Any]) -> str | None:
    identities = user.get("identities")
    for identity in identities if isinstance(identities, list) else []:
        if isinstance(identity, dict):
            kind = guest_kind_of_issuer(identity.get("issuer"))
            if kind is not None:
                return kind
    return None


def newest_guests(users: list[dict[str, Any]]) -> dict[str, Guest]:
    """Guest kind → the newest self-service sign-up guest of that kind."""
    best: dict[str, tuple[datetime, str]] = {}
    for user in users:
        user_id = user.get("id")
        if not isinstance(user_id, str) or not user_id:
            continue
        if str(user.get("creationType") or "").casefold() != "selfservicesignup":
            continue
        kind = guest_kind(user)
        if kind is None:
            continue
        rank = (_created(user), user_id)
        if kind not in best or rank > best[kind]:
            best[kind] = rank
    return {kind: Guest(kind, best[kind][1]) for kind in GUEST_KINDS if kind in best}


def _networks(location: dict[str, Any]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    ranges = location.get("ipRanges")
    for item in ranges if isinstance(ranges, list) else []:
        cidr = item.get("cidrAddress") if isinstance(item, dict) else None
        if isinstance(cidr, str):
            try:
                networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
            except ValueError:
                continue
    return networks


def _countries(location: dict[str, Any]) -> list[str]:
    values = location.get("countriesAndRegions")
    return [v.strip().upper() for v in values if isinstance(v, str) and v.strip()] if isinstance(values, list) else []


def places(named_locations: list[dict[str, Any]]) -> tuple[list[Place], list[dict[str, str]]]:
    """The internet place first (when one can be found), then one per usable named location."""
    ip_locations = [n for n in named_locations if str(n.get("@odata.type", "")).casefold() == IP_LOCATION]
    country_locations = [n for n in named_locations if str(n.get("@odata.type", "")).casefold() == COUNTRY_LOCATION]
    taken_networks = [net for location in ip_locations for net in _networks(location)]
    taken_countries = {c for location in country_locations for c in _countries(location)}
    result: list[Place] = []
    skipped: list[dict[str, str]] = []
    address = next((a for a in DOCUMENTATION_ADDRESSES
                    if not any(ipaddress.ip_address(a) in net for net in taken_networks)), None)
    country = next((c for c in CANDIDATE_COUNTRIES if c not in taken_countries), None)
    if address is not None:
        result.append(Place(INTERNET, {"ipAddress": address, **({"country": country} if country else {})}))
    else:
        skipped.append({"id": INTERNET, "reason": "every documentation address is inside a named location"})
    for location in sorted(named_locations, key=lambda n: str(n.get("id", "")).casefold()):
        location_id = location.get("id")
        if not isinstance(location_id, str) or not location_id:
            continue
        kind = str(location.get("@odata.type", "")).casefold()
        if kind == IP_LOCATION:
            networks = _networks(location)
            if not networks:
                skipped.append({"id": location_id, "reason": "no readable IP range"})
                continue
            first = networks[0]
            host = first[1] if first.num_addresses > 2 else first[0]  # a host address, not the network's
            result.append(Place(location_id, {"ipAddress": str(host)}))
        elif kind == COUNTRY_LOCATION:
            countries = _countries(location)
            if not countries:
                skipped.append({"id": location_id, "reason": "no country listed"})
                continue
            result.append(Place(location_id, {"country": countries[0]}))
        else:
            skipped.append({"id": location_id, "reason": f"unknown named location type {kind or '(none)'}"})
    return result, skipped


def request_body(user_id: str, app_id: str, platform: str, client: str, conditions: dict[str, str]) -> dict[str, Any]:
    return {
        "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": user_id},
        "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [app_id]},
        "signInConditions": {"devicePlatform": platform, "clientAppType": client, **conditions},
        "appliedPoliciesOnly": True,
    }


def plan_calls(app_ids: list[str], guests: dict[str, Guest], named_locations: list[dict[str, Any]]) -> Plan:
    """Every call of the matrix, in the order they are made: internet contexts first."""
    plan = Plan()
    all_places, plan.skipped_locations = places(named_locations)
    for place in all_places:
        if place.location == INTERNET:
            plan.internet = place.conditions
        for app_id in app_ids:
            for guest in guests.values():
                for cell in internet_contexts():
                    context = {"applicationId": app_id, "guestKind": guest.kind, "userId": guest.user_id,
                               "platform": cell.platform, "client": cell.client, "location": place.location}
                    plan.calls.append(Call(context, request_body(guest.user_id, app_id, cell.platform,
                                                                 cell.client, place.conditions)))
    if not app_ids:
        plan.notes.append("no application is linked to a user flow")
    if not guests:
        plan.notes.append("no self-service sign-up guest of a known kind")
    return plan


async def collect_what_if(fetcher: Fetcher, listeners_task: Awaitable[SourceOutcome],
                          users_task: Awaitable[SourceOutcome], locations_task: Awaitable[SourceOutcome],
                          max_calls: int) -> SourceOutcome | None:
    """Run the What-If plan (at most ``max_calls`` calls); None when What-If is switched off (0)."""
    from auditor.collect.fetch import SourceOutcome, depends_on, linked_app_ids

    if max_calls <= 0:
        return None
    listeners, users, locations = await listeners_task, await users_task, await locations_task
    blocked = depends_on(KEY, {"userFlowApplications": listeners, "selfServiceSignUpUsers": users,
                               "namedLocations": locations})
    if blocked is not None:
        return blocked
    fetcher.progress.start(KEY)
    app_ids, _ = linked_app_ids(listeners.records, with_flow_only=True)
    plan = plan_calls(app_ids, newest_guests(users.records), locations.records)
    calls = plan.calls[:max_calls]
    outcome = SourceOutcome(KEY)
    run = _Run(fetcher, calls)
    await run.go()
    outcome.records = [r for r in run.results if r is not None]
    skipped = len(plan.calls) - len(calls)
    outcome.extra.update({"plannedCalls": len(plan.calls), "calls": run.made, "skippedCalls": skipped,
                          "failedCalls": run.failed, "maxCalls": max_calls})
    if plan.internet is not None:
        outcome.extra["internetConditions"] = plan.internet
    if plan.skipped_locations:
        outcome.extra["skippedLocations"] = plan.skipped_locations
    for note in plan.notes:
        outcome.add_note(note)
    if skipped:
        outcome.add_note(f"{skipped} of {len(plan.calls)} calls skipped (--whatif-max-calls {max_calls})")
    not_run = len(calls) - run.made
    if not_run:
        outcome.extra["notRunCalls"] = not_run
    source = BY_KEY[KEY]
    if run.stop_error is not None:
        # A refusal ends in forbidden (nothing answered) or partial; a malformed answer in error.
        outcome.fail(run.stop_error, api=source.api, cloud=fetcher.endpoint.cloud)
        if outcome.status == FORBIDDEN:
            outcome.add_note("What-If skipped: the permission is missing (least privilege "
                             "Policy.Read.ConditionalAccess)")
    elif run.first_error is not None and not outcome.records:
        outcome.fail(run.first_error, api=source.api, cloud=fetcher.endpoint.cloud)
    if outcome.status == OK and (skipped or run.failed or not_run or listeners.partial or users.partial
                                 or locations.partial):
        outcome.partial = True
        outcome.error = outcome.error or run.first_error
    return outcome


class _Run:
    """The calls of one plan: the first alone (a refusal stops everything), then a few at a time."""

    def __init__(self, fetcher: Fetcher, calls: list[Call]) -> None:
        self.fetcher = fetcher
        self.calls = calls
        self.results: list[dict[str, Any] | None] = [None] * len(calls)
        self.made = 0
        self.failed = 0
        self.consecutive = 0
        self.first_error: GraphError | None = None
        self.stop_error: GraphError | None = None  # a refusal or malformed answer: no further calls
        self._next = 0
        source = BY_KEY[KEY]
        self.url = fetcher.endpoint.url(source.api, source.path)

    @property
    def stopped(self) -> bool:
        return self.stop_error is not None or self.consecutive >= MAX_CONSECUTIVE_FAILURES

    async def go(self) -> None:
        if not self.calls:
            return
        await self._one(0)
        self._next = 1
        await asyncio.gather(*(self._worker() for _ in range(min(WORKERS, len(self.calls) - 1))))

    async def _worker(self) -> None:
        while not self.stopped and self._next < len(self.calls):
            index = self._next
            self._next += 1
            await self._one(index)

    async def _one(self, index: int) -> None:
        from auditor.collect.transport import GraphError

        if self.stopped:
            return
        call = self.calls[index]
        self.made += 1
        try:
            body = await self.fetcher.transport.post(self.url, call.body, self.fetcher.ca_limiter)
            value: list[dict[str, Any]] = []
            async for page in self.fetcher.pages(self.url, first=body, limiter=self.fetcher.ca_limiter):
                value.extend(page.items)
        except GraphError as error:
            if error.fatal:
                raise
            self.failed += 1
            self.consecutive += 1
            self.first_error = self.first_error or error
            if error.untrusted or error.status == 403:
                self.stop_error = self.stop_error or error
            return
        self.consecutive = 0
        self.results[index] = {"context": call.context, "request": call.body, "value": value}
        self.fetcher.progress.advance(KEY, 1)
