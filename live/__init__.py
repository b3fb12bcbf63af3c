"""The live slice: stream keys, WHIP and RTMP ingest, the HLS ladder and recording, WHEP,
premieres, replays, simulcast.

`setup(app, kernel, settings, programs=..., gate=..., captions=...)` registers the routes (stream
health too),
listens to the bus and returns the `Live` parts for the composition root. The media stack (aiortc,
PyAV) is imported when a server is set up, not when the package is: a CLI command that only reads
the settings starts without it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from kernel.core import Kernel
from kernel.identity import Gate

from .ports import Captions, Programs
from .settings import LiveSettings

if TYPE_CHECKING:
    from .blocking import PlaylistWatchers
    from .keys import StreamKeys
    from .premieres import Premieres
    from .rtmp_ingest import RtmpIngest
    from .service import LiveService
    from .simulcast import Simulcast

__all__ = ["Live", "LiveSettings", "setup"]

log = logging.getLogger("innotv.live")

@dataclass(frozen=True)
class Live:
    service: LiveService
    keys: StreamKeys
    simulcast: Simulcast
    premieres: Premieres
    watchers: PlaylistWatchers  # blocking playlist requests held for a future segment
    rtmp: RtmpIngest | None  # the RTMP listener (None when live_rtmp_port is 0)


def setup(app: web.Application, kernel: Kernel, settings: LiveSettings, *, programs: Programs,
          gate: Gate, captions: Captions) -> Live:
    from kernel.topics import CAPTION_COMMITTED, CAPTIONS_EDITED, LINEUP_CHANGED, PROGRAM_CHANGED

    from .demo import DemoSource
    from .health import HealthBoard
    from .health_routes import setup_health_routes
    from .hls_routes import setup_hls_routes
    from .ingest_routes import setup_ingest_routes
    from .keys import StreamKeys, make_stream_key_store
    from .premiere_routes import setup_premiere_routes
    from .premieres import Premieres
    from .replay_routes import setup_replay_routes
    from .rtmp_ingest import RtmpIngest
    from .service import LiveService
    from .simulcast import Simulcast, make_simulcast_store
    from .simulcast_routes import setup_simulcast_routes
    from .topics import MEDIA_WANTED, SIMULCAST_CHANGED
    from .whep_routes import setup_whep_routes
    from .whip_routes import setup_whip_routes

    keys = StreamKeys(make_stream_key_store(kernel.backend))
    simulcast = Simulcast(make_simulcast_store(kernel.backend), kernel.bus, programs)
    live = LiveService(settings, kernel.settings, kernel.bus, kernel.metrics, programs, simulcast, captions)
    live.register_metrics()
    premieres = Premieres(live, programs, kernel.clock)
    kernel.bus.subscribe(PROGRAM_CHANGED, live.on_program)
    kernel.bus.subscribe(LINEUP_CHANGED, premieres.on_lineup)
    kernel.bus.subscribe(LINEUP_CHANGED, live.on_lineup)
    kernel.bus.subscribe(SIMULCAST_CHANGED, live.on_simulcast)
    kernel.bus.subscribe(MEDIA_WANTED, live.on_media_wanted)
    kernel.bus.subscribe(CAPTION_COMMITTED, live.on_caption)
    kernel.bus.subscribe(CAPTIONS_EDITED, live.replays.on_captions_edited)
    demo = DemoSource(live, programs) if kernel.settings.demo else None
    if demo is not None:
        kernel.bus.subscribe(PROGRAM_CHANGED, demo.on_program)
    setup_whip_routes(app, live, keys, programs, gate)
    setup_whep_routes(app, live, gate)
    watchers = setup_hls_routes(app, live, kernel.metrics)
    setup_premiere_routes(app, premieres, gate)
    setup_simulcast_routes(app, live, simulcast, gate)
    board = HealthBoard(live, kernel.backend)
    setup_health_routes(app, board, programs, gate)
    setup_replay_routes(app, live.replays, gate)
    rtmp = RtmpIngest(live, keys.program_for, live.ensure_open) if settings.rtmp_port else None
    setup_ingest_routes(app, settings, programs, gate)

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await keys.store.setup()
        await simulcast.store.setup()
        if rtmp is not None:
            host = settings.rtmp_host or kernel.settings.host
            try:
                await rtmp.start(host, settings.rtmp_port, settings.rtmp_reuse_port)
            except OSError as exc:
                log.error("RTMP ingest could not listen on %s:%d (%s); WHIP still works",
                          host, settings.rtmp_port, exc)
        if demo is not None:
            await demo.start()
        sharing = asyncio.create_task(board.share(), name="live-health")
        try:
            await premieres.resume()
        except Exception:
            log.exception("premieres could not be resumed")
        try:
            await live.resume_broadcasts()
        except Exception:
            log.exception("broadcasts could not be resumed")
        replays = asyncio.create_task(live.replays.resume())  # after a crash; not before serving
        yield
        sharing.cancel()
        replays.cancel()
        if rtmp is not None:
            await rtmp.close()
        await premieres.close()
        await live.close()

    app.cleanup_ctx.append(lifecycle)
    return Live(live, keys, simulcast, premieres, watchers, rtmp)
