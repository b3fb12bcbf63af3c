"""HTTP routes of the live domain: WHIP ingest, and the HLS/VOD files.

WHIP (`POST /whip/{id}`, `DELETE /whip/{id}/{session}`, `OPTIONS` for CORS) authenticates with
the program's stream key as a Bearer token; no cookie is involved, so any origin may publish.
HLS and VOD files are served from the data dir by name patterns only (no path from the request
reaches the file system), playlists with a short max-age and segments as immutable. A live rendition
playlist asked for with `_HLS_msn` is held until it lists that segment (blocking playlist reload,
see blocking.py and docs/_parts/hls-blocking.md).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from innotv.deps import Deps
from innotv.errors import ApiError
from innotv.jsonbody import read_json_object, read_limited

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
from .media import SAFE_ID
from .premiere import HIDDEN_FILE
from .premieres import Premieres
from .sdp import validate_offer
from .service import LiveService

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match",
    "Access-Control-Expose-Headers": "Location, Link, ETag",
    "Access-Control-Max-Age": "600",
}

_RUNG = r"\d{2,4}p"
_LIVE_FILES = re.compile(rf"^(?:master\.m3u8|{_RUNG}/(?:live\.m3u8|init-\d{{1,9}}\.mp4|seg-\d{{1,9}}\.m4s))$")
_VOD_FILES = re.compile(rf"^(?:master\.m3u8|{_RUNG}/(?:vod\.m3u8|init-\d{{1,9}}\.mp4|seg-\d{{1,9}}\.m4s))$")

PLAYLIST_CACHE = "public, max-age=1"
VOD_PLAYLIST_CACHE = "public, max-age=10"
SEGMENT_CACHE = "public, max-age=31536000, immutable"
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _missing(directory: Path, path: Path, vod: bool) -> str | None:
    """Why a media file cannot be served ("replay", "media"), or None (blocking: run in a thread).
    A premiere's files stay hidden until its start."""
    if vod and not (directory / "vod.m3u8").is_file():
        return "replay"
    if not path.is_file() or (directory / HIDDEN_FILE).exists():
        return "media"
    return None


