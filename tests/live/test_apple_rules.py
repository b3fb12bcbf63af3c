"""What Safari's native HLS player needs, checked on our real output (there is no Safari on these
machines, so this is the closest we get): the MUSTs of RFC 8216 and of Apple's HLS authoring
specification that apply to a muxed fMP4 H.264 + AAC ladder, for an encoded and a passed-through
top rung. Checked: the multivariant playlist's attributes, CODECS matching the init segments' avcC
(a wrong one makes players skip the variant), the AAC decoder configuration in every init
segment, H.264 at most High profile level 4.2, EXTINF within the target duration, an EXT-X-MAP
before the first segment of every discontinuity, EXT-X-PROGRAM-DATE-TIME on every live segment
(the wall clock of its start), and the fMP4 box structure (ftyp + moov with
mvex; moof with a tfdt per track + mdat). The WebVTT subtitle rendition of the captions: its
EXT-X-MEDIA (TYPE=SUBTITLES, LANGUAGE, NAME, AUTOSELECT=YES, a URI; DEFAULT=YES only with
AUTOSELECT=YES; FORCED=NO), every variant naming its group, a playlist that mirrors the video's
(same media sequence, discontinuity sequence, target duration, EXTINF durations), and segments
that start with WEBVTT and carry an X-TIMESTAMP-MAP mapping to their video segment's timestamp."""

from __future__ import annotations

import itertools
import math
import re
import struct
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from live.subtitles import OFFSET_S
from live.tracks import whip_publish
from tests.helpers import running_server

from .support import get_bytes, get_text, new_program, segments, small_config, wait_for


def boxes(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[bytes, bytes]]:
    """The (type, payload) of each box between start and end (one level)."""
    out, at, end = [], start, len(data) if end is None else end
    while at + 8 <= end:
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        head = 8
        if size == 1:
            size, head = struct.unpack(">Q", data[at + 8:at + 16])[0], 16
        assert size >= head and at + size <= end, f"bad box {kind!r} at {at}"
        out.append((kind, data[at + head:at + size]))
        at += size
    assert at == end, "trailing bytes after the last box"
    return out


def children(payload: bytes) -> dict[bytes, list[bytes]]:
    found: dict[bytes, list[bytes]] = {}
    for kind, body in boxes(payload):
        found.setdefault(kind, []).append(body)
    return found


def check_program_date_time(playlist: str, now: float) -> None:
    """Every segment of a live broadcast carries EXT-X-PROGRAM-DATE-TIME (RFC 8216 4.3.2.6: ISO
    8601 with a time zone; Apple: the first segment and the first after each discontinuity must
    have one): the wall-clock time of its first sample. Between two segments without a
    discontinuity the dates advance by the first one's EXTINF, and the newest segment ended in
    the last few seconds."""
    dated: list[tuple[float, float, bool]] = []  # (date, EXTINF, after a discontinuity)
    date: float | None = None
    discontinuity = False
    for line in playlist.splitlines():
        if line == "#EXT-X-DISCONTINUITY":
            discontinuity = True
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            value = line.split(":", 1)[1]
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", value), line
            date = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        elif line.startswith("#EXTINF:"):
            assert date is not None, f"a segment without EXT-X-PROGRAM-DATE-TIME:\n{playlist}"
            dated.append((date, float(line.split(":")[1].rstrip(",")), discontinuity))
            date, discontinuity = None, False
    assert len(dated) >= 2
    for (start, duration, _), (following, _, cut) in itertools.pairwise(dated):
        if not cut:
            assert abs(following - (start + duration)) < 0.005, playlist
    last_start, last_duration, _ = dated[-1]
    assert now - 30 < last_start + last_duration <= now + 0.5, (now, playlist)


def attributes(line: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1])}


