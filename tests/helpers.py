"""Test harness: real servers on free ports, a real redis-server per session, real HTTP clients.

Nothing here mocks our own components: `running_server` builds the real app with `create_app`
and serves it on a loopback port; `spawn_server` runs `python -m innotv serve` as a child process
(for crash and restart tests, killed with SIGKILL by PID).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from yarl import URL

from accounts.store import Account
from innotv.app import PARTS, Parts, create_app
from innotv.config import Config, load_config
from innotv.server import make_runner
from kernel.clock import Clock

PRODUCER = ("prod", "producer-password-1")
# (username, password) -> the argon2 hash made for it the first time, in this test session.
_KNOWN_HASHES: dict[tuple[str, str], str] = {}
HOST = ("hostess", "host-password-1")


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def raw_request(url: str, method: str, path: str, headers: dict[str, str], parts: list[bytes],
                      gap_s: float = 0.2, local_host: str | None = None) -> RawResponse:
    """One HTTP/1.1 request over a bare socket whose body goes out in `parts`, one write each,
    `gap_s` apart (so the server receives it in separate TCP segments, as over a real network);
    `local_host` picks the client's source address (e.g. another loopback address)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    local = (local_host, 0) if local_host else None
    reader, writer = await asyncio.open_connection(host, int(port), local_addr=local)
    try:
        length = sum(len(part) for part in parts)
        head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {length}",
                "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        for i, part in enumerate(parts):
            if i:
                # The network's gap between two segments: what the test is about, not a wait.
                await asyncio.sleep(gap_s)
            writer.write(part)
            await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
    head_bytes, _, body = raw.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    found: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        found[name.strip().lower()] = value.strip()
    if found.get("transfer-encoding") == "chunked":
        body = _unchunk(body)
    return RawResponse(status, found, body)


def _unchunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)


def cookie_header(session: aiohttp.ClientSession, url: str) -> str:
    """The session's cookies for `url`, as one Cookie header (for raw sockets and Socket.IO)."""
    jar = session.cookie_jar.filter_cookies(URL(url))
    return "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server we start on a free port and stop by PID; never someone else's."""

    def __init__(self, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="innotv-redis-")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def make_config(kind: str, data_dir: Path, redis_url: str | None, **overrides: Any) -> Config:
    """A config for one test: its own data dir, and on Redis its own key prefix."""
    # RTMP ingest off unless a test asks for it on a free port (1935 may be anyone's)
    values: dict[str, Any] = {"data_dir": str(data_dir), "port": 8080, "live_rtmp_port": 0}
    if kind == "redis":
        assert redis_url, "redis backend needs the redis_server fixture"
        values["redis_url"] = redis_url
        values["redis_prefix"] = f"t{uuid.uuid4().hex[:10]}:"
    values.update(overrides)
    return load_config(values, environ={})


def with_settings(config: Config, **overrides: Any) -> Config:
    """`config` with some settings changed (by their public names, e.g. `demo=True`)."""
    return load_config({**config.overrides(), **overrides}, environ={})


