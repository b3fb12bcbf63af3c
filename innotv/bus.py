"""The cross-process event bus: domains announce facts (`program` state changes, lineup edits).

Every process hears every event once, its own included. On the embedded default the bus is a
direct in-process call; with Redis it is a pub/sub channel under the deployment's prefix. Events
are facts to react to, not commands: pub/sub keeps nothing for a process that is down, so a
process rebuilds its view from the store when it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import redis.asyncio as aioredis

log = logging.getLogger("innotv.bus")

Handler = Callable[[dict[str, Any]], Awaitable[None]]


class Bus(Protocol):
    def subscribe(self, topic: str, handler: Handler) -> None: ...

    async def publish(self, topic: str, payload: dict[str, Any]) -> None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class _Handlers:
    def __init__(self) -> None:
        self._by_topic: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._by_topic[topic].append(handler)

    async def dispatch(self, topic: str, payload: dict[str, Any]) -> None:
        for handler in list(self._by_topic.get(topic, ())):
            try:
                await handler(payload)
            except Exception:
                log.exception("bus handler failed", extra={"topic": topic})


class LocalBus(_Handlers):
    """In-process bus for the single-process embedded default.

    Events are delivered in the order they were published, as on Redis: an event published by a
    handler (live answering `ended` with `replay`) waits until every handler has seen the event
    being delivered, instead of overtaking it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._queue: deque[tuple[str, dict[str, Any]]] = deque()
        self._draining = False

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        self._queue.append((topic, payload))
        if self._draining:
            return  # the publisher already delivering will reach it, in order
        self._draining = True
        try:
            while self._queue:
                next_topic, next_payload = self._queue.popleft()
                await self.dispatch(next_topic, next_payload)
        finally:
            self._draining = False

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisBus(_Handlers):
    """Redis pub/sub bus: publish goes to every process (this one too) through the channel."""

    def __init__(self, redis: aioredis.Redis, channel: str) -> None:
        super().__init__()
        self._redis = redis
        self._channel = channel
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._closing = False

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        message = json.dumps({"topic": topic, "payload": payload}, ensure_ascii=False)
        await self._redis.publish(self._channel, message)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="redis-bus")
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def _listen(self) -> None:
        backoff = 0.1
        while not self._closing:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._ready.set()
                backoff = 0.1
                # Short reads and a flag: a cancellation that lands while redis-py's read timeout
                # fires can be swallowed by it, so the loop also checks `_closing` every second.
                while not self._closing:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    await self._handle(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("bus connection lost; reconnecting", exc_info=True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _handle(self, data: Any) -> None:
        try:
            event = json.loads(data)
            topic, payload = event["topic"], event["payload"]
        except (TypeError, ValueError, KeyError):
            log.warning("ignored a malformed bus message")
            return
        await self.dispatch(str(topic), payload)

    async def close(self) -> None:
        if self._task is None:
            return
        self._closing = True
        self._task.cancel()
        done, _ = await asyncio.wait({self._task}, timeout=5.0)
        if not done:
            log.warning("bus listener did not stop within 5 s; leaving it")
        self._task = None
