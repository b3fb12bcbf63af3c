"""Abuse limits: a token bucket per connection and event, and a connection count per address.

The rates are generous for people and tight for scripts; a refused event costs a dict lookup.
"""

from __future__ import annotations

import time

from .errors import ChatError

# event -> (burst, refill per second)
RATES: dict[str, tuple[float, float]] = {
    "join": (10, 1.0),
    "leave": (10, 1.0),
    "nick": (3, 0.1),
    "chat": (5, 1.0),
    "heart": (20, 8.0),
    "question": (3, 0.1),
    "upvote": (20, 2.0),
    "vote": (5, 0.5),
    "mod": (30, 5.0),
}
DEFAULT_RATE = (10, 2.0)
# Every event of a connection together.
TOTAL_RATE = (60, 20.0)


class Limiter:
    """Token buckets of one connection, keyed by event family."""

    __slots__ = ("_buckets", "_scale")

    def __init__(self, scale: float = 1.0) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._scale = scale

    def _take(self, key: str, burst: float, rate: float, now: float) -> bool:
        tokens, last = self._buckets.get(key, (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        return True

    def check(self, event: str) -> None:
        now = time.monotonic()
        family = "mod" if event.startswith(("mod:", "poll:", "question:")) else event
        burst, rate = RATES.get(family, DEFAULT_RATE)
        k = self._scale
        if not self._take("*", TOTAL_RATE[0] * k, TOTAL_RATE[1] * k, now) or not self._take(
            family, burst * k, rate * k, now
        ):
            raise ChatError("rate_limited", "Too many events; slow down.")


class AddressCounter:
    """Open connections per client address, capped."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._counts: dict[str, int] = {}

    def acquire(self, address: str) -> bool:
        count = self._counts.get(address, 0)
        if count >= self.cap:
            return False
        self._counts[address] = count + 1
        return True

    def release(self, address: str) -> None:
        count = self._counts.get(address, 0) - 1
        if count <= 0:
            self._counts.pop(address, None)
        else:
            self._counts[address] = count
