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

from kernel.security import origin_allowed

from .fanout import Member
from .lean import ConnectionRefused, LeanConnection, LeanServer
from .limits import AddressCounter, Limiter
from .nicknames import default_nickname
from .ports import Visitors
from .service import ChatService, Conn
from .settings import ChatSettings
from .socketio_internals import EioLink, RoomlessManager, eio_link, install_plain_websocket

log = logging.getLogger("innotv.chat.server")

MAX_MESSAGE_BYTES = 16 * 1024
SOCKETIO_PATH = "/socket.io/"
PING_INTERVAL_S = 25
PING_TIMEOUT_S = 20


def make_sio() -> Any:
    sio = socketio.AsyncServer(
        client_manager=RoomlessManager(),
        async_mode="aiohttp",
        cors_allowed_origins=[],  # checked by our route, see `client_origin_ok`
        max_http_buffer_size=MAX_MESSAGE_BYTES,
        ping_interval=PING_INTERVAL_S,
        ping_timeout=PING_TIMEOUT_S,
        logger=False,
        engineio_logger=False,
    )
    install_plain_websocket(sio)
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
        # Staff connections keep their cookies: their rights are checked again before each
        # staff action (an account removed or changed meanwhile loses them at once).
        service.conns[sid] = Conn(sid, viewer, user, nickname, address, member, limiter,
                                  cookie=cookie if user is not None else None)
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
        response: web.StreamResponse = await sio.eio.handle_request(request)
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
