"""Forwarding a program's captions to the caption URLs of its simulcast destinations (YouTube's
live caption ingestion format, youtube_format.py), so the simulcast carries them too.

Each (program, URL) has its own queue and task: a slow or dead receiver holds up no one. A POST
carries the lines of one tick, with `seq` = the number of its first line (it only grows, across
restarts too). A failed POST is retried (0.5, 1, 2 s apart) until `forward_timeout_s` has passed
since its lines were stored, then dropped with a log line: the simulcast's captions are best
effort, ours are in the store. The URLs are asked for again at most every `URLS_EVERY_S`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp

from kernel.metrics import Metrics
from kernel.tasks import cancel_and_wait

from .model import Caption
from .ports import CaptionDestinations
from .youtube_format import TimedText, body

log = logging.getLogger("innotv.captions.forward")

URLS_EVERY_S = 5.0
QUEUE_CAP = 200  # POSTs waiting per destination before the oldest are dropped


def with_seq(url: str, seq: int) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode({'seq': seq})}" if parts.query else urlencode({"seq": seq})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


class _Destination:
    def __init__(self) -> None:
        self.queue: deque[tuple[float, int, list[TimedText]]] = deque()
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


class Forwarder:
    def __init__(self, destinations: CaptionDestinations, timeout_s: float, metrics: Metrics) -> None:
        self.destinations = destinations
        self.timeout_s = timeout_s
        self.metrics = metrics
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, tuple[float, Sequence[str]]] = {}
        self._targets: dict[tuple[str, str], _Destination] = {}
        # Stored lines to route, in the order they were stored (one router keeps that order).
        self._inbox: deque[tuple[str, list[Caption]]] = deque()
        self._inbox_ready = asyncio.Event()
        self._router: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        self._router = asyncio.create_task(self._route_all(), name="captions-route")

    async def stop(self) -> None:
        await cancel_and_wait(self._router)
        self._router = None
        for target in self._targets.values():
            await cancel_and_wait(target.task)
        self._targets.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def offer(self, program_id: str, lines: list[Caption]) -> None:
        """Forward these stored lines (never waits)."""
        if not lines or self._router is None:
            return
        self._inbox.append((program_id, lines))
        if len(self._inbox) > QUEUE_CAP:
            self._inbox.popleft()
            self.metrics.inc("innotv_captions_forward_dropped_total")
        self._inbox_ready.set()

    async def _route_all(self) -> None:
        while True:
            await self._inbox_ready.wait()
            self._inbox_ready.clear()
            while self._inbox:
                program_id, lines = self._inbox.popleft()
                await self._route(program_id, lines)

    async def _route(self, program_id: str, lines: list[Caption]) -> None:
        cached = self._urls.get(program_id)
        if cached is None or time.monotonic() - cached[0] > URLS_EVERY_S:
            try:
                urls = await self.destinations.caption_urls(program_id)
            except Exception:
                log.warning("caption URLs could not be read", exc_info=True, extra={"program": program_id})
                return
            self._urls[program_id] = (time.monotonic(), urls)
        else:
            urls = cached[1]
        texts = [TimedText(line.at, line.text) for line in lines]
        for url in urls:
            target = self._targets.get((program_id, url))
            if target is None:
                target = self._targets[(program_id, url)] = _Destination()
                target.task = asyncio.create_task(self._run(url, target), name="captions-forward")
            target.queue.append((time.monotonic(), lines[0].id, texts))
            if len(target.queue) > QUEUE_CAP:
                target.queue.popleft()
                self.metrics.inc("innotv_captions_forward_dropped_total")
            target.ready.set()

    async def _run(self, url: str, target: _Destination) -> None:
        while True:
            await target.ready.wait()
            target.ready.clear()
            while target.queue:
                stored_at, seq, texts = target.queue[0]
                await self._post(url, stored_at, seq, texts)
                target.queue.popleft()

    async def _post(self, url: str, stored_at: float, seq: int, texts: list[TimedText]) -> None:
        session = self._session
        if session is None:
            return
        delay = 0.5
        while True:
            try:
                async with session.post(with_seq(url, seq), data=body(texts).encode(),
                                        headers={"Content-Type": "text/plain; charset=utf-8"}) as resp:
                    if resp.status < 300:
                        self.metrics.inc("innotv_captions_forwarded_total", float(len(texts)))
                        return
                    reason = f"HTTP {resp.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                reason = type(exc).__name__
            if time.monotonic() + delay - stored_at > self.timeout_s:
                log.warning("caption forwarding gave up", extra={"url": urlsplit(url).netloc, "seq": seq,
                                                                 "reason": reason})
                self.metrics.inc("innotv_captions_forward_dropped_total")
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
