"""Live broadcast: stream keys, WHIP ingest, the HLS ladder and recording, WHEP, premieres, replays."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from innotv.config import ConfigError
from innotv.deps import Deps
from innotv.errors import ApiError

from .keys import StreamKeys, make_stream_key_store
from .ladder import Rung, parse_ladder
from .premieres import Premieres
from .routes import setup_routes
from .service import LiveService
from .simulcast import Simulcast, make_simulcast_store

log = logging.getLogger("innotv.live")

DEMO_PROGRAM = "demo"


def _checked_ladder(deps: Deps) -> tuple[Rung, ...]:
    cfg = deps.config
    try:
        ladder = parse_ladder(cfg.live_ladder)
    except ValueError as exc:
        raise ConfigError(f"live_ladder: {exc}") from None
    if not 1.0 <= cfg.live_segment_s <= 2.0:
        raise ConfigError("live_segment_s: must be between 1 and 2 seconds")
    if not 3 <= cfg.live_window_segments <= 60:
        raise ConfigError("live_window_segments: must be between 3 and 60")
    if cfg.live_x264_preset not in ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium"):
        raise ConfigError("live_x264_preset: ultrafast, superfast, veryfast, faster, fast or medium")
    if not 0.5 <= cfg.live_slate_after_s <= 30:
        raise ConfigError("live_slate_after_s: must be between 0.5 and 30")
    if not 10 <= cfg.live_queue_frames <= 2000:
        raise ConfigError("live_queue_frames: must be between 10 and 2000")
    if not 0 <= cfg.live_worker_nice <= 19:
        raise ConfigError("live_worker_nice: must be between 0 and 19")
    if not 0 <= cfg.live_codec_threads <= 64:
        raise ConfigError("live_codec_threads: must be between 0 (one per core) and 64")
    if not 1024 <= cfg.live_max_sdp_bytes <= 1_000_000:
        raise ConfigError("live_max_sdp_bytes: must be between 1024 and 1000000")
    return ladder


def setup(app: web.Application, deps: Deps) -> None:
    keys = StreamKeys(make_stream_key_store(deps.backend))
    deps.services["stream_keys"] = keys
    simulcast = Simulcast(deps, make_simulcast_store(deps.backend))
    deps.services["simulcast"] = simulcast
    live = LiveService(deps, _checked_ladder(deps), simulcast)
    deps.services["live"] = live
    live.register_metrics()
    premieres = Premieres(deps, live)
    deps.services["premieres"] = premieres
    deps.bus.subscribe("program", live.on_program)
    deps.bus.subscribe("lineup", premieres.on_lineup)
    deps.bus.subscribe("simulcast", live.on_simulcast)
    deps.bus.subscribe("live", live.on_live)
    setup_routes(app, deps, live, premieres)

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await keys.store.setup()
        await simulcast.store.setup()
        demo: asyncio.Task[None] | None = None
        if deps.config.demo:
            demo = asyncio.create_task(_play_demo(deps, live))
        try:
            await premieres.resume()
        except Exception:
            log.exception("premieres could not be resumed")
        yield
        if demo is not None:
            demo.cancel()
        await premieres.close()
        await live.close()

    app.cleanup_ctx.append(lifecycle)

    async def issue_key(request: web.Request) -> web.Response:
        await deps.auth.require(request, "producer")
        program_id = request.match_info["id"]
        programs = deps.services.get("programs")
        if programs is None or await programs.get(program_id) is None:
            raise ApiError(404, "program_not_found", f"No program with id {program_id!r}.")
        key = await keys.issue(program_id)
        return web.json_response(
            {"stream_key": key}, headers={"Cache-Control": "no-store"}
        )

    app.router.add_post("/api/programs/{id}/stream-key", issue_key)


async def _play_demo(deps: Deps, live: LiveService) -> None:
    """`--demo`: once the schedule has created the live-now program "demo", play the test source."""
    for _ in range(600):
        programs = deps.services.get("programs")
        program = await programs.get(DEMO_PROGRAM) if programs is not None else None
        if program is not None and program.state not in ("ended", "replay"):
            await live.play_generated(DEMO_PROGRAM)
            log.info("demo: playing the generated test source in program %r", DEMO_PROGRAM)
            return
        await asyncio.sleep(0.5)
    log.warning("demo: no live program %r appeared; no test broadcast", DEMO_PROGRAM)
