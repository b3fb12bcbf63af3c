"""Clocks: the wall clock the server runs on, and a manual clock tests move by hand.

Everything that decides *when* something happens (the scheduler, premieres) asks a `Clock`, never
`datetime.now()` directly, so that tests can jump to 14:00 without waiting for it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""

    async def sleep_until(self, when: datetime, wake: asyncio.Event | None = None) -> None:
        """Return once `now() >= when`, or earlier when `wake` is set."""


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime, wake: asyncio.Event | None = None) -> None:
        delay = max(0.0, (when - self.now()).total_seconds())
        # Wall clocks jump (NTP); never trust one long sleep, re-check at least every minute.
        delay = min(delay, 60.0)
        if wake is None:
            await asyncio.sleep(delay)
            return
        try:
            await asyncio.wait_for(wake.wait(), timeout=delay)
        except TimeoutError:
            pass


class ManualClock:
    """A clock that moves only when told to; sleepers wake as soon as it passes their deadline."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start
        self._moved = asyncio.Condition()
        self._sleeping: list[datetime] = []  # the deadlines of the tasks sleeping now

    def now(self) -> datetime:
        return self._now

    async def set(self, when: datetime) -> None:
        async with self._moved:
            self._now = when
            self._moved.notify_all()

    async def advance(self, delta: timedelta) -> None:
        await self.set(self._now + delta)

    async def wait_for_sleeper(self, when: datetime) -> None:
        """Return once some task sleeps on this clock until `when` (a test's way to know that
        the code under test has reached its wait, instead of sleeping to give it time)."""
        async with self._moved:
            await self._moved.wait_for(lambda: when in self._sleeping)

    async def sleep_until(self, when: datetime, wake: asyncio.Event | None = None) -> None:
        async def _wait_clock() -> None:
            async with self._moved:
                self._sleeping.append(when)
                self._moved.notify_all()
                try:
                    await self._moved.wait_for(lambda: self._now >= when)
                finally:
                    self._sleeping.remove(when)

        if wake is None:
            await _wait_clock()
            return
        clock_task = asyncio.ensure_future(_wait_clock())
        wake_task = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait({clock_task, wake_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (clock_task, wake_task):
                task.cancel()