@pytest.mark.parametrize("codec", ["video/VP8", "video/H264"])
async def test_output_follows_the_rules_safari_relies_on(tmp_path: Path, codec: str) -> None:
    async with running_server(small_config(tmp_path)) as server:
        program_id, key = await new_program(server)
        viewer = server.client()
        pub = await whip_publish(viewer, f"{server.url}/whip/{program_id}", key, video_codec=codec)

        async def ready() -> str | None:
            status, text, _ = await get_text(viewer, f"/hls/{program_id}/master.m3u8")
            if status != 200 or text.count("#EXT-X-STREAM-INF") < 2:
                return None
            for rung in ("240p", "120p"):
                status, playlist, _ = await get_text(viewer, f"/hls/{program_id}/{rung}/live.m3u8")
                if status != 200 or len(segments(playlist)) < 2:
                    return None
            return text

        master = await wait_for(ready, what="both rungs with two segments")
        lines = master.splitlines()
        assert lines[0] == "#EXTM3U" and "#EXT-X-INDEPENDENT-SEGMENTS" in lines
        assert int(next(v for v in lines if v.startswith("#EXT-X-VERSION:")).split(":")[1]) >= 7
        variants = [(attributes(line), lines[i + 1]) for i, line in enumerate(lines)
                    if line.startswith("#EXT-X-STREAM-INF:")]
        media = [attributes(line) for line in lines if line.startswith("#EXT-X-MEDIA:")]
        assert [(m["TYPE"], m["GROUP-ID"], m["LANGUAGE"]) for m in media] == [("SUBTITLES", "subs", "ko")]
        subs = media[0]
        assert subs["NAME"] == "한국어" and subs["AUTOSELECT"] == "YES" and subs["FORCED"] == "NO"
        assert subs["DEFAULT"] == "NO" or subs["AUTOSELECT"] == "YES"
        assert subs["CHARACTERISTICS"] == "public.accessibility.transcribes-spoken-dialog"
        assert all(attrs.get("SUBTITLES") == "subs" for attrs, _ in variants)
        await check_subtitle_rendition(viewer, program_id, subs["URI"], variants[0][1])
        for attrs, uri in variants:
            for required in ("BANDWIDTH", "CODECS", "RESOLUTION", "FRAME-RATE"):
                assert attrs.get(required), f"{required} missing: {attrs}"
            video, audio = attrs["CODECS"].split(",")
            assert audio == "mp4a.40.2"
            profile, level = int(video[5:7], 16), int(video[9:11], 16)
            assert video.startswith("avc1.") and profile in (66, 77, 100) and level <= 42, video

            rung = uri.split("/")[0]
            playlist = (await get_text(viewer, f"/hls/{program_id}/{uri}"))[1]
            target = int(re.search(r"#EXT-X-TARGETDURATION:(\d+)", playlist).group(1))  # type: ignore[union-attr]
            for duration in re.findall(r"#EXTINF:([\d.]+),", playlist):
                assert math.floor(float(duration) + 0.5) <= target  # "rounded to the nearest integer"
            # every segment is preceded (since the last discontinuity) by an EXT-X-MAP
            mapped = False
            for line in playlist.splitlines():
                if line == "#EXT-X-DISCONTINUITY":
                    mapped = False
                elif line.startswith("#EXT-X-MAP:"):
                    mapped = True
                elif line.endswith(".m4s"):
                    assert mapped, playlist
            check_program_date_time(playlist, time.time())
            init_name = re.findall(r'#EXT-X-MAP:URI="([^"]+)"', playlist)[-1]
            init = await get_bytes(viewer, f"/hls/{program_id}/{rung}/{init_name}")
            top = children(init)
            assert list(top) == [b"ftyp", b"moov"]
            moov = children(top[b"moov"][0])
            assert b"mvex" in moov and len(moov[b"trak"]) == 2  # fragmented, video + audio muxed
            # AAC-LC, 48 kHz, stereo: the AudioSpecificConfig (0x1190...) in the esds descriptor
            esds = init[init.find(b"esds"):][:96]
            assert re.search(rb"\x05\x80*[\x02-\x7f]\x11\x90", esds), esds.hex()
            at = init.find(b"avcC")
            assert f"avc1.{init[at + 5]:02x}{init[at + 6]:02x}{init[at + 7]:02x}" == video
            for name in segments(playlist)[-2:]:
                data = await get_bytes(viewer, f"/hls/{program_id}/{rung}/{name}")
                kinds = [kind for kind, _ in boxes(data)]
                assert kinds[-2:] == [b"moof", b"mdat"] and set(kinds) <= {b"styp", b"sidx", b"moof", b"mdat"}
                moof = children(boxes(data)[-2][1])
                assert len(moof[b"traf"]) == 2
                assert all(b"tfdt" in children(traf) for traf in moof[b"traf"])
        await pub.pc.close()


def _head(playlist: str, tag: str) -> str:
    return next(line.split(":", 1)[1] for line in playlist.splitlines() if line.startswith(tag + ":"))


async def check_subtitle_rendition(viewer: Any, program_id: str, uri: str, video_uri: str) -> None:
    """The subtitle playlist lists the video's segment numbers with the video's durations and
    discontinuities; each of its segments is WebVTT mapped onto its video segment's timestamp."""
    async def both() -> tuple[str, str] | None:
        subs = (await get_text(viewer, f"/hls/{program_id}/{uri}"))[1]
        video = (await get_text(viewer, f"/hls/{program_id}/{video_uri}"))[1]
        same = _head(subs, "#EXT-X-MEDIA-SEQUENCE") == _head(video, "#EXT-X-MEDIA-SEQUENCE") and \
            len(segments(subs)) == len(segments(video))
        return (subs, video) if same else None

    subs, video = await wait_for(both, what="the subtitle and video playlists at the same segment")
    for tag in ("#EXT-X-TARGETDURATION", "#EXT-X-DISCONTINUITY-SEQUENCE", "#EXT-X-VERSION"):
        assert _head(subs, tag) == _head(video, tag), tag
    assert re.findall(r"#EXTINF:([\d.]+),", subs) == re.findall(r"#EXTINF:([\d.]+),", video)
    assert subs.count("#EXT-X-DISCONTINUITY\n") == video.count("#EXT-X-DISCONTINUITY\n")
    assert "#EXT-X-MAP" not in subs
    folder, rung = uri.rsplit("/", 1)[0], video_uri.split("/")[0]
    for vtt_name, video_name in list(zip(segments(subs), segments(video), strict=True))[-2:]:
        assert vtt_name == video_name.replace(".m4s", ".vtt")
        text = (await get_bytes(viewer, f"/hls/{program_id}/{folder}/{vtt_name}")).decode()
        assert text.startswith("WEBVTT\n")
        mapping = re.search(r"^X-TIMESTAMP-MAP=MPEGTS:(\d+),LOCAL:(\d\d):(\d\d):(\d\d)\.(\d{3})$", text, re.M)
        assert mapping is not None, text
        mpegts = int(mapping.group(1))
        local = int(mapping.group(2)) * 3600 + int(mapping.group(3)) * 60 + int(mapping.group(4)) + \
            int(mapping.group(5)) / 1000
        data = await get_bytes(viewer, f"/hls/{program_id}/{rung}/{video_name}")
        moof = children(boxes(data)[-2][1])
        tfdt = children(moof[b"traf"][0])[b"tfdt"][0]
        decode_time = int.from_bytes(tfdt[4:12] if tfdt[0] == 1 else tfdt[4:8], "big")
        # a cue time maps to MPEGTS plus its distance from LOCAL (RFC 8216 3.5): the cue time
        # OFFSET_S, a segment's start in its WebVTT, is the video segment's decode time
        assert mpegts + round((OFFSET_S - local) * 90_000) == decode_time
