"""RTMP ingest (`rtmp://host/live/<stream key>`): Debian's ffmpeg publishing a generated source, as
studio encoders do, through a real server on a free port; what viewers, hosts and producers then
see (HLS from it, passed through or encoded; stream health; the slate; the replay; simulcast), and
that bad input closes that one connection and leaves everything else as it was. Both stores:
the program is found from the stream key alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCPeerConnection

from live.rtmp_chunks import AUDIO, Message
from live.tracks import whip_publish
from tests.helpers import RedisServer, Server, free_port, running_server

from .rtmp_client import RawRtmp, ffmpeg_publish, status_code, stop
from .support import (
    NginxRtmp,
    decode,
    end_program,
    get_bytes,
    get_text,
    maps,
    new_program,
    segments,
    small_config,
    wait_for,
)


@pytest.fixture
async def rtmp_server(backend_kind: str, tmp_path: Path, request: pytest.FixtureRequest
                      ) -> AsyncIterator[Server]:
    redis_url = None
    if backend_kind == "redis":
        redis: RedisServer = request.getfixturevalue("redis_server")
        redis_url = redis.url
    config = small_config(tmp_path, backend_kind, redis_url, live_rtmp_port=free_port())
    async with running_server(config) as srv:
        yield srv


def rtmp_url(server: Server, key: str) -> str:
    return f"rtmp://127.0.0.1:{server.config.live.rtmp_port}/live/{key}"


async def health(server: Server, program_id: str) -> dict[str, Any]:
    producer = await server.producer()
    async with producer.get(f"/api/programs/{program_id}/health") as resp:
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return body


async def playlist_with(server: Server, program_id: str, rung: str, count: int) -> str | None:
    status, text, _ = await get_text(server.client(), f"/hls/{program_id}/{rung}/live.m3u8")
    return text if status == 200 and len(segments(text)) >= count else None


@pytest.mark.parametrize("backend_kind", ["sqlite"])
async def test_an_rtmp_encoder_is_a_publisher_like_whip(rtmp_server: Server, nginx: NginxRtmp) -> None:
    server = rtmp_server
    program_id, key = await new_program(server)
    producer = await server.producer()
    async with producer.post(f"/api/programs/{program_id}/simulcast", json={"url": nginx.url("expo")}) as r:
        assert r.status == 201
    encoder = await ffmpeg_publish(rtmp_url(server, key))
    try:
        playlist = await wait_for(lambda: playlist_with(server, program_id, "240p", 3), within=30,
                                  what="HLS from the RTMP publisher")
        low = await wait_for(lambda: playlist_with(server, program_id, "120p", 3), what="the lower rung")
        # H.264 at the top rung's size (426x240) is passed through; sound is AAC
        now = await health(server, program_id)
        assert now["source"] == "publisher" and now["publisher"]["protocol"] == "rtmp"
        assert now["mode"] == "live" and now["session_kind"] == "passthrough", now
        assert (now["input"]["width"], now["input"]["height"]) == (426, 240)
        viewer = server.client()
        for rung, text in (("240p", playlist), ("120p", low)):
            init = await get_bytes(viewer, f"/hls/{program_id}/{rung}/{maps(text)[-1]}")
            last = await get_bytes(viewer, f"/hls/{program_id}/{rung}/{segments(text)[-1]}")
            frames, sound = decode(init, last)
            assert frames and sound > 0
            assert frames[0].height == int(rung[:-1])

        # one publisher per program: a second RTMP encoder and a WHIP publisher are refused
        second = await RawRtmp.connect(server.config.live.rtmp_port)
        await second.handshake()
        refused = await second.publish(key)
        assert status_code(refused) == "NetStream.Publish.BadName" and "already_publishing" in str(refused)
        assert await second.closed_within(5)
        with pytest.raises(RuntimeError, match=r"409.*already_publishing"):
            await whip_publish(server.client(), f"{server.url}/whip/{program_id}", key)
        assert encoder.returncode is None, "the first encoder goes on"

        # the host console's settings: the RTMP URL beside the WHIP one (hosts and producers only);
        # an RTMP publisher has no WebRTC preview (the desk shows the HLS instead)
        async with producer.get(f"/api/programs/{program_id}/ingest") as r:
            ingest = await r.json()
            assert r.status == 200 and ingest["whip_url"] == f"{server.url}/whip/{program_id}"
            assert ingest["rtmp_url"] == f"rtmp://127.0.0.1:{server.config.live.rtmp_port}/live"
        async with server.client().get(f"/api/programs/{program_id}/ingest") as r:
            assert r.status == 401 and (await r.json())["error"]["code"]
        async with producer.get("/api/programs/no-such-program/ingest") as r:
            assert r.status == 404 and (await r.json())["error"]["code"] == "program_not_found"
        pc = RTCPeerConnection()
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        async with producer.post(f"/whep/{program_id}", data=pc.localDescription.sdp,
                                 headers={"Content-Type": "application/sdp"}) as r:
            assert r.status == 409 and (await r.json())["error"]["code"] == "preview_unavailable"
        await pc.close()

        # simulcast pushes the RTMP program too
        async def recorded() -> bool:
            path = nginx.rec / "expo.flv"
            return path.exists() and path.stat().st_size > 20_000

        await wait_for(recorded, what="the simulcast destination receiving")

        # the encoder's connection drops: the slate; it comes back: the picture
        await stop(encoder)

        async def slate() -> bool:
            return (await health(server, program_id))["mode"] == "slate"

        await wait_for(slate, within=10, what="the slate after the encoder dropped")
        encoder = await ffmpeg_publish(rtmp_url(server, key))

        async def back() -> bool:
            found = await health(server, program_id)
            return found["mode"] == "live" and found["source"] == "publisher"

        await wait_for(back, within=20, what="the encoder's picture again")
        await end_program(server, program_id)

        async def replay() -> bool:
            async with server.client().get(f"/api/programs/{program_id}/replay") as resp:
                return bool((await resp.json())["state"] == "ready")

        await wait_for(replay, within=30, what="the replay")
        assert await asyncio.wait_for(encoder.wait(), 10) is not None, "the ended program closed it"
    finally:
        await stop(encoder)


@pytest.mark.parametrize("backend_kind", ["sqlite"])
async def test_b_frames_are_encoded_not_passed_through(rtmp_server: Server) -> None:
    server = rtmp_server
    program_id, key = await new_program(server)
    encoder = await ffmpeg_publish(rtmp_url(server, key), x264=["-x264-params", "bframes=2:b-adapt=0"])
    try:
        text = await wait_for(lambda: playlist_with(server, program_id, "240p", 2), within=30,
                              what="HLS from a B-frame encoder")
        assert (await health(server, program_id))["session_kind"] == "encode"
        viewer = server.client()
        init = await get_bytes(viewer, f"/hls/{program_id}/240p/{maps(text)[-1]}")
        last = await get_bytes(viewer, f"/hls/{program_id}/240p/{segments(text)[-1]}")
        frames, sound = decode(init, last)
        assert len(frames) >= 10 and sound > 0
        pts = [f.pts for f in frames]
        assert pts == sorted(pts), "pictures in order"
    finally:
        await stop(encoder)


async def test_bad_rtmp_input_closes_that_connection_only(rtmp_server: Server) -> None:
    server = rtmp_server
    port = server.config.live.rtmp_port
    program_id, key = await new_program(server, later_hours=3)  # a camera test before the show
    other_id, other_key = await new_program(server)
    # a good publisher on another program goes on through everything below
    encoder = await ffmpeg_publish(rtmp_url(server, other_key))
    try:
        await wait_for(lambda: playlist_with(server, other_id, "240p", 1), within=30,
                       what="the other program")

        # garbage instead of a handshake, an HTTP request, RTMPE's version byte
        for junk in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(2000), bytes([6]) + bytes(1536),
                     bytes(range(256)) * 8):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(junk)
            raw = RawRtmp(reader, writer)
            assert await raw.closed_within(12), junk[:8]

        # the wrong application, a wrong key, a key of nothing
        for app, name, code in (("tv", key, "NetConnection.Connect.Rejected"),
                                ("live", key[:-2] + "xx", "NetStream.Publish.BadName"),
                                ("live", "", "NetStream.Publish.BadName")):
            raw = await RawRtmp.connect(port)
            await raw.handshake()
            answer = await raw.publish(name, app=app)
            assert status_code(answer) == code, answer
            assert await raw.closed_within(5)

        # media before a publish is accepted
        raw = await RawRtmp.connect(port)
        await raw.handshake()
        raw.command("connect", {"app": "live"})
        raw.send(4, Message(AUDIO, 1, 0, bytes([0xAF, 0x00, 0x11, 0x90])))
        assert await raw.closed_within(5)

        # chunks that break the rules: a message length over the limit, a chunk stream that
        # starts without its header
        raw = await RawRtmp.connect(port)
        await raw.handshake()
        too_long = (16 * 1024 * 1024 - 1).to_bytes(3, "big")
        raw.writer.write(bytes([0x04]) + bytes(3) + too_long + bytes([9]) + bytes(4))
        assert await raw.closed_within(5)
        raw = await RawRtmp.connect(port)
        await raw.handshake()
        raw.writer.write(bytes([0xC5]) + bytes(200))
        assert await raw.closed_within(5)

        # a stream without video (an encoder whose camera input failed): closed a few seconds
        # after it published, nothing written
        sound_only = await ffmpeg_publish(rtmp_url(server, key), video=False, seconds=30)
        assert await asyncio.wait_for(sound_only.wait(), 15) != 0
        assert not (server.parts.live.service.media_dir(program_id) / "240p").exists()
        assert (await health(server, program_id))["source"] == "none"

        # nothing was touched: the program takes a publisher now, the other one is still live
        good = await RawRtmp.connect(port)
        await good.handshake()
        assert status_code(await good.publish(key)) == "NetStream.Publish.Start"
        good.close()
        assert encoder.returncode is None
        before = await playlist_with(server, other_id, "240p", 1)
        assert before is not None

        async def advanced() -> bool:
            now = await playlist_with(server, other_id, "240p", 1)
            return now is not None and segments(now)[-1] != segments(before)[-1]

        await wait_for(advanced, what="the other program's HLS going on")
    finally:
        await stop(encoder)
