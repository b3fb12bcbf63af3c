"""Shared fixtures: one real redis-server per test session, and a backend parameter so storage
tests run against both the embedded SQLite store and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from innotv.config import Config

from .helpers import RedisServer, Server, make_config, running_server

# tests/live modules that need no WebRTC, encoder or HLS writer running (pure parts, fast).
_LIVE_UNITS = {"test_units.py", "test_aiortc_internals.py", "test_worker_transitions.py",
               "test_offer_checks.py", "test_playlist_parsing.py", "test_replay_choice.py",
               "test_rtmp_wire.py", "test_fragments.py"}

# Modules whose tests start processes of their own (innotv's CLI or servers killed with SIGKILL,
# a second server, an OpenID provider, nginx): seconds each, so outside the subset between edits.
_PROCESSES = {"captions/test_durability.py", "chat/test_recovery.py", "chat/test_two_processes.py",
              "core/test_cli.py", "core/test_store_faults.py", "core/test_users.py",
              "events/test_ledger_crashes.py", "events/test_oidc.py", "schedule/test_lineup_cli.py",
              "schedule/test_persistence.py"}
_SLOW = {"browser", "media", "fuzz", "redis", "stack"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Markers from where a test lives and what it uses: `browser`, `media`, `fuzz`, `redis`, and
    `slow` for all of those and the tests that start processes (the subset between edits is
    `-m "not slow"`: SQLite, in-process servers, no browser or encoder)."""
    for item in items:
        path = Path(str(item.fspath))
        if path.parent.name == "pages":
            item.add_marker(pytest.mark.browser)
        elif path.parent.name == "live" and path.name not in _LIVE_UNITS:
            item.add_marker(pytest.mark.media)
        elif path.parent.name == "fuzz":
            item.add_marker(pytest.mark.fuzz)
        callspec = getattr(item, "callspec", None)
        on_redis = callspec is not None and callspec.params.get("backend_kind") == "redis"
        if on_redis or "redis_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.redis)
        module = f"{path.parent.name}/{path.name}"
        marked = {m.name for m in item.iter_markers()}
        if module in _PROCESSES or path.parent.name == "deploy" or _SLOW & marked:
            item.add_marker(pytest.mark.slow)


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


@pytest.fixture
async def one_server(tmp_path: Path) -> AsyncIterator[Server]:
    """A real server on the embedded default only, for tests that do not touch a store (wire
    protocols, headers, validation before storage): they need not run once per backend."""
    async with running_server(make_config("sqlite", tmp_path / "data", None)) as srv:
        yield srv
