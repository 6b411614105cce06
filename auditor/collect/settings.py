"""Collector tuning: concurrency, retries, timeouts, caps and Graph's documented throttle budgets.

Defaults follow Graph's published limits; each can be overridden from the environment so tests and
benchmarks run in seconds (e.g. ``FLOWAUDIT_SIGNIN_RATE=100/1``, ``FLOWAUDIT_BACKOFF_BASE=0.5``).
docs/auth-setup.md ("Tuning") lists every variable. The caps exist so that a collection always
ends, whatever a server answers: every request has a connect, a read and a whole-response deadline,
a source follows at most ``max_pages`` pages, and a Retry-After beyond ``retry_after_cap`` is not
waited for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from auditor.errors import InputError

# kiota's RetryHandler never waits this long (RetryHandlerOption.MAX_DELAY); our cap stays below it.
KIOTA_MAX_DELAY = 180.0


@dataclass(frozen=True)
class Rate:
    """At most ``requests`` in any ``seconds`` window."""

    requests: int
    seconds: float

    @classmethod
    def parse(cls, text: str, name: str) -> Rate:
        try:
            count, _, window = text.partition("/")
            rate = cls(int(count), float(window))
        except ValueError:
            raise InputError(f"{name}: expected REQUESTS/SECONDS (e.g. 5/10), got {text!r}") from None
        if rate.requests < 1 or rate.seconds < 0:
            raise InputError(f"{name}: expected a positive rate, got {text!r}")
        return rate


@dataclass(frozen=True)
class Settings:
    max_in_flight: int = 8  # requests in flight at once, all sources together
    max_retries: int = 6  # per request, for 429/503/504 (kiota caps this at 10)
    backoff_base: float = 2.0  # seconds; back-off for throttled responses without Retry-After
    connect_timeout: float = 10.0  # seconds to open a connection
    read_timeout: float = 60.0  # seconds of silence allowed while a response arrives
    timeout: float = 300.0  # seconds for a whole response (headers and body): a trickle is cut off
    max_pages: int = 20_000  # pages per source (20 M sign-ins); beyond it the source ends in error
    retry_after_cap: float = 120.0  # seconds; a longer Retry-After is not waited for (the request fails)
    signin_rate: Rate = Rate(5, 10.0)  # identity & access reports: 5 requests / 10 s per app per tenant
    activity_rate: Rate = Rate(10, 60.0)  # GET users with signInActivity: 10 requests / minute
    # Identity protection and Conditional Access: 1 request / second per tenant for all apps, and no
    # Retry-After on 429. Shared by policies, named locations and What-If.
    ca_rate: Rate = Rate(1, 1.0)
    # The application's budgets across every tenant it reads (shared by a portfolio run's tenants):
    # identity and access reports, the directory's resource units, and any request at all.
    app_signin_rate: Rate = Rate(122, 10.0)
    app_directory_rate: Rate = Rate(150_000, 20.0)
    app_rate: Rate = Rate(130_000, 10.0)
    batch_size: int = 20  # Graph's JSON batch maximum
    in_filter_size: int = 15  # values in one `$filter=x in (...)` (Graph known issues: 15 expressions)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)

        def number(name: str, default: float, cast: type = float) -> float:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                value = cast(raw)
            except ValueError:
                raise InputError(f"{name}: expected a number, got {raw!r}") from None
            if value < 0:
                raise InputError(f"{name}: must not be negative, got {raw!r}")
            return float(value)

        def positive(name: str, default: float) -> float:
            value = number(name, default)
            if value == 0:
                raise InputError(f"{name}: must be more than 0 seconds (a request needs a deadline)")
            return value

        def rate(name: str, default: Rate) -> Rate:
            return Rate.parse(env[name], name) if env.get(name) else default

        cap = number("FLOWAUDIT_RETRY_AFTER_CAP", cls.retry_after_cap)
        if cap >= KIOTA_MAX_DELAY:
            raise InputError(f"FLOWAUDIT_RETRY_AFTER_CAP: must be below {KIOTA_MAX_DELAY:.0f} seconds, got {cap:g}")
        return cls(
            max_in_flight=max(1, int(number("FLOWAUDIT_MAX_IN_FLIGHT", cls.max_in_flight, int))),
            max_retries=min(10, int(number("FLOWAUDIT_MAX_RETRIES", cls.max_retries, int))),
            backoff_base=number("FLOWAUDIT_BACKOFF_BASE", cls.backoff_base),
            connect_timeout=positive("FLOWAUDIT_CONNECT_TIMEOUT", cls.connect_timeout),
            read_timeout=positive("FLOWAUDIT_READ_TIMEOUT", cls.read_timeout),
            timeout=positive("FLOWAUDIT_HTTP_TIMEOUT", cls.timeout),
            max_pages=max(1, int(number("FLOWAUDIT_MAX_PAGES", cls.max_pages, int))),
            retry_after_cap=cap,
            signin_rate=rate("FLOWAUDIT_SIGNIN_RATE", cls.signin_rate),
            activity_rate=rate("FLOWAUDIT_ACTIVITY_RATE", cls.activity_rate),
            ca_rate=rate("FLOWAUDIT_CA_RATE", cls.ca_rate),
            app_signin_rate=rate("FLOWAUDIT_APP_SIGNIN_RATE", cls.app_signin_rate),
            app_directory_rate=rate("FLOWAUDIT_APP_DIRECTORY_RATE", cls.app_directory_rate),
            app_rate=rate("FLOWAUDIT_APP_RATE", cls.app_rate),
        )
