"""Packets no library would send, on both transports (the lean WebSocket path and long-polling
through python-engineio): each is answered with an ack error with a code (or a 4xx for a bad
POST), the connection keeps working, and the server logs no traceback."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.chat.clients import HALL, host, viewer
from tests.chat.conftest import close_all
from tests.chat.raw import Raw, RawPolling
from tests.helpers import Server, make_config, running_server

BIG = "9" * 19  # 19 digits, more than 2**63-1: the SQLite row-number form's limit
# Event bodies (after the ack id) that are not an event we accept -> invalid_payload.
NOT_EVENTS = {
    "an integer of 5,000 digits": '["nick",{"nickname":"x","n":' + "1" * 5000 + "}]",
    "an integer over 64 bits": '["heart",{"room":"' + HALL + '","count":18446744073709551616}]',
    "NaN": '["heart",{"room":"' + HALL + '","count":NaN}]',
    "a float that overflows": '["heart",{"room":"' + HALL + '","count":1e999}]',
    "nesting 5,000 deep": '["nick",' + "[" * 5000 + "]" * 5000 + "]",
    "not JSON": '["nick",{"nickname":',
    "an object": '{"nick":{}}',
    "an empty list": "[]",
    "a number for the event name": "[5,{}]",
    "python-socketio's reserved disconnect": '["disconnect"]',
    "python-socketio's reserved connect": '["connect",{}]',
    "python-socketio's catch-all name": '["*",{}]',
}


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


class Transport:
    """A raw client on one transport: send one Socket.IO packet text, read the next ack."""

    def __init__(self, send: Callable[[str], Awaitable[None]], ack: Callable[[str], Awaitable[str]],
                 close: Callable[[], Awaitable[None]]) -> None:
        self.send = send
        self.ack = ack
        self.close = close

    async def call(self, ack_id: int, body: str) -> dict[str, Any]:
        await self.send(f"42{ack_id}{body}")
        reply = await self.ack(f"43{ack_id}[")
        result: dict[str, Any] = json.loads(reply[len(f"43{ack_id}"):])[0]
        return result


async def _websocket(server: Server) -> Transport:
    raw = await Raw.open(server.url)
    await raw.connected()

    async def send(text: str) -> None:
        raw.send(text)

    async def close() -> None:
        raw.abort()

    return Transport(send, raw.until, close)


async def _polling(server: Server) -> Transport:
    raw = await RawPolling.open(server.url)
    await raw.connected()

    async def send(text: str) -> None:
        status, body = await raw.post(text)
        assert status == 200, body

    return Transport(send, raw.until, raw.close)


@pytest.fixture
async def lenient(tmp_path: Path) -> AsyncIterator[Server]:
    """Rate limits scaled up, so that every packet here reaches decoding (no store touched)."""
    async with running_server(make_config("sqlite", tmp_path / "data", None, chat_rate_scale=100.0)) as srv:
        try:
            yield srv
        finally:
            await close_all()


@pytest.fixture(params=["websocket", "polling"])
async def raw_client(request: pytest.FixtureRequest, lenient: Server) -> AsyncIterator[Transport]:
    opener = _websocket if request.param == "websocket" else _polling
    client = await opener(lenient)
    try:
        yield client
    finally:
        await client.close()


async def test_packets_that_are_not_events_get_an_ack_error(
        raw_client: Transport, lenient: Server, caplog: pytest.LogCaptureFixture) -> None:
    conns = lenient.parts.chat.service.conns
    assert len(conns) == 1
    for ack_id, (what, body) in enumerate(NOT_EVENTS.items(), start=1):
        ack = await raw_client.call(ack_id, body)
        assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload", (what, ack)
        assert ack["error"]["message"]
    ack = await raw_client.call(90, '["no-such-event",{}]')
    assert ack["error"]["code"] == "unknown_event"
    # still connected, and still counted: `["disconnect"]` did not free the connection's slot
    ack = await raw_client.call(91, '["nick",{"nickname":"still here"}]')
    assert ack == {"ok": True, "nickname": "still here"}
    assert len(conns) == 1
    assert tracebacks(caplog) == []


async def test_lone_surrogates_are_dropped_from_text(
        raw_client: Transport, caplog: pytest.LogCaptureFixture) -> None:
    ack = await raw_client.call(1, '["nick",{"nickname":"\\ud800"}]')
    assert ack["error"]["code"] == "empty_text"
    ack = await raw_client.call(2, '["nick",{"nickname":"a\\udfff\\ud800b"}]')
    assert ack == {"ok": True, "nickname": "ab"}
    assert tracebacks(caplog) == []


async def _raw_post(server: Server, sid_query: str, head: str, body: bytes) -> tuple[str, bytes]:
    """One POST written by hand; (status line, everything the server sent before closing)."""
    port = int(server.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((f"POST /socket.io/?EIO=4&transport=polling&sid={sid_query} HTTP/1.1\r\n"
                  f"Host: 127.0.0.1\r\nContent-Type: text/plain\r\n{head}\r\n").encode() + body)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)  # until the server closes the connection
    writer.close()
    return answer.split(b"\r\n", 1)[0].decode(), answer


async def test_a_polling_post_over_the_limit_is_answered_and_closed(
        one_server: Server, caplog: pytest.LogCaptureFixture) -> None:
    raw = await RawPolling.open(one_server.url)
    try:
        await raw.connected()
        engine_sid = raw.url.rsplit("sid=", 1)[1]
        body = b"42" + b"x" * 20_000
        status, answer = await _raw_post(one_server, engine_sid, f"Content-Length: {len(body)}\r\n", body)
        assert status == "HTTP/1.1 413 Request Entity Too Large", answer[:300]
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "payload_too_large"
        assert b"connection: close" in answer.lower()
        assert not one_server.parts.chat.service.conns  # the session ended with it
        async with raw.http.get(raw.url) as resp:
            assert resp.status == 400 and (await resp.json())["error"]["code"] == "bad_request"

        chunked = b"5\r\n42[1]\r\n0\r\n\r\n"
        status, answer = await _raw_post(one_server, engine_sid, "Transfer-Encoding: chunked\r\n", chunked)
        assert status.startswith("HTTP/1.1 411"), answer[:300]
    finally:
        await raw.close()
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("body", [b"\xff\xfe42", b"0", b"6", b"2", b"4x", b"b4AAAA", b"", b"3\x1e" * 20])
async def test_polling_posts_that_are_not_client_packets_are_refused(
        one_server: Server, body: bytes, caplog: pytest.LogCaptureFixture) -> None:
    raw = await RawPolling.open(one_server.url)
    try:
        await raw.connected()
        status, text = await raw.post(body)
        assert status == 400 and json.loads(text)["error"]["code"] == "invalid_payload", (status, text)
        status, _ = await raw.post("42[\"nick\",{\"nickname\":\"ok\"}]")  # the session goes on
        assert status == 200
    finally:
        await raw.close()
    assert tracebacks(caplog) == []


async def test_message_ids_beyond_64_bits_are_refused(
        server: Server, caplog: pytest.LogCaptureFixture) -> None:
    moderator = await host(server)
    await moderator.join()
    for event, payload in [("join", {"room": HALL, "since": BIG}), ("mod:delete", {"room": HALL, "id": BIG}),
                           ("mod:pin", {"room": HALL, "id": BIG})]:
        ack = await moderator.call(event, payload)
        assert ack["error"]["code"] == "invalid_id", (event, ack)
    # the largest row number is an id like any other (none stored yet: unknown, not an error)
    assert (await moderator.call("mod:delete", {"room": HALL, "id": str(2**63 - 1)}))["error"]["code"] \
        == "unknown_message"
    client = server.client()
    async with client.get(f"/api/halls/social-value/comments?before={BIG}") as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_before"
    async with client.get("/api/halls/social-value/comments?before=%D9%A3") as resp:  # Arabic-Indic 3
        assert resp.status == 400
    assert tracebacks(caplog) == []


INVISIBLE = {
    "zero-width joiners": "\u200d\u200d\u200d",
    "variation selectors": "\ufe0f\ufe0e\U000e0100",
    "Hangul fillers": "\u3164\u115f\u1160\uffa0",
    "blank Braille": "\u2800\u2800",
    "combining marks alone": "\u0301\u0302",
    "a mix with spaces": " \u3164 \u200d\u3000\ufe0f ",
}


async def test_text_made_only_of_invisible_characters_is_empty(lenient: Server) -> None:
    client = await viewer(lenient)
    await client.join()
    for what, text in INVISIBLE.items():
        for event, payload in [("nick", {"nickname": text}), ("chat", {"room": HALL, "text": text})]:
            ack = await client.call(event, payload)
            assert ack["ok"] is False and ack["error"]["code"] == "empty_text", (what, event, ack)
    # inside visible text they stay: an emoji sequence, a name with a filler
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    name = f"민\u3164수 {family}"
    assert (await client.call("nick", {"nickname": name}))["nickname"] == name
    assert (await client.call("chat", {"room": HALL, "text": "\u2764\ufe0f"}))["ok"] is True
