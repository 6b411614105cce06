"""Client-side pacing for Graph's throttled buckets, and the back-off used when Graph sends no Retry-After.

Graph counts a request against several budgets at once (docs/auth-setup.md, "Throttling"): the
tenant's own (sign-ins 5 / 10 s per app per tenant, Conditional Access 1 / s per tenant,
signInActivity 10 / min) and the application's across every tenant it reads (the reports service
122 / 10 s, the directory 150,000 resource units / 20 s, any request 130,000 / 10 s). One
collection uses a tenant's budgets alone; a portfolio run shares one :class:`AppBudgets` between
all the tenants it collects at once, so together they stay within what Graph allows the app.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass

from auditor.collect.settings import Rate, Settings

# Lock order when one request waits for several budgets: the tenant's first, the app's after, in
# this order. Every request takes them in the same order, so two requests never wait on each other.
TENANT_RANK, REPORTS_RANK, DIRECTORY_RANK, REQUESTS_RANK = range(4)


class _Start:
    """One start counted in a budget: when (moved later once the request is really on the wire) and
    how many units."""

    __slots__ = ("at", "units")

    def __init__(self, at: float, units: int) -> None:
        self.at = at
        self.units = units


class WindowLimiter:
    """At most ``rate.requests`` starts (or cost units) in any ``rate.seconds`` window (Graph's budget).

    A sliding window rather than a refilling bucket: a bucket that starts full lets through twice the
    budget in the first window, which is exactly what draws 429s from the reports service.
    """

    # Graph counts arrivals, we count departures: keep a little slack so network jitter never
    # squeezes six requests into Graph's ten seconds (2%), nor two into Conditional Access's one
    # second (the absolute part: 2% of a second is less than the jitter of a loaded machine).
    MARGIN = 0.02
    SLACK = 0.1

    def __init__(self, rate: Rate, rank: int = TENANT_RANK) -> None:
        self.rate = rate
        self.rank = rank
        self._window = rate.seconds * (1 + self.MARGIN) + (self.SLACK if rate.seconds else 0.0)
        self._starts: deque[_Start] = deque()
        self._used = 0
        self._lock = asyncio.Lock()  # FIFO: waiters get their turn in the order they asked

    def _wait(self, cost: int, now: float) -> float:
        """Seconds until ``cost`` more units fit in the window (0: now).

        A start moved later (:meth:`Ticket.sent`) can stand before earlier ones; it then holds them
        in the window a little longer than needed, never shorter, and the caller asks again after
        sleeping."""
        while self._starts and self._starts[0].at + self._window <= now:
            self._used -= self._starts.popleft().units
        cost = min(cost, self.rate.requests)  # a request dearer than the whole budget waits for all of it
        if self._used + cost <= self.rate.requests:
            return 0.0
        room, freed = self.rate.requests - cost, self._used
        for start in self._starts:  # the oldest starts leave the window first
            freed -= start.units
            if freed <= room:
                return max(start.at + self._window - now, 1e-3)
        return self._window  # not reached: the loop frees the whole window

    def _record(self, cost: int, now: float) -> _Start:
        start = _Start(now, min(cost, self.rate.requests))
        self._starts.append(start)
        self._used += start.units
        return start

    async def acquire(self, cost: int = 1) -> Ticket:
        return await pace(((self, cost),))


class Ticket:
    """The starts one request was counted as, in each of its budgets."""

    def __init__(self, starts: list[_Start]) -> None:
        self._starts = starts

    def sent(self) -> None:
        """The request's bytes are going out now: count its start from now, not from when its budget
        let it go (opening a connection, a TLS handshake, a busy loop come in between, and Graph
        counts arrivals)."""
        now = time.monotonic()
        for start in self._starts:
            start.at = max(start.at, now)


async def pace(budgets: Sequence[tuple[WindowLimiter, int]]) -> Ticket:
    """Start one request against every budget it counts in: wait for room in each, then count the
    start in all of them at the same instant.

    Counting each budget when its own wait ends would be wrong: a start counted by the tenant's
    budget while the request still waited for the app's would let the tenant's next request go out
    too early. Holding each budget's lock while waiting for the next is safe because room in a
    held budget only grows (nobody else can count in it, and old starts leave its window).
    """
    ordered = sorted(budgets, key=lambda item: item[0].rank)
    async with AsyncExitStack() as held:
        for limiter, cost in ordered:
            await held.enter_async_context(limiter._lock)
            while (wait := limiter._wait(cost, time.monotonic())) > 0:
                await asyncio.sleep(wait)
        now = time.monotonic()
        return Ticket([limiter._record(cost, now) for limiter, cost in ordered])


@dataclass(frozen=True)
class PacedRequest:
    """One request's budgets with its cost in each; acquired again for each retry of the request."""

    budgets: tuple[tuple[WindowLimiter, int], ...]

    async def acquire(self) -> Ticket:
        return await pace(self.budgets) if self.budgets else Ticket([])


@dataclass(frozen=True)
class TenantBudgets:
    """Graph's budgets for one tenant (per app per tenant, or per tenant for all apps)."""

    signins: WindowLimiter  # identity and access reports: 5 requests / 10 s per app per tenant
    activity: WindowLimiter  # GET users with signInActivity: 10 requests / minute
    ca: WindowLimiter  # Conditional Access: 1 request / s per tenant (policies, named locations, What-If)

    @classmethod
    def of(cls, settings: Settings) -> TenantBudgets:
        return cls(WindowLimiter(settings.signin_rate), WindowLimiter(settings.activity_rate),
                   WindowLimiter(settings.ca_rate))


@dataclass(frozen=True)
class AppBudgets:
    """Graph's budgets for the application across every tenant it reads: shared by all the tenants
    one process collects at once (a portfolio run), or used by one collection alone."""

    reports: WindowLimiter  # identity and access reports (sign-ins): 122 requests / 10 s
    directory: WindowLimiter  # identity and access (directory): 150,000 resource units / 20 s
    requests: WindowLimiter  # any Graph request: 130,000 / 10 s

    @classmethod
    def of(cls, settings: Settings) -> AppBudgets:
        return cls(WindowLimiter(settings.app_signin_rate, REPORTS_RANK),
                   WindowLimiter(settings.app_directory_rate, DIRECTORY_RANK),
                   WindowLimiter(settings.app_rate, REQUESTS_RANK))

    def for_request(self, api_path: str) -> tuple[tuple[WindowLimiter, int], ...]:
        """The app budgets a GET of ``api_path`` (path and query after /v1.0 or /beta) counts in."""
        path = api_path.split("?", 1)[0].lower()
        if path.startswith("/auditlogs/"):
            return ((self.reports, 1), (self.requests, 1))
        if path.startswith(("/identity/conditionalaccess/", "/identityprotection/")):
            return ((self.requests, 1),)  # Conditional Access: a per-tenant budget only
        return ((self.directory, directory_cost(api_path)), (self.requests, 1))

    def for_batch(self, api_paths: Sequence[str]) -> tuple[tuple[WindowLimiter, int], ...]:
        """A $batch counts each request inside it, in the budgets of each."""
        totals: dict[int, tuple[WindowLimiter, int]] = {}
        for api_path in api_paths:
            for limiter, cost in self.for_request(api_path):
                totals[id(limiter)] = (limiter, totals.get(id(limiter), (limiter, 0))[1] + cost)
        return tuple(totals.values())


# Base costs in resource units of the directory requests a collection makes (Graph's throttling
# limits, "Identity and access service limits"); any other path costs 1.
_DIRECTORY_BASE_COSTS = ((re.compile(r"^/users/?$"), 2), (re.compile(r"^/groups/[^/]+/members\b"), 3),
                         (re.compile(r"^/groups/[^/]+/transitivemembers\b"), 5), (re.compile(r"^/applications/?$"), 2))


def directory_cost(api_path: str) -> int:
    """Resource units of one directory request: its base cost, $select −1, $expand +1, at least 1."""
    path, _, query = api_path.partition("?")
    path = path.lower()
    cost = next((units for pattern, units in _DIRECTORY_BASE_COSTS if pattern.search(path)), 1)
    query = query.lower()
    if "$select=" in query or "%24select=" in query:
        cost -= 1
    if "$expand=" in query or "%24expand=" in query:
        cost += 1
    return max(1, cost)


def backoff_seconds(attempt: int, base: float, cap: float = 60.0) -> int:
    """Whole seconds to wait before retry ``attempt`` (0-based) when Graph gives no Retry-After.

    Whole seconds, at least 1, because that is what a Retry-After header can carry.
    """
    return int(min(cap, max(1.0, round(base * (2 ** attempt)))))
