"""Events test fixtures: the real server on a manual clock (14:00 in Seoul on a fixed expo day, on
each backend), and helpers that act as people do: a producer makes a program live now, a viewer
signs up on their browser (its viewer cookie included) and opens the chat with those cookies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest

from innotv.config import Config
from kernel.clock import ManualClock
from tests.chat.clients import ChatClient, connect
from tests.chat.conftest import close_all
from tests.helpers import Server, cookie_header, running_server

SEOUL_T0 = datetime.fromisoformat("2030-11-26T14:00:00+09:00")
PASSWORD = "mileage-password-1"


@pytest.fixture
async def clock() -> ManualClock:
    return ManualClock(SEOUL_T0)


@pytest.fixture
async def server(config: Config, clock: ManualClock) -> AsyncIterator[Server]:
    async with running_server(config, clock=clock) as srv:
        try:
            yield srv
        finally:
            await close_all()


@pytest.fixture(autouse=True)
async def _close_chat_clients() -> AsyncIterator[None]:
    yield
    await close_all()


async def live_program(server: Server, clock: ManualClock, title: str = "10일간의 정부혁신 이야기") -> str:
    """A program a producer starts now (live at once), two hours long."""
    producer = await server.producer()
    body = {
        "title": title,
        "kind": "live",
        "starts_at": "now",
        "ends_at": (clock.now() + timedelta(hours=2)).isoformat(),
    }
    async with producer.post("/api/programs", json=body) as r:
        assert r.status == 201, await r.text()
        program: dict[str, Any] = await r.json()
    # A scheduler pass after this one (the clock moves a second) puts it on the air.
    scheduler = server.parts.schedule.scheduler
    await clock.advance(timedelta(seconds=1))
    scheduler.poke()
    await asyncio.wait_for(scheduler.wait_pass(clock.now()), 5)
    async with producer.get(f"/api/programs/{program['id']}") as r:
        assert (await r.json())["state"] == "live"
    return str(program["id"])


async def json_of(response: aiohttp.ClientResponse) -> Any:
    return await response.json(content_type=None)


async def sign_up(server: Server, email: str, nickname: str = "홍길동") -> aiohttp.ClientSession:
    """A browser that opened a page (viewer cookie) and signed up with consent."""
    client = server.client()
    async with client.get("/api/session") as r:
        assert r.status == 200
    body = {
        "email": email,
        "password": PASSWORD,
        "nickname": nickname,
        "consent": server.config.events.privacy_version,
    }
    async with client.post("/api/events/members", json=body) as r:
        assert r.status == 201, await r.text()
    return client


async def me(client: aiohttp.ClientSession) -> dict[str, Any]:
    async with client.get("/api/events/me") as r:
        assert r.status == 200
        data: dict[str, Any] = await r.json()
    return data


async def chat_as(server: Server, client: aiohttp.ClientSession) -> ChatClient:
    """The browser's Socket.IO connection (same cookies), listening to the events' broadcasts too."""
    sio_client = await connect(server.url, cookies=cookie_header(client, server.url))
    for event in ("quiz", "draw", "campaign"):
        sio_client.sio.on(event, _recorder(sio_client, event))
    return sio_client


def _recorder(sio_client: ChatClient, event: str) -> Any:
    async def handler(data: Any) -> None:
        await sio_client.rec.record(event, data)

    return handler
