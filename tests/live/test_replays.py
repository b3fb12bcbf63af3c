"""Clean replays, end to end with a real publisher (aiortc) and HLS read back with PyAV: the replay
is the show (not the camera test in the lobby, not the slate of a break or after the stop); a
producer cuts it on segment boundaries, hides and shows it, picks its thumbnail and deletes it;
a program that never aired says so; a deleted program's media is no longer served."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import aiohttp
import av

from live.font import age_ms, read_bits
from live.tracks import whip_publish
from tests.chat.clients import viewer as chat_viewer
from tests.helpers import Server, running_server

from .support import (
    decode,
    end_program,
    get_bytes,
    get_text,
    maps,
    new_program,
    segments,
    small_config,
    wait_for,
    wait_for_state,
)

DISC = "\n#EXT-X-DISCONTINUITY\n"


async def _json(client: aiohttp.ClientSession, method: str, path: str,
                body: Any = None) -> tuple[int, Any]:
    async with client.request(method, path, json=body) as resp:
        return resp.status, (await resp.json() if resp.content_type == "application/json" else None)


async def _segments_after(client: aiohttp.ClientSession, path: str, init: str, count: int) -> str | None:
    """The live playlist once `count` segments follow the map `init` (at most the window, 6)."""
    status, text, _ = await get_text(client, path)
    if status != 200 or f'URI="{init}"' not in text:
        return None
    return text if len(segments(text.split(f'URI="{init}"', 1)[1])) >= count else None


async def _numbered(client: aiohttp.ClientSession, path: str, seq: int) -> str | None:
    """The live playlist once it lists segment number `seq`."""
    status, text, _ = await get_text(client, path)
    return text if status == 200 and _last_seq(text) >= seq else None


def _last_seq(playlist: str) -> int:
    return max((int(name[4:-4]) for name in segments(playlist)), default=-1)


def _journal(server: Server, program_id: str, rung: str) -> list[dict[str, Any]]:
    path = Path(server.config.core.data_dir) / "live" / program_id / rung / "segments.log"
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_the_replay_is_the_show_and_a_producer_shapes_it(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path)) as server:
        program_id, key = await new_program(server, minutes=30, later_hours=1)  # not on yet
        viewer = server.client()
        producer = await server.producer()
        path = f"/hls/{program_id}/240p/live.m3u8"
        # the host tests the camera before the show
        pub = await whip_publish(viewer, f"{server.url}/whip/{program_id}", key)
        text = await wait_for(lambda: _segments_after(viewer, path, "init-0.mp4", 3), what="the camera test")
        status, started = await _json(producer, "POST", f"/api/programs/{program_id}/start")
        assert status == 200 and started["state"] == "live"
        start_ms = int(_seconds(started["starts_at"]) * 1000)
        await wait_for(lambda: _numbered(viewer, path, _last_seq(text) + 5), what="the show")
        # a break: the slate, then the host is back
        async with aiohttp.ClientSession() as raw:
            async with raw.delete(server.url + pub.location) as resp:
                assert resp.status == 200
        await pub.pc.close()
        await wait_for(lambda: _segments_after(viewer, path, "init-1.mp4", 2), what="the break's slate")
        pub = await whip_publish(viewer, f"{server.url}/whip/{program_id}", key)
        await wait_for(lambda: _segments_after(viewer, path, "init-2.mp4", 3), what="back from the break")
        async with aiohttp.ClientSession() as raw:  # the host stops, the slate plays until the end
            async with raw.delete(server.url + pub.location) as resp:
                assert resp.status == 200
        await pub.pc.close()
        await wait_for(lambda: _segments_after(viewer, path, "init-3.mp4", 2), what="the slate at the end")
        room = await chat_viewer(server)
        await room.join(f"program:{program_id}")
        status, error = await _json(viewer, "GET", f"/api/programs/{program_id}/replay")
        assert (status, error["state"]) == (200, "pending")
        ended = await end_program(server, program_id)
        await wait_for_state(server, program_id, "replay")
        await room.rec.wait_for("program", lambda p: p["id"] == program_id and p["state"] == "replay")
        end_ms = int(_seconds(ended["ends_at"]) * 1000)

        journal = _journal(server, program_id, "240p")
        status, vod, _ = await get_text(viewer, f"/vod/{program_id}/240p/vod.m3u8")
        assert status == 200
        names = segments(vod)
        slate = {e["file"] for e in journal if e.get("slate")}
        show = [e["file"] for e in journal if not e.get("slate") and e["at"] + e["duration"] * 1000 > start_ms
                and e["at"] < end_ms]
        camera_test = [e["file"] for e in journal if e["at"] + e["duration"] * 1000 <= start_ms]
        assert slate and camera_test, "there was a slate and a camera test to leave out"
        assert names == show and not slate & set(names) and not set(camera_test) & set(names)
        assert vod.count(DISC) == 1, "one cut where the break's slate was"
        # the picture of the first segment was taken when the show began (the burnt-in clock)
        first = decode(await get_bytes(viewer, f"/vod/{program_id}/240p/{maps(vod)[0]}"),
                       await get_bytes(viewer, f"/vod/{program_id}/240p/{names[0]}"))[0][0]
        taken = start_ms + 5_000 - age_ms(read_bits(first), start_ms + 5_000)  # the wall clock in the picture
        assert start_ms - 1_100 <= taken <= start_ms + 1_100, (taken, start_ms)
        # what the replay does not list is not served under /vod/
        for name in sorted(slate)[:1] + camera_test[:1]:
            assert await _status(viewer, f"/vod/{program_id}/240p/{name}") == 404, name

        # ---- a producer shapes it ----
        status, state = await _json(producer, "GET", f"/api/programs/{program_id}/replay")
        assert status == 200 and state["state"] == "ready" and state["hidden"] is False
        recorded = state["recorded"]
        assert state["duration"] == recorded and abs(recorded - sum(_durations(vod))) < 0.01
        assert state["thumbnail"].startswith(f"/vod/{program_id}/thumb-")
        status, cut = await _json(producer, "PATCH", f"/api/programs/{program_id}/replay",
                                  {"in": 1.4, "out": 3.2})
        assert status == 200, cut
        assert (cut["in"], cut["out"]) == (1.0, 4.0), "snapped to the segments' boundaries"
        assert cut["duration"] == 3.0 and cut["recorded"] == recorded
        _, trimmed, _ = await get_text(viewer, f"/vod/{program_id}/240p/vod.m3u8")
        assert segments(trimmed) == names[1:4] and _durations(trimmed) == [1.0, 1.0, 1.0]
        _, low, _ = await get_text(viewer, f"/vod/{program_id}/120p/vod.m3u8")
        assert _durations(low) == _durations(trimmed), "every rung is cut alike"
        assert await _status(viewer, f"/vod/{program_id}/240p/{names[0]}") == 404

        # the thumbnail: a JPEG of the picture at the time asked, under a new name
        status, picked = await _json(producer, "PATCH", f"/api/programs/{program_id}/replay",
                                     {"thumbnail_at": 2.5})
        assert status == 200 and picked["thumbnail_at"] == 2.5 and picked["thumbnail"] != cut["thumbnail"]
        async with viewer.get(picked["thumbnail"]) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"] == "image/jpeg"
            assert "immutable" in resp.headers["Cache-Control"]
            jpeg = await resp.read()
        with av.open(io.BytesIO(jpeg), "r") as image:
            picture = next(image.decode(video=0))
        assert (picture.width, picture.height) == (320, 240)

        # refused edits change nothing
        before = (await _json(producer, "GET", f"/api/programs/{program_id}/replay"))[1]
        host = await server.host()
        for client, body, code, status_code in (
            (producer, {"in": recorded + 5}, "invalid_trim", 400),
            (producer, {"in": 3.0, "out": 2.0}, "invalid_trim", 400),
            (producer, {"out": "end"}, "invalid_type", 400),
            (producer, {"in": -1}, "invalid_field", 400),
            (producer, {"thumbnail_at": 99.0}, "invalid_field", 400),
            (producer, {"hidden": "yes"}, "invalid_type", 400),
            (producer, {"speed": 2}, "unknown_field", 400),
            (host, {"hidden": True}, "forbidden", 403),
            (server.client(), {"hidden": True}, "not_authenticated", 401),
        ):
            status, error = await _json(client, "PATCH", f"/api/programs/{program_id}/replay", body)
            assert (status, error["error"]["code"]) == (status_code, code), body
        assert (await _json(producer, "GET", f"/api/programs/{program_id}/replay"))[1] == before

        # hidden: not served, the program is `ended` again (viewers hear of it), shown again later
        replay = f"/api/programs/{program_id}/replay"
        status, hidden = await _json(producer, "PATCH", replay, {"hidden": True})
        assert status == 200 and hidden["state"] == "hidden"
        await room.rec.wait_for("program", lambda p: p["id"] == program_id and p["state"] == "ended"
                                and any(q["state"] == "replay" for q in room.rec.all("program")))
        status, error = await _json(viewer, "GET", f"/vod/{program_id}/master.m3u8")
        assert (status, error["error"]["code"]) == (404, "replay_not_found")
        assert (await _json(viewer, "GET", f"/api/programs/{program_id}"))[1]["state"] == "ended"
        status, shown = await _json(producer, "PATCH", replay, {"hidden": False})
        assert status == 200 and shown["state"] == "ready" and shown["duration"] == 3.0
        await wait_for_state(server, program_id, "replay")
        assert (await get_text(viewer, f"/vod/{program_id}/master.m3u8"))[0] == 200

        # deleted: the media is gone, the program stays, `ended`
        assert (await _json(host, "DELETE", f"/api/programs/{program_id}/replay"))[0] == 403
        status, _ = await _json(producer, "DELETE", f"/api/programs/{program_id}/replay")
        assert status == 204
        await wait_for_state(server, program_id, "ended")
        status, state = await _json(viewer, "GET", f"/api/programs/{program_id}/replay")
        assert state["state"] == "deleted" and state["master"] is None
        for gone in (f"/vod/{program_id}/master.m3u8", f"/hls/{program_id}/240p/live.m3u8",
                     f"/hls/{program_id}/240p/{names[1]}", picked["thumbnail"]):
            assert await _status(viewer, gone) == 404, gone
        folder = Path(server.config.core.data_dir) / "live" / program_id
        assert [p.name for p in folder.iterdir()] == ["replay.json"]
        status, error = await _json(producer, "PATCH", f"/api/programs/{program_id}/replay", {"hidden": True})
        assert (status, error["error"]["code"]) == (409, "replay_not_ready")
        await room.close()


async def test_a_program_that_never_aired_says_so(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path)) as server:
        program_id, _key = await new_program(server)
        await wait_for_state(server, program_id, "live")
        viewer = server.client()
        assert (await _json(viewer, "GET", f"/api/programs/{program_id}/replay"))[1]["state"] == "pending"
        await end_program(server, program_id)
        status, state = await _json(viewer, "GET", f"/api/programs/{program_id}/replay")
        assert status == 200 and state == {"program_id": program_id, "state": "none", "duration": None,
                                           "master": None, "thumbnail": None}
        assert (await _json(viewer, "GET", f"/api/programs/{program_id}"))[1]["state"] == "ended"
        status, error = await _json(viewer, "GET", f"/vod/{program_id}/master.m3u8")
        assert (status, error["error"]["code"]) == (404, "replay_not_found")
        producer = await server.producer()
        status, error = await _json(producer, "DELETE", f"/api/programs/{program_id}/replay")
        assert (status, error["error"]["code"]) == (409, "replay_not_ready")
        assert (await _json(viewer, "GET", "/api/programs/nope/replay"))[0] == 404


async def test_a_deleted_programs_media_is_no_longer_served(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path)) as server:
        program_id, key = await new_program(server)
        viewer = server.client()
        pub = await whip_publish(viewer, f"{server.url}/whip/{program_id}", key)
        path = f"/hls/{program_id}/240p/live.m3u8"
        playlist = await wait_for(lambda: _segments_after(viewer, path, "init-0.mp4", 2), what="segments")
        segment = f"/hls/{program_id}/240p/{segments(playlist)[0]}"
        assert await _status(viewer, segment) == 200
        producer = await server.producer()
        async with producer.delete(f"/api/programs/{program_id}") as resp:
            assert resp.status == 204
        folder = Path(server.config.core.data_dir) / "live" / program_id

        async def gone() -> bool:
            statuses = [await _status(viewer, p) for p in (path, segment, f"/hls/{program_id}/master.m3u8")]
            trash = folder.parent / ".trash"
            emptied = not folder.exists() and not (trash.exists() and any(trash.iterdir()))
            return statuses == [404] * 3 and emptied

        await wait_for(gone, what="the media removed")
        await wait_for(lambda: _closed(pub.pc), what="the publisher disconnected")
        assert program_id not in server.parts.live.service.broadcasts


async def _status(client: aiohttp.ClientSession, path: str) -> int:
    async with client.get(path) as resp:
        await resp.read()
        return resp.status


async def _closed(pc: Any) -> bool:
    return bool(pc.connectionState in ("closed", "failed"))


def _durations(playlist: str) -> list[float]:
    return [float(line[8:].rstrip(",")) for line in playlist.splitlines() if line.startswith("#EXTINF:")]


def _seconds(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()
