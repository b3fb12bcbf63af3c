"""A real HTTP receiver for webhook tests (an aiohttp server on a free loopback port): it records
every request and answers with the statuses it is told to, in order (then 200)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.helpers import free_port


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def signed_by(self, secret: str) -> bool:
        """The signature is HMAC-SHA256 over `<timestamp>.<body>` with the secret (docs/protocol.md)."""
        signed = self.headers["X-Innotv-Timestamp"].encode() + b"." + self.body
        expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers["X-Innotv-Signature"], expected)


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)  # answers to give, in order; then 200
    hang: bool = False  # never answer (a receiver that is stuck)
    received: list[Received] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait_for(self, count: int, wait_s: float = 15.0) -> list[Received]:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.received) >= count), wait_s)
        return list(self.received)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        async with self._changed:
            self.received.append(Received(dict(request.headers), body))
            self._changed.notify_all()
        if self.hang:
            await asyncio.Event().wait()
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@asynccontextmanager
async def receiver(**options: Any) -> AsyncIterator[Receiver]:
    port = free_port()
    rec = Receiver(f"http://127.0.0.1:{port}/hook", **options)
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield rec
    finally:
        await runner.cleanup()
