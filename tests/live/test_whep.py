"""WHEP preview: a host receives the publisher's picture and sound over WebRTC, within a second of
real time, both relayed as the publisher encoded them; viewers cannot, and a preview of a program
nobody publishes to is a clear 404."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.codecs.opus import OpusDecoder, OpusEncoder
from aiortc.mediastreams import MediaStreamTrack

from live.font import age_ms, read_bits
from live.source import wall_ms
from live.tracks import whip_publish
from tests.helpers import running_server

from .support import new_program, small_config, wait_for


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
        # preview, decoded by the program's media worker process for HLS)
        broadcast = server.parts.live.service.broadcasts[program_id]
        assert broadcast.publisher.video_codec == codec.split("/")[1].lower()

        async def decoded() -> dict[str, Any] | None:
            status = await broadcast.worker.fresh_status()
            return status if status["packets"] > 0 else None

        status = await wait_for(decoded, what="the worker process decoding the packets")
        assert status["decode_errors"] == 0
        assert f"{codec.split('/')[1]}/90000" in answer
        async with host.delete(location) as resp:
            assert resp.status == 200
        await pc.close()
        await pub.pc.close()


async def test_whep_preview_relays_audio_without_reencoding(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The preview's Opus packets are the publisher's own: only the publisher's encoder ever runs,
    and every payload the preview's decoder gets came out of it. Re-encoding for the preview would
    run a second encoder whose payloads the publisher never sent. Nothing in the server's process
    decodes sound (the worker process decodes it for HLS)."""
    encoded: dict[int, list[bytes]] = defaultdict(list)  # encoder id -> payloads it produced
    decoded: dict[int, list[bytes]] = defaultdict(list)  # decoder id -> payloads it was given
    encode, decode = OpusEncoder.encode, OpusDecoder.decode

    def spy_encode(self: OpusEncoder, frame: Any, force_keyframe: bool = False) -> Any:
        payloads, timestamp = encode(self, frame, force_keyframe)
        encoded[id(self)].extend(payloads)
        return payloads, timestamp

    def spy_decode(self: OpusDecoder, encoded_frame: Any) -> Any:
        decoded[id(self)].append(bytes(encoded_frame.data))
        return decode(self, encoded_frame)

    monkeypatch.setattr(OpusEncoder, "encode", spy_encode)
    monkeypatch.setattr(OpusDecoder, "decode", spy_decode)

    async with running_server(small_config(tmp_path)) as server:
        program_id, key = await new_program(server)
        host = await server.host()
        pub = await whip_publish(server.client(), f"{server.url}/whip/{program_id}", key)
        pc = await _viewer_offer()
        audio: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio" and not audio.done():
                audio.set_result(track)

        headers = {"Content-Type": "application/sdp"}
        async with host.post(f"/whep/{program_id}", data=pc.localDescription.sdp,
                             headers=headers) as resp:
            assert resp.status == 201, await resp.text()
            answer = await resp.text()
        assert "opus/48000/2" in answer
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        track = await asyncio.wait_for(audio, timeout=20)
        for _ in range(50):  # a second of sound reaches the preview
            frame = await asyncio.wait_for(track.recv(), timeout=10)
            assert frame.sample_rate == 48_000

        assert len(encoded) == 1, "the preview's audio was re-encoded"
        sent = set(next(iter(encoded.values())))
        assert len(decoded) == 1  # the preview's
        for payloads in decoded.values():
            assert len(payloads) >= 50 and set(payloads) <= sent
        broadcast = server.parts.live.service.broadcasts[program_id]
        assert broadcast.publisher.audio_packets
        assert (await broadcast.worker.fresh_status())["decode_errors"] == 0
        await pc.close()
        await pub.pc.close()
