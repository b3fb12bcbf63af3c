"""A reader that stops reading is taken out of the room once its unsent bytes pass the cap and is
told to resync; the others keep receiving. Disconnecting many clients is linear."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

from chat.service import ChatService
from tests.chat.clients import HALL, connect
from tests.helpers import make_config, running_server


async def _raw_join(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A bare WebSocket Socket.IO client with a tiny receive buffer that joins HALL."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=2048)
    writer.write(
        b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head

    def send(text: str) -> None:
        data = text.encode()
        writer.write(bytes((0x81, 0x80 | len(data))) + b"\0\0\0\0" + data)

    while True:
        text = await _read_frame(reader)
        if text.startswith("0"):
            send("40")
        elif text.startswith("40"):
            send('421["join",{"room":"' + HALL + '"}]')
        elif text.startswith("431["):
            return reader, writer


async def _read_frame(reader: asyncio.StreamReader) -> str:
    _b0, b1 = await reader.readexactly(2)
    length = b1 & 0x7F
    if length == 126:
        length = int.from_bytes(await reader.readexactly(2), "big")
    elif length == 127:
        length = int.from_bytes(await reader.readexactly(8), "big")
    return (await reader.readexactly(length)).decode()


async def test_stalled_reader_is_dropped_and_told_to_resync(tmp_path: Path) -> None:
    config = make_config("sqlite", tmp_path / "d", None, chat_buffer_kib=64)
    async with running_server(config) as srv:
        service: ChatService = srv.parts.chat.service
        port = int(srv.url.rsplit(":", 1)[1])
        reader, writer = await _raw_join(port)
        assert service.members.count(HALL) == 1
        blob = "x" * 8000
        pushes = 0
        while service.members.count(HALL) == 1 and pushes < 10_000:  # until it is dropped
            service.members.broadcast(HALL, "messages", {"room": HALL, "items": [{"id": "0", "text": blob}]})
            pushes += 1
            await asyncio.sleep(0)
        assert await srv.metric("innotv_chat_stalled_total") == 1, pushes
        assert service.members.count(HALL) == 0  # out of the room: costs nothing per tick now
        # a healthy client is served at once
        healthy = await connect(srv.url)
        await healthy.join()
        await healthy.call("chat", {"room": HALL, "text": "still flowing"})
        await healthy.wait_message("still flowing", wait_s=2)
        # the stalled reader, reading again, finds the resync notice after what was buffered
        deadline = time.monotonic() + 20
        while True:
            text = await asyncio.wait_for(_read_frame(reader), 10)
            if text.startswith('42["notice"'):
                notice = json.loads(text[2:])[1]
                assert notice["code"] == "resync" and notice["rooms"] == [HALL]
                break
            assert time.monotonic() < deadline
        writer.close()
        await healthy.close()


async def test_mass_disconnect_is_fast(tmp_path: Path) -> None:
    config = make_config("sqlite", tmp_path / "d", None, chat_max_conns_per_ip=1000)
    async with running_server(config) as srv:
        service: ChatService = srv.parts.chat.service
        port = int(srv.url.rsplit(":", 1)[1])
        socks = await asyncio.gather(*(_raw_join(port) for _ in range(300)))
        assert len(service.conns) == 300 and service.members.count(HALL) == 300
        start = time.monotonic()
        for _reader, writer in socks:
            writer.transport.abort()
        while service.conns:  # noqa: ASYNC110 - nothing to await: the server sees the closes itself
            await asyncio.sleep(0.005)
        assert time.monotonic() - start < 2.0
        assert service.members.count(HALL) == 0
        sio_rooms = srv.parts.chat.sio.manager.rooms
        assert not sio_rooms.get("/")
