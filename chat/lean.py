"""The lean WebSocket path: Engine.IO v4 + Socket.IO v5 spoken directly over aiohttp.

A client that opens `/socket.io/?EIO=4&transport=websocket` (no `sid`: a fresh WebSocket
connection, which is what browsers try first) is served here instead of by python-engineio,
on the same wire protocol: the Engine.IO open packet, server pings every `ping_interval` and a
cut when the pong is `ping_timeout` late, Socket.IO CONNECT / CONNECT_ERROR / DISCONNECT, events
with acks. What it saves per connection: python-engineio's writer task, its queue, a task per
received message, a task per ping and the WSGI-style environ; here there is the aiohttp handler
task (reading) and one small `LeanConnection` object. Everything sent is a pre-encoded frame written
straight into the transport (as the fan-out does), so nothing per connection waits to write.

Pings are sent by ONE sweep task for all connections (O(connections) per second, a few ms at
20,000). Disconnect cleanup is O(1): the reading task ends and drops its entries.

Long-polling clients, and polling clients that upgrade to WebSocket, still go through
python-socketio/python-engineio (`chat.server`); both paths share the same handlers.
Binary packets and namespaces other than `/` are refused (`44` CONNECT_ERROR).

Every connection is admitted (`admit`, counted per client address) before the WebSocket
handshake completes and released when it ends; a refused one gets the open packet, its CONNECT
answered with a CONNECT_ERROR carrying the reason, and is closed. Acks are not written to a
connection holding more than `max_buffer` unsent bytes (it is not reading; the chat's sweep cuts
it), and a connection may CONNECT at most `MAX_CONNECTS` times.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from .fanout import Member
from .incoming import INVALID_EVENT, event_args, split_ack
from .wire import dumps, ws_frame

log = logging.getLogger("innotv.chat.lean")

# Events whose handlers never wait (no store round trip): run inline, without a task.
INLINE_EVENTS = frozenset({"heart", "leave", "nick", INVALID_EVENT})
PING_FRAME = ws_frame("2")
CLOSE_WAIT_S = 1.0
# How long a refused connection has to send its CONNECT and read the CONNECT_ERROR.
REFUSE_WAIT_S = 5.0
# Socket.IO CONNECTs one WebSocket connection may make (each one makes a fresh session).
MAX_CONNECTS = 10
# After an event is refused by the rate limits, this connection is not read for this long: its
# further events wait in its socket (TCP pushes back on the sender) instead of costing the server.
REFUSED_PAUSE_S = 0.5

EventHandler = Callable[..., Awaitable[Any]]
# (sid, event name) -> None when the event may run, else the error ack refusing it (at once).
Gate = Callable[[str, str], dict[str, Any] | None]
# (sid, request, member-to-be) -> the Member it made; raises ConnectionRefused to refuse.
Opener = Callable[[str, web.Request, "LeanConnection"], Awaitable[Member]]
Closer = Callable[[str], object]


class ConnectionRefused(Exception):
    """Raised by the opener: the Socket.IO CONNECT is answered with a CONNECT_ERROR
    `{"message": message, "data": {"code": code[, "retry_after": s]}}` (what a client's
    `connect_error` shows)."""

    def __init__(self, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code}
        if self.retry_after is not None:
            data["retry_after"] = self.retry_after
        return data

    @property
    def payload(self) -> dict[str, Any]:
        return {"message": self.message, "data": self.data}


# request -> (the address key it counts under, None or why it is refused); `Release(key)` ends
# an admitted connection's count.
Admit = Callable[[web.Request], tuple[str, ConnectionRefused | None]]
Release = Callable[[str], None]


class LeanConnection:
    """One lean WebSocket connection: its transport, ping state and (once connected) member."""

    __slots__ = ("busy", "connects", "member", "ping_at", "pong_due", "sid", "throttled", "transport", "ws")

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport, ping_at: float) -> None:
        self.ws = ws
        self.transport = transport
        self.ping_at = ping_at
        self.pong_due = 0.0
        self.busy = 0  # events of this connection still running as tasks
        self.connects = 0
        self.throttled = False  # an event was just refused by the rate limits
        self.sid: str | None = None
        self.member: Member | None = None

    def write(self, frame: bytes) -> None:
        transport = self.transport
        if not transport.is_closing():
            transport.write(frame)


class LeanServer:
    """Serves fresh WebSocket connections; `handle(request)` is the aiohttp handler."""

    def __init__(
        self,
        opener: Opener,
        closer: Closer,
        max_message: int,
        ping_interval: float = 25.0,
        ping_timeout: float = 20.0,
        *,
        admit: Admit = lambda _request: ("", None),
        release: Release = lambda _key: None,
        max_buffer: int = 1 << 30,
    ) -> None:
        self.opener = opener
        self.closer = closer
        self.admit = admit
        self.release = release
        self.max_buffer = max_buffer
        self.max_message = max_message
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.handlers: dict[str, EventHandler] = {}
        self.on_unknown: EventHandler | None = None  # answers an event no handler takes
        self.gate: Gate = lambda _sid, _event: None
        self.refused_pause_s = REFUSED_PAUSE_S
        self.links: dict[int, LeanConnection] = {}
        self.on_ping_timeout: Callable[[], None] = lambda: None
        self._tasks: set[asyncio.Task[None]] = set()
        self._pinger: asyncio.Task[None] | None = None

    def on(self, event: str, handler: EventHandler) -> None:
        self.handlers[event] = handler

    @staticmethod
    def wants(request: web.Request) -> bool:
        """A fresh Engine.IO v4 WebSocket connection (not an upgrade of a polling session).

        Reads the raw query string: `request.query` would parse it into a MultiDict that the
        request keeps (and a WebSocket request lives as long as its connection)."""
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return False
        _, _, query = request.raw_path.partition("?")
        params = dict(parse_qsl(query))
        return params.get("transport") == "websocket" and "sid" not in params and params.get("EIO") == "4"

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._pinger = asyncio.create_task(self._ping_loop(), name="chat-lean-pings")

    async def stop(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pinger
            self._pinger = None
        close = ws_frame("1")
        links = list(self.links.values())
        for link in links:
            link.write(close)
        if links:
            await asyncio.wait(
                [asyncio.ensure_future(link.ws.close(code=1001)) for link in links], timeout=5
            )

    # ---- one connection -----------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        address, refused = self.admit(request)
        try:
            return await self._serve(request, refused)
        finally:
            if refused is None:
                self.release(address)

    async def _serve(self, request: web.Request, refused: ConnectionRefused | None) -> web.StreamResponse:
        # `timeout`: how long our close waits for the client's close frame before cutting the TCP
        # connection (a broken or vanished client must not hold its handler for long).
        ws = web.WebSocketResponse(
            max_msg_size=self.max_message, compress=False, autoping=True, timeout=CLOSE_WAIT_S
        )
        await ws.prepare(request)
        transport = request.transport
        if transport is None:  # pragma: no cover - the client left during the handshake
            return ws
        loop_time = time.monotonic()
        link = LeanConnection(ws, transport, loop_time + self.ping_interval)  # type: ignore[arg-type]
        eio_sid = secrets.token_urlsafe(15)
        link.write(ws_frame("0" + dumps({
            "sid": eio_sid,
            "upgrades": [],
            "pingTimeout": int(self.ping_timeout * 1000),
            "pingInterval": int(self.ping_interval * 1000),
            "maxPayload": self.max_message,
        })))
        if refused is not None:
            await self._refuse(ws, link, refused)
            return ws
        key = id(link)
        self.links[key] = link
        try:
            await self._read(ws, link, request)
        except Exception:
            # a bug, not the client's input: this connection ends, the server and the others go on
            log.exception("lean connection failed")
        finally:
            self.links.pop(key, None)
            if link.sid is not None:
                self.closer(link.sid)
                link.sid = None
            link.member = None
        if not ws.closed:
            await ws.close()
        return ws

    async def _read(self, ws: web.WebSocketResponse, link: LeanConnection, request: web.Request) -> None:
        """Read and handle the connection's messages until it closes or misbehaves."""
        while True:
            msg = await ws.receive()
            if msg.type is not WSMsgType.TEXT or link.transport.is_closing():
                # Closed, an error, or a binary frame (not spoken here); or we cut it: what it
                # sent before (already read, maybe a thousand events) is not worth handling.
                break
            data: str = msg.data
            del msg  # nothing of a handled message stays alive while the next one is awaited
            kind = data[:1]
            if kind == "4":
                if not await self._socketio(link, request, data):
                    break
                if link.throttled:
                    link.throttled = False
                    await asyncio.sleep(self.refused_pause_s)
            elif kind == "3":
                link.pong_due = 0.0
                link.ping_at = time.monotonic() + self.ping_interval
            elif kind == "1":
                break
            elif kind == "2":  # a client ping (Engine.IO v3 habit): answer it
                self._reply(link, ws_frame("3" + data[1:]))
            elif kind != "6":
                break  # not Engine.IO
            del data

    async def _refuse(
        self, ws: web.WebSocketResponse, link: LeanConnection, refused: ConnectionRefused
    ) -> None:
        """Answer the client's CONNECT with the CONNECT_ERROR, then close."""
        try:
            async with asyncio.timeout(REFUSE_WAIT_S):
                while True:
                    msg = await ws.receive()
                    if msg.type is not WSMsgType.TEXT:
                        break
                    if msg.data.startswith("40"):
                        link.write(ws_frame("44" + dumps(refused.payload)))
                        break
        except TimeoutError:
            pass
        if not ws.closed:
            await ws.close()

    async def _socketio(self, link: LeanConnection, request: web.Request, data: str) -> bool:
        """One Socket.IO packet (`data` = "4" + packet). False: drop the connection."""
        kind = data[1:2]
        body = data[2:]
        if body.startswith("/"):
            namespace, _, body = body.partition(",")
            if namespace != "/":
                if kind == "0":
                    link.write(ws_frame(f"44{namespace}," + dumps({"message": "Unable to connect"})))
                return True
        if kind == "2":
            return await self._event(link, body)
        if kind == "0":
            return await self._connect(link, request, body)
        if kind == "1":
            if link.sid is not None:
                self.closer(link.sid)
                link.sid = None
                link.member = None
            return True
        if kind == "3":
            return True  # acks of server-to-client calls: we make none
        return False  # binary packets and anything unknown

    async def _connect(self, link: LeanConnection, request: web.Request, body: str) -> bool:
        if link.sid is not None:
            return True  # already connected on `/`
        link.connects += 1
        if link.connects > MAX_CONNECTS:
            return False  # CONNECT, DISCONNECT, CONNECT ...: a script making sessions; drop it
        sid = secrets.token_urlsafe(15)
        try:
            link.member = await self.opener(sid, request, link)
        except ConnectionRefused as refused:
            link.write(ws_frame("44" + dumps(refused.payload)))
            return True
        if link.transport.is_closing():
            self.closer(sid)
            link.member = None
            return True
        link.sid = sid
        link.write(ws_frame("40" + dumps({"sid": sid})))
        return True

    async def _event(self, link: LeanConnection, body: str) -> bool:
        sid = link.sid
        if sid is None:
            return True  # not connected to the namespace: ignored, as python-socketio does
        split = split_ack(body)
        if split is None:
            return False  # an ack id longer than any client makes: not a packet
        ack, rest = split
        args = event_args(rest)
        if args is None:
            if ack is None:
                return False  # nothing to answer: a malformed packet drops the connection
            args = [INVALID_EVENT, {}]  # answered with `invalid_payload` by its handler
        refusal = self.gate(sid, args[0])
        if refusal is not None:
            link.throttled = True
            if ack is not None:
                self._reply(link, ws_frame("43" + ack + dumps([refusal])))
            return True
        handler = self.handlers.get(args[0], self.on_unknown)
        if handler is None:
            return True
        if (args[0] in INLINE_EVENTS or handler is self.on_unknown) and not link.busy:
            # Never suspends: no task. (While an earlier event of this connection still runs,
            # it goes behind it as a task instead, the order python-socketio would give.)
            await self._run(link, handler, sid, args[1:], ack, False)
            return True
        link.busy += 1
        task = asyncio.ensure_future(self._run(link, handler, sid, args[1:], ack, True))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _run(
        self, link: LeanConnection, handler: EventHandler, sid: str, args: list[Any], ack: str | None,
        counted: bool,
    ) -> None:
        try:
            result = await handler(sid, *args)
        finally:
            if counted:
                link.busy -= 1
        if ack is not None:
            self._reply(link, ws_frame("43" + ack + dumps([result])))

    def _reply(self, link: LeanConnection, frame: bytes) -> None:
        """Write an answer the client asked for, unless it holds more than `max_buffer` unsent
        bytes: then it is not reading what it asks for, and the answer is dropped (the chat's
        sweep cuts it if it does not catch up)."""
        if link.transport.get_write_buffer_size() <= self.max_buffer:
            link.write(frame)

    # ---- pings --------------------------------------------------------------------------------
    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.ping_interval / 4, self.ping_timeout / 4))
            self.sweep(time.monotonic())

    def sweep(self, now: float) -> None:
        """Ping every connection that is due; cut those whose pong is overdue."""
        timeout = self.ping_timeout
        for link in list(self.links.values()):
            if link.pong_due:
                if now > link.pong_due:
                    self.on_ping_timeout()
                    link.pong_due = 0.0
                    link.transport.abort()
            elif now >= link.ping_at:
                link.pong_due = now + timeout
                link.write(PING_FRAME)
