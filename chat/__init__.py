"""The chat slice: Socket.IO rooms for programs and halls, with per-tick fan-out.

`setup(app, kernel, settings, programs=..., visitors=..., staff=..., gate=..., participation=...)`
builds the stores, the
Socket.IO server and the chat engine, registers the event handlers and REST routes, starts and
stops the tick with the app, and returns the `Chat` parts for the composition root.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from kernel.core import Kernel
from kernel.identity import Gate

from .events import ACK_BUCKETS, ACK_SECONDS, make_handlers
from .hall_cases import CasesFileError, load_cases
from .halls import HALLS, hall_cases, setup_routes
from .lean import LeanServer
from .moderation import add_moderation
from .ports import Participation, Programs, Staff, Visitors
from .qa_polls import add_qa_and_polls
from .report_routes import setup_report_routes
from .room_events import RoomEvents
from .server import attach, make_sio
from .service import HEARTS_TOTAL, MESSAGES_TOTAL, TICK_BUCKETS, TICK_SECONDS, ChatService
from .settings import ChatSettings
from .store import make_chat_stores

__all__ = ["Chat", "ChatSettings", "setup"]

log = logging.getLogger("innotv.chat")


@dataclass(frozen=True)
class Chat:
    service: ChatService
    lean: LeanServer  # fresh WebSocket connections
    sio: Any  # python-socketio's server: long-polling and its upgrade
    events: RoomEvents  # other slices' events on the chat's connections and fan-out


def setup(app: web.Application, kernel: Kernel, settings: ChatSettings, *, programs: Programs,
          visitors: Visitors, staff: Staff, gate: Gate, participation: Participation | None = None) -> Chat:
    """Register the chat with the app: /socket.io/, the chat routes and the tick."""
    stores = make_chat_stores(kernel.backend, settings.history_max)
    sio = make_sio()
    service = ChatService(settings, stores, kernel.bus, kernel.metrics, programs, visitors,
                          relay=kernel.backend.kind == "redis", staff=staff, clock=kernel.clock)
    service.participation = participation
    service.subscribe()
    handlers = make_handlers(service)
    add_moderation(handlers, service)
    add_qa_and_polls(handlers, service)
    lean = attach(app, sio, service, visitors, settings, kernel.settings.allowed_origins)
    handlers.register(sio, lean)
    setup_routes(app, service)
    setup_report_routes(app, service, gate)
    service.hall_cases = hall_cases({})
    kernel.metrics.counter("innotv_chat_stalled_total", "chat readers dropped for falling behind", labels=())
    kernel.metrics.counter("innotv_chat_ping_timeouts_total",
                           "lean WebSocket connections cut for not answering pings", labels=())
    kernel.metrics.counter("innotv_chat_cut_total",
                           "chat connections cut: reason flooding (over the rate limits for too long) "
                           "or not_reading (unsent bytes over the cap for too long)", labels=("reason",))
    kernel.metrics.counter("innotv_chat_connections_refused_total",
                           "new chat connections refused, by code (connect_rate_limited, "
                           "too_many_connections)", labels=("code",))
    kernel.metrics.counter("innotv_chat_events_refused_total", "chat events answered with an error",
                           labels=())
    kernel.metrics.histogram(ACK_SECONDS, "time from a chat event's arrival to its ack (chat: until "
                             "stored), by event family (join, chat, heart, mod, poll, ...) and outcome",
                             labels=("family", "outcome"), buckets=ACK_BUCKETS)
    kernel.metrics.histogram(TICK_SECONDS, "duration of one chat tick (store write and fan-out of every "
                             "busy room)", buckets=TICK_BUCKETS)
    kernel.metrics.counter(MESSAGES_TOTAL, "chat messages stored and sent by this process, by room kind "
                           "(program, hall)", labels=("kind",))
    kernel.metrics.counter(HEARTS_TOTAL, "hearts counted by this process, by room kind (program, hall)",
                           labels=("kind",))
    kernel.metrics.gauge("innotv_chat_connections", "open chat connections",
                         lambda: float(len(service.conns)))

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        if settings.halls_file:
            try:
                operator = await asyncio.to_thread(load_cases, Path(settings.halls_file), set(HALLS))
            except CasesFileError as exc:  # it passed when the settings loaded: changed since
                log.error("chat_halls_file %s: %s; the halls show placeholders", settings.halls_file, exc)
            else:
                service.hall_cases = hall_cases(operator)
        await service.start()
        lean.start()
        yield
        await lean.stop()
        await service.stop()
        await sio.shutdown()

    async def close_sockets(_app: web.Application) -> None:
        # At shutdown, before aiohttp waits for open handlers: WebSocket clients are told to go
        # (Engine.IO close) instead of holding the shutdown for its whole timeout.
        await lean.stop()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(close_sockets)
    return Chat(service, lean, sio, RoomEvents(handlers, service))
