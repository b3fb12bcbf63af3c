"""WHEP preview: a host receives the publisher's picture over WebRTC, within a second of real time;
viewers cannot, and a preview of a program nobody publishes to is a clear 404."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from live.font import age_ms, read_bits
from live.source import wall_ms
from live.tracks import whip_publish
from tests.helpers import running_server

from .support import new_program, small_config


async def _viewer_offer() -> RTCPeerConnection:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc


@pytest.mark.parametrize("codec", ["video/VP8", "video/H264"])
async def test_whep_preview_receives_frames(tmp_path: Path, codec: str) -> None:
    async with running_server(small_config(tmp_path)) as server:
        program_id, key = await new_program(server)
        host = await server.host()
        anonymous = server.client()

        pc = await _viewer_offer()
        sdp = pc.localDescription.sdp
        headers = {"Content-Type": "application/sdp"}
        async with host.post(f"/whep/{program_id}", data=sdp, headers=headers) as resp:
            assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_publishing"

        pub = await whip_publish(anonymous, f"{server.url}/whip/{program_id}", key, video_codec=codec)
        async with anonymous.post(f"/whep/{program_id}", data=sdp, headers=headers) as resp:
            assert resp.status == 401
        async with host.post(f"/whep/{program_id}", data="garbage", headers=headers) as resp:
            assert resp.status == 400

        frame_seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        readers: list[asyncio.Task[None]] = []

        @pc.on("track")
        def on_track(track: object) -> None:
            async def read() -> None:
                frame = await track.recv()  # type: ignore[attr-defined]
                if track.kind == "video" and not frame_seen.done():  # type: ignore[attr-defined]
                    frame_seen.set_result(age_ms(read_bits(frame), wall_ms()))
            if getattr(track, "kind", "") == "video":
                readers.append(asyncio.ensure_future(read()))

        async with host.post(f"/whep/{program_id}", data=sdp, headers=headers) as resp:
            assert resp.status == 201, await resp.text()
            location = resp.headers["Location"]
            answer = await resp.text()
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        age = await asyncio.wait_for(frame_seen, timeout=20)
        assert age < 5_000, f"preview frame is {age} ms old"
        # the server got the publisher's video as encoded packets (forwarded as they are to the
        # preview, decoded by the media worker for HLS)
        broadcast = server.deps.services["live"].broadcasts[program_id]
        assert broadcast.publisher.video_codec == codec.split("/")[1].lower()
        assert broadcast.worker.packets > 0 and broadcast.worker.decode_errors == 0
        assert f"{codec.split('/')[1]}/90000" in answer
        async with host.delete(location) as resp:
            assert resp.status == 200
        await pc.close()
        await pub.pc.close()
