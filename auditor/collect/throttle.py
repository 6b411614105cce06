"""Client-side pacing for Graph's throttled buckets, and the back-off used when Graph sends no Retry-After."""

from __future__ import annotations

import asyncio
import time
from collections import deque

from auditor.collect.settings import Rate


class WindowLimiter:
    """At most ``rate.requests`` starts in any ``rate.seconds`` window (Graph's documented budget).

    A sliding window rather than a refilling bucket: a bucket that starts full lets through twice the
    budget in the first window, which is exactly what draws 429s from the reports service.
    """

    # Graph counts arrivals, we count departures: keep a little slack so network jitter never
    # squeezes six requests into Graph's ten seconds (2%), nor two into Conditional Access's one
    # second (the absolute part: 2% of a second is less than the jitter of a loaded machine).
    MARGIN = 0.02
    SLACK = 0.1

    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self._window = rate.seconds * (1 + self.MARGIN) + (self.SLACK if rate.seconds else 0.0)
        self._starts: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = time.monotonic()
            if len(self._starts) >= self.rate.requests:
                wait = self._starts[0] + self._window - now
                if wait > 0:
                    await asyncio.sleep(wait)
                self._starts.popleft()
            self._starts.append(time.monotonic())


def backoff_seconds(attempt: int, base: float, cap: float = 60.0) -> int:
    """Whole seconds to wait before retry ``attempt`` (0-based) when Graph gives no Retry-After.

    Whole seconds, at least 1, because that is what a Retry-After header can carry.
    """
    return int(min(cap, max(1.0, round(base * (2 ** attempt)))))
