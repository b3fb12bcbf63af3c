"""HLS and replay files: `/hls/{id}/...` (live) and `/vod/{id}/...` (replay).

Files are served from the data dir by name patterns only (no path from the request reaches the
file system), playlists with a short max-age and segments as immutable. A live rendition playlist
asked for with `_HLS_msn` is held until it lists that segment (blocking playlist reload, see
blocking.py).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from aiohttp import web

from kernel.errors import ApiError
from kernel.metrics import Metrics

from .blocking import (
    MAX_AHEAD,
    DirectiveError,
    PlaylistGone,
    PlaylistState,
    PlaylistWatchers,
    WatchersClosed,
    parse_directives,
    read_playlist,
)
from .http import Handler, program_id_of
from .premiere_media import HIDDEN_FILE
from .service import LiveService

_RUNG = r"[0-9]{2,4}p"
_FILES = r"init-[0-9]{1,9}\.mp4|seg-[0-9]{1,9}\.m4s"
_LIVE_FILES = re.compile(rf"^(?:master\.m3u8|{_RUNG}/(?:live\.m3u8|{_FILES}))$")
_VOD_FILES = re.compile(rf"^(?:master\.m3u8|{_RUNG}/(?:vod\.m3u8|{_FILES}))$")

PLAYLIST_CACHE = "public, max-age=1"
VOD_PLAYLIST_CACHE = "public, max-age=10"
SEGMENT_CACHE = "public, max-age=31536000, immutable"
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"


def _missing(directory: Path, path: Path, vod: bool) -> str | None:
    """Why a media file cannot be served ("replay", "media"), or None (blocking: run in a thread).
    A premiere's files stay hidden until its start."""
    if vod and not (directory / "vod.m3u8").is_file():
        return "replay"
    if not path.is_file() or (directory / HIDDEN_FILE).exists():
        return "media"
    return None


def setup_hls_routes(app: web.Application, live: LiveService, metrics: Metrics) -> PlaylistWatchers:
    """The file routes; returns the watchers that hold blocking playlist requests."""
    watchers = PlaylistWatchers()
    metrics.gauge("innotv_hls_held_requests", "live playlist requests held for a future segment",
                       lambda: float(watchers.held))
    metrics.gauge("innotv_hls_playlist_watchers", "playlist files watched for held requests",
                       lambda: float(watchers.watchers))

    async def release_held(_app: web.Application) -> None:
        await watchers.close()

    app.on_shutdown.append(release_held)

    def held_response(state: PlaylistState) -> web.Response:
        # Any playlist listing segment N answers `_HLS_msn=N`, and everyone asking for N asks within
        # about one target duration of its arrival: a cache may keep the answer that long.
        return web.Response(body=state.text.encode(), headers={
            "Cache-Control": f"public, max-age={max(1, state.target_s)}",
            "Content-Type": PLAYLIST_TYPE, "Access-Control-Allow-Origin": "*",
        })

    async def blocking_playlist(path: Path, msn: int) -> web.Response:
        """The live playlist once it lists segment `msn` (or has ended), 503 after three target durations."""
        seen = await asyncio.to_thread(read_playlist, path)
        if seen is None:
            raise ApiError(404, "media_not_found", "Not broadcasting (yet): no such media file.")
        state = seen[1]
        if state.satisfies(msn):
            return held_response(state)
        if msn > state.last_msn + MAX_AHEAD:
            raise ApiError(400, "msn_too_far",
                           f"_HLS_msn={msn} is more than {MAX_AHEAD} beyond the last segment "
                           f"({state.last_msn}); reload without delivery directives.",
                           headers={"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"})
        unavailable = {"Cache-Control": "no-store", "Retry-After": "1", "Access-Control-Allow-Origin": "*"}
        try:
            waited = await watchers.wait(path, msn, state.hold_s)
        except PlaylistGone:
            raise ApiError(404, "media_not_found", "The broadcast's playlist is gone.") from None
        except WatchersClosed:
            raise ApiError(503, "playlist_unavailable", "Too busy or shutting down: reload the playlist.",
                           headers=unavailable) from None
        if waited is None:
            raise ApiError(503, "segment_not_ready",
                           f"Segment {msn} did not appear within {state.hold_s:.0f} s; reload the playlist.",
                           headers=unavailable)
        return held_response(waited)

    def file_handler(vod: bool) -> Handler:
        allowed = _VOD_FILES if vod else _LIVE_FILES

        async def serve(request: web.Request) -> web.StreamResponse:
            program_id = program_id_of(request)
            name = request.match_info["path"]
            if not allowed.match(name):
                raise ApiError(404, "not_found", "No such media file.")
            msn: int | None = None
            if not vod and name.endswith("/live.m3u8"):  # never held: VOD and master playlists
                try:
                    msn = parse_directives({
                        key: request.query.getall(key) for key in request.query if key.startswith("_HLS_")
                    }).msn
                except DirectiveError as err:
                    raise ApiError(400, err.code, err.message,
                                   headers={"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"},
                                   ) from None
            directory = live.media_dir(program_id)
            if vod and name == "master.m3u8":
                name = "vod.m3u8"
            path: Path = directory.joinpath(*name.split("/"))
            missing = await asyncio.to_thread(_missing, directory, path, vod)  # one thread hop
            if missing == "replay":
                raise ApiError(404, "replay_not_found", "This program has no replay (yet).")
            if missing == "media":
                raise ApiError(404, "media_not_found", "Not broadcasting (yet): no such media file.")
            if msn is not None:
                return await blocking_playlist(path, msn)
            if name.endswith(".m3u8"):
                cache = VOD_PLAYLIST_CACHE if vod else PLAYLIST_CACHE
                ctype = PLAYLIST_TYPE
            else:
                cache = SEGMENT_CACHE
                ctype = "video/mp4" if name.endswith(".mp4") else "video/iso.segment"
            response = web.FileResponse(path, headers={
                "Cache-Control": cache, "Content-Type": ctype, "Access-Control-Allow-Origin": "*",
            })
            return response

        return serve

    app.router.add_get("/hls/{id}/{path:.+}", file_handler(vod=False))
    app.router.add_get("/vod/{id}/{path:.+}", file_handler(vod=True))
    return watchers
