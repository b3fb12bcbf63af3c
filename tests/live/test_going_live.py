"""Going live as a browser does: the publisher starts small and grows, yet the program gets the
whole ladder its announced camera allows, every playlist's RESOLUTION and BANDWIDTH are true (live
and replay), and the top rung is passed through only at its exact size. A camera without a
microphone is heard as silence. Real WebRTC (aiortc), HLS read back with PyAV and ffprobe."""

from __future__ import annotations

import math
import re
import struct
import time
from pathlib import Path

import aiohttp

from live.tracks import GrowingPatternTrack, whip_publish
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

LADDER = "720p30:2800,360p30:800"
_INF = re.compile(r"#EXT-X-STREAM-INF:([^\n]+)\n([^\n]+)")


def variants(master: str) -> dict[str, dict[str, str]]:
    """Each variant's attributes by its playlist path, e.g. {"720p/vod.m3u8": {"RESOLUTION": ...}}."""
    out = {}
    for attrs, uri in _INF.findall(master):
        out[uri] = dict(re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', attrs))
    return out


def durations(playlist: str) -> list[float]:
    return [float(line[8:].rstrip(",")) for line in playlist.splitlines() if line.startswith("#EXTINF:")]


def peak_segment_bit_rate(sizes: list[int], lengths: list[float], target: float) -> float:
    """RFC 8216 section 4.1, written out again here: the highest bit rate of any run of
    consecutive segments lasting 0.5 to 1.5 target durations."""
    peak = 0.0
    for first in range(len(sizes)):
        total, seconds = 0, 0.0
        for size, length in zip(sizes[first:], lengths[first:], strict=True):
            total, seconds = total + size, seconds + length
            if seconds > 1.5 * target:
                break
            if seconds >= 0.5 * target:
                peak = max(peak, total * 8 / seconds)
    return peak


async def check_variants(client: aiohttp.ClientSession, base: str, master: str) -> dict[str, int]:
    """Every segment of every variant decodes at its RESOLUTION, with sound, and no run of them
    goes above its BANDWIDTH; the number of init segments (sessions) per rung."""
    inits = {}
    for uri, attrs in variants(master).items():
        width, height = (int(v) for v in attrs["RESOLUTION"].split("x"))
        rung_dir = uri.rsplit("/", 1)[0]
        status, playlist, _ = await get_text(client, f"{base}/{uri}")
        assert status == 200, uri
        names, lengths = segments(playlist), durations(playlist)
        target = float(re.search(r"#EXT-X-TARGETDURATION:(\d+)", playlist).group(1))  # type: ignore[union-attr]
        sizes = []
        current_init = b""
        lines = playlist.splitlines()
        for line in lines:
            if line.startswith("#EXT-X-MAP"):
                current_init = await get_bytes(client, f"{base}/{rung_dir}/{line.split(chr(34))[1]}")
            elif line and not line.startswith("#"):
                data = await get_bytes(client, f"{base}/{rung_dir}/{line}")
                sizes.append(len(data))
                frames, sound = decode(current_init, data)
                assert {(f.width, f.height) for f in frames} == {(width, height)}, (uri, line)
                assert sound > 0, (uri, line)
        peak = peak_segment_bit_rate(sizes, lengths, target)
        assert 0 < peak <= int(attrs["BANDWIDTH"]), (uri, peak, attrs["BANDWIDTH"])
        assert len(names) == len(sizes)
        if "AVERAGE-BANDWIDTH" in attrs and "vod" in uri:
            average = sum(sizes) * 8 / math.fsum(lengths)
            assert abs(average - int(attrs["AVERAGE-BANDWIDTH"])) <= 0.01 * average, (uri, average)
        inits[rung_dir] = len(set(maps(playlist)))
    return inits


async def test_a_publisher_that_starts_small_and_grows_gets_the_whole_ladder(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path, live_ladder=LADDER)) as server:
        program_id, key = await new_program(server)
        viewer = server.client()
        # 320x180 for four seconds, then 1280x720: H.264, the host page's announcement of the camera
        track = GrowingPatternTrack((320, 180), (1280, 720), grow_after=4.0, fps=10)
        posted = time.monotonic()
        pub = await whip_publish(viewer, f"{server.url}/whip/{program_id}", key, width=1280, height=720,
                                 fps=10, video_codec="video/H264", video=track)

        async def master() -> str | None:
            status, text, _ = await get_text(viewer, f"/hls/{program_id}/master.m3u8")
            return text if status == 200 else None

        text = await wait_for(master, within=10, what="the master playlist within 10 s")
        print(f"master playlist {time.monotonic() - posted:.1f} s after the offer")
        found = {uri: attrs["RESOLUTION"] for uri, attrs in variants(text).items()}
        assert found == {"720p/live.m3u8": "1280x720", "360p/live.m3u8": "640x360"}, text

        live = server.parts.live.service

        async def passing_through() -> bool:
            worker = live.broadcasts[program_id].worker
            return worker is not None and (await worker.fresh_status())["session_kind"] == "passthrough"

        await wait_for(passing_through, within=30, what="the grown H.264 passed through")
        # a few segments of the grown picture, then the small ones must still be listed
        top = f"/hls/{program_id}/720p/live.m3u8"

        async def grown_segments() -> str | None:
            _, text, _ = await get_text(viewer, top)
            last = text.rsplit("#EXT-X-MAP", 1)[-1]
            return text if len(maps(text)) >= 2 and len(segments(last)) >= 2 else None

        await wait_for(grown_segments, within=30, what="pass-through segments after the small ones")
        _, live_master, _ = await get_text(viewer, f"/hls/{program_id}/master.m3u8")
        inits = await check_variants(viewer, f"/hls/{program_id}", live_master)
        assert inits["720p"] >= 2, "encoded while small, then passed through"
        status = await live.broadcasts[program_id].worker.fresh_status()  # type: ignore[union-attr]
        assert status["decode_errors"] == 0 and status["errors"] == 0
        _, playlist, _ = await get_text(viewer, top)
        last_init = await get_bytes(viewer, f"/hls/{program_id}/720p/{maps(playlist)[-1]}")
        last_seg = await get_bytes(viewer, f"/hls/{program_id}/720p/{segments(playlist)[-1]}")
        video = next(s for s in ffprobe(last_init, last_seg) if s["codec_type"] == "video")
        assert (video["width"], video["height"]) == (1280, 720)

        await end_program(server, program_id)
        await pub.pc.close()
        await wait_for_state(server, program_id, "replay")
        _, vod_master, _ = await get_text(viewer, f"/vod/{program_id}/master.m3u8")
        assert {a["RESOLUTION"] for a in variants(vod_master).values()} == {"1280x720", "640x360"}
        vod_inits = await check_variants(viewer, f"/vod/{program_id}", vod_master)
        assert vod_inits["720p"] >= 2 and vod_inits["360p"] >= 2


