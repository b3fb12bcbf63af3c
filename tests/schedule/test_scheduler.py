"""The scheduler on a manual clock, on both backends: transitions at the right moments (seen as
bus events), catch-up after a restart, and rescheduling when a program's times change."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from innotv.config import Config
from kernel.clock import ManualClock
from kernel.topics import PROGRAM_CHANGED, ProgramChanged
from schedule.scheduler import Scheduler
from tests.helpers import Server, running_server

from .util import body, lineup, seoul

T0 = seoul(2030, 12, 2, 13, 30)
WAIT = 5.0


class Events:
    """Every `program` bus event, with the program clock's time when it arrived."""

    def __init__(self, server: Server, clock: ManualClock) -> None:
        self.queue: asyncio.Queue[tuple[str, str, datetime]] = asyncio.Queue()
        self.seen: list[tuple[str, str]] = []

        async def on_program(event: ProgramChanged) -> None:
            self.seen.append((event.id, event.state))
            await self.queue.put((event.id, event.state, clock.now()))

        server.parts.kernel.bus.subscribe(PROGRAM_CHANGED, on_program)

    async def next(self) -> tuple[str, str, datetime]:
        return await asyncio.wait_for(self.queue.get(), WAIT)


async def _create(server: Server, start: datetime, minutes: float = 60) -> str:
    producer = await server.producer()
    async with producer.post("/api/programs", json=body(start, minutes)) as r:
        assert r.status == 201, await r.text()
        pid: str = (await r.json())["id"]
        return pid


async def _states(server: Server) -> dict[str, str]:
    return {p["id"]: p["state"] for p in await lineup(server.client())}


async def _quiet_at(server: Server, clock: ManualClock, when: datetime) -> None:
    """Move the clock to `when` and wait for a full scheduler pass there."""
    scheduler: Scheduler = server.parts.schedule.scheduler
    await clock.set(when)
    scheduler.poke()
    await asyncio.wait_for(scheduler.wait_pass(when), WAIT)


async def test_transitions_happen_on_time(config: Config) -> None:
    clock = ManualClock(T0)
    async with running_server(config, clock=clock) as server:
        events = Events(server, clock)
        start = T0 + timedelta(minutes=30)  # 14:00, lobby from 13:45
        pid = await _create(server, start, 60)
        await _quiet_at(server, clock, start - timedelta(minutes=15, seconds=1))
        assert (await _states(server))[pid] == "scheduled"

        for moment, state in [(start - timedelta(minutes=15), "lobby"), (start, "live"),
                              (start + timedelta(minutes=60), "ended")]:
            await _quiet_at(server, clock, moment - timedelta(seconds=1))
            assert (await _states(server))[pid] != state
            await clock.set(moment)
            assert await events.next() == (pid, state, moment)
            assert (await _states(server))[pid] == state
        await _quiet_at(server, clock, start + timedelta(days=1))
        assert (await _states(server))[pid] == "ended"
        assert events.queue.empty()
        assert events.seen == [(pid, "lobby"), (pid, "live"), (pid, "ended")]


async def test_catch_up_after_restart(config: Config) -> None:
    before = ManualClock(T0 - timedelta(days=1))
    async with running_server(config, clock=before) as server:
        ids = {
            "ended": await _create(server, T0 - timedelta(hours=3)),
            "short": await _create(server, T0 - timedelta(minutes=40), 20),
            "live": await _create(server, T0 - timedelta(minutes=10), 15),
            "lobby": await _create(server, T0 + timedelta(minutes=10)),
            "scheduled": await _create(server, T0 + timedelta(hours=2)),
            "replay": await _create(server, T0 - timedelta(hours=6)),
        }
        service = server.parts.schedule.service
        assert await service.set_state(ids["replay"], "replay") is not None
        assert set((await _states(server)).values()) == {"scheduled", "replay"}

    # The server was down while the times passed: right after startup all is caught up.
    async with running_server(config, clock=ManualClock(T0)) as server:
        states = await _states(server)
    assert states == {
        ids["ended"]: "ended", ids["short"]: "ended", ids["live"]: "live", ids["lobby"]: "lobby",
        ids["scheduled"]: "scheduled", ids["replay"]: "replay",
    }


async def test_editing_times_reschedules(config: Config) -> None:
    clock = ManualClock(T0)
    async with running_server(config, clock=clock) as server:
        events = Events(server, clock)
        pid = await _create(server, T0 + timedelta(hours=2))
        await _quiet_at(server, clock, T0 + timedelta(minutes=1))
        producer = await server.producer()
        new_start = T0 + timedelta(minutes=20)
        async with producer.patch(f"/api/programs/{pid}", json={
            "version": 1, "starts_at": new_start.isoformat(),
            "ends_at": (new_start + timedelta(hours=1)).isoformat(),
        }) as r:
            assert r.status == 200, await r.text()
        # The scheduler was asleep until the old lobby time; the edit woke it.
        await clock.set(T0 + timedelta(minutes=5))
        assert await events.next() == (pid, "lobby", T0 + timedelta(minutes=5))
        # Moving it back out of the lobby window puts it back to scheduled.
        later = T0 + timedelta(hours=3)
        async with producer.patch(f"/api/programs/{pid}", json={
            "version": 2, "starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=1)).isoformat(),
        }) as r:
            assert r.status == 200, await r.text()
        assert (await events.next())[:2] == (pid, "scheduled")
        await clock.set(later)
        assert (await events.next())[:2] == (pid, "live")
        # Deleting a program the scheduler waits for is harmless.
        async with producer.delete(f"/api/programs/{pid}") as r:
            assert r.status == 204
        await _quiet_at(server, clock, later + timedelta(hours=2))
        assert events.queue.empty()


async def test_an_early_start_is_kept_until_the_end(config: Config) -> None:
    clock = ManualClock(T0)
    async with running_server(config, clock=clock) as server:
        events = Events(server, clock)
        start = T0 + timedelta(minutes=30)
        pid = await _create(server, start, 60)
        await clock.set(start - timedelta(minutes=10))
        assert (await events.next())[:2] == (pid, "lobby")
        # The live domain opens the program five minutes early.
        service = server.parts.schedule.service
        assert await service.set_state(pid, "live", expected_state="lobby") is not None
        assert (await events.next())[:2] == (pid, "live")
        await _quiet_at(server, clock, start - timedelta(minutes=5))
        assert (await _states(server))[pid] == "live"
        await clock.set(start + timedelta(minutes=60))
        assert (await events.next())[:2] == (pid, "ended")
        assert events.seen == [(pid, "lobby"), (pid, "live"), (pid, "ended")]
