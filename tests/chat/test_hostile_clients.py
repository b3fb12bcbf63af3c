"""Hostile clients cost the server little and the others nothing: a client that keeps sending
past its rate limits is disconnected; one that never reads is cut whether or not it joined a room,
and its buffer stays at the cap; refused events are logged once per interval with a count."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from pathlib import Path

import pytest

from tests.chat.clients import HALL, connect
from tests.chat.raw import Raw
from tests.helpers import make_config, running_server


def refusal_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "chat events refused"]


async def test_refused_events_are_logged_once_per_interval_with_a_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="innotv.chat")
    # Limits scaled up, so all 1,000 bad events are read and refused (not paced by the rate limit).
    config = make_config("sqlite", tmp_path / "d", None, chat_rate_scale=1000.0)
    async with running_server(config) as srv:
        raw = await Raw.open(srv.url)
        await raw.connected()
        for i in range(1000):
            raw.send(f'42{i}["chat",{{"room":"lobby","text":"x"}}]')
        for _ in range(1000):
            ack = await raw.until("43")
            assert '"invalid_room"' in ack, ack
        raw.send("41")  # DISCONNECT: what was not logged yet is logged now
        deadline = asyncio.get_running_loop().time() + 5
        while srv.parts.chat.service.conns:
            assert asyncio.get_running_loop().time() < deadline, "the server never saw the disconnect"
            await asyncio.sleep(0.01)
        raw.abort()
        assert await srv.metric("innotv_chat_events_refused_total") == 1000
    lines = refusal_lines(caplog)
    assert len(lines) <= 2, [r.__dict__.get("count") for r in lines]
    assert sum(r.__dict__["count"] for r in lines) == 1000
    assert all(r.__dict__["codes"] == {"invalid_room": r.__dict__["count"]} for r in lines)


async def test_a_client_flooding_past_its_limits_is_disconnected(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="innotv.chat")
    config = make_config("sqlite", tmp_path / "d", None, chat_flood_cut_s=1.0)
    async with running_server(config) as srv:
        calm = await connect(srv.url)
        await calm.join()
        flood = await Raw.open(srv.url)
        await flood.connected()
        flood.send('421["join",{"room":"' + HALL + '"}]')
        await flood.until("431[")
        sent = 0

        async def keep_flooding() -> None:
            nonlocal sent
            while not flood.writer.transport.is_closing():
                for _ in range(50):
                    sent += 1
                    flood.send(f'42{sent + 1}["chat",{{"room":"{HALL}","text":"spam"}}]')
                await flood.writer.drain()

        flooding = asyncio.ensure_future(keep_flooding())
        try:
            notice = await flood.until('42["notice"', wait_s=15)
        finally:
            flooding.cancel()
        assert json.loads(notice[2:])[1]["code"] == "flooding"
        await flood.closed()
        assert await srv.metric("innotv_chat_cut_total") == 1
        # the calm client was served throughout
        assert (await calm.call("chat", {"room": HALL, "text": "still here"}))["ok"]
        await calm.wait_message("still here")
        # reading was paused after each refusal: the flood cost a handful of refused events
        refused = await srv.metric("innotv_chat_events_refused_total")
        assert 1 <= refused < 50, (refused, sent)
        flood.abort()
    assert 1 <= len(refusal_lines(caplog)) <= 2


async def test_a_client_that_never_reads_is_cut_without_joining_a_room(tmp_path: Path) -> None:
    # Limits scaled up so the client can ask for a lot quickly: the kernel's socket buffers on
    # loopback take a few MB before anything stays unsent in the server process.
    config = make_config("sqlite", tmp_path / "d", None, chat_buffer_kib=16, chat_stall_grace_s=1.0,
                         chat_rate_scale=100.0)
    async with running_server(config) as srv:
        # History in the hall, so a join ack is big (about 50 KB).
        writer_client = await connect(srv.url)
        await writer_client.join()
        for _ in range(50):
            assert (await writer_client.call("chat", {"room": HALL, "text": "가" * 300}))["ok"]
        await writer_client.close()
        # A client that asks and never reads what it asked for; it answers pings blindly.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        port = int(srv.url.rsplit(":", 1)[1])
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
        raw = Raw(reader, writer)
        writer.write(b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
                     b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        await raw.connected()
        for i in range(200):  # 10 MB of acks asked for; it is in no room afterwards
            raw.send(f'42{i}["join",{{"room":"{HALL}"}}]')
            raw.send(f'42["leave",{{"room":"{HALL}"}}]')
        await writer.drain()
        service = srv.parts.chat.service
        lean = srv.parts.chat.lean
        cap = 16 * 1024
        largest = 0
        deadline = asyncio.get_running_loop().time() + 15
        while service.conns:  # no event to await: the server's sweep runs once a second
            assert asyncio.get_running_loop().time() < deadline, "the non-reader was never cut"
            for link in list(lean.links.values()):
                largest = max(largest, link.transport.get_write_buffer_size())
            raw.send("3")
            await asyncio.sleep(0.05)
        assert service.members.count(HALL) == 0
        assert await srv.metric("innotv_chat_cut_total") == 1
        # what it did not read stayed near the cap: one answer past it at most
        assert cap < largest <= cap + 60_000, largest
        writer.transport.abort()
