"""HLS and replay files: `/hls/{id}/...` (live) and `/vod/{id}/...` (replay).

Files are served from the data dir by name patterns only (no path from the request reaches the
file system), playlists with a short max-age and segments and parts as immutable. A live rendition
playlist asked for with `_HLS_msn` (and `_HLS_part`) is held until it lists that segment (or part),
and a partial segment hinted by `EXT-X-PRELOAD-HINT` but not written yet is held until it is
(blocking.py); so is a live playlist the master lists before its first segment writes it (a player
opening the program as it starts gets it then, not a 404 and hls.js's retry seconds later).
`_HLS_skip` gets a delta update (delta.py). Under `/vod/` only what the replay
lists is served (its segments and init segments, its subtitle segments, its thumbnail, its whole
subtitle tracks `captions-<lang>.vtt|srt`): the camera test, the slate and what a producer cut stay
out of reach. `/hls/` also serves the live subtitle renditions (`subs/<lang>/...`, subtitles.py).
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import OrderedDict
from pathlib import Path

from aiohttp import web

from kernel.errors import ApiError
from kernel.metrics import Metrics

from .blocking import (
    MAX_AHEAD,
    DirectiveError,
    Directives,
    PlaylistGone,
    PlaylistState,
    PlaylistWatchers,
    Ready,
    WatchersClosed,
    parse_directives,
    read_playlist,
)
from .delta import delta_update
from .http import Handler, program_id_of
from .premiere_media import HIDDEN_FILE
from .service import LiveService

# ASCII digits only: \d would also take other scripts' digits ("٣").
_RUNG = r"[0-9]{2,4}p"
_N = r"[0-9]{1,9}"
_LANG = r"[a-z]{2,3}(?:-[A-Z]{2})?"
_LIVE_FILES = re.compile(
    rf"^(?:master\.m3u8|{_RUNG}/(?:live\.m3u8|init-{_N}\.mp4|seg-{_N}\.m4s|part-{_N}\.m4s)"
    rf"|subs/{_LANG}/(?:live\.m3u8|seg-{_N}\.vtt))$")
_PART = re.compile(r"/part-([0-9]{1,9})\.m4s$")
_VOD_FILES = re.compile(
    rf"^(?:master\.m3u8|thumb-{_N}\.jpg|{_RUNG}/(?:vod\.m3u8|init-{_N}\.mp4|seg-{_N}\.m4s)"
    rf"|subs/{_LANG}/(?:vod\.m3u8|r{_N}-{_N}\.vtt)|captions-{_LANG}\.(?:vtt|srt))$")

PLAYLIST_CACHE = "public, max-age=1"
VOD_PLAYLIST_CACHE = "public, max-age=10"
SEGMENT_CACHE = "public, max-age=31536000, immutable"
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
VTT_TYPE = "text/vtt; charset=utf-8"
# A live playlist the master lists but that is not written yet is held this long: three target
# durations of the longest segments allowed (live_segment_s <= 2), as a blocking reload is held.
FIRST_PLAYLIST_HOLD_S = 6.0


class VodListings:
    """The names each replay rendition playlist lists (segments and init segments), read again
    only when the playlist file changes (a producer's cut); the last 256 playlists are kept."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._cache: OrderedDict[Path, tuple[tuple[int, int, int], frozenset[str]]] = OrderedDict()
        self._lock = threading.Lock()  # the worker threads of several requests share it

    def lists(self, playlist: Path, name: str) -> bool:
        """Whether `playlist` lists `name` (blocking: run in a thread)."""
        try:
            st = playlist.stat()
        except OSError:
            return False
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        with self._lock:
            cached = self._cache.get(playlist)
        if cached is None or cached[0] != key:
            try:
                text = playlist.read_text()
            except OSError:
                return False
            names = {line for line in text.splitlines() if line and not line.startswith("#")}
            names.update(line.split('"')[1] for line in text.splitlines()
                         if line.startswith("#EXT-X-MAP:") and line.count('"') >= 2)
            cached = (key, frozenset(names))
        with self._lock:
            self._cache[playlist] = cached
            self._cache.move_to_end(playlist)
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return name in cached[1]


def _missing(directory: Path, path: Path, vod: bool, listings: VodListings) -> str | None:
    """Why a media file cannot be served ("replay", "hidden", "media"), or None (blocking: run
    in a thread).
    A premiere's files stay hidden until its start; a replay serves only what it lists."""
    if vod and not (directory / "vod.m3u8").is_file():
        return "replay"
    if (directory / HIDDEN_FILE).exists():
        return "hidden"
    if not path.is_file():
        return "media"
    if vod and path.suffix in (".m4s", ".mp4", ".vtt") and path.parent != directory \
            and not listings.lists(path.parent / "vod.m3u8", path.name):
        return "media"
    return None


def _read_text(path: Path) -> str | None:
    """The file's text, or None if it does not exist (blocking: run in a thread)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None


def _file_kind(name: str, request: web.Request) -> str:
    """The `file` label of innotv_hls_requests_total: master, playlist, blocking_playlist, init,
    segment, part."""
    if name == "master.m3u8":
        return "master"
    if name.endswith(".m3u8"):
        return "blocking_playlist" if "_HLS_msn" in request.query else "playlist"
    if _PART.search("/" + name):
        return "part"
    return "init" if name.endswith(".mp4") else "segment"


def setup_hls_routes(app: web.Application, live: LiveService, metrics: Metrics) -> PlaylistWatchers:
    """The file routes; returns the watchers that hold blocking playlist requests."""
    watchers = PlaylistWatchers()
    listings = VodListings()
    metrics.gauge("innotv_hls_held_requests", "live playlist requests held for a future segment",
                       lambda: float(watchers.held))
    metrics.gauge("innotv_hls_playlist_watchers", "playlist files watched for held requests",
                       lambda: float(watchers.watchers))
    # What a cache in front passes on: with nginx's cache (deploy/) about one request per rung
    # and segment, however many viewers; without one, every viewer's every request.
    metrics.counter("innotv_hls_requests_total", "HLS and replay file requests that reached this process",
                    labels=("route", "file"))

    async def release_held(_app: web.Application) -> None:
        await watchers.close()

    app.on_shutdown.append(release_held)

    def playlist_response(text: str, cache: str, skip: bool) -> web.Response:
        return web.Response(body=(delta_update(text) if skip else text).encode(), headers={
            "Cache-Control": cache, "Content-Type": PLAYLIST_TYPE, "Access-Control-Allow-Origin": "*",
        })

    def held_response(state: PlaylistState, skip: bool) -> web.Response:
        # Any playlist listing segment N answers `_HLS_msn=N`, and everyone asking for N asks within
        # about one target duration of its arrival: a cache may keep the answer that long.
        return playlist_response(state.text, f"public, max-age={max(1, state.target_s)}", skip)

    unavailable = {"Cache-Control": "no-store", "Retry-After": "1", "Access-Control-Allow-Origin": "*"}

    async def wait_for(path: Path, ready: Ready, hold_s: float) -> PlaylistState | None:
        try:
            return await watchers.wait(path, ready, hold_s)
        except PlaylistGone:
            raise ApiError(404, "media_not_found", "The broadcast's playlist is gone.") from None
        except WatchersClosed:
            raise ApiError(503, "playlist_unavailable", "Too busy or shutting down: reload the playlist.",
                           headers=unavailable) from None

    async def blocking_playlist(path: Path, asked: Directives) -> web.Response:
        """The live playlist once it lists segment `msn` (and part `part`), or has ended; 503
        after three target durations."""
        msn, part = asked.msn, asked.part
        assert msn is not None
        seen = await asyncio.to_thread(read_playlist, path)
        if seen is None:
            raise ApiError(404, "media_not_found", "Not broadcasting (yet): no such media file.")
        state = seen[1]
        skip = asked.skip is not None
        if state.satisfies(msn, part):
            return held_response(state, skip)
        if msn > state.last_msn + MAX_AHEAD:
            raise ApiError(400, "msn_too_far",
                           f"_HLS_msn={msn} is more than {MAX_AHEAD} beyond the last segment "
                           f"({state.last_msn}); reload without delivery directives.",
                           headers={"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"})
        waited = await wait_for(path, lambda st: st.satisfies(msn, part), state.hold_s)
        if waited is None:
            what = f"Segment {msn}" if part is None else f"Part {part} of segment {msn}"
            raise ApiError(503, "segment_not_ready",
                           f"{what} did not appear within {state.hold_s:.0f} s; reload the playlist.",
                           headers=unavailable)
        return held_response(waited, skip)

    async def first_playlist(directory: Path, name: str, path: Path) -> bool:
        """Whether a live playlist the master lists but nobody has written yet (a player that opens
        the program as it starts, before the rendition's first segment) came within the hold
        (FIRST_PLAYLIST_HOLD_S). A 404 instead would set players back: hls.js retries a subtitle
        playlist after up to 8 s, and the program's first lines would come too late to be shown."""
        master = await asyncio.to_thread(_read_text, directory / "master.m3u8")
        if master is None or (name not in master.splitlines() and f'URI="{name}"' not in master):
            return False
        return await wait_for(path, lambda _state: True, FIRST_PLAYLIST_HOLD_S) is not None

    async def hinted_part(path: Path, number: int) -> web.StreamResponse:
        """A partial segment not written yet: held while it is the one the playlist hints (or
        an earlier one not listed yet), until the playlist lists it; else 404."""
        playlist = path.parent / "live.m3u8"
        seen = await asyncio.to_thread(read_playlist, playlist)
        state = seen[1] if seen is not None else None
        gone = ApiError(404, "media_not_found", "No such part (not hinted, or no longer kept).",
                        headers={"Cache-Control": "no-store"})
        if state is None or state.ended or state.hint is None or number > state.hint:
            raise gone
        if not state.lists_part_file(number):
            await wait_for(playlist, lambda st: st.lists_part_file(number), state.hold_s)
        if not await asyncio.to_thread(path.is_file):
            raise gone
        return web.FileResponse(path, headers={
            "Cache-Control": SEGMENT_CACHE, "Content-Type": "video/iso.segment",
            "Access-Control-Allow-Origin": "*",
        })

    def file_handler(vod: bool) -> Handler:
        allowed = _VOD_FILES if vod else _LIVE_FILES

        async def serve(request: web.Request) -> web.StreamResponse:
            program_id = program_id_of(request)
            name = request.match_info["path"]
            if not allowed.match(name):
                raise ApiError(404, "not_found", "No such media file.")
            metrics.inc("innotv_hls_requests_total", route="vod" if vod else "hls",
                        file=_file_kind(name, request))
            asked = Directives(None, None, None)
            if not vod and name.endswith("/live.m3u8"):  # never held: VOD and master playlists
                try:
                    asked = parse_directives({
                        key: request.query.getall(key) for key in request.query if key.startswith("_HLS_")
                    })
                except DirectiveError as err:
                    raise ApiError(400, err.code, err.message,
                                   headers={"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"},
                                   ) from None
            directory = live.media_dir(program_id)
            if vod and name == "master.m3u8":
                name = "vod.m3u8"
            path: Path = directory.joinpath(*name.split("/"))
            missing = await asyncio.to_thread(_missing, directory, path, vod, listings)  # one thread hop
            if missing == "replay":
                raise ApiError(404, "replay_not_found", "This program has no replay (yet).")
            part = _PART.search("/" + name) if not vod else None
            if missing == "media" and part is not None:
                return await hinted_part(path, int(part.group(1)))
            if missing == "media" and not vod and name.endswith("/live.m3u8") \
                    and await first_playlist(directory, name, path):
                missing = None
            if missing is not None:
                raise ApiError(404, "media_not_found", "Not broadcasting (yet): no such media file.")
            if asked.msn is not None:
                return await blocking_playlist(path, asked)
            if asked.skip is not None:
                text = await asyncio.to_thread(path.read_text)
                return playlist_response(text, PLAYLIST_CACHE, skip=True)
            if name.endswith(".m3u8"):
                cache = VOD_PLAYLIST_CACHE if vod else PLAYLIST_CACHE
                ctype = PLAYLIST_TYPE
            elif name.endswith(".jpg"):
                cache, ctype = SEGMENT_CACHE, "image/jpeg"  # a new thumbnail gets a new name
            elif name.startswith("captions-"):
                # the replay's whole subtitle track, to download; a producer's correction rewrites it
                cache = "no-cache"
                ctype = VTT_TYPE if name.endswith(".vtt") else "application/x-subrip; charset=utf-8"
            elif name.endswith(".vtt"):
                cache, ctype = SEGMENT_CACHE, VTT_TYPE  # written once (a new edition has new names)
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
