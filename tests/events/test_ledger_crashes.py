"""The ledger stays exact across crashes, on both stores: a writer process killed with SIGKILL
in the middle of its writes and started again (the same idempotency keys) leaves every
acknowledged write in the ledger exactly once; on Redis, the same while redis-server itself is
killed and restarted (AOF, appendfsync always). The reconciliation proves every balance and the
campaign's total afterwards."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from events.reconcile import all_entries, reconcile
from events.store import EventsStore, make_events_store
from innotv.config import Config
from kernel.storage import Backend
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
CREDITS = 600


def writer_args(config: Config) -> list[str]:
    core = config.core
    if core.redis_url:
        return ["--redis-url", core.redis_url, "--prefix", core.redis_prefix]
    return ["--data-dir", str(core.data_dir)]


async def start_writer(args: list[str]) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNOTV_")}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.events.ledger_writer",
        "--credits",
        str(CREDITS),
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )


async def read_acks(proc: asyncio.subprocess.Process, until: int | None) -> list[str]:
    """The writer's acknowledgement lines, until `until` of them (None: until it exits)."""
    assert proc.stdout is not None
    lines: list[str] = []
    while until is None or len(lines) < until:
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        if not line:
            break
        lines.append(line.decode().strip())
    return lines


async def check_exact(store: EventsStore, acknowledged: list[str]) -> None:
    entries = [e async for e in all_entries(store)]
    credits = [e.ref for e in entries if e.kind == "vote"]
    donations = [e for e in entries if e.kind == "donation"]
    assert sorted(credits) == sorted(f"r{n}" for n in range(CREDITS))  # each once, none lost
    assert len(donations) == CREDITS // 3
    refs = set(credits)
    for line in acknowledged:
        kind, n, *_ = line.split()
        assert kind != "credit" or f"r{n}" in refs
    report = await reconcile(store)
    assert report.ok, report.problems
    assert report.donated == {"c_crash": 5 * (CREDITS // 3)}
    assert report.mileage_outstanding == 5 * CREDITS - 5 * (CREDITS // 3)


async def open_store(config: Config) -> tuple[Backend, EventsStore]:
    backend = Backend.from_settings(config.core)
    await backend.open()
    store = make_events_store(backend)
    await store.setup()
    return backend, store


async def test_a_killed_writer_loses_and_doubles_nothing(config: Config) -> None:
    first = await start_writer(writer_args(config))
    acknowledged = await read_acks(first, until=120)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    second = await start_writer(writer_args(config))
    rest = await read_acks(second, until=None)
    assert await second.wait() == 0
    assert any(line.endswith(" 1") for line in rest)  # what was acknowledged before is seen again
    backend, store = await open_store(config)
    try:
        await check_exact(store, acknowledged + rest)
    finally:
        await backend.close()


class PersistentRedis:
    """A redis-server of this test's own, with every write in its AOF before it answers."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.binary = binary
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="innotv-aof-")
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                self.dir,
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill9()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def own_redis() -> Iterator[PersistentRedis]:
    server = PersistentRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_redis_killed_and_restarted_under_load_keeps_every_write(
    own_redis: PersistentRedis, tmp_path: Path
) -> None:
    from tests.helpers import make_config

    config = make_config("redis", tmp_path / "data", own_redis.url)
    writer = await start_writer(writer_args(config))
    acknowledged = await read_acks(writer, until=150)
    own_redis.kill9()
    own_redis.start()
    rest = await read_acks(writer, until=None)
    assert await writer.wait() == 0
    backend, store = await open_store(config)
    try:
        await check_exact(store, acknowledged + rest)
    finally:
        await backend.close()
