"""Simulcast: producers manage RTMP destinations (both backends); while live, the top rendition
reaches a real nginx-rtmp as FLV, and a dead destination does not disturb it or the HLS output."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from pathlib import Path

from live.tracks import whip_publish
from tests.helpers import Server, running_server

from .support import NginxRtmp, get_text, new_program, segments, small_config, wait_for


async def test_destinations_rest_contract(server: Server) -> None:
    program_id, _ = await new_program(server)
    producer = await server.producer()
    host = await server.host()
    path = f"/api/programs/{program_id}/simulcast"
    async with host.get(path) as resp:
        assert resp.status == 403
    async with server.client().post(path, json={"url": "rtmp://a.example/live/k"}) as resp:
        assert resp.status == 401
    for bad in ("http://a.example/live/k", "rtmp://", "rtmp://a.example", "rtmp://a b/x/y", 42, None,
                "rtmp://a.example/live/" + "k" * 2000):
        async with producer.post(path, json={"url": bad}) as resp:
            assert resp.status == 400, bad
            assert (await resp.json())["error"]["code"] == "invalid_url"
    async with producer.post(path, data="not json", headers={"Content-Type": "application/json"}) as resp:
        assert resp.status == 400
    async with producer.post(path, json={"url": "rtmp://a.youtube.example/live2/secret-key-123"}) as resp:
        assert resp.status == 201
        created = await resp.json()
    assert "secret-key-123" not in created["url"], "the platform's key is never shown back"
    async with producer.post(path, json={"url": "rtmp://a.youtube.example/live2/secret-key-123"}) as resp:
        assert resp.status == 409
    async with producer.get(path) as resp:
        listed = (await resp.json())["destinations"]
    assert [d["id"] for d in listed] == [created["id"]] and listed[0]["state"] == "idle"
    for i in range(4):
        async with producer.post(path, json={"url": f"rtmp://b.example/live/{i}"}) as resp:
            assert resp.status == 201
    async with producer.post(path, json={"url": "rtmp://b.example/live/6"}) as resp:
        assert resp.status == 409 and (await resp.json())["error"]["code"] == "too_many_destinations"
    async with producer.delete(f"{path}/{created['id']}") as resp:
        assert resp.status == 204
    async with producer.delete(f"{path}/{created['id']}") as resp:
        assert resp.status == 404
    async with producer.get("/api/programs/nope/simulcast") as resp:
        assert resp.status == 404
    async with producer.get(path) as resp:
        assert len((await resp.json())["destinations"]) == 4


async def test_simulcast_reaches_nginx_and_a_dead_destination_is_harmless(
    tmp_path: Path, nginx: NginxRtmp
) -> None:
    async with running_server(small_config(tmp_path)) as server:
        program_id, key = await new_program(server)
        producer = await server.producer()
        path = f"/api/programs/{program_id}/simulcast"
        # A port we hold bound without listening: connections are refused, and no other
        # process can take it while the test runs (a merely free port could be reused).
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        dead = f"rtmp://127.0.0.1:{blocker.getsockname()[1]}/live/nobody-listens"
        ids = []
        for url in (nginx.url("expo"), dead):
            async with producer.post(path, json={"url": url}) as resp:
                assert resp.status == 201
                ids.append((await resp.json())["id"])
        viewer = server.client()
        pub = await whip_publish(viewer, f"{server.url}/whip/{program_id}", key)

        async def states() -> dict[str, str] | None:
            async with producer.get(path) as resp:
                found = {d["id"]: d["state"] for d in (await resp.json())["destinations"]}
            return found if found[ids[0]] == "connected" else None

        await wait_for(states, what="the nginx destination connected")
        recording = nginx.rec / "expo.flv"

        async def recorded() -> bool:
            return recording.exists() and recording.stat().st_size > 20_000

        await wait_for(recorded, what="FLV data at nginx")
        async def hls_flows() -> bool:
            status, text, _ = await get_text(viewer, f"/hls/{program_id}/240p/live.m3u8")
            return status == 200 and len(segments(text)) >= 3

        await wait_for(hls_flows, what="HLS going on beside a dead destination")
        found = await states()
        assert found is not None and found[ids[1]] in ("connecting", "retrying")
        await pub.pc.close()
        probe = await asyncio.to_thread(
            subprocess.run,
            ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0",
             str(recording)],
            capture_output=True, text=True, timeout=30,
        )
        assert "h264,320,240" in probe.stdout and "aac" in probe.stdout, probe
        blocker.close()
