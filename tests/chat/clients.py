"""Real python-socketio clients for chat tests: a viewer or host cookie, our Origin, and an
event recorder whose waits are awaited events (no sleeps)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import aiohttp
import socketio

from tests.helpers import Server, cookie_header

HALL = "hall:social-value"
# Clients opened by the current test; the autouse fixture in conftest closes them all.
OPEN: list[ChatClient] = []


class Recorder:
    def __init__(self) -> None:
        self.events: dict[str, list[Any]] = defaultdict(list)
        self._changed = asyncio.Condition()

    async def record(self, event: str, data: Any) -> None:
        async with self._changed:
            self.events[event].append(data)
            self._changed.notify_all()

    async def wait_for(
        self, event: str, predicate: Callable[[Any], bool] = lambda _d: True, wait_s: float = 5.0
    ) -> Any:
        def find() -> Any:
            for item in self.events[event]:
                if predicate(item):
                    return item
            return None

        async def wait() -> Any:
            async with self._changed:
                await self._changed.wait_for(lambda: find() is not None)
                return find()

        return await asyncio.wait_for(wait(), wait_s)

    def all(self, event: str) -> list[Any]:
        return list(self.events[event])


class ChatClient:
    def __init__(self, sio: socketio.AsyncClient, recorder: Recorder, viewer: str | None) -> None:
        self.sio = sio
        self.rec = recorder
        self.viewer = viewer

    async def call(self, event: str, data: Any, wait_s: float = 10.0) -> Any:
        return await self.sio.call(event, data, timeout=wait_s)

    async def join(self, room: str = HALL, **extra: Any) -> dict[str, Any]:
        ack = await self.call("join", {"room": room, **extra})
        assert ack["ok"], ack
        if self.viewer is None:
            self.viewer = ack["you"]["viewer"]
        return ack

    def messages(self, room: str = HALL) -> list[dict[str, Any]]:
        out = []
        for frame in self.rec.all("messages"):
            if frame["room"] == room:
                out.extend(frame["items"])
        return out

    async def wait_message(self, text: str, room: str = HALL, wait_s: float = 5.0) -> dict[str, Any]:
        frame = await self.rec.wait_for(
            "messages", lambda f: f["room"] == room and any(m["text"] == text for m in f["items"]),
            wait_s,
        )
        return next(m for m in frame["items"] if m["text"] == text)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


async def connect(
    url: str,
    *,
    cookies: str = "",
    origin: str | None = "same",
    transports: list[str] | None = None,
    reconnection: bool = False,
    **client_options: Any,
) -> ChatClient:
    """A connected client; `client_options` go to `socketio.AsyncClient` (e.g. `http_session`)."""
    rec = Recorder()
    sio = socketio.AsyncClient(reconnection=reconnection, **client_options)
    for event in ("messages", "deleted", "hearts", "viewers", "program", "poll", "questions",
                  "pinned", "slow", "notice", "moderation", "captions", "caption:turn"):
        sio.on(event, _recorder(rec, event))
    headers: dict[str, str] = {}
    if cookies:
        headers["Cookie"] = cookies
    if origin == "same":
        headers["Origin"] = url
    elif origin is not None:
        headers["Origin"] = origin
    client = ChatClient(sio, rec, None)
    OPEN.append(client)
    await sio.connect(url, headers=headers, transports=transports or ["websocket"], wait_timeout=10)
    return client


def _recorder(rec: Recorder, event: str) -> Callable[[Any], Any]:
    async def handler(data: Any) -> None:
        await rec.record(event, data)

    return handler


async def viewer_cookies(server: Server) -> tuple[str, aiohttp.ClientSession]:
    session = server.client()
    async with session.get("/api/session") as r:
        assert r.status == 200
    return cookie_header(session, server.url), session


async def viewer(server: Server, **kwargs: Any) -> ChatClient:
    cookies, _session = await viewer_cookies(server)
    return await connect(server.url, cookies=cookies, **kwargs)


async def host(server: Server, **kwargs: Any) -> ChatClient:
    session = await server.host()
    return await connect(server.url, cookies=cookie_header(session, server.url), **kwargs)


async def producer(server: Server, **kwargs: Any) -> ChatClient:
    session = await server.producer()
    return await connect(server.url, cookies=cookie_header(session, server.url), **kwargs)
