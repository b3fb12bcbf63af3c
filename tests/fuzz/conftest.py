"""The fuzz suite's world: a real server on each store (rate limits scaled up so that input
reaches validation), state stored before the fuzzing that nothing hostile may change, and a
well-behaved client connected meanwhile (the bystander).

- The sentinel room `hall:failure-expo`: a host's message, pinned, slow mode, blocked words, hearts;
  the bystander is joined to it. The fuzzers never name it (the moderation a fuzzing host could
  do there would be legitimate); anything else they may name.
- The sentinel program: a stored program no fuzzer ever names; the target program: one they may
  (its room, its id in paths).
`World.check()` asserts after each example: the server answers, the bystander is connected and
served, the sentinel room and program are as stored, and nothing was logged as an error.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from innotv.config import Config
from tests.chat.clients import ChatClient, host, viewer
from tests.chat.conftest import close_all
from tests.helpers import Server, running_server, with_settings

SENTINEL_ROOM = "hall:failure-expo"


@pytest.fixture
async def fuzz_server(config: Config) -> AsyncIterator[Server]:
    async with running_server(with_settings(config, chat_rate_scale=1000.0)) as server:
        try:
            yield server
        finally:
            await close_all()


async def _program(server: Server, title: str, days: int) -> dict[str, Any]:
    producer = await server.producer()
    starts = datetime.now(UTC) + timedelta(days=days)
    body = {"title": title, "kind": "live", "starts_at": starts.isoformat() if days else "now",
            "ends_at": (starts + timedelta(hours=1)).isoformat()}
    async with producer.post("/api/programs", json=body) as resp:
        assert resp.status == 201, await resp.text()
        program: dict[str, Any] = await resp.json()
    return program


@dataclass(repr=False)
class World:
    server: Server
    bystander: ChatClient
    target: dict[str, Any]  # a program the fuzzers may name
    sentinel: dict[str, Any]  # a program they never name
    room_before: tuple[Any, ...]
    caplog: pytest.LogCaptureFixture
    fuzzer: ChatClient | None = None  # the fuzzing client, kept across examples

    def __repr__(self) -> str:
        return f"World({self.server.url}, {self.server.config.core.redis_url or 'sqlite'})"

    def _repr_pretty_(self, printer: Any, _cycle: bool) -> None:
        """How hypothesis prints it with a failing example (not every field of the config)."""
        printer.text(repr(self))

    @property
    def rooms(self) -> list[str]:
        """Rooms a fuzzer may name (never the sentinel room)."""
        return ["hall:social-value", "hall:regional", f"program:{self.target['id']}", "program:nope"]

    async def room_state(self) -> tuple[Any, ...]:
        stores = self.server.parts.chat.service.stores
        return (await stores.history.recent(SENTINEL_ROOM, 50),
                await stores.room_settings.meta(SENTINEL_ROOM),
                await stores.counters.hearts(SENTINEL_ROOM, 0))

    async def check(self) -> None:
        errors = [r.getMessage() for r in self.caplog.records if r.exc_info or r.levelno >= logging.ERROR]
        assert errors == [], errors
        assert self.bystander.sio.connected, "the bystander was disconnected"
        ack = await self.bystander.call("nick", {"nickname": "bystander"}, wait_s=5)
        assert ack == {"ok": True, "nickname": "bystander"}, ack
        assert await self.room_state() == self.room_before
        client = self.server.client(origin=False)
        async with client.get(f"/api/programs/{self.sentinel['id']}") as resp:
            assert resp.status == 200 and await resp.json() == self.sentinel


@pytest.fixture
async def world(fuzz_server: Server, caplog: pytest.LogCaptureFixture) -> World:
    server = fuzz_server
    target = await _program(server, "퍼즈 대상", 0)
    sentinel = await _program(server, "건드리지 마세요", 3)
    keeper = await host(server)
    await keeper.join(SENTINEL_ROOM)
    stored = await keeper.call("chat", {"room": SENTINEL_ROOM, "text": "before the fuzzing"})
    assert stored["ok"], stored
    for event, payload in [("mod:pin", {"id": stored["id"]}), ("mod:slow", {"seconds": 5}),
                           ("mod:words", {"words": ["스포일러"]}), ("heart", {"count": 7})]:
        ack = await keeper.call(event, {"room": SENTINEL_ROOM, **payload})
        assert ack["ok"], (event, ack)
    await keeper.rec.wait_for("hearts", lambda h: h["room"] == SENTINEL_ROOM and h["total"] >= 1)
    await keeper.close()
    bystander = await viewer(server)
    await bystander.join(SENTINEL_ROOM)
    world = World(server, bystander, target, sentinel, (), caplog)
    world.room_before = await world.room_state()
    return world
