"""Shared fixtures: one real redis-server per test session, and a backend parameter so storage
tests run against both the embedded SQLite store and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from innotv.config import Config

from .helpers import RedisServer, Server, make_config, running_server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "redis"])
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def config(backend_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Config:
    """A fresh config on the parametrised backend (a unique key prefix on the shared redis)."""
    redis_url = None
    if backend_kind == "redis":
        redis_url = request.getfixturevalue("redis_server").url
    return make_config(backend_kind, tmp_path / "data", redis_url)


@pytest.fixture
async def server(config: Config) -> AsyncIterator[Server]:
    """A real server on a free port, on each backend in turn."""
    async with running_server(config) as srv:
        yield srv
