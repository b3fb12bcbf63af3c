"""A Redis that is missing, hangs or never answers, with real redis-server processes we start and
pause ourselves (SIGSTOP/SIGCONT by PID; never the session's shared one) and a TCP listener that
accepts and never answers: the server waits for Redis at startup with one log line and gives up
with a one-line error; while Redis hangs, REST answers 503 `store_unavailable` within about 2 s,
`/readyz` within 1 s, chat acks say `store_unavailable`; all of it recovers when Redis does."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.chat.clients import HALL, viewer
from tests.helpers import RedisServer, free_port, make_config, running_server, spawn_server

pytestmark = pytest.mark.redis


async def _wait_for_output(proc: object, text: str, within: float = 15.0) -> None:
    """Until the spawned server's output contains `text` (a log line: nothing to await)."""
    deadline = time.monotonic() + within
    while text not in proc.output():  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, f"no {text!r} in:\n{proc.output()}"  # type: ignore[attr-defined]
        await asyncio.sleep(0.05)


async def test_startup_waits_for_redis_then_serves(tmp_path: Path) -> None:
    port = free_port()
    server = spawn_server(tmp_path / "data", f"redis://127.0.0.1:{port}/0",
                          extra_env={"INNOTV_REDIS_WAIT_S": "60"})
    redis = None
    try:
        await _wait_for_output(server, "waiting for Redis at 127.0.0.1:")
        assert server.proc.poll() is None
        redis = RedisServer(port=port)  # Redis comes up late: the server carries on
        await server.wait_ready()
        out = server.output()
        assert out.count("waiting for Redis") == 1 and "Traceback" not in out
        assert server.terminate() == 0
    finally:
        server.kill9()
        if redis is not None:
            redis.stop()


@pytest.fixture
async def silent_listener() -> AsyncIterator[int]:
    """A TCP port that accepts connections and never answers (nor reads)."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    listener = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield listener.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        listener.close()


async def test_startup_gives_up_on_a_redis_that_never_answers(tmp_path: Path, silent_listener: int) -> None:
    server = spawn_server(tmp_path / "data", f"redis://127.0.0.1:{silent_listener}/0",
                          extra_env={"INNOTV_REDIS_WAIT_S": "2"})
    started = time.monotonic()
    try:
        code = await asyncio.to_thread(server.proc.wait, 20)
        elapsed = time.monotonic() - started
        out = server.output()
        assert code == 1, out
        assert elapsed < 8, elapsed  # 2 s of waiting plus one command's deadline and the start
        print(f"gave up after {elapsed:.1f} s (INNOTV_REDIS_WAIT_S=2, start included)")
        assert out.count("waiting for Redis") == 1 and "Traceback" not in out, out
        last = out.strip().splitlines()[-1]
        assert last.startswith(f"innotv: cannot start: Redis at 127.0.0.1:{silent_listener} did not answer "
                               "within 2 s"), last
    finally:
        server.kill9()


async def test_a_hung_redis_is_answered_for_within_seconds(tmp_path: Path) -> None:
    redis = RedisServer()
    try:
        async with running_server(make_config("redis", tmp_path / "data", redis.url)) as server:
            producer = await server.producer()
            chat = await viewer(server)
            await chat.join(HALL)
            async with producer.get("/api/programs") as resp:
                assert resp.status == 200
                before = await resp.json()
            os.kill(redis.proc.pid, signal.SIGSTOP)
            try:
                started = time.monotonic()
                async with producer.get("/api/programs") as resp:
                    assert resp.status == 503 and resp.headers["Retry-After"]
                    assert (await resp.json())["error"]["code"] == "store_unavailable"
                rest_s = time.monotonic() - started
                assert rest_s < 3.0  # the deadline is 1.5 s; slack for a loaded machine
                started = time.monotonic()
                async with producer.get("/readyz") as resp:
                    assert resp.status == 503
                    assert (await resp.json())["error"]["code"] == "store_unreachable"
                ready_s = time.monotonic() - started
                assert ready_s < 1.5  # its deadline is 0.8 s
                print(f"Redis stopped: REST 503 after {rest_s:.2f} s, /readyz 503 after {ready_s:.2f} s")
                ack = await chat.call("chat", {"room": HALL, "text": "anyone?", "client_id": "c1"})
                assert ack["ok"] is False and ack["error"]["code"] == "store_unavailable", ack
                async with producer.get("/healthz") as resp:  # the process itself is fine
                    assert resp.status == 200
            finally:
                os.kill(redis.proc.pid, signal.SIGCONT)

            deadline = time.monotonic() + 10
            while True:  # nothing to await: the server finds out on its next command
                async with producer.get("/readyz") as resp:
                    if resp.status == 200:
                        break
                assert time.monotonic() < deadline, "not ready again after SIGCONT"
                await asyncio.sleep(0.1)
            async with producer.get("/api/programs") as resp:
                assert resp.status == 200 and await resp.json() == before
            ack = await chat.call("chat", {"room": HALL, "text": "anyone?", "client_id": "c1"})
            assert ack["ok"] is True, ack
            await chat.close()
    finally:
        redis.stop()