@dataclass
class Server:
    """A running app: its base URL, its parts, and helpers to talk to it like a client."""

    url: str
    app: web.Application
    config: Config
    _sessions: list[aiohttp.ClientSession] = field(default_factory=list)

    @property
    def parts(self) -> Parts:
        return self.app[PARTS]

    def client(self, *, origin: bool = True) -> aiohttp.ClientSession:
        """A client with its own cookie jar; it sends our Origin like a browser on our page."""
        headers = {"Origin": self.url} if origin else {}
        session = aiohttp.ClientSession(
            base_url=self.url, cookie_jar=aiohttp.CookieJar(unsafe=True), headers=headers
        )
        self._sessions.append(session)
        return session

    async def login(self, username: str, password: str) -> aiohttp.ClientSession:
        client = self.client()
        async with client.post("/api/session", json={"username": username, "password": password}) as r:
            assert r.status == 200, await r.text()
        return client

    async def add_user(self, username: str, role: str, password: str) -> None:
        """A real account through the real store; the argon2 hash of the test accounts' fixed
        passwords is made once per test session instead of once per test (150 ms each)."""
        auth = self.parts.auth
        known = _KNOWN_HASHES.get((username, password))
        if known is None:
            account = await auth.add_user(username, role, password)
            _KNOWN_HASHES[(username, password)] = account.password_hash
            return
        created = await auth.store.create_account(
            Account(username, role, known, datetime.now(UTC).isoformat())
        )
        assert created, f"{username} exists already"

    async def producer(self) -> aiohttp.ClientSession:
        if not await self.parts.auth.exists(PRODUCER[0]):
            await self.add_user(PRODUCER[0], "producer", PRODUCER[1])
        return await self.login(*PRODUCER)

    async def host(self) -> aiohttp.ClientSession:
        if not await self.parts.auth.exists(HOST[0]):
            await self.add_user(HOST[0], "host", HOST[1])
        return await self.login(*HOST)

    async def metric(self, name: str) -> float:
        """A value from `GET /metrics` (0 when the series has no sample yet)."""
        async with self.client(origin=False).get("/metrics") as r:
            assert r.status == 200
            text = await r.text()
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    async def samples(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """Every sample of `GET /metrics`, parsed by prometheus-client's own parser (so the text
        is valid exposition format): (name, labels) -> value."""
        async with self.client(origin=False).get("/metrics") as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = await r.text()
        return {(s.name, frozenset(s.labels.items())): s.value
                for family in text_string_to_metric_families(text) for s in family.samples}

    async def close_clients(self) -> None:
        for session in self._sessions:
            await session.close()


@asynccontextmanager
async def running_server(config: Config, clock: Clock | None = None) -> AsyncIterator[Server]:
    """The real app from `create_app`, served on a free loopback port for the block's duration."""
    port = free_port()
    config = load_config({**config.overrides(), "port": port, "host": "127.0.0.1"}, environ={})
    app = create_app(config, clock=clock)
    runner = make_runner(app, config, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    server = Server(f"http://127.0.0.1:{port}", app, config)
    try:
        yield server
    finally:
        await _bounded(server.close_clients(), "closing the test's clients")
        await _bounded(runner.cleanup(), "stopping the server")


async def _bounded(step: Awaitable[None], what: str, limit_s: float = 15.0) -> None:
    """A shutdown step that hangs fails fast and says where every task was waiting (instead of
    running into pytest's timeout with only the threads' stacks)."""
    try:
        await asyncio.wait_for(asyncio.shield(step), limit_s)
    except TimeoutError:
        for task in asyncio.all_tasks():
            print(f"--- {task!r}", file=sys.stderr)
            task.print_stack(file=sys.stderr)
        raise AssertionError(f"{what} took more than {limit_s:.0f} s (task stacks on stderr)") from None


class SpawnedServer:
    """`python -m innotv serve` in a child process, for crash (SIGKILL) and restart tests."""

    def __init__(self, args: list[str], env: dict[str, str], port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = tempfile.NamedTemporaryFile(prefix="innotv-server-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "innotv", "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    async def wait_ready(self, limit_s: float = 20) -> None:
        deadline = time.monotonic() + limit_s
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited early:\n{self.output()}")
                try:
                    async with session.get(self.url + "/readyz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"server not ready in {limit_s}s:\n{self.output()}")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def kill9(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def terminate(self, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=timeout)
        return int(self.proc.returncode)


def spawn_server(data_dir: Path, redis_url: str | None = None, prefix: str | None = None,
                 extra_args: list[str] | None = None, extra_env: dict[str, str] | None = None
                 ) -> SpawnedServer:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNOTV_")}
    env["INNOTV_DATA_DIR"] = str(data_dir)
    env["INNOTV_LOG_LEVEL"] = "WARNING"
    env["INNOTV_LIVE_RTMP_PORT"] = "0"  # unless a test asks for it on a free port
    if redis_url:
        env["INNOTV_REDIS_URL"] = redis_url
    if prefix:
        env["INNOTV_REDIS_PREFIX"] = prefix
    env.update(extra_env or {})
    return SpawnedServer(list(extra_args or []), env, free_port())
