"""Abuse limits: token buckets per connection and event, and per client address a cap on open
connections and a token bucket on new ones.

The event rates are generous for people and tight for scripts; a refused event costs a dict
lookup. A connection that stays over its limits for longer than a few seconds (the setting
`chat_flood_cut_s`) is a script, not a person, and is cut (`Limiter.refused`).

Per address: offices and mobile carriers put thousands of people behind one address, so the cap
on open connections is high and what stops a flooder is the rate of new connections: a token
bucket with room for an office arriving at once (`AddressLimits`, docs/protocol.md has the
figures and why).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

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
# Refusals closer together than this are one stretch of flooding (`Limiter.refused`).
FLOOD_GAP_S = 2.0


class Limiter:
    """Token buckets of one connection, keyed by event family."""

    __slots__ = ("_buckets", "_last_refused", "_over_since", "_scale")

    def __init__(self, scale: float = 1.0) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._scale = scale
        self._over_since = 0.0
        self._last_refused = float("-inf")

    def _take(self, key: str, burst: float, rate: float, now: float) -> bool:
        tokens, last = self._buckets.get(key, (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        return True

    def check(self, event: str, own: tuple[str, float, float] | None = None) -> None:
        """Take one token for `event`; `own`: (family, burst, refill per second) of an event that
        another slice registered (chat.room_events)."""
        now = time.monotonic()
        if own is not None:
            family, burst, rate = own
        else:
            if event.startswith(("mod:", "poll:", "question:")):
                family = "mod"
            else:
                family = event if event in RATES else "other"  # one bucket for any unknown name
            burst, rate = RATES.get(family, DEFAULT_RATE)
        k = self._scale
        if not self._take("*", TOTAL_RATE[0] * k, TOTAL_RATE[1] * k, now) or not self._take(
            family, burst * k, rate * k, now
        ):
            raise ChatError("rate_limited", "Too many events; slow down.")

    def refused(self, now: float, cut_after_s: float) -> bool:
        """Note a rate-limit refusal at `now`; True once the connection has been over its limits,
        with no pause of FLOOD_GAP_S, for longer than `cut_after_s`."""
        if now - self._last_refused > FLOOD_GAP_S:
            self._over_since = now
        self._last_refused = now
        return now - self._over_since > cut_after_s


@dataclass(frozen=True)
class AddressRefusal:
    code: str
    message: str
    retry_after: float | None = None


class _Address:
    __slots__ = ("last", "open", "tokens")

    def __init__(self, tokens: float, now: float) -> None:
        self.open = 0
        self.tokens = tokens
        self.last = now


class AddressLimits:
    """Per client address (`kernel.client_address.limit_key`): at most `cap` open connections,
    and new ones from a token bucket of `burst` refilled at `rate` per second."""

    PRUNE_EVERY = 1024

    def __init__(self, cap: int, burst: int, rate: float) -> None:
        self.cap = cap
        self.burst = float(burst)
        self.rate = rate
        self._addresses: dict[str, _Address] = {}
        self._since_prune = 0

    def _entry(self, key: str, now: float) -> _Address:
        entry = self._addresses.get(key)
        if entry is None:
            entry = self._addresses[key] = _Address(self.burst, now)
        else:
            entry.tokens = min(self.burst, entry.tokens + (now - entry.last) * self.rate)
            entry.last = now
        return entry

    def take(self, key: str, now: float | None = None) -> AddressRefusal | None:
        """One new connection from `key`: None when it may come (the bucket paid), else why not."""
        now = time.monotonic() if now is None else now
        self._maybe_prune(now)
        entry = self._entry(key, now)
        if entry.tokens < 1.0:
            # Spread the crowd that was refused over the time the bucket takes to fill again, so
            # it comes back at the rate it is let in.
            retry = random.uniform(1.0, max(1.0, self.burst / self.rate))  # noqa: S311
            return AddressRefusal("connect_rate_limited",
                                  "Too many new connections from your address; retry in a moment.",
                                  round(retry, 1))
        entry.tokens -= 1.0
        return None

    def acquire(self, key: str) -> AddressRefusal | None:
        """Count one open connection of `key`, or refuse it past the cap."""
        entry = self._entry(key, time.monotonic())
        if entry.open >= self.cap:
            return AddressRefusal("too_many_connections", "Too many connections from your address.")
        entry.open += 1
        return None

    def admit(self, key: str) -> AddressRefusal | None:
        """`take` and `acquire` together (a fresh WebSocket connection)."""
        return self.take(key) or self.acquire(key)

    def release(self, key: str) -> None:
        entry = self._addresses.get(key)
        if entry is not None and entry.open > 0:
            entry.open -= 1

    def open_count(self, key: str) -> int:
        entry = self._addresses.get(key)
        return entry.open if entry else 0

    def _maybe_prune(self, now: float) -> None:
        """Forget addresses with nothing open whose bucket has filled again (their state is the
        default), so the table stays as small as the set of addresses connected recently."""
        self._since_prune += 1
        if self._since_prune < self.PRUNE_EVERY:
            return
        self._since_prune = 0
        full_after = self.burst / self.rate
        stale = [key for key, entry in self._addresses.items()
                 if entry.open == 0 and now - entry.last >= full_after]
        for key in stale:
            del self._addresses[key]
