"""Starting and ending a program by hand, on a manual clock and both backends: the lineup's times
become what happened, the scheduler keeps them, viewers in the room hear of it at once, and only
producers and the program's own hosts may do it. New programs cannot start in the past; "now"
starts them at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import aiohttp

from innotv.config import Config
from kernel.clock import ManualClock
from schedule.model import iso_seoul
from schedule.scheduler import Scheduler
from tests.chat.clients import ChatClient
from tests.chat.clients import viewer as chat_viewer
from tests.helpers import HOST, Server, running_server

from .util import body, lineup, seoul

T0 = seoul(2030, 12, 2, 13, 30)
WAIT = 5.0


async def _create(server: Server, **fields: Any) -> dict[str, Any]:
    producer = await server.producer()
    async with producer.post("/api/programs", json=body(T0 + timedelta(minutes=30), 60, **fields)) as r:
        assert r.status == 201, await r.text()
        created: dict[str, Any] = await r.json()
        return created


async def _post(client: aiohttp.ClientSession, path: str) -> tuple[int, dict[str, Any]]:
    async with client.post(path) as r:
        return r.status, await r.json()


async def _settle(server: Server, clock: ManualClock, when: Any) -> None:
    """Move the clock to `when` and wait for a full scheduler pass there."""
    scheduler: Scheduler = server.parts.schedule.scheduler
    await clock.set(when)
    scheduler.poke()
    await asyncio.wait_for(scheduler.wait_pass(when), WAIT)


async def _program_event(room: ChatClient, pid: str, state: str) -> dict[str, Any]:
    event: dict[str, Any] = await room.rec.wait_for(
        "program", lambda p: p["id"] == pid and p["state"] == state, WAIT)
    return event


async def test_a_host_starts_early_and_ends_early_and_the_scheduler_keeps_it(config: Config) -> None:
    clock = ManualClock(T0)
    async with running_server(config, clock=clock) as server:
        await server.host()
        program = await _create(server, hosts=[HOST[0]])
        pid = program["id"]
        room = await chat_viewer(server)
        try:
            await room.join(f"program:{pid}")
            host = await server.host()

            await clock.set(T0 + timedelta(minutes=10, seconds=7, milliseconds=400))
            status, started = await _post(host, f"/api/programs/{pid}/start")
            assert status == 200, started
            assert started["state"] == "live" and started["version"] == 2
            assert started["starts_at"] == iso_seoul(T0 + timedelta(minutes=10, seconds=7))
            assert started["ends_at"] == program["ends_at"], "the scheduled end is kept"
            assert (await _program_event(room, pid, "live"))["starts_at"] == started["starts_at"]
            # Starting again changes nothing.
            assert await _post(host, f"/api/programs/{pid}/start") == (200, started)

            # The scheduled start passes: the program stays live (no lobby, no second start).
            await _settle(server, clock, T0 + timedelta(minutes=30))
            assert [p["state"] for p in await lineup(host)] == ["live"]

            await clock.set(T0 + timedelta(minutes=40))
            status, ended = await _post(host, f"/api/programs/{pid}/end")
            assert status == 200, ended
            assert ended["state"] == "ended" and ended["version"] == 3
            assert (ended["starts_at"], ended["ends_at"]) == (started["starts_at"],
                                                             iso_seoul(T0 + timedelta(minutes=40)))
            await _program_event(room, pid, "ended")
            assert await _post(host, f"/api/programs/{pid}/end") == (200, ended)

            # The scheduled end passes: nothing moves, no event.
            await _settle(server, clock, T0 + timedelta(minutes=95))
            assert await lineup(host) == [ended]
            assert [p["state"] for p in room.rec.all("program")] == ["live", "ended"]
            status, error = await _post(host, f"/api/programs/{pid}/start")
            assert (status, error["error"]["code"]) == (409, "program_over")
        finally:
            await room.close()


async def test_only_producers_and_the_programs_hosts_may_and_refusals_change_nothing(config: Config) -> None:
    clock = ManualClock(T0)
    async with running_server(config, clock=clock) as server:
        await server.host()
        hosted = await _create(server, hosts=[HOST[0]])
        other = (await _create_at(server, T0 + timedelta(hours=3)))["id"]
        before = await lineup(server.client())
        await server.add_user("guest-host", "host", "guest-password-1")
        stranger = await server.login("guest-host", "guest-password-1")
        cases = [
            (server.client(), f"/api/programs/{other}/start", 401, "not_authenticated"),
            (stranger, f"/api/programs/{other}/start", 403, "forbidden"),
            (await server.host(), f"/api/programs/{other}/start", 403, "forbidden"),
            (await server.host(), f"/api/programs/{hosted['id']}/end", 409, "program_not_started"),
            (await server.producer(), "/api/programs/nope/start", 404, "program_not_found"),
            (await server.producer(), "/api/programs/nope/end", 404, "program_not_found"),
        ]
        for client, path, status, code in cases:
            got, data = await _post(client, path)
            assert (got, data["error"]["code"]) == (status, code), (path, data)
        assert await lineup(server.client()) == before
        # Without an Origin (or the CSRF token), a logged-in browser's POST is refused.
        producer = await server.producer()
        evil = {"Origin": "http://evil.example"}
        async with producer.post(f"/api/programs/{other}/start", headers=evil) as r:
            assert r.status == 403
        assert await lineup(server.client()) == before
        # A producer may start any program (this one is not theirs to host).
        status, started = await _post(producer, f"/api/programs/{hosted['id']}/start")
        assert (status, started["state"]) == (200, "live"), started


async def _create_at(server: Server, start: Any, minutes: float = 60) -> dict[str, Any]:
    producer = await server.producer()
    async with producer.post("/api/programs", json=body(start, minutes)) as r:
        assert r.status == 201, await r.text()
        created: dict[str, Any] = await r.json()
        return created


async def test_starting_early_into_a_running_program_is_a_conflict(config: Config) -> None:
    clock = ManualClock(T0)
    async with running_server(config, clock=clock) as server:
        first = await _create_at(server, T0 + timedelta(minutes=5), 30)
        second = await _create_at(server, T0 + timedelta(minutes=35), 30)
        await _settle(server, clock, T0 + timedelta(minutes=10))
        producer = await server.producer()
        status, error = await _post(producer, f"/api/programs/{second['id']}/start")
        assert (status, error["error"]["code"]) == (409, "program_conflict")
        assert error["error"]["conflict"]["id"] == first["id"]
        # Ending the first frees the slot.
        assert (await _post(producer, f"/api/programs/{first['id']}/end"))[0] == 200
        status, started = await _post(producer, f"/api/programs/{second['id']}/start")
        assert (status, started["starts_at"]) == (200, iso_seoul(T0 + timedelta(minutes=10)))


async def test_no_program_is_created_in_the_past_and_now_starts_at_once(config: Config) -> None:
    now = T0 + timedelta(seconds=42, milliseconds=500)
    clock = ManualClock(now)
    async with running_server(config, clock=clock) as server:
        producer = await server.producer()
        async with producer.post("/api/programs", json=body(T0 - timedelta(minutes=1), 30)) as r:
            assert r.status == 400
            error = (await r.json())["error"]
        assert (error["code"], error["field"]) == ("starts_in_past", "starts_at")
        assert '"now"' in error["message"]
        assert await lineup(producer) == []
        # The current minute is not the past (a form that picks minutes says 13:30 at 13:30:42).
        this_minute = await _create_at(server, T0, 10)
        assert this_minute["starts_at"] == iso_seoul(T0)

        soon = {"title": "지금 시작", "kind": "live", "starts_at": "now",
                "ends_at": iso_seoul(T0 + timedelta(hours=1))}
        async with producer.post("/api/programs", json=soon) as r:
            assert r.status == 409, "it overlaps the one of this minute"
        async with producer.delete(f"/api/programs/{this_minute['id']}") as r:
            assert r.status == 204
        async with producer.post("/api/programs", json=soon) as r:
            assert r.status == 201, await r.text()
            created = await r.json()
        assert created["starts_at"] == iso_seoul(T0 + timedelta(seconds=42))
        await _settle(server, clock, now + timedelta(seconds=1))  # a pass after the create
        assert [p["state"] for p in await lineup(producer)] == ["live"]

        # An import may not create a program in the past either; nothing of it is written.
        before = await lineup(producer)
        doc = {"programs": [body(T0 + timedelta(hours=3), 30, title="나중"),
                            body(T0 - timedelta(hours=3), 30, title="지난 방송")]}
        async with producer.post("/api/programs/import", json=doc) as r:
            assert r.status == 400
            error = (await r.json())["error"]
        assert error["code"] == "starts_in_past" and "지난 방송" in error["message"]
        assert await lineup(producer) == before
        # Its own export, with a program that started in the past, imports as it is.
        async with producer.post("/api/programs/import", json={"programs": before}) as r:
            assert r.status == 200, await r.text()
            assert (await r.json())["unchanged"] == 1
        with_now = {"programs": [{"title": "가져오며 시작", "kind": "live", "starts_at": "now",
                                  "ends_at": iso_seoul(T0 + timedelta(hours=5))}]}
        async with producer.post("/api/programs/import", json=with_now) as r:
            assert r.status == 409, "it overlaps the live one"
