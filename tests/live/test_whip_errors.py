"""Every bad WHIP input gets a clear JSON error and leaves the program publishable; HLS paths
cannot escape the media directory. Runs on both store backends (stream keys are stored)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiortc import RTCSessionDescription
from yarl import URL

from live.tracks import make_offer, whip_publish
from tests.helpers import RedisServer, Server, running_server

from .support import get_text, new_program, segments, small_config, wait_for


@pytest.fixture
async def live_server(backend_kind: str, tmp_path: Path,
                      request: pytest.FixtureRequest) -> AsyncIterator[Server]:
    redis_url = None
    if backend_kind == "redis":
        redis: RedisServer = request.getfixturevalue("redis_server")
        redis_url = redis.url
    async with running_server(small_config(tmp_path, backend_kind, redis_url)) as srv:
        yield srv


async def _offer() -> str:
    pc = await make_offer()
    sdp = str(pc.localDescription.sdp)
    await pc.close()
    return sdp


async def _post(server: Server, program_id: str, body: bytes | str, key: str | None,
                ctype: str = "application/sdp",
                query: str = "") -> tuple[int, dict[str, str], dict[str, str]]:
    headers = {"Content-Type": ctype}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    async with aiohttp.ClientSession() as raw:  # another origin, no cookies: like OBS
        url = URL(f"{server.url}/whip/{program_id}{query}", encoded=True)
        async with raw.post(url, data=body, headers=headers) as resp:
            payload = await resp.json() if resp.content_type == "application/json" else {}
            return resp.status, payload.get("error", {}), dict(resp.headers)


def _video_section(sdp: str, extra: list[str]) -> str:
    lines = sdp.split("\r\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("m=video"))
    return "\r\n".join(lines[: at + 1] + extra + lines[at + 1 :])


async def test_bad_requests_are_refused_with_json(live_server: Server) -> None:
    server = live_server
    program_id, key = await new_program(server)
    _, other_key = await new_program(server, minutes=30, later_hours=3)
    offer = await _offer()

    status, err, headers = await _post(server, program_id, offer, None)
    assert (status, err["code"]) == (401, "invalid_stream_key")
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert (await _post(server, program_id, offer, "sk_wrong"))[:2] == (401, err)
    assert (await _post(server, program_id, offer, other_key))[0] == 401
    assert (await _post(server, "no-such-program", offer, key))[0] == 401
    # a path that tries to climb out: refused before any key or file lookup
    async with aiohttp.ClientSession() as raw:
        url = URL(f"{server.url}/whip/..%2Fetc", encoded=True)
        async with raw.post(url, data=offer, headers={"Authorization": f"Bearer {key}",
                                                      "Content-Type": "application/sdp"}) as resp:
            assert (resp.status, (await resp.json())["error"]["code"]) == (404, "program_not_found")

    status, err, _ = await _post(server, program_id, offer, key, ctype="text/plain")
    assert (status, err["code"]) == (415, "unsupported_media_type")
    status, err, _ = await _post(server, program_id, offer + "a=x:" + "y" * 40_000 + "\r\n", key)
    assert (status, err["code"]) == (413, "payload_too_large")
    for garbage in (b"hello", b"", b"\xff\xfe\x00junk", b"v=0\r\nthis is not sdp\r\n",
                    b"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"):
        status, err, _ = await _post(server, program_id, garbage, key)
        assert (status, err["code"]) == (400, "invalid_sdp"), garbage
    no_ice = "\r\n".join(line for line in offer.split("\r\n") if not line.startswith("a=ice-ufrag"))
    status, err, _ = await _post(server, program_id, no_ice, key)
    assert status == 400 and "ice-ufrag" in err["message"]

    simulcast = _video_section(offer, ["a=rid:h send", "a=rid:l send", "a=simulcast:send h;l"])
    status, err, _ = await _post(server, program_id, simulcast, key)
    assert (status, err["code"]) == (400, "unsupported_offer") and "Simulcast" in err["message"]
    vp9_only = offer.replace("VP8/90000", "VP9/90000").replace("H264/90000", "H265/90000")
    status, err, _ = await _post(server, program_id, vp9_only, key)
    assert (status, err["code"]) == (400, "unsupported_offer")
    assert "VP8 or H.264" in err["message"] and "VP9" in err["message"]
    no_opus = offer.replace("opus/48000", "speex/48000")
    status, err, _ = await _post(server, program_id, no_opus, key)
    assert status == 400 and "Opus" in err["message"]
    session = offer.split("m=video")[0]
    audio = "m=audio" + offer.split("m=audio")[1]
    status, err, _ = await _post(server, program_id, session + audio, key)  # sound, no picture
    assert (status, err["code"]) == (400, "unsupported_offer") and "no video track" in err["message"]
    for query in ("?size=big", "?size=0x0", "?size=1280x99999", "?size=1280x720&size=640x360",
                  "?size=1280%C3%97720", "?size="):
        status, err, _ = await _post(server, program_id, offer, key, query=query)
        assert (status, err["code"]) == (400, "invalid_size"), query
        assert "1280x720" in err["message"]

    # CORS preflight from another origin's page
    async with aiohttp.ClientSession() as raw:
        async with raw.options(f"{server.url}/whip/{program_id}", headers={
            "Origin": "https://studio.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"}) as resp:
            assert resp.status == 204
            assert resp.headers["Access-Control-Allow-Origin"] == "*"
            assert "POST" in resp.headers["Access-Control-Allow-Methods"]
            assert "Authorization" in resp.headers["Access-Control-Allow-Headers"]
            assert "Location" in resp.headers["Access-Control-Expose-Headers"]
        async with raw.delete(f"{server.url}/whip/{program_id}/nope") as resp:
            assert resp.status == 404
            assert (await resp.json())["error"]["code"] == "session_not_found"

    # after all that, the program still takes a publisher, and only one
    viewer = server.client()
    pub = await whip_publish(viewer, f"{server.url}/whip/{program_id}", key)
    status, err, _ = await _post(server, program_id, await _offer(), key)
    assert (status, err.get("code")) == (409, "already_publishing"), (status, err)
    await pub.pc.close()


async def test_hls_paths_cannot_escape_and_absent_media_is_json_404(live_server: Server) -> None:
    client = live_server.client()
    for path in ("/hls/p1/master.m3u8", "/hls/p1/240p/live.m3u8", "/hls/p1/..%2F..%2Fetc%2Fpasswd",
                 "/hls/p1/240p/..%2F..%2F..%2Finnotv.db", "/hls/..%2Fdata/master.m3u8",
                 "/hls/p1/240p/seg-1.ts", "/hls/p1/ladder.json", "/vod/p1/master.m3u8",
                 "/vod/p1/240p/segments.log", "/hls/p1/240p/init-0.mp4%00.m3u8"):
        async with client.get(path) as resp:
            assert resp.status == 404, path
            body = await resp.json()
            assert body["error"]["code"] in ("not_found", "media_not_found", "replay_not_found",
                                             "program_not_found"), path


async def test_offer_without_ice_candidates_connects(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path)) as server:
        program_id, key = await new_program(server)
        pc = await make_offer()
        sdp = "\r\n".join(line for line in str(pc.localDescription.sdp).split("\r\n")
                          if not line.startswith(("a=candidate", "a=end-of-candidates")))
        async with aiohttp.ClientSession() as raw:
            async with raw.post(f"{server.url}/whip/{program_id}", data=sdp, headers={
                    "Authorization": f"Bearer {key}", "Content-Type": "application/sdp"}) as resp:
                assert resp.status == 201
                answer = await resp.text()
                assert resp.headers["Location"].startswith(f"/whip/{program_id}/")
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        viewer = server.client()

        async def segments_appear() -> bool:
            status, text, _ = await get_text(viewer, f"/hls/{program_id}/120p/live.m3u8")
            return status == 200 and len(segments(text)) >= 1

        await wait_for(segments_appear, what="media from a candidate-less offer")
        await pc.close()
