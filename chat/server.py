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
  producer from the session cookie; connections per client address are capped.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

import socketio
from aiohttp import web

from kernel.errors import ApiError
from kernel.security import origin_allowed

from .events import default_nickname
from .fanout import Member
from .lean import ConnectionRefused, LeanConnection, LeanServer
from .limits import AddressCounter, Limiter
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
    counter = AddressCounter(settings.max_conns_per_ip)

    async def open_conn(
        sid: str, request: web.Request, eio: EioLink | None, transport: asyncio.Transport | None
    ) -> Member:
        # Behind a trusted proxy the app's middleware has already put the client's address here.
        address = request.remote or "unknown"
        if not counter.acquire(address):
            log.warning("socket.io connection refused: too many from one address")
            raise ConnectionRefused("too_many_connections", "Too many connections from your address.")
        try:
            cookie = request.headers.get("Cookie")
            viewer = visitors.viewer_id_from_cookie_header(cookie)
            user = await visitors.user_from_cookie_header(cookie)
            if viewer is None:
                viewer = f"user:{user.username}" if user else "anon-" + secrets.token_urlsafe(9)
        except Exception:
            counter.release(address)
            raise
        member = Member(sid, eio, viewer, user is not None and user.can("host"), transport)
        nickname = user.username if user else default_nickname(viewer)
        limiter = Limiter(settings.rate_scale)
        service.conns[sid] = Conn(sid, viewer, user, nickname, address, member, limiter)
        return member

    def close_conn(sid: str) -> Conn | None:
        conn = service.conns.pop(sid, None)
        if conn is None:
            return None
        service.members.remove_everywhere(conn.member)
        counter.release(conn.address)
        return conn

    async def lean_open(sid: str, request: web.Request, link: LeanConnection) -> Member:
        return await open_conn(sid, request, None, link.transport)

    lean = LeanServer(lean_open, close_conn, MAX_MESSAGE_BYTES, ping_interval=PING_INTERVAL_S,
                      ping_timeout=PING_TIMEOUT_S)
    lean.on_ping_timeout = lambda: service.metrics.inc("innotv_chat_ping_timeouts_total")

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
        except ConnectionRefused as refused:
            raise socketio.exceptions.ConnectionRefusedError(
                refused.message, {"code": refused.code}
            ) from None

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
