"""The chat domain: Socket.IO rooms for programs and halls, with per-tick fan-out.

`setup(app, deps)` builds the store, the Socket.IO server and the chat engine, registers the
event handlers and REST routes, and starts/stops the tick with the app. It puts the engine into
`deps.services["chat"]`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from innotv.deps import Deps

from .events import make_handlers
from .features import add_features
from .halls import setup_routes
from .moderation import add_moderation
from .server import attach, make_sio
from .service import ChatService
from .store import make_chat_store


def setup(app: web.Application, deps: Deps) -> None:
    """Register the chat with the app: /socket.io/, the chat routes and the tick."""
    config = deps.config
    store = make_chat_store(deps.backend, config.chat_history_max)
    sio = make_sio()
    service = ChatService(deps, store, sio, config.chat_buffer_kib * 1024)
    handlers = make_handlers(service)
    add_moderation(handlers, service)
    add_features(handlers, service)
    lean = attach(app, deps, sio, service)
    handlers.register(sio, lean)
    service.lean = lean
    setup_routes(app, deps, service)
    deps.services["chat"] = service
    deps.metrics.counter("innotv_chat_stalled_total", "chat readers dropped for falling behind")
    deps.metrics.gauge("innotv_chat_connections", "open chat connections", lambda: float(len(service.conns)))

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
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
