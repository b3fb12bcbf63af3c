"""Blocking playlist reload (`_HLS_msn`, `_HLS_part`) on live media playlists: a real server, a
real WHIP publisher (or the real playlist writer, RenditionLog, run by the test or by another
process, as the media worker would), and requests held until the segment or part they ask for
exists."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import aiohttp

from live.blocking import PlaylistWatchers, WatchersClosed, parse_playlist
from live.ladder import Rung
from live.media import RenditionLog, Segment, atomic_write, master_text
from live.subtitles import LiveSubtitles, media_lines
from live.tracks import Publication, whip_publish
from tests.helpers import Server, running_server

from .support import end_program, get_text, new_program, segments, small_config, wait_for, wait_for_state

ROOT = Path(__file__).resolve().parents[2]


def last_msn(playlist: str) -> int:
    return max(int(name[4:-4]) for name in segments(playlist))


async def _playlist_with(client: aiohttp.ClientSession, path: str, count: int) -> str | None:
    status, text, _ = await get_text(client, path)
    return text if status == 200 and len(segments(text)) >= count else None


async def _publishing(server: Server) -> tuple[str, str, aiohttp.ClientSession, Publication]:
    program_id, key = await new_program(server)
    viewer = server.client()
    pub = await whip_publish(viewer, f"{server.url}/whip/{program_id}", key)
    await wait_for(lambda: _playlist_with(viewer, f"/hls/{program_id}/240p/live.m3u8", 2),
                   what="first segments")
    return program_id, key, viewer, pub


async def test_held_until_the_segment_exists_then_shared_watchers(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path)) as server:
        program_id, _key, viewer, pub = await _publishing(server)
        watchers = server.parts.live.watchers
        path = f"/hls/{program_id}/240p/live.m3u8"
        rung_dir = server.parts.live.service.media_dir(program_id) / "240p"
        _, text, headers = await get_text(viewer, path)
        assert "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES," in text and ",HOLD-BACK" not in text
        assert headers["Cache-Control"] == "public, max-age=1"
        last = last_msn(text)

        # a segment already listed: answered at once
        started = time.monotonic()
        status, now, headers = await get_text(viewer, f"{path}?_HLS_msn={last}")
        assert status == 200 and f"seg-{last}.m4s" in now and time.monotonic() - started < 1.0
        assert headers["Cache-Control"] == "public, max-age=1"
        assert headers["Content-Type"] == "application/vnd.apple.mpegurl"

        # the next one: held until it is written, answered within moments of the write
        started = time.monotonic()
        status, held, _ = await get_text(viewer, f"{path}?_HLS_msn={last_msn(now) + 1}")
        answered = time.time()
        wanted = last_msn(now) + 1
        assert status == 200 and f"seg-{wanted}.m4s" in held, held
        assert last_msn(held) == wanted, "answered as soon as it was listed, not a segment later"
        written = os.stat(rung_dir / f"seg-{wanted}.m4s").st_mtime
        assert 0 <= answered - written < 0.6, f"answered {answered - written:.3f} s after the write"
        assert time.monotonic() - started > 0.05, "it was held"
        assert watchers.watchers == 0 and watchers.held == 0

        # many viewers of two renditions: one watcher per playlist file, all answered
        # (two segments ahead, the most the spec lets a client ask: held a second or more)
        _, now, _ = await get_text(viewer, path)
        wanted = last_msn(now) + 2
        low = f"/hls/{program_id}/120p/live.m3u8"
        _, low_now, _ = await get_text(viewer, low)
        low_wanted = last_msn(low_now) + 2
        requests = [get_text(viewer, f"{path}?_HLS_msn={wanted}") for _ in range(40)]
        requests += [get_text(viewer, f"{low}?_HLS_msn={low_wanted}") for _ in range(10)]
        gathered = asyncio.gather(*requests)

        async def all_held() -> bool:
            return bool(watchers.held == 50)

        await wait_for(all_held, within=5, what="50 held requests")
        assert watchers.watchers == 2, "one watcher per playlist file, not per request"
        answers = await gathered
        assert all(status == 200 for status, _, _ in answers)
        assert all(f"seg-{wanted}.m4s" in text for _, text, _ in answers[:40])
        assert all(f"seg-{low_wanted}.m4s" in text for _, text, _ in answers[40:])
        assert watchers.watchers == 0 and watchers.held == 0, "watchers end with their last waiter"

        # master playlists are never held, whatever they are asked
        started = time.monotonic()
        status, _, _ = await get_text(viewer, f"/hls/{program_id}/master.m3u8?_HLS_msn=999999")
        assert status == 200 and time.monotonic() - started < 1.0
        await pub.pc.close()


async def test_bad_directives_are_refused_with_json(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path)) as server:
        program_id, _key, viewer, pub = await _publishing(server)
        path = f"/hls/{program_id}/240p/live.m3u8"
        _, text, _ = await get_text(viewer, path)
        last = last_msn(text)
        bad = ["_HLS_msn=-1", "_HLS_msn=abc", "_HLS_msn=1.5", "_HLS_msn=", "_HLS_msn=%201", "_HLS_msn=1e3",
               "_HLS_msn=0x10", "_HLS_msn=1%0A", "_HLS_msn=" + "9" * 13, "_HLS_msn=%D9%A1",
               "_HLS_msn=1&_HLS_msn=2", "_HLS_part=0", "_HLS_msn=1&_HLS_part=-1", "_HLS_msn=1&_HLS_skip=NO",
               "_HLS_msn=" + "9" * 5000]
        for query in bad:
            async with viewer.get(f"{path}?{query}") as resp:
                assert resp.status == 400, query
                body = await resp.json()
                assert body["error"]["code"] == "bad_delivery_directive", (query, body)
                assert resp.headers["Cache-Control"] == "no-store"
        for far in (last + 3, 999_999_999_999):
            async with viewer.get(f"{path}?_HLS_msn={far}") as resp:
                assert resp.status == 400
                assert (await resp.json())["error"]["code"] == "msn_too_far"
        # the next segment's first part is held until it is listed; a skip with a window shorter
        # than the skip boundary has nothing to skip (the whole playlist)
        status, held, _ = await get_text(viewer, f"{path}?_HLS_msn={last + 1}&_HLS_part=0&_HLS_skip=YES")
        assert status == 200 and parse_playlist(held).satisfies(last + 1, 0) and "#EXT-X-SKIP" not in held
        # the playlist is intact and nothing is left waiting
        status, text, _ = await get_text(viewer, path)
        assert status == 200 and len(segments(text)) >= 2
        watchers = server.parts.live.watchers
        assert watchers.watchers == 0 and watchers.held == 0
        await pub.pc.close()


async def test_end_of_broadcast_releases_held_requests_and_vod_is_never_held(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path)) as server:
        program_id, _key, viewer, pub = await _publishing(server)
        watchers = server.parts.live.watchers
        path = f"/hls/{program_id}/240p/live.m3u8"
        _, text, _ = await get_text(viewer, path)
        wanted = last_msn(text) + 2
        held = asyncio.ensure_future(get_text(viewer, f"{path}?_HLS_msn={wanted}"))

        async def waiting() -> bool:
            return bool(watchers.held == 1)

        await wait_for(waiting, within=5, what="a held request")
        await end_program(server, program_id)
        # released by the end: the playlist's end, or the short last segment written at the end
        # (which may be the one it waited for), never the 503 of a hold that times out
        status, ended, _ = await asyncio.wait_for(held, 5)
        assert status == 200 and (ended.rstrip().endswith("#EXT-X-ENDLIST") or last_msn(ended) >= wanted)
        await pub.pc.close()
        await wait_for_state(server, program_id, "replay")  # the worker has stopped
        _, final, _ = await get_text(viewer, path)
        assert final.rstrip().endswith("#EXT-X-ENDLIST")

        # an ended playlist answers any directive at once; VOD ignores directives
        for url in (f"{path}?_HLS_msn=999999", f"/vod/{program_id}/240p/vod.m3u8?_HLS_msn=999999",
                    f"/vod/{program_id}/master.m3u8?_HLS_msn=5&_HLS_part=1"):
            started = time.monotonic()
            status, text, _ = await get_text(viewer, url)
            assert status == 200 and time.monotonic() - started < 1.0, url
        assert watchers.watchers == 0


WRITER = """
import sys
from pathlib import Path
from live.media import RenditionLog
log = RenditionLog(Path(sys.argv[1]), 1.0, 6)
log.add(0, b"segment from another process", 1.0, False)
log.write_live()
"""


async def test_writer_in_another_process_and_timeout(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path)) as server:
        viewer = server.client()
        watchers = server.parts.live.watchers
        rung_dir = server.parts.live.service.media_dir("handmade") / "240p"
        log = RenditionLog(rung_dir, 1.0, 6)  # the real playlist writer, as a media worker runs it
        log.write_init(0, b"init")
        for _ in range(2):
            log.add(0, b"segment", 1.0, False)
        log.write_live()
        path = "/hls/handmade/240p/live.m3u8"

        # nothing is written: 503 after three target durations, not cached, no watcher left
        started = time.monotonic()
        async with viewer.get(f"{path}?_HLS_msn=2") as resp:
            elapsed = time.monotonic() - started
            assert resp.status == 503
            assert (await resp.json())["error"]["code"] == "segment_not_ready"
            assert resp.headers["Cache-Control"] == "no-store" and resp.headers["Retry-After"] == "1"
        assert 2.9 <= elapsed < 4.5, elapsed
        assert watchers.watchers == 0 and watchers.held == 0

        # another process appends the segment while the request is held
        held = asyncio.ensure_future(get_text(viewer, f"{path}?_HLS_msn=2"))

        async def waiting() -> bool:
            return bool(watchers.held == 1)

        await wait_for(waiting, within=5, what="a held request")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", WRITER, str(rung_dir), env=env)
        assert await proc.wait() == 0
        written = time.time()
        status, text, _ = await asyncio.wait_for(held, 3)
        assert status == 200 and "seg-2.m4s" in text
        assert time.time() - written < 0.5


async def test_held_requests_are_capped_and_released_on_close(tmp_path: Path) -> None:
    log = RenditionLog(tmp_path / "240p", 1.0, 6)
    log.add(0, b"segment", 1.0, False)
    log.write_live()
    watchers = PlaylistWatchers(max_held=2)
    playlist = tmp_path / "240p" / "live.m3u8"
    held = [asyncio.ensure_future(watchers.wait(playlist, lambda st: st.satisfies(1), 30.0))
            for _ in range(2)]

    async def waiting() -> bool:
        return bool(watchers.held == 2)

    await wait_for(waiting, within=5, what="two held requests")
    try:
        await watchers.wait(playlist, lambda st: st.satisfies(1), 30.0)
        raise AssertionError("a third request must not be held")
    except WatchersClosed:
        pass
    assert watchers.watchers == 1
    await watchers.close()  # shutdown: everyone is answered (503), nothing keeps running
    results = await asyncio.wait_for(asyncio.gather(*held, return_exceptions=True), 5)
    assert all(isinstance(result, WatchersClosed) for result in results)
    assert watchers.watchers == 0 and watchers.held == 0


async def test_a_playlist_the_master_lists_is_held_until_its_first_write(tmp_path: Path) -> None:
    """A player that opens a program as it starts asks for a rendition's playlist (here the
    captions') before its first segment writes it: the request is held and answered with the
    playlist, not 404 (hls.js would retry seconds later and show the first lines too late). A
    playlist the master does not list, or a program with no master, is 404 at once; a playlist
    never written is 404 after the hold."""
    async with running_server(small_config(tmp_path)) as server:
        viewer = server.client()
        watchers = server.parts.live.watchers
        directory = server.parts.live.service.media_dir("handmade")
        directory.mkdir(parents=True)
        subs = "/hls/handmade/subs/ko/live.m3u8"

        started = time.monotonic()
        status, _, _ = await get_text(viewer, subs)
        assert status == 404 and time.monotonic() - started < 1.0, "no master: not broadcasting"

        rung = Rung("240p", 426, 240, 15, 300, 64)
        master = master_text((rung,), {"240p": "avc1.42c015,mp4a.40.2"}, "live.m3u8",
                             subtitles=media_lines(["ko"]))
        atomic_write(directory / "master.m3u8", master.encode())
        started = time.monotonic()
        status, _, _ = await get_text(viewer, "/hls/handmade/subs/en/live.m3u8")
        assert status == 404 and time.monotonic() - started < 1.0, "a language the master does not list"

        held = asyncio.ensure_future(get_text(viewer, subs))

        async def waiting() -> bool:
            return bool(watchers.held == 1)

        await wait_for(waiting, within=5, what="a held request")
        captions = LiveSubtitles(directory, ["ko"], 5000)  # the real writer, as the media worker runs it
        first = Segment(0, 0, 1.0, False, "seg-0.m4s", at=int(time.time() * 1000), pts=90_000)
        captions.segment_written(first, [first], 1, 0)
        written = time.time()
        status, text, headers = await asyncio.wait_for(held, 5)
        assert status == 200 and "seg-0.vtt" in text, text
        assert headers["Content-Type"] == "application/vnd.apple.mpegurl"
        assert time.time() - written < 0.5
        assert watchers.watchers == 0 and watchers.held == 0

        # the video's playlist, listed by the master, never written: 404 after the hold
        started = time.monotonic()
        status, _, _ = await get_text(viewer, "/hls/handmade/240p/live.m3u8")
        assert status == 404 and 5.5 <= time.monotonic() - started < 8.0
        assert watchers.watchers == 0 and watchers.held == 0
