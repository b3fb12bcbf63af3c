"""Stream health: a host reads what feeds the program (the publisher's connection, picture size,
frame rate and bitrate as measured over the last seconds) while a real WHIP publisher sends, and
that nothing does once it stops; viewers cannot read it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from live.tracks import whip_publish
from tests.helpers import running_server

from .support import new_program, small_config, wait_for


async def test_a_host_reads_the_publishers_stream_health(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path)) as server:
        program_id, key = await new_program(server)
        host = await server.host()
        path = f"/api/programs/{program_id}/health"

        async def health() -> dict[str, Any]:
            async with host.get(path) as resp:
                assert resp.status == 200, await resp.text()
                body: dict[str, Any] = await resp.json()
            return body

        idle = await health()
        assert (idle["source"], idle["publisher"], idle["input"]) == ("none", None, None)
        anonymous = server.client()
        pub = await whip_publish(anonymous, f"{server.url}/whip/{program_id}", key,
                                 width=320, height=240, fps=15, video_codec="video/VP8")
        try:
            async def measured() -> dict[str, Any] | None:
                body = await health()
                source = body["input"]
                # a full measuring window of pictures (5 s) is not needed: a few seconds will do
                return body if source and source["fps"] >= 5 and source["kbps"] else None

            live = await wait_for(measured, within=40, what="measured input")
            assert live["source"] == "publisher" and live["mode"] == "live"
            assert live["publisher"]["connection"] == "connected"
            assert live["publisher"]["video_codec"] == "vp8"
            assert (live["input"]["width"], live["input"]["height"]) == (320, 240)
            assert 5 <= live["input"]["fps"] <= 16  # the publisher sends 15 a second
            assert live["input"]["kbps"] > 10
            assert live["program_state"] == "live"
            for other in (anonymous, server.client()):
                async with other.get(path) as resp:
                    assert resp.status == 401
        finally:
            async with anonymous.delete(pub.location) as resp:
                assert resp.status == 200
            await pub.pc.close()

        async def stopped() -> dict[str, Any] | None:
            body = await health()
            return body if body["source"] == "none" else None

        gone = await wait_for(stopped, what="no source after the publisher stopped")
        assert gone["publisher"] is None
        async with host.get("/api/programs/nope/health") as resp:
            assert resp.status == 404 and (await resp.json())["error"]["code"] == "program_not_found"
