"""The Socket.IO server: python-socketio on aiohttp, with our manager, checks and identity.

- Our own route for `/socket.io/` checks the Origin of every request before Engine.IO sees it
  (allowed: the request's own scheme://host and `allowed_origins`). A request without Origin is
  let through: browsers always send Origin on WebSocket handshakes and cross-site requests, so a
  missing Origin means a same-origin polling request or a non-browser client, which carries only
  its own cookies (no ambient authority to abuse).
- A fresh WebSocket connection is served by the lean path (`chat.lean`, same wire protocol, one
  small object per connection); long-polling and its upgrade go through python-engineio. Both
  open and close a connection through `open_conn` / `close_conn` here.
- WebSocket compression is off (`socketio_internals.PlainWebSocket`, `chat.lean`); messages are
  capped at 16 KiB. python-socketio's manager is `socketio_internals.RoomlessManager` (O(1)
  disconnect): room membership is ours, in `fanout.RoomMembers`.
- Identity: the viewer id from the `innotv_viewer` cookie (or a per-connection id), a host or
  producer from the session cookie (whose key the connection keeps: when the session ends or the
  role changes, `ChatService` follows at once).
- Per client address (the one seen behind trusted proxies, IPv6 per /64): new connections come
  from a token bucket and open ones are capped (`limits.AddressLimits`). A fresh WebSocket is
  admitted before its handshake completes; a long-polling client's Engine.IO handshake pays the
  bucket (HTTP 429 `connect_rate_limited` when empty) and its Socket.IO CONNECT counts against
  the cap. Refusals are CONNECT_ERRORs with a code (and `retry_after` for the rate).
- `ChatService.cut` is implemented here: a lean connection is told (notice, Socket.IO DISCONNECT)
  and closed, an Engine.IO one disconnected through python-socketio.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

import socketio
from aiohttp import web

from kernel.client_address import limit_key
from kernel.errors import ApiError
from kernel.security import origin_allowed

from .fanout import Member
from .lean import CLOSE_WAIT_S, ConnectionRefused, LeanConnection, LeanServer
from .limits import AddressLimits, AddressRefusal, Limiter
from .nicknames import default_nickname
from .polling_post import TooLarge, read_polling_post
from .ports import Visitors
from .service import ChatService, Conn
from .settings import ChatSettings
from .socketio_internals import (
    CheckedPacket,
    EioLink,
    RoomlessManager,
    eio_link,
    end_polling_session,
    hand_over_body,
    install_drivers,
)
from .wire import event_text, ws_frame

log = logging.getLogger("innotv.chat.server")

MAX_MESSAGE_BYTES = 16 * 1024
SOCKETIO_PATH = "/socket.io/"
PING_INTERVAL_S = 25
PING_TIMEOUT_S = 20


class _ClientMistakes(logging.Filter):
    """python-engineio logs a client's bad request (an unknown session, a wrong transport) at
    ERROR, the first time of each kind. That is the client's mistake, not ours: WARNING. Its real
    failures (`logger.exception`, with a traceback) stay ERROR."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and not record.exc_info:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _engineio_logger() -> logging.Logger:
    engineio_log = logging.getLogger("innotv.chat.engineio")
    engineio_log.setLevel(logging.WARNING)  # not its per-packet INFO lines
    if not any(isinstance(f, _ClientMistakes) for f in engineio_log.filters):
        engineio_log.addFilter(_ClientMistakes())
    return engineio_log


def make_sio() -> Any:
    sio = socketio.AsyncServer(
        client_manager=RoomlessManager(),
        serializer=CheckedPacket,  # decoding never raises: bad packets get an `invalid_payload` ack
        async_mode="aiohttp",
        cors_allowed_origins=[],  # checked by our route, see `client_origin_ok`
        max_http_buffer_size=MAX_MESSAGE_BYTES,
        ping_interval=PING_INTERVAL_S,
        ping_timeout=PING_TIMEOUT_S,
        logger=False,
        engineio_logger=_engineio_logger(),
    )
    install_drivers(sio)
    return sio