async def test_a_camera_without_a_microphone_is_heard_as_silence(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path)) as server:
        program_id, key = await new_program(server)
        viewer = server.client()
        pub = await whip_publish(viewer, f"{server.url}/whip/{program_id}", key, audio=False)
        assert "m=audio" not in pub.answer
        path = f"/hls/{program_id}/120p/live.m3u8"

        async def two_segments() -> str | None:
            status, text, _ = await get_text(viewer, path)
            return text if status == 200 and len(segments(text)) >= 2 else None

        playlist = await wait_for(two_segments, what="segments")
        init = await get_bytes(viewer, f"/hls/{program_id}/120p/{maps(playlist)[-1]}")
        data = await get_bytes(viewer, f"/hls/{program_id}/120p/{segments(playlist)[-1]}")
        assert {s["codec_name"] for s in ffprobe(init, data)} == {"h264", "aac"}
        assert _loudest(init + data) < 1e-3, "silence"
        await end_program(server, program_id)
        await pub.pc.close()
        await wait_for_state(server, program_id, "replay")
        _, vod, _ = await get_text(viewer, f"/vod/{program_id}/120p/vod.m3u8")
        first = await get_bytes(viewer, f"/vod/{program_id}/120p/{segments(vod)[0]}")
        _, sound = decode(await get_bytes(viewer, f"/vod/{program_id}/120p/{maps(vod)[0]}"), first)
        assert sound > 0, "the replay has sound too"


def _loudest(fmp4: bytes) -> float:
    """The largest absolute sample of an fMP4's AAC sound (decoded with PyAV)."""
    import io

    import av

    peak = 0.0
    with av.open(io.BytesIO(fmp4), "r", format="mp4") as container:
        for frame in container.decode(audio=0):
            for plane in frame.planes:
                peak = max([peak, *(abs(v) for (v,) in struct.iter_unpack("<f", bytes(plane)))])
    return peak
