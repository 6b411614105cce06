"""Collector tuning: concurrency, retries and Graph's documented throttle budgets.

Defaults follow Graph's published limits; each can be overridden from the environment so tests and
benchmarks run in seconds (e.g. ``FLOWAUDIT_SIGNIN_RATE=100/1``, ``FLOWAUDIT_BACKOFF_BASE=0.5``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from auditor.errors import InputError


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
    timeout: float = 60.0  # seconds per request
    signin_rate: Rate = Rate(5, 10.0)  # identity & access reports: 5 requests / 10 s per app per tenant
    activity_rate: Rate = Rate(10, 60.0)  # GET users with signInActivity: 10 requests / minute
    batch_size: int = 20  # Graph's JSON batch maximum

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
            return value

        return cls(
            max_in_flight=max(1, int(number("FLOWAUDIT_MAX_IN_FLIGHT", cls.max_in_flight, int))),
            max_retries=min(10, int(number("FLOWAUDIT_MAX_RETRIES", cls.max_retries, int))),
            backoff_base=number("FLOWAUDIT_BACKOFF_BASE", cls.backoff_base),
            timeout=number("FLOWAUDIT_HTTP_TIMEOUT", cls.timeout) or cls.timeout,
            signin_rate=Rate.parse(env["FLOWAUDIT_SIGNIN_RATE"], "FLOWAUDIT_SIGNIN_RATE")
            if env.get("FLOWAUDIT_SIGNIN_RATE") else cls.signin_rate,
            activity_rate=Rate.parse(env["FLOWAUDIT_ACTIVITY_RATE"], "FLOWAUDIT_ACTIVITY_RATE")
            if env.get("FLOWAUDIT_ACTIVITY_RATE") else cls.activity_rate,
        )
