"""Program rooms follow the program: read-only before the lobby and after the end (a `notice`
tells the sender), open in lobby and live, and every state change reaches the room."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from innotv.config import Config
from kernel.clock import ManualClock
from tests.chat.clients import host, viewer
from tests.chat.conftest import close_all
from tests.helpers import Server, running_server

START = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)  # 13:00 in Seoul
STARTS_AT = START + timedelta(hours=1)


@pytest.fixture
async def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def server(config: Config, clock: ManualClock) -> AsyncIterator[Server]:
    """The real server on a clock the test moves: the scheduler drives the program's states."""
    async with running_server(config, clock=clock) as srv:
        try:
            yield srv
        finally:
            await close_all()


async def _program(server: Server) -> dict[str, Any]:
    prod = await server.producer()
    async with prod.post("/api/programs", json={
        "title": "전지적 90년대생 시점", "kind": "live",
        "starts_at": STARTS_AT.isoformat(), "ends_at": (STARTS_AT + timedelta(hours=1)).isoformat(),
    }) as r:
        assert r.status == 201, await r.text()
        body: dict[str, Any] = await r.json()
    return body


async def test_chat_opens_at_lobby_and_closes_after(server: Server, clock: ManualClock) -> None:
    program = await _program(server)
    room = f"program:{program['id']}"
    v = await viewer(server)
    h = await host(server)
    joined = await v.join(room)
    await h.join(room)
    assert joined["read_only"] is True and joined["program"]["state"] == "scheduled"
    early = await v.call("chat", {"room": room, "text": "too early"})
    assert early["error"]["code"] == "read_only"
    await v.rec.wait_for("notice", lambda d: d["code"] == "read_only")

    await clock.set(STARTS_AT - timedelta(minutes=5))
    await v.rec.wait_for("program", lambda d: d["state"] == "lobby")
    ok = await v.call("chat", {"room": room, "text": "hello lobby"})
    assert ok["ok"], ok
    await clock.set(STARTS_AT + timedelta(minutes=1))
    await v.rec.wait_for("program", lambda d: d["state"] == "live")
    assert (await v.call("chat", {"room": room, "text": "live now"}))["ok"]
    assert (await v.call("heart", {"room": room, "count": 4}))["ok"]
    await v.rec.wait_for("hearts", lambda d: d["room"] == room and d["total"] == 4)

    await clock.set(STARTS_AT + timedelta(hours=1, minutes=1))
    await v.rec.wait_for("program", lambda d: d["state"] == "ended")
    late = await v.call("chat", {"room": room, "text": "too late"})
    assert late["error"]["code"] == "read_only"
    assert (await h.call("chat", {"room": room, "text": "host too"}))["error"]["code"] == "read_only"
    # history stays readable
    again = await (await viewer(server)).join(room)
    assert [m["text"] for m in again["messages"]] == ["hello lobby", "live now"]
    assert again["read_only"] is True


async def test_unknown_program_room(server: Server) -> None:
    v = await viewer(server)
    ack = await v.call("join", {"room": "program:does-not-exist"})
    assert ack["ok"] is False and ack["error"]["code"] == "unknown_room"


async def test_stats_for_producers_only(server: Server, clock: ManualClock) -> None:
    program = await _program(server)
    room = f"program:{program['id']}"
    v = await viewer(server)
    await v.join(room)
    await clock.set(STARTS_AT + timedelta(minutes=1))
    await v.rec.wait_for("program", lambda d: d["state"] == "live")
    sent = await v.call("chat", {"room": room, "text": "stat me"})
    assert sent["ok"], sent
    assert (await v.call("heart", {"room": room, "count": 9}))["ok"]
    await v.rec.wait_for("hearts", lambda d: d["total"] == 9)
    anon = server.client()
    async with anon.get(f"/api/programs/{program['id']}/stats") as r:
        assert r.status == 401
    hostc = await server.host()
    async with hostc.get(f"/api/programs/{program['id']}/stats") as r:
        assert r.status == 403
    prod = await server.producer()
    async with prod.get(f"/api/programs/{program['id']}/stats") as r:
        stats = await r.json()
    assert r.status == 200
    assert stats["viewers"] == 1 and stats["hearts_total"] == 9
    assert sum(m["messages"] for m in stats["per_minute"]) == 1
    assert sum(m["hearts"] for m in stats["per_minute"]) == 9
    async with prod.get("/api/programs/nope/stats") as r:
        assert r.status == 404
