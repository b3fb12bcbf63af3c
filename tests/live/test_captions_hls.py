"""Captions in the HLS and in the replay, on a real broadcast (WHIP in, the media worker
process writing segments): a line committed by a captioner is in the WebVTT rendition within one
segment of its commit, placed on the video's timeline; the replay carries the whole subtitle
track, offers it as .vtt and .srt, and a producer's correction after the show rewrites them."""

from __future__ import annotations

import html
import io
import json
import re
import time
from pathlib import Path
from typing import Any

import webvtt

from live.subtitles import OFFSET_S
from live.tracks import whip_publish
from tests.captions.conftest import captioner
from tests.helpers import Server, running_server

from .support import end_program, get_text, new_program, segments, small_config, wait_for, wait_for_state


def journal(server: Server, program_id: str, rung: str = "240p") -> dict[int, dict[str, Any]]:
    path = Path(server.config.core.data_dir) / "live" / program_id / rung / "segments.log"
    return {entry["seq"]: entry for entry in map(json.loads, path.read_text().splitlines())}


async def vtt_with(server: Server, program_id: str, text: str) -> tuple[str, webvtt.WebVTT] | None:
    """The first live subtitle segment listing a cue with `text`."""
    client = server.client()
    status, playlist, _ = await get_text(client, f"/hls/{program_id}/subs/ko/live.m3u8")
    if status != 200:
        return None
    for name in segments(playlist):
        status, body, headers = await get_text(client, f"/hls/{program_id}/subs/ko/{name}")
        assert status == 200 and headers["Content-Type"].startswith("text/vtt")
        parsed = webvtt.from_string(body)
        if any(html.unescape(c.text) == text for c in parsed.captions):
            return name, parsed
    return None


async def test_a_committed_line_is_in_the_hls_within_a_segment_and_in_the_replay(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path)) as server:
        program_id, key = await new_program(server)
        room = f"program:{program_id}"
        pub = await whip_publish(server.client(), f"{server.url}/whip/{program_id}", key)

        async def listed() -> bool:
            status, text, _ = await get_text(server.client(), f"/hls/{program_id}/subs/ko/live.m3u8")
            return status == 200 and len(segments(text)) >= 2

        await wait_for(listed, what="the subtitle playlist")
        master = (await get_text(server.client(), f"/hls/{program_id}/master.m3u8"))[1]
        assert 'TYPE=SUBTITLES,GROUP-ID="subs",NAME="한국어",LANGUAGE="ko"' in master
        cap = await captioner(server)
        await cap.join(room)
        sent: list[tuple[str, float, dict[str, Any]]] = []
        for text in ("첫 번째 자막입니다", "<b>굵게</b> & 그대로"):
            committed = time.time() * 1000
            ack = await cap.call("caption", {"room": room, "text": text})
            assert ack["ok"], ack
            sent.append((text, committed, ack))
            found = await wait_for(lambda text=text: vtt_with(server, program_id, text), within=20,
                                   what=f"{text!r} in a subtitle segment")
            name, parsed = found
            cue = next(c for c in parsed.captions if html.unescape(c.text) == text)
            assert cue.identifier == f"c{ack['id']}-0"
            seq = int(re.findall(r"\d+", name)[0])
            seg = journal(server, program_id)[seq]
            placed = seg["at"] + (cue.start_in_seconds - OFFSET_S) * 1000  # the cue's start, wall clock
            # On the video's timeline within one segment of the commit (never after it).
            assert committed - 1000 - 50 <= placed <= time.time() * 1000, (committed, placed)
        # Text is escaped in the WebVTT: shown as text, never as markup.
        raw = (await get_text(server.client(), f"/hls/{program_id}/subs/ko/{found[0]}"))[1]
        assert "&lt;b&gt;굵게&lt;/b&gt; &amp; 그대로" in raw and "<b>" not in raw

        await pub.pc.close()
        ended_at = time.monotonic()
        await end_program(server, program_id)
        await wait_for_state(server, program_id, "replay")
        within = time.monotonic() - ended_at
        assert within < 60  # the replay with its whole subtitle track, well within a minute
        client = server.client()
        vod = (await get_text(client, f"/vod/{program_id}/master.m3u8"))[1]
        assert 'URI="subs/ko/vod.m3u8"' in vod and ',SUBTITLES="subs"' in vod
        subs_vod = (await get_text(client, f"/vod/{program_id}/subs/ko/vod.m3u8"))[1]
        video_vod = (await get_text(client, f"/vod/{program_id}/240p/vod.m3u8"))[1]
        assert [n.split("-")[1] for n in segments(subs_vod)] == [n.split("-")[1].replace(".m4s", ".vtt")
                                                                 for n in segments(video_vod)]
        assert "#EXT-X-ENDLIST" in subs_vod
        status, whole, headers = await get_text(client, f"/vod/{program_id}/captions-ko.vtt")
        assert status == 200 and headers["Cache-Control"] == "no-cache"
        track = webvtt.from_string(whole)
        assert [c.identifier for c in track.captions] == [f"c{a['id']}-0" for _, _, a in sent]
        srt_text = (await get_text(client, f"/vod/{program_id}/captions-ko.srt"))[1]
        srt = webvtt.from_buffer(io.StringIO(srt_text), format="srt")
        assert len(srt.captions) == len(sent)
        blocks = [block.splitlines() for block in srt_text.strip().split("\n\n")]
        assert [b[2] for b in blocks] == [t for t, _, _ in sent]  # SubRip has no escapes: as typed
        assert all(0 <= c.start_in_seconds < c.end_in_seconds for c in srt.captions)

        # A producer corrects the first line after the show: the downloads follow.
        producer = await server.producer()
        async with producer.patch(f"/api/programs/{program_id}/captions/{sent[0][2]['id']}",
                                  json={"text": "고친 첫 번째 자막"}) as resp:
            assert resp.status == 200 and (await resp.json())["rev"] == 1
        anonymous = server.client()
        async with anonymous.patch(f"/api/programs/{program_id}/captions/1", json={"text": "x"}) as resp:
            assert resp.status == 401

        async def corrected() -> bool:
            text = (await get_text(client, f"/vod/{program_id}/captions-ko.srt"))[1]
            return "고친 첫 번째 자막" in text

        await wait_for(corrected, what="the corrected line in the replay's track")
        track = webvtt.from_string((await get_text(client, f"/vod/{program_id}/captions-ko.vtt"))[1])
        assert track.captions[0].identifier == f"c{sent[0][2]['id']}-1"
        subs_vod = (await get_text(client, f"/vod/{program_id}/subs/ko/vod.m3u8"))[1]
        assert segments(subs_vod)[0].startswith("r2-")  # a new edition: cached old segments stay right