def _with_cors(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            response = await handler(request)
        except ApiError as err:
            err.headers.update(CORS)
            raise
        response.headers.update(CORS)
        return response

    return wrapped


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _program_id(request: web.Request) -> str:
    program_id = request.match_info["id"]
    if not SAFE_ID.match(program_id):
        raise ApiError(404, "program_not_found", "No such program.")
    return program_id


async def read_sdp(request: web.Request, limit: int, publishing: bool = True) -> str:
    """The request body as an SDP offer: 415 unless application/sdp, 413 beyond `limit` bytes."""
    if request.content_type != "application/sdp":
        raise ApiError(415, "unsupported_media_type", "Send the offer as Content-Type: application/sdp.")
    body = await read_limited(request, limit, "offer")
    validate_offer(body, publishing)
    return body.decode("utf-8")


def setup_routes(app: web.Application, deps: Deps, live: LiveService, premieres: Premieres) -> None:
    limit = deps.config.live_max_sdp_bytes

    async def whip_post(request: web.Request) -> web.Response:
        program_id = _program_id(request)
        keys = deps.services["stream_keys"]
        token = _bearer(request)
        if token is None or not await keys.verify(program_id, token):
            raise ApiError(401, "invalid_stream_key",
                           "A valid stream key is needed: Authorization: Bearer <key>.",
                           headers={"WWW-Authenticate": 'Bearer realm="whip"'})
        offer = await read_sdp(request, limit)
        await live.ensure_open(program_id)
        session_id, answer = await live.publish(program_id, offer)
        location = f"/whip/{program_id}/{session_id}"
        return web.Response(
            status=201, text=answer, content_type="application/sdp",
            headers={"Location": location, "ETag": f'"{session_id}"', "Cache-Control": "no-store"},
        )

    async def whip_delete(request: web.Request) -> web.Response:
        program_id = _program_id(request)
        session_id = request.match_info["session"]
        if not await live.unpublish(program_id, session_id):
            raise ApiError(404, "session_not_found", "No such publishing session (already stopped?).")
        return web.Response(status=200)

    async def whip_options(_request: web.Request) -> web.Response:
        return web.Response(status=204, headers={"Accept-Post": "application/sdp"})

    app.router.add_post("/whip/{id}", _with_cors(whip_post))
    app.router.add_route("OPTIONS", "/whip/{id}", _with_cors(whip_options))
    app.router.add_delete("/whip/{id}/{session}", _with_cors(whip_delete))
    app.router.add_route("OPTIONS", "/whip/{id}/{session}", _with_cors(whip_options))

    async def whep_post(request: web.Request) -> web.Response:
        await deps.auth.require(request, "host")
        program_id = _program_id(request)
        offer = await read_sdp(request, limit, publishing=False)
        session_id, answer = await live.preview(program_id, offer)
        return web.Response(
            status=201, text=answer, content_type="application/sdp",
            headers={"Location": f"/whep/{program_id}/{session_id}", "Cache-Control": "no-store"},
        )

    async def whep_delete(request: web.Request) -> web.Response:
        await deps.auth.require(request, "host")
        if not await live.stop_preview(_program_id(request), request.match_info["session"]):
            raise ApiError(404, "session_not_found", "No such preview session.")
        return web.Response(status=200)

    app.router.add_post("/whep/{id}", whep_post)
    app.router.add_delete("/whep/{id}/{session}", whep_delete)

    watchers = PlaylistWatchers()
    deps.services["hls_watchers"] = watchers
    deps.metrics.gauge("innotv_hls_held_requests", "live playlist requests held for a future segment",
                       lambda: float(watchers.held))
    deps.metrics.gauge("innotv_hls_playlist_watchers", "playlist files watched for held requests",
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
            program_id = _program_id(request)
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

    async def media_upload(request: web.Request) -> web.Response:
        await deps.auth.require(request, "producer")
        status = await premieres.upload(request, _program_id(request))
        return web.json_response(status, status=202)

    async def media_status(request: web.Request) -> web.Response:
        await deps.auth.require(request, "producer")
        return web.json_response(await premieres.status(_program_id(request)),
                                 headers={"Cache-Control": "no-store"})

    simulcast = live.simulcast
    assert simulcast is not None

    async def simulcast_list(request: web.Request) -> web.Response:
        await deps.auth.require(request, "producer")
        program_id = _program_id(request)
        items = [d.public(live.push_state(program_id, d.url)) for d in await simulcast.list(program_id)]
        return web.json_response({"destinations": items}, headers={"Cache-Control": "no-store"})

    async def simulcast_add(request: web.Request) -> web.Response:
        await deps.auth.require(request, "producer")
        body = await read_json_object(request)
        dest = await simulcast.add(_program_id(request), body.get("url"))
        return web.json_response(dest.public(), status=201)

    async def simulcast_delete(request: web.Request) -> web.Response:
        await deps.auth.require(request, "producer")
        if not await simulcast.delete(_program_id(request), request.match_info["dest"]):
            raise ApiError(404, "destination_not_found", "No such destination.")
        return web.Response(status=204)

    app.router.add_get("/api/programs/{id}/simulcast", simulcast_list)
    app.router.add_post("/api/programs/{id}/simulcast", simulcast_add)
    app.router.add_delete("/api/programs/{id}/simulcast/{dest}", simulcast_delete)
    app.router.add_post("/api/programs/{id}/media", media_upload)
    app.router.add_get("/api/programs/{id}/media", media_status)

    app.router.add_get("/hls/{id}/{path:.+}", file_handler(vod=False))
    app.router.add_get("/vod/{id}/{path:.+}", file_handler(vod=True))
