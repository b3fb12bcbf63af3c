"""The scheduler: moves programs scheduled → lobby → live → ended when their times come.

It computes every program's due state (`model.target_state`), applies the differences with the
store's compare-and-set (so no transition happens twice, even when two processes briefly both
think they lead), then sleeps on the clock until the next transition or until a `"lineup"` event
wakes it. It never polls. It only moves programs forward (another domain may open one early),
except a program whose times a producer changed, which goes where its new times put it.
The same pass is the catch-up after a restart: a program whose times passed while the server
was down goes straight to its due state.

Only the leader runs it (see `lease.py`). Program times come from `deps.clock`; the lease's
renewals and retries run on real time every lease/3.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime, timedelta

from kernel.clock import Clock
from kernel.tasks import cancel_and_wait

from .lease import Leadership
from .model import is_backwards, next_transition, target_state
from .service import ProgramService

log = logging.getLogger("innotv.scheduler")

# With nothing left to do, sleep this long on the program clock (a lineup event wakes it sooner).
_IDLE = timedelta(days=30)
_MAX_ERROR_BACKOFF_S = 30.0


class Scheduler:
    def __init__(
        self,
        programs: ProgramService,
        clock: Clock,
        lobby: timedelta,
        leadership: Leadership,
        lease_ms: int,
    ) -> None:
        self._programs = programs
        self._clock = clock
        self._lobby = lobby
        self._leadership = leadership
        self._lease_s = lease_ms / 1000
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._lease_task: asyncio.Task[None] | None = None
        self.leading = False
        # The program-clock time of the last completed pass, for whoever waits on it.
        self.last_pass: datetime | None = None
        # Each program's times as the last pass saw them, to tell a reschedule from an early start.
        self._seen_times: dict[str, tuple[datetime, datetime]] = {}
        self._passed = asyncio.Condition()

    def poke(self) -> None:
        """The lineup changed: recompute the next transition now."""
        self._wake.set()

    async def catch_up(self) -> datetime | None:
        """Bring every program to its due state; the time of the next transition, if any."""
        now = self._clock.now()
        next_at: datetime | None = None
        programs = await self._programs.list_programs()
        seen_before, seen_now = self._seen_times, {}
        for program in programs:
            times = (program.starts_at, program.ends_at)
            seen_now[program.id] = times
            due = target_state(program, now, self._lobby)
            # Forward only (another domain may open a program early), unless a producer moved
            # its times since the last pass: then it goes where its new times put it.
            moved = seen_before.get(program.id, times) != times
            if is_backwards(program.state, due) and not moved:
                due = program.state
            if due != program.state:
                # Shielded: once written, the change is also published, even if we are cancelled.
                changed = await asyncio.shield(
                    self._programs.set_state(program.id, due, expected_state=program.state)
                )
                if changed is None:  # someone else moved it first: look again next pass
                    seen_now[program.id] = seen_before.get(program.id, times)
                    self._wake.set()
                    continue
                program = changed
            upcoming = next_transition(program, now, self._lobby)
            if upcoming is not None and (next_at is None or upcoming < next_at):
                next_at = upcoming
        self._seen_times = seen_now
        async with self._passed:
            self.last_pass = now
            self._passed.notify_all()
        return next_at

    async def wait_pass(self, at: datetime) -> None:
        """Return once a pass that looked at the clock at `at` or later has completed."""
        async with self._passed:
            await self._passed.wait_for(lambda: self.last_pass is not None and self.last_pass >= at)

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            self._wake.clear()
            try:
                next_at = await self.catch_up()
            except Exception:
                log.exception("scheduler pass failed; retrying")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_ERROR_BACKOFF_S)
                continue
            backoff = 0.5
            await self._clock.sleep_until(next_at or self._clock.now() + _IDLE, self._wake)

    # ---- leadership -----------------------------------------------------------------------
    async def start(self) -> None:
        """Lead if we can; a leader catches up before this returns (before the app serves)."""
        try:
            acquired = await self._leadership.acquire()
        except Exception:
            log.warning("scheduler lease unavailable; retrying", exc_info=True)
            acquired = False
        if acquired:
            await self._lead(catch_up_first=True)
        if self._leadership.renewable:
            self._lease_task = asyncio.create_task(self._keep_lease(), name="scheduler-lease")

    async def _lead(self, catch_up_first: bool) -> None:
        self.leading = True
        log.info("scheduler leading")
        if catch_up_first:
            try:
                await self.catch_up()
            except Exception:
                log.exception("startup catch-up failed; the scheduler loop retries")
        self._loop_task = asyncio.create_task(self._run(), name="scheduler")

    async def _step_down(self) -> None:
        self.leading = False
        log.warning("scheduler lease lost; stepping down")
        await cancel_and_wait(self._loop_task)
        self._loop_task = None

    async def _keep_lease(self) -> None:
        period = self._lease_s / 3
        last_renewed = time.monotonic()
        delay = period
        while True:
            await asyncio.sleep(delay)
            delay = period
            try:
                if self.leading:
                    if await self._leadership.renew():
                        last_renewed = time.monotonic()
                    else:
                        await self._step_down()
                elif await self._leadership.acquire():
                    last_renewed = time.monotonic()
                    await self._lead(catch_up_first=False)
                else:
                    # Try again the moment the holder's lease runs out, so a dead holder is
                    # replaced within one lease time rather than up to a period later.
                    left = await self._leadership.time_left()
                    if left is not None:
                        delay = min(period, left + 0.005)
            except Exception:
                log.warning("scheduler lease check failed", exc_info=True)
                if self.leading and time.monotonic() - last_renewed >= self._lease_s:
                    await self._step_down()

    async def stop(self) -> None:
        await cancel_and_wait(self._lease_task)
        await cancel_and_wait(self._loop_task)
        self._lease_task = self._loop_task = None
        if self.leading:
            self.leading = False
            with contextlib.suppress(Exception):
                await self._leadership.release()
