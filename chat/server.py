"""The Socket.IO server: python-socketio on aiohttp, with our manager, checks and identity.

- Our own route for `/socket.io/` checks the Origin of every request before Engine.IO sees it
  (allowed: the request's own scheme://host and `allowed_origins`). A request without Origin is
  let through: browsers always send Origin on WebSocket handshakes and cross-site requests, so a
  missing Origin means a same-origin polling request or a non-browser client, which carries only
  its own cookies (no ambient authority to abuse).
- A fresh WebSocket connection is served by the lean path (`chat.lean`, same wire protocol, one
  small object per connection); long-polling and its upgrade go through python-engineio. Both
  open and close a connection through `open_conn` / `close_conn` here.
- WebSocket compression is off (`PlainWebSocket`, `chat.lean`); messages are capped at 16 KiB.
- `LeanManager` keeps python-socketio's protocol but makes disconnect O(1): we never use its
  rooms (room membership is ours, in `fanout.Rooms`), so only the two per-client entries exist.
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
from engineio import packet as eio_packet

from innotv.auth import SESSION_COOKIE
from innotv.deps import Deps
from innotv.security import origin_allowed

from .events import default_nickname
from .fanout import Member
from .lean import ConnectionRefused, LeanServer, Link
from .limits import AddressCounter, Limiter
from .service import ChatService, Conn

log = logging.getLogger("innotv.chat.server")

MAX_MESSAGE_BYTES = 16 * 1024
SOCKETIO_PATH = "/socket.io/"
PING_INTERVAL_S = 25
PING_TIMEOUT_S = 20


class LeanManager(socketio.AsyncManager):  # type: ignore[misc]
    """python-socketio's manager with an O(1) disconnect (no scan of every room)."""

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


def make_sio() -> Any:
    sio = socketio.AsyncServer(
        client_manager=LeanManager(),
        async_mode="aiohttp",
        cors_allowed_origins=[],  # checked by our route, see `client_origin_ok`
        max_http_buffer_size=MAX_MESSAGE_BYTES,
        ping_interval=PING_INTERVAL_S,
        ping_timeout=PING_TIMEOUT_S,
        logger=False,
        engineio_logger=False,
    )
    from .wire import PlainWebSocket

    # A per-instance copy: the driver table is a module-level dict shared by every server.
    sio.eio._async = {**sio.eio._async, "websocket": PlainWebSocket}
    return sio


def attach(app: web.Application, deps: Deps, sio: Any, service: ChatService) -> LeanServer:
    """Route `/socket.io/`: fresh WebSocket connections to the lean path, the rest (long-polling
    and its upgrade) to python-engineio. Returns the lean server (started by the chat's
    lifecycle)."""
    config = deps.config
    counter = AddressCounter(config.chat_max_conns_per_ip)

    async def open_conn(
        sid: str, request: web.Request, eio_socket: Any, transport: asyncio.Transport | None
    ) -> Member:
        # Behind a trusted proxy the app's middleware has already put the client's address here.
        address = request.remote or "unknown"
        if not counter.acquire(address):
            log.warning("socket.io connection refused: too many from one address")
            raise ConnectionRefused("too_many_connections", "Too many connections from your address.")
        try:
            cookie = request.headers.get("Cookie")
            viewer = deps.auth.viewer_id_from_cookie_header(cookie)
            user = None
            if cookie and SESSION_COOKIE in cookie:
                user = await deps.auth.user_from_cookie_header(cookie)
            if viewer is None:
                viewer = f"user:{user.username}" if user else "anon-" + secrets.token_urlsafe(9)
        except Exception:
            counter.release(address)
            raise
        member = Member(sid, eio_socket, viewer, user is not None and user.can("host"), transport)
        nickname = user.username if user else default_nickname(viewer)
        limiter = Limiter(config.chat_rate_scale)
        service.conns[sid] = Conn(sid, viewer, user, nickname, address, member, limiter)
        return member

    def close_conn(sid: str) -> Conn | None:
        conn = service.conns.pop(sid, None)
        if conn is None:
            return None
        service.rooms.remove_everywhere(conn.member)
        counter.release(conn.address)
        return conn

    async def lean_open(sid: str, request: web.Request, link: Link) -> Member:
        return await open_conn(sid, request, None, link.transport)

    lean = LeanServer(lean_open, close_conn, MAX_MESSAGE_BYTES, ping_interval=PING_INTERVAL_S,
                      ping_timeout=PING_TIMEOUT_S)

    async def endpoint(request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and not origin_allowed(origin, request, config.allowed_origins):
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
        eio_sid = sio.manager.eio_sid_from_sid(sid, "/")
        eio_socket = sio.eio.sockets[eio_sid]
        try:
            await open_conn(sid, request, eio_socket, None)
        except ConnectionRefused as refused:
            raise socketio.exceptions.ConnectionRefusedError(
                refused.message, {"code": refused.code}
            ) from None

    async def disconnect(sid: str, *args: Any) -> None:
        conn = close_conn(sid)
        if conn is None:
            return
        sock = conn.member.eio
        if sock is not None and not sock.upgraded:
            # Release a long-poll GET still held open, so a polling client's close completes now
            # rather than at the next ping.
            sock.queue.put_nowait(eio_packet.Packet(eio_packet.NOOP))

    sio.on("connect", connect)
    sio.on("disconnect", disconnect)
    return lean
