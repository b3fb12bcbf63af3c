"""Premieres: an uploaded file is transcoded ahead of time and revealed by the (fake) clock from
the program's start time, ending with the file; bad uploads are refused with clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from kernel.clock import ManualClock
from live.tracks import make_offer
from tests.helpers import Server, running_server

from .support import (
    decode,
    get_bytes,
    get_text,
    make_media_file,
    maps,
    segments,
    small_config,
    wait_for,
    wait_for_state,
)


async def _premiere(server: Server, start: datetime) -> str:
    producer = await server.producer()
    body = {"title": "프리미어", "kind": "premiere", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(minutes=30)).isoformat()}
    async with producer.post("/api/programs", json=body) as resp:
        assert resp.status == 201, await resp.text()
        return str((await resp.json())["id"])


async def _upload(client: aiohttp.ClientSession, program_id: str, data: bytes,
                  ctype: str = "video/mp4") -> tuple[int, dict[str, object]]:
    async with client.post(f"/api/programs/{program_id}/media", data=data,
                           headers={"Content-Type": ctype}) as resp:
        return resp.status, await resp.json()


async def test_premiere_starts_on_the_clock_and_ends_with_the_file(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    start = now + timedelta(hours=1)
    async with running_server(small_config(tmp_path), clock=clock) as server:
        program_id = await _premiere(server, start)
        producer = await server.producer()
        media = make_media_file(tmp_path / "film.mp4", seconds=3.0).read_bytes()
        status, body = await _upload(producer, program_id, media)
        assert status == 202, body
        assert body["state"] == "transcoding" and body["width"] == 320 and body["has_audio"] is True

        async def ready() -> bool:
            async with producer.get(f"/api/programs/{program_id}/media") as resp:
                return (await resp.json())["state"] == "ready"

        await wait_for(ready, what="transcode")
        viewer = server.client()
        await clock.wait_for_sleeper(start)  # the reveal waits for the start time now
        for early in ("master.m3u8", "240p/live.m3u8", "240p/init-0.mp4", "240p/seg-0.m4s"):
            status_code, _, _ = await get_text(viewer, f"/hls/{program_id}/{early}")
            assert status_code == 404, f"{early} is shown before the start time"

        await clock.set(start + timedelta(seconds=1.5))

        async def first_segment() -> str | None:
            code, text, _ = await get_text(viewer, f"/hls/{program_id}/240p/live.m3u8")
            return text if code == 200 and segments(text) else None

        text = await wait_for(first_segment, what="the first revealed segment")
        assert segments(text) == ["seg-0.m4s"] and "#EXT-X-ENDLIST" not in text
        code, master, _ = await get_text(viewer, f"/hls/{program_id}/master.m3u8")
        assert code == 200 and "RESOLUTION=320x240" in master
        frames, audio = decode(await get_bytes(viewer, f"/hls/{program_id}/240p/{maps(text)[0]}"),
                               await get_bytes(viewer, f"/hls/{program_id}/240p/seg-0.m4s"))
        assert frames[0].width == 320 and frames[0].key_frame and audio > 0

        # a started premiere's file can no longer change
        status, body = await _upload(producer, program_id, media)
        assert status == 409 and body["error"]["code"] == "premiere_started"

        await clock.set(start + timedelta(seconds=10))

        async def ended() -> str | None:
            code, text, _ = await get_text(viewer, f"/hls/{program_id}/240p/live.m3u8")
            return text if code == 200 and "#EXT-X-ENDLIST" in text else None

        text = await wait_for(ended, what="the end of the file")
        assert len(segments(text)) == 3

        # when the schedule ends the program, the premiere becomes a replay like any broadcast
        programs = server.parts.schedule.service
        await programs.set_state(program_id, "ended")

        await wait_for_state(server, program_id, "replay")
        code, vod, _ = await get_text(viewer, f"/vod/{program_id}/240p/vod.m3u8")
        assert code == 200 and segments(vod) == ["seg-0.m4s", "seg-1.m4s", "seg-2.m4s"]


async def test_bad_uploads_are_refused(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    async with running_server(small_config(tmp_path, live_max_upload_mb=1), clock=ManualClock(now)) as server:
        program_id = await _premiere(server, now + timedelta(hours=2))
        producer = await server.producer()
        host = await server.host()
        anonymous = server.client()
        media = make_media_file(tmp_path / "ok.mp4", seconds=1.0).read_bytes()
        audio_only = make_media_file(tmp_path / "a.mp4", seconds=1.0, video=False).read_bytes()

        assert (await _upload(anonymous, program_id, media))[0] == 401
        assert (await _upload(host, program_id, media))[0] == 403
        cases = [
            (b"hello, this is not a film" * 100, "video/mp4", 400, "not_media"),
            (b"", "video/mp4", 400, "empty_upload"),
            (audio_only, "video/mp4", 400, "not_video"),
            (media[: len(media) // 3], "video/mp4", 400, None),
            (b"--x\r\n\r\n" + media, "multipart/form-data; boundary=x", 415, "unsupported_media_type"),
            (b"\0" * (1024 * 1024 + 10), "video/mp4", 413, "payload_too_large"),
        ]
        for data, ctype, expected, code in cases:
            status, body = await _upload(producer, program_id, data, ctype)
            assert status == expected, (status, body)
            error = body["error"]
            assert isinstance(error, dict) and error["message"]
            if code:
                assert error["code"] == code
        status, body = await _upload(producer, "no-such-program", media)
        assert status == 404
        # nothing half-made is left behind, and a good file is still taken afterwards
        async with producer.get(f"/api/programs/{program_id}/media") as resp:
            assert (await resp.json())["state"] == "none"
        assert (await _upload(producer, program_id, media))[0] == 202

        # a premiere plays its file: nobody publishes into it
        async with producer.post(f"/api/programs/{program_id}/stream-key") as resp:
            key = (await resp.json())["stream_key"]
        pc = await make_offer()
        async with aiohttp.ClientSession() as raw:
            async with raw.post(f"{server.url}/whip/{program_id}", data=pc.localDescription.sdp,
                                headers={"Authorization": f"Bearer {key}",
                                         "Content-Type": "application/sdp"}) as resp:
                assert resp.status == 409 and (await resp.json())["error"]["code"] == "premiere_program"
        await pc.close()

        live_id = (await _premiere_live(server, now + timedelta(hours=5)))
        status, body = await _upload(producer, live_id, media)
        assert status == 409 and body["error"]["code"] == "not_a_premiere"


async def _premiere_live(server: Server, start: datetime) -> str:
    producer = await server.producer()
    body = {"title": "생방송", "kind": "live", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(minutes=30)).isoformat()}
    async with producer.post("/api/programs", json=body) as resp:
        return str((await resp.json())["id"])


async def test_a_ready_premiere_survives_a_restart(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    start = now + timedelta(hours=1)
    config = small_config(tmp_path)
    async with running_server(config, clock=ManualClock(now)) as server:
        program_id = await _premiere(server, start)
        producer = await server.producer()
        media = make_media_file(tmp_path / "film.mp4", seconds=2.0).read_bytes()
        assert (await _upload(producer, program_id, media))[0] == 202

        async def ready() -> bool:
            async with producer.get(f"/api/programs/{program_id}/media") as resp:
                return (await resp.json())["state"] == "ready"

        await wait_for(ready, what="transcode")

    clock = ManualClock(start + timedelta(seconds=1.5))
    async with running_server(config, clock=clock) as server:
        viewer = server.client()

        async def revealed() -> str | None:
            code, text, _ = await get_text(viewer, f"/hls/{program_id}/240p/live.m3u8")
            return text if code == 200 and segments(text) else None

        text = await wait_for(revealed, what="the premiere resumed after a restart")
        assert segments(text) == ["seg-0.m4s"]
