"""Every use of python-socketio's and python-engineio's unpublished internals, in one place.

pyproject pins both libraries to the versions these were read from, and
`tests/chat/test_socketio_internals.py` fails loudly when an upgrade changes any of them:

- `RoomlessManager` overrides `AsyncManager.basic_disconnect` and touches the manager's `rooms`,
  `callbacks`, `pending_connect` and `pending_disconnect` (stock disconnect scans every room).
- `install_drivers` replaces two entries of the aiohttp driver table `server.eio._async`: the
  WebSocket driver with `PlainWebSocket` (no permessage-deflate; the connection's transport
  remembered on its Engine.IO socket, which the driver reaches as `handler.__self__`), and
  `translate_request`, whose environ then reads a long-polling POST's body from what
  `hand_over_body` stored on the request (we read and check it first, `chat.polling_post`)
  instead of from the request's stream (python-engineio reads `wsgi.input` with `read(length)`).
- `end_polling_session` closes an Engine.IO socket at once (`close(wait=False, abort=True)`,
  then drops it from `eio.sockets`): python-engineio's own `disconnect` waits for the client's
  next poll.
- `EioLink` is what the fan-out needs of an Engine.IO socket (`upgraded`, `closed`, `closing`,
  the outgoing `queue`): its transport once upgraded, or a packet queued for long-polling.
- `eio_link(server, sid)` finds a Socket.IO session's Engine.IO socket (`manager.eio_sid_from_sid`,
  `eio.sockets`).
- `CheckedPacket` (given as `serializer=`, which python-socketio documents for Packet subclasses)
  overrides `Packet.decode` and relies on what it sets: `packet_type`, `id`, `data` and the
  returned attachment count. Whatever a client sends, decoding never raises (python-socketio
  would log a traceback and leave an ack unanswered): a packet that is not a CONNECT,
  DISCONNECT, ACK or a JSON event (`chat.incoming.event_args`), binary ones included, becomes
  the event `[INVALID_EVENT, {}]` with the ack id it had.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import socketio
from aiohttp import web
from aiohttp.web import WebSocketResponse
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from kernel.untrusted_json import loads_untrusted

from .incoming import INVALID_EVENT, is_event

PINNED = {"python-socketio": "5.18.1", "python-engineio": "4.15.1"}
_TRANSPORT_ATTR = "_innotv_transport"


class RoomlessManager(socketio.AsyncManager):  # type: ignore[misc]
    """python-socketio's manager with an O(1) disconnect: room membership is ours
    (`fanout.RoomMembers`), so only the two per-client entries exist and no room is scanned."""

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        rooms = self.rooms.get(namespace)
        if rooms is None:
            return
        for room in (sid, None):
            members = rooms.get(room)
            if members is not None and sid in members:
                del members[sid]
                if not members:
                    del rooms[room]
        if not rooms:
            del self.rooms[namespace]
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            waiting = pending.get(namespace)
            if waiting and sid in waiting:
                waiting.remove(sid)
                if not waiting:
                    del pending[namespace]


class _UntrustedJson:
    """The JSON functions python-socketio's packets use (`Packet.json`): strict parsing."""

    dumps = staticmethod(json.dumps)
    loads = staticmethod(loads_untrusted)


class CheckedPacket(sio_packet.Packet):  # type: ignore[misc]
    """A Socket.IO packet whose decoding never fails; see the module's docstring."""

    json = _UntrustedJson
    packet_type: Any
    data: Any

    def decode(self, encoded_packet: Any) -> int:
        try:
            attachments = super().decode(encoded_packet)
        except Exception:
            attachments = None
        kind, data = self.packet_type, self.data
        if attachments == 0 and kind in (sio_packet.CONNECT, sio_packet.DISCONNECT, sio_packet.ACK):
            return 0
        if attachments == 0 and kind == sio_packet.EVENT and is_event(data):
            return 0
        self.packet_type = sio_packet.EVENT
        self.data = [INVALID_EVENT, {}]
        return 0


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
            setattr(eio_socket, _TRANSPORT_ATTR, request.transport)
        try:
            await self.handler(self)
        finally:
            if eio_socket is not None:
                setattr(eio_socket, _TRANSPORT_ATTR, None)
        return sock

    async def close(self) -> None:
        if self._sock is not None:
            await self._sock.close()

    async def send(self, message: str | bytes) -> None:
        if self._sock is None:
            raise OSError("not connected")
        if isinstance(message, bytes):
            await self._sock.send_bytes(message)
        else:
            await self._sock.send_str(message)

    async def wait(self) -> str | bytes:
        if self._sock is None:
            raise OSError("not connected")
        msg = await self._sock.receive()
        if not isinstance(msg.data, (bytes, str)):
            raise OSError()
        return msg.data


_BODY_KEY = web.RequestKey("innotv_polling_body", bytes)


class _ReadBody:
    """`wsgi.input` for a body read already: python-engineio awaits `read(length)` once."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def read(self, _n: int = -1) -> bytes:
        body, self._body = self._body, b""
        return body


def hand_over_body(request: Any, body: bytes) -> None:
    """python-engineio is to read `body` as the request's body (the stream has been read)."""
    request[_BODY_KEY] = body


def install_drivers(server: Any) -> None:
    # A per-instance copy: the driver table is a module-level dict shared by every server.
    table = server.eio._async
    stock_translate = table["translate_request"]

    def translate_request(request: Any) -> dict[str, Any]:
        environ: dict[str, Any] = stock_translate(request)
        body = request.get(_BODY_KEY)
        if body is not None:
            environ["wsgi.input"] = _ReadBody(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return environ

    server.eio._async = {**table, "websocket": PlainWebSocket, "translate_request": translate_request}


async def end_polling_session(server: Any, eio_sid: str) -> None:
    """Close a long-polling Engine.IO session now (its disconnect handlers run)."""
    sock = server.eio.sockets.get(eio_sid)
    if sock is None:
        return
    await sock.close(wait=False, abort=True)
    server.eio.sockets.pop(eio_sid, None)


def message_packet(text: str) -> Any:
    """The Engine.IO packet of a Socket.IO text message (`text` starts with "4")."""
    return eio_packet.Packet(eio_packet.MESSAGE, data=text[1:])


class EioLink:
    """One python-engineio connection (long-polling, or upgraded from it), as the fan-out uses it."""

    __slots__ = ("_sock",)

    def __init__(self, sock: Any) -> None:
        self._sock = sock

    def transport(self) -> asyncio.Transport | None:
        """The WebSocket's transport once upgraded (frames are written straight into it)."""
        sock = self._sock
        return getattr(sock, _TRANSPORT_ATTR, None) if sock.upgraded else None

    @property
    def upgraded(self) -> bool:
        return bool(self._sock.upgraded)

    def closed(self) -> bool:
        return bool(self._sock.closed or self._sock.closing)

    def backlog(self) -> int:
        """Packets waiting for the client's next poll."""
        return int(self._sock.queue.qsize())

    def put(self, packet: Any) -> None:
        self._sock.queue.put_nowait(packet)

    def release_poll(self) -> None:
        """Answer a long-poll GET held open (a no-op packet), so a closing client sees it now."""
        self._sock.queue.put_nowait(eio_packet.Packet(eio_packet.NOOP))


def eio_link(server: Any, sid: str) -> EioLink:
    """The Engine.IO connection behind a Socket.IO session of namespace `/`."""
    eio_sid = server.manager.eio_sid_from_sid(sid, "/")
    return EioLink(server.eio.sockets[eio_sid])
