"""WHIP offers mutated line by line (hypothesis) never get a 5xx, and an offer that fails or
whose request is cancelled mid-negotiation leaves no peer connection, task or worker behind."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from live.tracks import make_offer
from tests.helpers import Server, running_server

from .support import new_program, process_alive, small_config

# What a mutation may put in place of a line, a field or a value: empty, huge, negative, control
# characters, lines aiortc parses (and trips on) when they say something odd.
VALUES = st.sampled_from(["", "0", "-1", "x", "65536", "99999999999999999999", "\x00", ":", "a=", "1 2 3",
                          "abc/def", "\u00b2", "٣"])
LINES = st.sampled_from([
    "a=group:BUNDLE x", "a=mid:", "a=mid:0", "a=rtcp-mux", "m=video 9 UDP/TLS/RTP/SAVPF 96",
    "m=audio 0 RTP/AVP 0", "a=candidate:x", "a=ssrc:1 cname:", "a=extmap:1 x", "a=rtcp:9",
    "c=IN IP4 x", "a=setup:x", "a=fingerprint:sha-256 zz", "a=ice-ufrag:", "a=ice-pwd:",
    "a=msid:a b", "a=rtcp-fb:96 nack", "a=fmtp:96 apt=", "a=rtpmap:96 VP8/0", "a=ssrc-group:FID 1",
    "a=rtpmap:97 H264/90000", "a=fmtp:97 profile-level-id=42e01f;packetization-mode=1",
    "a=sendonly", "a=inactive", "a=extmap-allow-mixed", "a=rid:h send",
])
MUTATION = st.one_of(
    st.tuples(st.just("drop"), st.integers(0, 200)),
    st.tuples(st.just("repeat"), st.integers(0, 200)),
    st.tuples(st.just("cut"), st.integers(0, 200), st.integers(2, 40)),
    st.tuples(st.just("field"), st.integers(0, 200), st.integers(0, 8), VALUES),
    st.tuples(st.just("value"), st.integers(0, 200), VALUES),
    st.tuples(st.just("insert"), st.integers(0, 200), LINES),
    st.tuples(st.just("swap"), st.integers(0, 200), st.integers(0, 200)),
)


def mutate(offer: str, mutations: list[tuple[object, ...]]) -> str:
    lines = offer.split("\r\n")
    for mutation in mutations:
        op, at = mutation[0], int(mutation[1]) % len(lines)  # type: ignore[call-overload]
        line = lines[at]
        if op == "drop":
            del lines[at]
        elif op == "repeat":
            lines.insert(at, line)
        elif op == "cut":
            lines[at] = line[: int(mutation[2])]  # type: ignore[call-overload]
        elif op == "field":
            fields = line.split(" ")
            fields[int(mutation[2]) % len(fields)] = str(mutation[3])  # type: ignore[call-overload]
            lines[at] = " ".join(fields)
        elif op == "value":
            head, sep, _ = line.rpartition(":")
            lines[at] = head + sep + str(mutation[2]) if sep else line
        elif op == "insert":
            lines.insert(at, str(mutation[2]))
        else:
            other = int(mutation[2]) % len(lines)  # type: ignore[call-overload]
            lines[at], lines[other] = lines[other], lines[at]
        if not lines:
            lines = [""]
    return "\r\n".join(lines)


@pytest.fixture
async def live_server(tmp_path: Path) -> AsyncIterator[Server]:
    async with running_server(small_config(tmp_path)) as srv:
        yield srv


@pytest.fixture
async def target(live_server: Server) -> tuple[str, str, str]:
    """A program on the air, its stream key, and a valid offer from aiortc to mutate."""
    program_id, key = await new_program(live_server)
    pc = await make_offer()
    offer = str(pc.localDescription.sdp)
    await pc.close()
    return program_id, key, offer


def _our_tasks() -> set[str]:
    """Pending tasks other than the test's own: the server's long-lived ones and any leftovers."""
    current = asyncio.current_task()
    return {repr(t.get_coro()).split(" at ")[0] for t in asyncio.all_tasks() if t is not current}


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutations=st.lists(MUTATION, min_size=1, max_size=3))
async def test_mutated_offers_never_answer_5xx(live_server: Server, target: tuple[str, str, str],
                                               mutations: list[tuple[object, ...]],
                                               caplog: pytest.LogCaptureFixture) -> None:
    server = live_server
    program_id, key, offer = target
    body = mutate(offer, mutations).encode("utf-8", "surrogatepass")
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"}
    async with aiohttp.ClientSession() as client:
        async with client.post(f"{server.url}/whip/{program_id}", data=body, headers=headers) as resp:
            status = resp.status
            answer = await resp.text()
            location = resp.headers.get("Location")
        assert status < 500, answer
        if status == 201:
            assert location
            async with client.delete(server.url + location) as resp:
                assert resp.status == 200
        else:
            assert status in (400, 409), answer
    live = server.parts.live.service
    assert all(bc.publisher is None for bc in live.broadcasts.values())
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


async def test_an_offer_cancelled_mid_negotiation_leaves_nothing_behind(
        live_server: Server, target: tuple[str, str, str]) -> None:
    server = live_server
    program_id, key, offer = target
    live = server.parts.live.service
    before = _our_tasks()
    publishing = asyncio.create_task(live.publish(program_id, offer))
    # cancelled while its worker process starts (after aiortc negotiated the answer)
    while (bc := live.broadcasts.get(program_id)) is None or bc.worker is None:  # noqa: ASYNC110
        await asyncio.sleep(0.005)  # nothing to await: the worker is created inside publish()
    pub, worker = bc.publisher, bc.worker
    assert pub is not None and worker is not None
    publishing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await publishing
    assert bc.publisher is None and bc.worker is None
    assert pub.pc.connectionState == "closed"
    assert worker.done.done() and (worker.pid is None or not process_alive(worker.pid))
    assert await server.metric("innotv_live_publishers") == 0
    assert await server.metric("innotv_live_media_workers") == 0
    # aiortc's own connecting task (fire and forget) ends once it sees the closed transports
    for _ in range(200):
        if _our_tasks() == before:
            break
        await asyncio.sleep(0.01)  # nothing to await: aiortc keeps no handle on that task
    assert _our_tasks() == before

    # and the program takes a publisher at once (not 409 for a ghost)
    fresh = await make_offer()
    try:
        async with aiohttp.ClientSession() as client:
            async with client.post(f"{server.url}/whip/{program_id}", data=fresh.localDescription.sdp,
                                   headers={"Authorization": f"Bearer {key}",
                                            "Content-Type": "application/sdp"}) as resp:
                assert resp.status == 201, await resp.text()
    finally:
        await fresh.close()
