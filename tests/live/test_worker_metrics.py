"""Segment write latency is measured in the media worker process and reaches the server's
`/metrics` through the worker's status reports; the figures keep counting after the worker has
finished (a counter never goes back), and the publisher's input shows per program."""

from __future__ import annotations

from pathlib import Path

from live.tracks import whip_publish
from tests.helpers import running_server

from .support import end_program, get_text, new_program, segments, small_config, wait_for

WRITE = "innotv_live_segment_write_seconds"
DELAY = "innotv_live_segment_delay_seconds"


async def test_segment_writes_are_measured_in_the_worker(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path)) as server:
        program_id, key = await new_program(server)
        viewer = server.client()
        pub = await whip_publish(viewer, f"{server.url}/whip/{program_id}", key)

        async def written() -> int:
            status, playlist, _ = await get_text(viewer, f"/hls/{program_id}/120p/live.m3u8")
            return len(segments(playlist)) if status == 200 else 0

        await wait_for(lambda: _at_least(written, 3), what="three segments")

        async def reported() -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
            samples = await server.samples()
            return samples if samples.get((f"{WRITE}_count", frozenset())) else None

        samples = await wait_for(reported, what="the worker's report of its writes")
        count = samples[(f"{WRITE}_count", frozenset())]
        assert count >= 3  # both rungs write a segment each second
        assert samples[(f"{WRITE}_bucket", frozenset({("le", "+Inf")}))] == count
        assert 0 < samples[(f"{WRITE}_sum", frozenset())] < count  # well under a second each
        assert samples[(f"{DELAY}_count", frozenset())] >= 3
        assert samples[(f"{DELAY}_bucket", frozenset({("le", "16.0")}))] >= 3
        assert samples[("innotv_live_input_fps", frozenset({("program", program_id)}))] > 0

        worker = server.parts.live.service.broadcasts[program_id].worker
        assert worker is not None
        await pub.pc.close()
        await end_program(server, program_id)
        assert await worker.done is True  # it finished and recorded the broadcast
        after = await server.samples()
        assert after[(f"{WRITE}_count", frozenset())] >= count
        assert ("innotv_live_input_fps", frozenset({("program", program_id)})) not in after


async def _at_least(read: object, n: int) -> bool:
    return await read() >= n  # type: ignore[operator, no-any-return]
