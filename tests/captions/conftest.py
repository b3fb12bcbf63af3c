"""Captions test fixtures: the chat's (every Socket.IO client a test opened is closed before its
server stops), and captioner accounts."""

from __future__ import annotations

from typing import Any

from tests.chat.clients import ChatClient, connect
from tests.chat.conftest import _close_chat_clients, one_server, server  # noqa: F401  (fixtures)
from tests.helpers import Server, cookie_header

CAPTIONERS = {"cap1": "captioner-password-1", "cap2": "captioner-password-2"}


async def captioner_session(srv: Server, name: str = "cap1") -> Any:
    if not await srv.parts.auth.exists(name):
        await srv.add_user(name, "captioner", CAPTIONERS[name])
    return await srv.login(name, CAPTIONERS[name])


async def captioner(srv: Server, name: str = "cap1") -> ChatClient:
    session = await captioner_session(srv, name)
    return await connect(srv.url, cookies=cookie_header(session, srv.url))
