"""Clients that speak Engine.IO/Socket.IO by hand, to send what no library would: a bare
WebSocket (`Raw`, served by the lean path) and a bare long-polling session (`RawPolling`, served by
python-engineio)."""

from __future__ import annotations

import asyncio
import json

import aiohttp

UPGRADE = (
    b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)


class Raw:
    """A bare WebSocket client speaking Engine.IO/Socket.IO text by hand."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: str, local_host: str | None = None) -> Raw:
        """Connected from `local_host` (another loopback address: another client address)."""
        port = int(url.rsplit(":", 1)[1])
        local = (local_host, 0) if local_host else None
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=local)
        writer.write(UPGRADE)
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    def send(self, text: str | bytes, opcode: int = 1) -> None:
        """One masked frame (mask 0) of any length; `text` as bytes is sent as is, even if it is
        not UTF-8."""
        data = text.encode() if isinstance(text, str) else text
        length = len(data)
        if length < 126:
            head = bytes((0x80 | opcode, 0x80 | length))
        elif length < 65536:
            head = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
        else:
            head = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
        self.writer.write(head + b"\0\0\0\0" + data)

    async def frame(self, wait_s: float = 5.0) -> tuple[int, str]:
        async def read() -> tuple[int, str]:
            b0, b1 = await self.reader.readexactly(2)
            length = b1 & 0x7F
            if length == 126:
                length = int.from_bytes(await self.reader.readexactly(2), "big")
            elif length == 127:
                length = int.from_bytes(await self.reader.readexactly(8), "big")
            return b0 & 0x0F, (await self.reader.readexactly(length)).decode(errors="replace")

        return await asyncio.wait_for(read(), wait_s)

    async def text(self, wait_s: float = 5.0) -> str:
        """The next text frame (control frames skipped)."""
        while True:
            opcode, data = await self.frame(wait_s)
            if opcode == 1:
                return data

    async def until(self, want: str, wait_s: float = 5.0) -> str:
        """The next text frame starting with `want`, skipping room broadcasts in between."""
        while True:
            text = await self.text(wait_s)
            if text.startswith(want):
                return text

    async def connected(self) -> str:
        """Read the open packet, connect to `/`; returns the Socket.IO sid."""
        opened = await self.text()
        assert opened.startswith("0"), opened
        self.send("40")
        reply = await self.text()
        assert reply.startswith("40{"), reply
        return str(json.loads(reply[2:])["sid"])

    async def closed(self, wait_s: float = 5.0) -> None:
        """Wait until the server ends the connection (EOF or reset), answering its close frame
        as a browser does (without the answer the server waits out its close timeout)."""
        async def drain() -> None:
            try:
                while True:
                    opcode, _ = await self.frame(wait_s)
                    if opcode == 8:
                        self.send("", opcode=8)
                        break
                while await self.reader.read(65536):
                    pass
            except (ConnectionError, asyncio.IncompleteReadError):
                pass

        await asyncio.wait_for(drain(), wait_s)

    def abort(self) -> None:
        self.writer.transport.abort()


class RawPolling:
    """An Engine.IO v4 long-polling session driven with plain HTTP requests."""

    def __init__(self, http: aiohttp.ClientSession, url: str, sid: str) -> None:
        self.http = http
        self.url = url
        self.sid = sid

    @classmethod
    async def open(cls, url: str) -> RawPolling:
        http = aiohttp.ClientSession()
        base = url + "/socket.io/?EIO=4&transport=polling"
        async with http.get(base) as resp:
            assert resp.status == 200, await resp.text()
            opened = await resp.text()
        assert opened.startswith("0"), opened
        return cls(http, f"{base}&sid={json.loads(opened[1:])['sid']}", "")

    async def connected(self) -> str:
        await self.post("40")
        reply = await self.packets()
        assert reply and reply[0].startswith("40{"), reply
        self.sid = str(json.loads(reply[0][2:])["sid"])
        return self.sid

    async def post(self, body: str | bytes) -> tuple[int, str]:
        """POST a payload (packets joined by \x1e); the status and the answer's text."""
        async with self.http.post(self.url, data=body, headers={"Content-Type": "text/plain"}) as resp:
            return resp.status, await resp.text()

    async def packets(self, wait_s: float = 5.0) -> list[str]:
        """The packets of the next poll (pings are answered and skipped)."""
        while True:
            async with self.http.get(self.url, timeout=aiohttp.ClientTimeout(total=wait_s)) as resp:
                assert resp.status == 200, await resp.text()
                found = [p for p in (await resp.text()).split("\x1e") if p]
            if found == ["2"]:
                await self.post("3")
                continue
            return found

    async def until(self, want: str, wait_s: float = 5.0) -> str:
        """The next packet starting with `want`, skipping others (room broadcasts, noops)."""
        deadline = asyncio.get_running_loop().time() + wait_s
        while True:
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, f"no packet starting with {want!r} within {wait_s} s"
            for packet in await self.packets(left):
                if packet.startswith(want):
                    return packet

    async def close(self) -> None:
        await self.http.close()
