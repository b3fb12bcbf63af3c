"""Today's event benchmark: earning throughput with exact totals, thermometer latency at 5,000
viewers, draw time over 200,000 entries. Prints its configuration and one table.

    .venv/bin/python bench/events.py                        # everything
    .venv/bin/python bench/events.py --only earn --workers 2 --earn-seconds 10
    .venv/bin/python bench/events.py --only thermometer --viewers 5000
    .venv/bin/python bench/events.py --only draw --pool 200000

- earn: `--workers` processes each run `--concurrency` tasks calling `Mileage.took_part` (what the
  chat calls for a vote: the viewer's member link, the program's rules, the earning rate limit
  and the ledger script) for 10,000 members, each vote a new poll, against a redis-server started
  here with `appendonly yes` and `appendfsync always` (and, as a reference, the embedded SQLite
  store in one process). Afterwards the reconciliation must hold and the ledger's sum must equal
  what the workers were told they earned.
- thermometer: a real server (`innotv serve`, SQLite) pinned to one core; `--viewers` raw
  WebSocket clients (Engine.IO/Socket.IO spoken directly, one small object each) joined to a live
  program's room, on another core; a member donates 1 mileage every 100 ms over REST; for each
  donation and viewer, the time from sending the donation to that viewer receiving a `campaign`
  event with the resulting total.
- draw: 200,000 members who commented in a room, then `Draws.prepare` (pool, hash, seed,
  commitment, stored) and `Draws.run` (pick winners and backups) on each store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from events.draws import Draws  # noqa: E402
from events.mileage import Mileage  # noqa: E402
from events.reconcile import reconcile  # noqa: E402
from events.settings import EventsSettings  # noqa: E402
from events.store import Credit, EventsStore, Member, make_events_store  # noqa: E402
from kernel.bus import LocalBus  # noqa: E402
from kernel.clock import SystemClock  # noqa: E402
from kernel.settings import CoreSettings  # noqa: E402
from kernel.storage import Backend  # noqa: E402

MEMBERS = 10_000
PASSWORD = "bench-password-123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def pin(core: int | None) -> list[str]:
    return ["taskset", "-c", str(core)] if core is not None and shutil.which("taskset") else []


class Program:
    """The bench's program (the slice's Programs port wants one)."""

    id = "bench"
    state = "live"


class Programs:
    async def require(self, program_id: str) -> Program:
        return Program()

    async def current(self) -> Program:
        return Program()


class OwnRedis:
    def __init__(self, fsync: str) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="innotv-bench-redis-")
        self.proc = subprocess.Popen(
            [
                *pin(0),
                "redis-server",
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
                fsync,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


async def open_store(core: CoreSettings) -> tuple[Backend, EventsStore]:
    backend = Backend.from_settings(core)
    await backend.open()
    store = make_events_store(backend)
    await store.setup()
    return backend, store


# ---- earn ---------------------------------------------------------------------------------------
async def earn_worker(core: CoreSettings, worker: int, seconds: float, concurrency: int) -> dict[str, int]:
    backend, store = await open_store(core)
    settings = EventsSettings(daily_cap=10**9, earn_per_minute=10**6)
    mileage = Mileage(store, settings, SystemClock(), Programs(), LocalBus())
    deadline = time.perf_counter() + seconds
    done = {"ok": 0, "earned": 0}

    async def loop(task: int) -> None:
        n = 0
        while time.perf_counter() < deadline:
            viewer = f"v{random.randrange(MEMBERS)}"
            result = await mileage.took_part(viewer, "vote", "program:bench", f"p{worker}-{task}-{n}")
            n += 1
            if result is not None:
                done["ok"] += 1
                done["earned"] += int(result["earned"])

    await asyncio.gather(*(loop(t) for t in range(concurrency)))
    await backend.close()
    return done


async def seed_links(core: CoreSettings) -> None:
    backend, store = await open_store(core)
    for n in range(MEMBERS):
        await store.link_viewer(f"v{n}", f"m{n}", 2**45)
    await store.set_rules(
        "bench",
        json.dumps(
            {
                "watch_per_minute": 1,
                "watch_cap": 60,
                "vote": 3,
                "question": 0,
                "quiz": 0,
                "comment": 0,
                "chat": 0,
            }
        ),
    )
    await backend.close()


def earn_child(args: list[str]) -> None:
    url, prefix, data_dir, worker, seconds, concurrency = args
    core = CoreSettings(data_dir=Path(data_dir), redis_url=url or None, redis_prefix=prefix)
    print(
        json.dumps(asyncio.run(earn_worker(core, int(worker), float(seconds), int(concurrency)))), flush=True
    )


def run_earn(
    core: CoreSettings, workers: int, seconds: float, concurrency: int, first_core: int
) -> dict[str, Any]:
    asyncio.run(seed_links(core))
    procs = []
    for w in range(workers):
        cpu = (first_core + w) % (os.cpu_count() or 1) if workers > 1 else first_core
        procs.append(
            subprocess.Popen(
                [
                    *pin(cpu),
                    sys.executable,
                    __file__,
                    "--earn-child",
                    core.redis_url or "",
                    core.redis_prefix,
                    str(core.data_dir),
                    str(w),
                    str(seconds),
                    str(concurrency),
                ],
                stdout=subprocess.PIPE,
            )
        )
    results = [json.loads(p.communicate()[0]) for p in procs]
    ok = sum(r["ok"] for r in results)
    told = sum(r["earned"] for r in results)

    async def audit() -> tuple[bool, int, int]:
        backend, store = await open_store(core)
        report = await reconcile(store)
        await backend.close()
        return report.ok, report.mileage_outstanding, report.entries

    exact, ledger_sum, entries = asyncio.run(audit())
    return {
        "tx_per_s": ok / seconds,
        "transactions": ok,
        "exact": exact and ledger_sum == told and entries == ok,
    }


# ---- thermometer --------------------------------------------------------------------------------
class Viewer(asyncio.Protocol):
    """One raw WebSocket Socket.IO client that joins `room` and notes when each total arrives."""

    def __init__(
        self,
        host: str,
        room: str,
        seen: dict[int, list[float]],
        joined: list[int],
        done: asyncio.Event,
        target: int,
    ) -> None:
        self.host, self.room, self.seen, self.joined, self.done, self.target = (
            host,
            room,
            seen,
            joined,
            done,
            target,
        )
        self.buf = bytearray()
        self.upgraded = False
        self.transport: asyncio.Transport | None = None
        self.best = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(
            (
                f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {self.host}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def send(self, text: str) -> None:
        payload = text.encode()
        head = (
            bytes((0x81, 0x80 | len(payload)))
            if len(payload) < 126
            else bytes((0x81, 0xFE)) + len(payload).to_bytes(2, "big")
        )
        assert self.transport is not None
        self.transport.write(head + b"\x00\x00\x00\x00" + payload)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            del self.buf[: end + 4]
            self.upgraded = True
        while len(self.buf) >= 2:
            size, off = self.buf[1] & 0x7F, 2
            if size == 126:
                if len(self.buf) < 4:
                    return
                size, off = int.from_bytes(self.buf[2:4], "big"), 4
            elif size == 127:
                if len(self.buf) < 10:
                    return
                size, off = int.from_bytes(self.buf[2:10], "big"), 10
            if len(self.buf) < off + size:
                return
            text = bytes(self.buf[off : off + size])
            del self.buf[: off + size]
            self.on_text(text)

    def on_text(self, p: bytes) -> None:
        if p == b"2":
            self.send("3")
        elif p[:1] == b"0":
            self.send("40")
        elif p[:2] == b"40":
            self.send('421["join",' + json.dumps({"room": self.room}) + "]")
        elif p.startswith(b"431["):
            self.joined.append(1)
            if len(self.joined) >= self.target:
                self.done.set()
        elif p.startswith(b'42["campaign"'):
            total = int(json.loads(p[2:])[1]["total"])
            if total > self.best:
                now = time.perf_counter()
                for t in range(self.best + 1, total + 1):
                    self.seen.setdefault(t, []).append(now)
                self.best = total


def http(method: str, url: str, body: Any = None, cookie: str = "") -> tuple[int, Any, str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", "Origin": url.split("/api")[0], "Cookie": cookie},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            set_cookie = "; ".join(h.split(";")[0] for h in response.headers.get_all("Set-Cookie") or [])
            return response.status, json.loads(response.read() or b"null"), set_cookie
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null"), ""


async def seed_donor(data: Path) -> None:
    from argon2 import PasswordHasher

    backend, store = await open_store(CoreSettings(data_dir=data))
    donor = Member(
        "m_donor",
        "기부자",
        "donor@example.kr",
        PasswordHasher().hash(PASSWORD),
        None,
        None,
        "2026-11-01",
        0,
        0,
    )
    await store.create_member(donor)
    await store.credit(Credit("m_donor", 10**6, "vote", "seed", "p", 0, "2030-01-01", 10**9, None, "seed"))
    await backend.close()


@dataclass
class Stage:
    """A server with a live program, a campaign and a signed-in donor."""

    server: subprocess.Popen[bytes]
    data: Path
    port: int
    program: str
    campaign: str
    donor: str  # the donor's cookies


def set_stage() -> Stage:
    data = Path(tempfile.mkdtemp(prefix="innotv-bench-thermo-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNOTV_")}
    env.update(
        {
            "INNOTV_DATA_DIR": str(data),
            "INNOTV_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
            "INNOTV_CHAT_MAX_CONNS_PER_IP": "1000000",
            "INNOTV_CHAT_CONN_BURST_PER_IP": "1000000",
            "INNOTV_CHAT_CONN_RATE_PER_IP": "1000000",
        }
    )
    subprocess.run(
        [sys.executable, "-m", "innotv", "user", "add", "prod", "--role", "producer", "--password-stdin"],
        input=PASSWORD + "\n",
        text=True,
        env=env,
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    asyncio.run(seed_donor(data))
    port = free_port()
    server = subprocess.Popen(
        [*pin(0), sys.executable, "-m", "innotv", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            if http("GET", base + "/readyz")[0] == 200:
                break
        except OSError:
            time.sleep(0.05)
    _, _, producer = http("POST", base + "/api/session", {"username": "prod", "password": PASSWORD})
    now = time.time()
    ends = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now + 3 * 3600))
    status, program, _ = http(
        "POST",
        base + "/api/programs",
        {"title": "bench", "kind": "live", "starts_at": "now", "ends_at": ends},
        producer,
    )
    assert status == 201, program
    for _ in range(200):
        if http("GET", f"{base}/api/programs/{program['id']}")[1]["state"] == "live":
            break
        time.sleep(0.05)
    starts = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now - 60))
    status, campaign, _ = http(
        "POST",
        base + "/api/events/campaigns",
        {"title": "bench", "beneficiary": "bench", "goal": 10**9, "starts_at": starts, "ends_at": ends},
        producer,
    )
    assert status == 201, campaign
    _, _, donor = http(
        "POST", base + "/api/events/session", {"email": "donor@example.kr", "password": PASSWORD}
    )
    return Stage(server, data, port, program["id"], campaign["campaign"]["id"], donor)


async def thermometer(stage: Stage, viewers: int, donations: int) -> dict[str, Any]:
    port, base = stage.port, f"http://127.0.0.1:{stage.port}"
    loop = asyncio.get_running_loop()
    seen: dict[int, list[float]] = {}
    joined: list[int] = []
    done = asyncio.Event()
    clients = []
    for n in range(viewers):
        client = Viewer(f"127.0.0.1:{port}", f"program:{stage.program}", seen, joined, done, viewers)
        await loop.create_connection(lambda c=client: c, "127.0.0.1", port)
        clients.append(client)
        if n % 200 == 199:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(done.wait(), 120)
    sent: dict[int, float] = {}
    rtts: list[float] = []
    cid = stage.campaign
    for n in range(donations):
        t0 = time.perf_counter()
        status, answer, _ = await asyncio.to_thread(
            http,
            "POST",
            f"{base}/api/events/campaigns/{cid}/donations",
            {"amount": 1, "request_id": f"bench-{n:06d}"},
            stage.donor,
        )
        assert status == 201, answer
        sent[int(answer["campaign"]["total"])] = t0
        rtts.append(time.perf_counter() - t0)
        await asyncio.sleep(max(0.0, 0.1 - (time.perf_counter() - t0)))
    await asyncio.sleep(2.0)  # the last totals are on their way
    latencies = [arrived - sent[total] for total, times in seen.items() if total in sent for arrived in times]
    missing = viewers * donations - len(latencies)
    for client in clients:
        if client.transport is not None:
            client.transport.close()
    return {
        "viewers": viewers,
        "donations": donations,
        "p50_ms": pct(latencies, 0.5) * 1000,
        "p95_ms": pct(latencies, 0.95) * 1000,
        "max_ms": max(latencies) * 1000,
        "donate_p50_ms": pct(rtts, 0.5) * 1000,
        "missing": missing,
    }


# ---- draw ---------------------------------------------------------------------------------------
async def draw_time(core: CoreSettings, pool: int) -> dict[str, float]:
    backend, store = await open_store(core)
    room, at = "program:bench", 1_700_000_000_000
    if backend.db is not None:
        rows = [(room, f"m_{n:07d}", at + n) for n in range(pool)]
        await backend.db.transaction(
            lambda c: c.executemany("INSERT INTO ev_activity(room, member, at_ms) VALUES (?, ?, ?)", rows)
        )
    else:
        redis = backend.require_redis()
        key = backend.key("{ev}") + ":activity:" + room
        for start in range(0, pool, 10_000):
            await redis.zadd(
                key, {f"m_{n:07d}@{at + n}": at + n for n in range(start, min(pool, start + 10_000))}
            )
    draws = Draws(store, Programs(), SystemClock(), 90)
    spec = {
        "kind": "comments",
        "room": room,
        "from": "2023-11-14T00:00:00+00:00",
        "to": "2023-11-16T00:00:00+00:00",
    }
    t0 = time.perf_counter()
    draw = await draws.prepare("bench", "bench", spec, 10, 10, 14)
    t1 = time.perf_counter()
    drawn = await draws.run(draw.id)
    t2 = time.perf_counter()
    assert drawn.pool_size == pool and len(drawn.winners) == 10
    await backend.close()
    return {"prepare_s": t1 - t0, "run_s": t2 - t1, "total_s": t2 - t0}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--earn-child":
        earn_child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["earn", "thermometer", "draw"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--earn-seconds", type=float, default=10.0)
    parser.add_argument("--viewers", type=int, default=5000)
    parser.add_argument("--donations", type=int, default=50)
    parser.add_argument("--pool", type=int, default=200_000)
    parser.add_argument("--fsync", default="always", choices=["always", "everysec"])
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})  # the load generator on core 1; servers are pinned to core 0
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(
        f"# innotv events bench: {platform.python_version()}, {os.cpu_count()} cores, {platform.platform()}"
    )
    print(
        f"# {vars(args)}; redis "
        + subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2]
    )
    rows: list[tuple[str, str, str]] = []
    if args.only in (None, "earn"):
        redis = OwnRedis(args.fsync)
        try:
            core = CoreSettings(redis_url=redis.url, redis_prefix="bench:")
            r = run_earn(core, args.workers, args.earn_seconds, args.concurrency, 1)
            rows.append(
                (
                    f"earning tx/s, Redis (appendfsync {args.fsync}), {args.workers} processes",
                    f"{r['tx_per_s']:,.0f}/s ({r['transactions']:,} tx, exact: {r['exact']})",
                    "≥ 2,000/s",
                )
            )
        finally:
            redis.stop()
        tmp = Path(tempfile.mkdtemp(prefix="innotv-bench-sqlite-"))
        r = run_earn(CoreSettings(data_dir=tmp), 1, args.earn_seconds, args.concurrency, 1)
        rows.append(
            (
                "earning tx/s, SQLite (synchronous=FULL), 1 process",
                f"{r['tx_per_s']:,.0f}/s ({r['transactions']:,} tx, exact: {r['exact']})",
                "reference",
            )
        )
        shutil.rmtree(tmp, ignore_errors=True)
    if args.only in (None, "thermometer"):
        stage = set_stage()
        try:
            r = asyncio.run(thermometer(stage, args.viewers, args.donations))
        finally:
            stage.server.send_signal(signal.SIGTERM)
            stage.server.wait()
            shutil.rmtree(stage.data, ignore_errors=True)
        rows.append(
            (
                f"thermometer latency at {r['viewers']:,} viewers, {r['donations']} donations at 10/s",
                f"p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, max {r['max_ms']:.0f} ms "
                f"(the donation's own answer: p50 {r['donate_p50_ms']:.0f} ms), "
                f"missing {r['missing']}",
                "p95 ≤ 1,000 ms",
            )
        )
    if args.only in (None, "draw"):
        tmp = Path(tempfile.mkdtemp(prefix="innotv-bench-draw-"))
        r = asyncio.run(draw_time(CoreSettings(data_dir=tmp), args.pool))
        rows.append(
            (
                f"draw over {args.pool:,} entries, SQLite (prepare + run)",
                f"{r['total_s']:.2f} s ({r['prepare_s']:.2f} + {r['run_s']:.2f})",
                "≤ 2 s",
            )
        )
        shutil.rmtree(tmp, ignore_errors=True)
        redis = OwnRedis(args.fsync)
        try:
            r = asyncio.run(draw_time(CoreSettings(redis_url=redis.url, redis_prefix="bench:"), args.pool))
            rows.append(
                (
                    f"draw over {args.pool:,} entries, Redis (prepare + run)",
                    f"{r['total_s']:.2f} s ({r['prepare_s']:.2f} + {r['run_s']:.2f})",
                    "≤ 2 s",
                )
            )
        finally:
            redis.stop()
    print("\n| measure | innotv | target |\n|---|---|---|")
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} |")


if __name__ == "__main__":
    main()
