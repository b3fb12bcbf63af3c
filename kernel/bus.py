"""The cross-process event bus: slices announce facts as typed events on named topics.

A `Topic` pairs a name with one frozen dataclass (the event) and a channel. Every process hears
every event once, its own included. On the embedded default the bus is in-process; with Redis it
is pub/sub, one channel per bus channel under the deployment's prefix, so the chat's relay
traffic ("chat") never queues in front of program state changes ("control").

Every subscription has its own queue and task: handlers never wait on each other, and each
handler sees its topic's events in publish order. A handler that publishes (live answering
`ended` with `replay`) simply enqueues; nothing is delivered re-entrantly. Events are facts, not
commands: pub/sub keeps nothing for a process that is down, so a process rebuilds its view from
the store when it starts. Handlers must not mutate the events they get.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import redis.asyncio as aioredis

from .tasks import cancel_and_wait

log = logging.getLogger("innotv.bus")

E = TypeVar("E")
CHANNELS = ("control", "chat")
# Events waiting for one handler before the oldest are dropped (a handler that stopped keeping up).
QUEUE_CAP = 10_000


@dataclass(frozen=True)
class Topic(Generic[E]):
    name: str
    event: type[E]
    channel: str = "control"

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown bus channel {self.channel!r}")
        if not dataclasses.is_dataclass(self.event):
            raise TypeError("a topic's event is a dataclass")

    def encode(self, event: E) -> dict[str, Any]:
        return dataclasses.asdict(event)  # type: ignore[call-overload, no-any-return]

    def decode(self, payload: Any) -> E:
        """The event from its JSON form; ValueError when it does not fit the dataclass."""
        if not isinstance(payload, dict):
            raise ValueError("not an object")
        try:
            return self.event(**payload)
        except TypeError as exc:
            raise ValueError(str(exc)) from None


Handler = Callable[[E], Awaitable[None]]


class Bus(Protocol):
    def subscribe(self, topic: Topic[E], handler: Handler[E]) -> None: ...

    async def publish(self, topic: Topic[E], event: E) -> None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class _Subscription:
    """One handler of one topic, with its own queue and task."""

    def __init__(self, topic: Topic[Any], handler: Handler[Any]) -> None:
        self.topic = topic
        self.handler = handler
        self.queue: deque[Any] = deque()
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.dropped = 0
        self._warned_at = 0.0

    def put(self, event: Any) -> None:
        self.queue.append(event)
        if len(self.queue) > QUEUE_CAP:
            self.queue.popleft()
            self.dropped += 1
            now = time.monotonic()
            if now - self._warned_at >= 10:
                self._warned_at = now
                log.warning("a bus handler fell behind; dropping its oldest events",
                            extra={"topic": self.topic.name, "dropped": self.dropped})
        self.ready.set()

    def start(self) -> None:
        if self.task is None:
            name = getattr(self.handler, "__qualname__", "handler")
            self.task = asyncio.create_task(self._run(), name=f"bus:{self.topic.name}:{name}")

    async def _run(self) -> None:
        while True:
            await self.ready.wait()
            while self.queue:
                event = self.queue.popleft()
                try:
                    await self.handler(event)
                except Exception:
                    log.exception("bus handler failed", extra={"topic": self.topic.name})
            self.ready.clear()

    async def stop(self) -> None:
        await cancel_and_wait(self.task)
        self.task = None


class _Dispatcher:
    def __init__(self) -> None:
        self._topics: dict[str, Topic[Any]] = {}
        self._subs: dict[str, list[_Subscription]] = {}
        self._running = False

    def _known(self, topic: Topic[Any]) -> None:
        seen = self._topics.setdefault(topic.name, topic)
        if seen != topic:
            raise ValueError(f"two topics are named {topic.name!r}")

    def subscribe(self, topic: Topic[E], handler: Handler[E]) -> None:
        self._known(topic)
        sub = _Subscription(topic, handler)
        self._subs.setdefault(topic.name, []).append(sub)
        if self._running:
            sub.start()

    def _deliver(self, name: str, event: Any) -> None:
        for sub in self._subs.get(name, ()):
            sub.put(event)

    def _start_handlers(self) -> None:
        self._running = True
        for subs in self._subs.values():
            for sub in subs:
                sub.start()

    async def _stop_handlers(self) -> None:
        self._running = False
        for subs in self._subs.values():
            for sub in subs:
                await sub.stop()


class LocalBus(_Dispatcher):
    """The in-process bus of the single-process embedded default."""

    async def publish(self, topic: Topic[E], event: E) -> None:
        self._known(topic)
        self._deliver(topic.name, event)

    async def start(self) -> None:
        self._start_handlers()

    async def close(self) -> None:
        await self._stop_handlers()


class RedisBus(_Dispatcher):
    """Redis pub/sub: publish goes to every process (this one too) through the topic's channel."""

    def __init__(self, redis: aioredis.Redis, channel_prefix: str) -> None:
        super().__init__()
        self._redis = redis
        self._channels = {name: f"{channel_prefix}:{name}" if name != "control" else channel_prefix
                          for name in CHANNELS}
        self._tasks: list[asyncio.Task[None]] = []
        self._ready: dict[str, asyncio.Event] = {}
        self._closing = False

    async def publish(self, topic: Topic[E], event: E) -> None:
        self._known(topic)
        message = json.dumps({"topic": topic.name, "event": topic.encode(event)}, ensure_ascii=False)
        await self._redis.publish(self._channels[topic.channel], message)

    async def start(self) -> None:
        self._start_handlers()
        for name, channel in self._channels.items():
            self._ready[name] = asyncio.Event()
            self._tasks.append(asyncio.create_task(self._listen(channel, self._ready[name]),
                                                   name=f"redis-bus:{name}"))
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in self._ready.values())), timeout=10)

    async def _listen(self, channel: str, ready: asyncio.Event) -> None:
        backoff = 0.1
        while not self._closing:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(channel)
                ready.set()
                backoff = 0.1
                # Short reads and a flag: a cancellation that lands while redis-py's read timeout
                # fires can be swallowed by it, so the loop also checks `_closing` every second.
                while not self._closing:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    self._handle(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("bus connection lost; reconnecting", exc_info=True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _handle(self, data: Any) -> None:
        try:
            message = json.loads(data)
            topic = self._topics.get(message["topic"])
            if topic is None:
                return  # a topic this process does not listen to
            event = topic.decode(message["event"])
        except (TypeError, ValueError, KeyError):
            log.warning("ignored a malformed bus message")
            return
        self._deliver(topic.name, event)

    async def close(self) -> None:
        self._closing = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=5.0)
            if pending:
                log.warning("bus listener did not stop within 5 s; leaving it")
        self._tasks = []
        await self._stop_handlers()
