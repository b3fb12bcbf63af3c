"""The bytes on the wire: Socket.IO event packets encoded once, as ready-made WebSocket frames.

`event_frame(event, data)` gives the Engine.IO/Socket.IO text (`42["event",{...}]`) and the same
text as one unmasked, uncompressed WebSocket text frame. `PlainWebSocket` replaces
python-engineio's aiohttp WebSocket wrapper: it turns permessage-deflate off and remembers each
connection's transport on its Engine.IO socket, so that the fan-out can write a pre-built frame
straight into the socket's buffer (an aiohttp uncompressed frame is also written in one
synchronous call, so frames never interleave).
"""

from __future__ import annotations

import json
import struct
from typing import Any

from aiohttp.web import WebSocketResponse

TRANSPORT_ATTR = "_innotv_transport"


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def event_text(event: str, data: Any) -> str:
    """The Engine.IO message carrying a Socket.IO EVENT on the default namespace."""
    return "42" + dumps([event, data])


def ws_frame(text: str) -> bytes:
    payload = text.encode("utf-8")
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, length)
    elif length < 65536:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + payload


class PlainWebSocket:
    """python-engineio's aiohttp WebSocket wrapper, without compression, exposing its transport."""

    def __init__(self, handler: Any, server: Any) -> None:
        self.handler = handler
        self.server = server
        self._sock: WebSocketResponse | None = None
        self.environ: dict[str, Any] = {}

    async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
        request = environ["aiohttp.request"]
        sock = WebSocketResponse(
            max_msg_size=self.server.max_http_buffer_size, compress=False, autoping=True
        )
        self._sock = sock
        await sock.prepare(request)
        self.environ = environ
        eio_socket = getattr(self.handler, "__self__", None)
        if eio_socket is not None and request.transport is not None:
            setattr(eio_socket, TRANSPORT_ATTR, request.transport)
        try:
            await self.handler(self)
        finally:
            if eio_socket is not None:
                setattr(eio_socket, TRANSPORT_ATTR, None)
        return sock

    async def close(self) -> None:
        if self._sock is not None:
            await self._sock.close()

    async def send(self, message: str | bytes) -> None:
        assert self._sock is not None
        if isinstance(message, bytes):
            await self._sock.send_bytes(message)
        else:
            await self._sock.send_str(message)

    async def wait(self) -> str | bytes:
        assert self._sock is not None
        msg = await self._sock.receive()
        if not isinstance(msg.data, (bytes, str)):
            raise OSError()
        return msg.data
