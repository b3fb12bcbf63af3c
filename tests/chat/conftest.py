"""Chat test fixtures: the shared `server` fixture, closing every Socket.IO client a test opened
before the server stops (an open WebSocket would hold the shutdown for its whole timeout)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from innotv.config import Config
from tests.chat.clients import OPEN
from tests.helpers import Server, make_config, running_server


async def close_all() -> None:
    clients = list(OPEN)
    OPEN.clear()
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


@pytest.fixture
async def server(config: Config) -> AsyncIterator[Server]:
    async with running_server(config) as srv:
        try:
            yield srv
        finally:
            await close_all()


@pytest.fixture
async def one_server(tmp_path: Path) -> AsyncIterator[Server]:
    """The embedded default only: for chat tests that do not touch a store."""
    async with running_server(make_config("sqlite", tmp_path / "data", None)) as srv:
        try:
            yield srv
        finally:
            await close_all()


@pytest.fixture(autouse=True)
async def _close_chat_clients() -> AsyncIterator[None]:
    yield
    await close_all()
