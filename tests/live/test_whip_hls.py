"""End to end: an aiortc client publishes the generated source over WHIP; the HLS ladder appears,
decodes at the ladder's sizes, carries on with the slate when the publisher drops or stops for a
break, and becomes a replay at the end of the program."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from live.font import age_ms, read_bits
from live.source import wall_ms
from live.tracks import make_offer, whip_publish
from tests.helpers import running_server

from .support import (
    decode,
    end_program,
    ffprobe,
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


async def _playlist_with(client: aiohttp.ClientSession, path: str, count: int) -> str | None:
    status, text, _ = await get_text(client, path)
    return text if status == 200 and len(segments(text)) >= count else None


async def _after_discontinuity(client: aiohttp.ClientSession, path: str, count: int) -> str | None:
    """The live playlist once it lists `count` segments after a discontinuity."""
    _, text, _ = await get_text(client, path)
    after = text.split(DISC, 1)
    return text if len(after) == 2 and len(segments(after[1])) >= count else None


async def test_publish_ladder_decodes_a_break_shows_the_slate_and_the_end_makes_the_replay(
        tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path)) as server:
        program_id, key = await new_program(server)
        viewer = server.client()
        pub = await whip_publish(viewer, f"{server.url}/whip/{program_id}", key)
        assert pub.location.startswith(f"/whip/{program_id}/")
        assert "a=recvonly" in pub.answer

        async def master() -> str | None:
            status, text, headers = await get_text(viewer, f"/hls/{program_id}/master.m3u8")
            if status != 200:
                return None
            assert headers["Cache-Control"] == "public, max-age=1"
            return text

        text = await wait_for(master, what="master playlist")
        _, metrics, _ = await get_text(viewer, "/metrics")
        assert "innotv_live_publishers 1.0" in metrics and "innotv_live_media_workers 1.0" in metrics
        assert "RESOLUTION=320x240" in text and "RESOLUTION=160x120" in text
        assert 'CODECS="avc1.' in text and "mp4a.40.2" in text and "BANDWIDTH=" in text

        for rung, (width, height) in (("240p", (320, 240)), ("120p", (160, 120))):
            playlist = await wait_for(
                lambda r=rung: _playlist_with(viewer, f"/hls/{program_id}/{r}/live.m3u8", 2),
                what=f"{rung} segments",
            )
            assert "#EXT-X-TARGETDURATION:1" in playlist
            init = await get_bytes(viewer, f"/hls/{program_id}/{rung}/{maps(playlist)[-1]}")
            seg_name = segments(playlist)[-1]
            async with viewer.get(f"/hls/{program_id}/{rung}/{seg_name}") as resp:
                assert resp.status == 200
                assert "immutable" in resp.headers["Cache-Control"]
                seg = await resp.read()
            frames, audio_frames = decode(init, seg)
            assert frames and audio_frames > 0
            assert (frames[0].width, frames[0].height) == (width, height)
            assert frames[0].key_frame, "every segment starts with a keyframe"
            # the burnt-in clock survives the trip: a recent wall-clock time, in milliseconds
            assert age_ms(read_bits(frames[0]), wall_ms()) < 15_000
            streams = ffprobe(init, seg)
            video = next(s for s in streams if s["codec_type"] == "video")
            assert (video["codec_name"], video["width"], video["height"]) == ("h264", width, height)
            assert any(s["codec_name"] == "aac" for s in streams)

        # the host stops for a break (WHIP DELETE while the program is live): the slate plays
        await wait_for_state(server, program_id, "live")
        async with aiohttp.ClientSession() as raw:
            async with raw.delete(server.url + pub.location) as resp:
                assert resp.status == 200
            async with raw.delete(server.url + pub.location) as resp:
                assert resp.status == 404
                assert (await resp.json())["error"]["code"] == "session_not_found"
        await pub.pc.close()
        path = f"/hls/{program_id}/240p/live.m3u8"
        await wait_for(lambda: _after_discontinuity(viewer, path, 2), what="the slate after the break")
        status, _, _ = await get_text(viewer, f"/vod/{program_id}/master.m3u8")
        assert status == 404, "no replay while the program is on"
        program = await server.parts.schedule.service.get(program_id)
        assert program is not None and program.state == "live", "a break leaves the program on"

        await end_program(server, program_id)
        await wait_for_state(server, program_id, "replay")
        status, vod, _ = await get_text(viewer, f"/vod/{program_id}/master.m3u8")
        assert status == 200, vod
        assert "240p/vod.m3u8" in vod
        status, rendition, _ = await get_text(viewer, f"/vod/{program_id}/240p/vod.m3u8")
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in rendition and rendition.rstrip().endswith("#EXT-X-ENDLIST")
        names = segments(rendition)
        assert names[0] == "seg-0.m4s" and len(names) >= 2
        assert DISC not in rendition and maps(rendition) == ["init-0.mp4"], "the break's slate is cut"
        first, _ = decode(await get_bytes(viewer, f"/vod/{program_id}/240p/init-0.mp4"),
                          await get_bytes(viewer, f"/vod/{program_id}/240p/seg-0.m4s"))
        assert first[0].width == 320
        # the slate after the stop is not part of the replay, nor served under /vod/
        _, live_text, _ = await get_text(viewer, path)
        slate = segments(live_text.split(DISC, 1)[1])[0]
        status, _, _ = await get_text(viewer, f"/vod/{program_id}/240p/{slate}")
        assert slate not in names and status == 404


async def test_publisher_drop_shows_slate_and_republish_continues(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path)) as server:
        program_id, key = await new_program(server)
        other_id, other_key = await new_program(server, minutes=30, later_hours=3)
        viewer = server.client()
        path = f"/hls/{program_id}/240p/live.m3u8"
        other_path = f"/hls/{other_id}/120p/live.m3u8"
        pub = await whip_publish(viewer, f"{server.url}/whip/{program_id}", key)
        # another program publishing at the same time must not notice anything
        other = await whip_publish(viewer, f"{server.url}/whip/{other_id}", other_key)
        await wait_for(lambda: _playlist_with(viewer, path, 2), what="first segments")
        await pub.pc.close()  # vanish without DELETE

        text = await wait_for(lambda: _after_discontinuity(viewer, path, 2),
                              what="slate segments after a discontinuity")
        slate_part = text.split(DISC, 1)[1]
        init = await get_bytes(viewer, f"/hls/{program_id}/240p/{maps(slate_part)[0]}")
        first_slate = segments(slate_part)[0]
        frames, audio = decode(init, await get_bytes(viewer, f"/hls/{program_id}/240p/{first_slate}"))
        assert audio > 0
        plane = frames[0].planes[0]
        corner = memoryview(plane)[(frames[0].height - 4) * plane.line_size + 4]
        assert 30 <= corner <= 50, "the slate's dark blue background"

        pub2 = await whip_publish(viewer, f"{server.url}/whip/{program_id}", key)

        async def resumed() -> str | None:
            _, text, _ = await get_text(viewer, path)
            parts = text.split(DISC)
            return text if len(parts) >= 3 and len(segments(parts[-1])) >= 1 else None

        text = await wait_for(resumed, what="a second discontinuity and live segments")
        last = segments(text)[-1]
        frames, _ = decode(await get_bytes(viewer, f"/hls/{program_id}/240p/{maps(text)[-1]}"),
                           await get_bytes(viewer, f"/hls/{program_id}/240p/{last}"))
        assert age_ms(read_bits(frames[0]), wall_ms()) < 15_000, "the publisher's picture again"
        await pub2.pc.close()
        _, other_text, _ = await get_text(viewer, other_path)
        assert len(segments(other_text)) >= 3 and DISC not in other_text, "the other program went on"
        await other.pc.close()


async def test_end_of_program_finalises_replay_and_sets_state(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path)) as server:
        program_id, key = await new_program(server)
        viewer = server.client()
        pub = await whip_publish(viewer, f"{server.url}/whip/{program_id}", key)
        await wait_for(lambda: _playlist_with(viewer, f"/hls/{program_id}/120p/live.m3u8", 2),
                       what="segments")
        programs = server.parts.schedule.service
        status, _, _ = await get_text(viewer, f"/vod/{program_id}/master.m3u8")
        assert status == 404
        await programs.set_state(program_id, "ended")

        await wait_for_state(server, program_id, "replay")
        status, text, _ = await get_text(viewer, f"/vod/{program_id}/120p/vod.m3u8")
        assert status == 200 and "#EXT-X-ENDLIST" in text and "#EXT-X-PLAYLIST-TYPE:VOD" in text
        status, live_text, _ = await get_text(viewer, f"/hls/{program_id}/120p/live.m3u8")
        assert live_text.rstrip().endswith("#EXT-X-ENDLIST")
        await pub.pc.close()
        # an ended program takes no new publisher: a valid offer is refused as over
        late = await make_offer()
        try:
            async with aiohttp.ClientSession() as raw:
                async with raw.post(f"{server.url}/whip/{program_id}",
                                    data=late.localDescription.sdp.encode(),
                                    headers={"Authorization": f"Bearer {key}",
                                             "Content-Type": "application/sdp"}) as resp:
                    assert resp.status == 409
                    assert (await resp.json())["error"]["code"] == "program_over"
        finally:
            await late.close()


async def test_recording_continues_across_a_restart(tmp_path: Path) -> None:
    config = small_config(tmp_path)
    async with running_server(config) as server:
        program_id, key = await new_program(server)
        viewer = server.client()
        pub = await whip_publish(viewer, f"{server.url}/whip/{program_id}", key)
        before = await wait_for(lambda: _playlist_with(viewer, f"/hls/{program_id}/240p/live.m3u8", 2),
                                what="segments before the restart")
        async with aiohttp.ClientSession() as raw:
            async with raw.delete(server.url + pub.location) as resp:
                assert resp.status == 200
        await pub.pc.close()
    count_before = max(int(name[4:-4]) for name in segments(before)) + 1

    async with running_server(config) as server:
        viewer = server.client()
        pub = await whip_publish(viewer, f"{server.url}/whip/{program_id}", key)

        async def new_segments() -> str | None:
            # init-0: the first run, init-1: its slate (a break until the server stopped); after
            # the restart the slate may show again until the publisher's pictures arrive, so the
            # publisher's run is the last one, init-2 or later, once it has a few segments
            _, text, _ = await get_text(viewer, f"/hls/{program_id}/240p/live.m3u8")
            last = text.rsplit("#EXT-X-MAP", 1)[-1]
            runs = maps(text)
            number = int(runs[-1][5:-4]) if runs else -1
            return text if number >= 2 and len(segments(last)) >= 3 else None

        await wait_for(new_segments, what="numbering that continues after the restart")
        await end_program(server, program_id)
        await pub.pc.close()
        await wait_for_state(server, program_id, "replay")
        _, after, _ = await get_text(viewer, f"/vod/{program_id}/240p/vod.m3u8")
    names = segments(after)
    assert names[:count_before] == [f"seg-{i}.m4s" for i in range(count_before)], "the first part is kept"
    assert len(names) > count_before and DISC in after and len(set(maps(after))) >= 2
    numbers = [int(name[4:-4]) for name in names]
    assert numbers == sorted(set(numbers)), "one timeline: the slate between the runs is cut"


async def test_h264_publisher_top_rung_is_repackaged_and_aligned(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path)) as server:
        program_id, key = await new_program(server)
        viewer = server.client()
        pub = await whip_publish(viewer, f"{server.url}/whip/{program_id}", key, video_codec="video/H264")
        top = await wait_for(lambda: _playlist_with(viewer, f"/hls/{program_id}/240p/live.m3u8", 3),
                             what="pass-through segments")
        _, master, _ = await get_text(viewer, f"/hls/{program_id}/master.m3u8")
        assert "RESOLUTION=320x240" in master and 'CODECS="avc1.42' in master
        status = await server.parts.live.service.broadcasts[program_id].worker.fresh_status()
        assert status["session_kind"] == "passthrough" and status["decode_errors"] == 0
        init = await get_bytes(viewer, f"/hls/{program_id}/240p/{maps(top)[-1]}")
        for name in segments(top)[-2:]:
            frames, audio = decode(init, await get_bytes(viewer, f"/hls/{program_id}/240p/{name}"))
            assert frames[0].key_frame and (frames[0].width, frames[0].height) == (320, 240) and audio > 0
            assert ffprobe(init, await get_bytes(viewer, f"/hls/{program_id}/240p/{name}"))[0]["width"] == 320
        await wait_for(lambda: _playlist_with(viewer, f"/hls/{program_id}/120p/live.m3u8", 3), what="120p")
        await end_program(server, program_id)  # the program ends: the replay is written
        await pub.pc.close()
        await wait_for_state(server, program_id, "replay")
        _, vod_top, _ = await get_text(viewer, f"/vod/{program_id}/240p/vod.m3u8")
        _, vod_low, _ = await get_text(viewer, f"/vod/{program_id}/120p/vod.m3u8")
        durations = [[line for line in text.splitlines() if line.startswith("#EXTINF")]
                     for text in (vod_top, vod_low)]
        assert durations[0] == durations[1], "segments line up across renditions"
