"""The captions slice: live captions (자막) typed by captioners or fed by captioning services.

`setup(app, kernel, settings, programs=..., rooms=..., destinations=..., gate=...)` builds the
store and the engine, registers the console's Socket.IO events on the chat's connections
(`rooms`), the REST routes and the tick, and returns the `Captions` parts. What it needs from
others is in ports.py; the live slice reads the lines through `Captions.service` and writes them
into the HLS and the replay (WebVTT).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from kernel.core import Kernel
from kernel.identity import Gate

from .events import register
from .model import Caption
from .ports import CaptionDestinations, Programs, Rooms
from .routes import setup_routes
from .service import CaptionService
from .settings import CaptionSettings
from .store import make_caption_store

__all__ = ["Caption", "CaptionService", "CaptionSettings", "Captions", "setup"]


@dataclass(frozen=True)
class Captions:
    service: CaptionService


def setup(app: web.Application, kernel: Kernel, settings: CaptionSettings, *, programs: Programs,
          rooms: Rooms, destinations: CaptionDestinations, gate: Gate) -> Captions:
    store = make_caption_store(kernel.backend)
    service = CaptionService(settings, store, kernel.bus, rooms, programs, destinations, kernel.clock,
                             kernel.metrics)
    kernel.metrics.counter("innotv_captions_lines_total", "caption lines stored or corrected", labels=())
    kernel.metrics.counter("innotv_captions_forwarded_total", "caption lines posted to caption URLs",
                           labels=())
    kernel.metrics.counter("innotv_captions_forward_dropped_total",
                           "caption POSTs to caption URLs given up (receiver down or too slow)", labels=())
    register(rooms, service)
    setup_routes(app, service, gate, kernel.settings.link_base())

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await service.start()
        yield
        await service.stop()

    app.cleanup_ctx.append(lifecycle)
    return Captions(service)