def attach(app: web.Application, sio: Any, service: ChatService, visitors: Visitors,
           settings: ChatSettings, allowed_origins: tuple[str, ...]) -> LeanServer:
    """Route `/socket.io/`: fresh WebSocket connections to the lean path, the rest (long-polling
    and its upgrade) to python-engineio. Returns the lean server (started by the chat's
    lifecycle)."""
    limits = AddressLimits(settings.max_conns_per_ip, settings.conn_burst_per_ip, settings.conn_rate_per_ip)
    metrics = service.metrics

    def refused(refusal: AddressRefusal) -> ConnectionRefused:
        metrics.inc("innotv_chat_connections_refused_total", code=refusal.code)
        return ConnectionRefused(refusal.code, refusal.message, refusal.retry_after)

    def lean_admit(request: web.Request) -> tuple[str, ConnectionRefused | None]:
        # Behind trusted proxies the app's middleware has already put the client's address here.
        key = limit_key(request.remote)
        refusal = limits.admit(key)
        return key, refused(refusal) if refusal else None

    async def open_conn(
        sid: str, request: web.Request, eio: EioLink | None, transport: asyncio.Transport | None
    ) -> Member:
        key = limit_key(request.remote)
        # A lean connection was counted at its handshake; an Engine.IO one is counted here.
        counted = eio is not None
        if counted:
            refusal = limits.acquire(key)
            if refusal:
                raise refused(refusal)
        try:
            cookie = request.headers.get("Cookie")
            viewer = visitors.viewer_id_from_cookie_header(cookie)
            signed_in = await visitors.session_from_cookie_header(cookie)
            user, session = signed_in if signed_in else (None, None)
            if viewer is None:
                viewer = f"user:{user.username}" if user else "anon-" + secrets.token_urlsafe(9)
        except Exception:
            if counted:
                limits.release(key)
            raise
        # Any account (host, producer, captioner) is staff: not counted as a viewer.
        member = Member(sid, eio, viewer, user is not None, transport)
        nickname = user.username if user else default_nickname(viewer)
        limiter = Limiter(settings.rate_scale)
        service.conns[sid] = Conn(sid, viewer, user, nickname, key, member, limiter, session=session)
        return member

    def close_conn(sid: str) -> Conn | None:
        conn = service.conns.pop(sid, None)
        if conn is None:
            return None
        service.members.remove_everywhere(conn.member)
        service.flush_refusals(conn)
        if conn.member.eio is not None:
            limits.release(conn.address)
        return conn

    async def lean_open(sid: str, request: web.Request, link: LeanConnection) -> Member:
        return await open_conn(sid, request, None, link.transport)

    lean = LeanServer(lean_open, close_conn, MAX_MESSAGE_BYTES, ping_interval=PING_INTERVAL_S,
                      ping_timeout=PING_TIMEOUT_S, admit=lean_admit, release=limits.release,
                      max_buffer=settings.buffer_kib * 1024)
    lean.on_ping_timeout = lambda: service.metrics.inc("innotv_chat_ping_timeouts_total")

    cutting: set[asyncio.Future[Any]] = set()

    def cut(conn: Conn, reconnect: bool) -> None:
        member = conn.member
        if member.eio is not None:
            task = asyncio.ensure_future(sio.disconnect(conn.sid))
            cutting.add(task)
            task.add_done_callback(cutting.discard)
            return
        transport = member.transport
        if transport is None or transport.is_closing():
            return
        if reconnect:
            transport.abort()  # the client's own reconnection brings it back, resynced
            return
        notice = {"code": "flooding", "message": "Too many events for too long; disconnected."}
        transport.write(ws_frame(event_text("notice", notice)) + ws_frame("41"))
        transport.close()  # after the buffer is flushed; cut if the client does not read it
        asyncio.get_running_loop().call_later(CLOSE_WAIT_S, transport.abort)

    service.cut = cut

    async def endpoint(request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and not origin_allowed(origin, request, allowed_origins):
            log.warning("socket.io origin refused", extra={"origin": origin[:200]})
            return web.json_response(
                {"error": {"code": "origin_not_allowed", "message": "This origin may not connect."}},
                status=403,
            )
        if request.method == "GET" and LeanServer.wants(request):
            return await lean.handle(request)
        if request.method == "GET" and "sid" not in request.query:
            # A new Engine.IO (long-polling) session: one token of the address's bucket.
            refusal = limits.take(limit_key(request.remote))
            if refusal is not None:
                metrics.inc("innotv_chat_connections_refused_total", code=refusal.code)
                return web.json_response(
                    {"error": {"code": refusal.code, "message": refusal.message}}, status=429,
                    headers={"Retry-After": str(max(1, round(refusal.retry_after or 1)))},
                )
        if request.method == "POST":
            try:
                hand_over_body(request, await read_polling_post(request, MAX_MESSAGE_BYTES))
            except TooLarge:
                eio_sid = request.query.get("sid")
                if eio_sid:
                    await end_polling_session(sio, eio_sid)
                raise
        try:
            response: web.StreamResponse = await sio.eio.handle_request(request)
        except KeyError:
            # python-engineio between closing a session and forgetting it ('Session is disconnected')
            raise ApiError(400, "invalid_session", "This Engine.IO session has ended.") from None
        if response.status >= 400 and response.content_type != "application/json":
            # python-engineio's refusals are plain text; every error we answer is JSON
            raise ApiError(response.status, "bad_request",
                           "The Engine.IO request was refused: an unknown or ended session, another "
                           "transport or protocol version than the session's, or a bad query.")
        return response

    for method in ("GET", "POST", "OPTIONS"):
        app.router.add_route(method, SOCKETIO_PATH, endpoint)

    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        request: web.Request = environ["aiohttp.request"]
        try:
            await open_conn(sid, request, eio_link(sio, sid), None)
        except ConnectionRefused as refusal:
            raise socketio.exceptions.ConnectionRefusedError(refusal.message, refusal.data) from None

    async def disconnect(sid: str, *args: Any) -> None:
        conn = close_conn(sid)
        if conn is None:
            return
        link = conn.member.eio
        if link is not None and not link.upgraded:
            # Release a long-poll GET still held open, so a polling client's close completes now
            # rather than at the next ping.
            link.release_poll()

    sio.on("connect", connect)
    sio.on("disconnect", disconnect)
    return lean
