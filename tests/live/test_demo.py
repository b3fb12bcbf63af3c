"""`--demo`: the generated test source is broadcast into the live-now program "demo"."""

from __future__ import annotations

from pathlib import Path

from live.font import age_ms, read_bits
from live.source import wall_ms
from tests.helpers import running_server

from .support import decode, get_bytes, get_text, maps, segments, small_config, wait_for


async def test_demo_broadcasts_generated_source(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path, demo=True)) as server:
        client = server.client()

        async def playlist() -> str | None:
            status, text, _ = await get_text(client, "/hls/demo/120p/live.m3u8")
            return text if status == 200 and segments(text) else None

        text = await wait_for(playlist, within=30, what="demo segments")
        frames, audio = decode(await get_bytes(client, f"/hls/demo/120p/{maps(text)[-1]}"),
                               await get_bytes(client, f"/hls/demo/120p/{segments(text)[-1]}"))
        assert frames[0].height == 120 and audio > 0
        assert age_ms(read_bits(frames[0]), wall_ms()) < 15_000
