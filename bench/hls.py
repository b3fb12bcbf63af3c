"""HLS benchmark for the video crowd: simulated players through the deployment kit's nginx and, as
the reference in the same run, straight to innotv. Prints one table.

    .venv/bin/python bench/hls.py --players 5000     # the expo's crowd, as far as the machine allows
    .venv/bin/python bench/hls.py --smoke            # 50 players, short windows (CI)

Setup: `deploy/stack up` (Debian's nginx with the kit's site file over TLS, a redis-server, two
innotv processes on one data directory, the ladder given by --ladder); a producer made with the
CLI creates a program that is on now, and `bench/media.py --publisher` (a child process, aiortc)
publishes the generated 426x240 15 fps source to it with WHIP, straight to the first innotv process.
(Not `--demo`: the demo gives way to the expo's own program on the expo's days.) Each phase starts
its players over --ramp seconds, then measures a window of --seconds, then closes them: first
through nginx (https), then straight to the first innotv process (http).

A player is a coroutine with one keep-alive HTTP/1.1 connection, written on asyncio.Protocol so
that thousands fit in this process. It does what hls.js 1.7 does in low-latency mode against
innotv's playlists: master playlist, its rung's playlist (--top-share of the players take the
top rung, the others the lowest), the init segment, the last two segments (two segments behind
the live edge, `liveSyncDurationCount: 2`), then forever: the blocking reload
`live.m3u8?_HLS_msn=<last+1>` and every new segment it lists. A 503 is retried after 1 s without
directives, as hls.js does. Playback is modelled: it starts when the first two segments are in;
a stall is when the play position (wall time since the start minus time stalled) has passed the
end of what was downloaded when the next segment arrives.

What it prints, for the window only:
- origin requests/s: innotv_hls_requests_total summed over both innotv processes (read on their own
  ports), by file kind, and per rung and segment;
- CPU as cores (CPU seconds / wall seconds, from /proc): the innotv server processes, their media
  worker (the program's encoder, the same in both phases), nginx (master and workers), this load
  generator, and the whole machine (/proc/stat, anyone's work, which tells a crowded machine);
- bytes and requests delivered to players, stalls (events, players, seconds), errors;
- playlist arrival behind the first player: for each rung and segment, how long after the first
  player of this process each other player got the playlist that lists it (nginx checks a cache
  lock every 500 ms, so waiting players may get it up to 0.5 s later than the first).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
STACK = ROOT / "deploy" / "stack"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- one keep-alive HTTP/1.1 connection ------------------------------------------------------

class HttpConn(asyncio.Protocol):
    """GET requests one at a time on one connection; a body is kept only when asked for."""

    def __init__(self) -> None:
        self.transport: asyncio.WriteTransport | None = None
        self.lost = False
        self._waiter: asyncio.Future[tuple[int, bytes, int]] | None = None
        self._head = bytearray()
        self._need = -1  # body bytes still expected; -1 while reading the head
        self._status = 0
        self._keep = False
        self._body = bytearray()
        self._size = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # (uvloop's are not asyncio.Transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("connection closed"))

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:
            return
        if self._need < 0:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._head[:end]).lower()
            data = bytes(self._head[end + 4:])
            self._head.clear()
            self._status = int(head[9:12])
            marker = head.find(b"\r\ncontent-length:")
            if marker < 0:
                self._fail("a response without Content-Length")
                return
            end = head.find(b"\r\n", marker + 2)
            self._need = int(head[marker + 17:end if end > 0 else len(head)])
            self._size = self._need
        if self._keep:
            self._body += data[:self._need]
        self._need -= len(data)
        if self._need <= 0:
            waiter, self._waiter = self._waiter, None
            self._need = -1
            if waiter is not None and not waiter.done():
                waiter.set_result((self._status, bytes(self._body), self._size))

    def _fail(self, why: str) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionError(why))
        if self.transport is not None:
            self.transport.close()

    def get(self, request: bytes, keep: bool) -> asyncio.Future[tuple[int, bytes, int]]:
        """(status, body if `keep` else b"", body size) of one request written as is."""
        assert self.transport is not None and self._waiter is None
        self._waiter = asyncio.get_running_loop().create_future()
        self._keep = keep
        self._body = bytearray()
        self.transport.write(request)
        return self._waiter


@dataclass
class Target:
    host: str
    port: int
    tls: ssl.SSLContext | None
    host_header: str

    def request(self, path: str) -> bytes:
        return (f"GET {path} HTTP/1.1\r\nHost: {self.host_header}\r\nUser-Agent: innotv-bench-hls\r\n"
                "Accept: */*\r\n\r\n").encode()

    async def connect(self) -> HttpConn:
        loop = asyncio.get_running_loop()
        _transport, conn = await loop.create_connection(
            HttpConn, self.host, self.port, ssl=self.tls, server_hostname="localhost" if self.tls else None)
        return conn


# ---- players ---------------------------------------------------------------------------------

@dataclass
class Totals:
    requests: int = 0
    bytes: int = 0
    errors: int = 0  # non-200 answers and failed requests
    reconnects: int = 0
    stalls: int = 0
    stalled_s: float = 0.0
    playing: int = 0
    stalled_players: set[int] = field(default_factory=set)

    def copy(self) -> Totals:
        return Totals(self.requests, self.bytes, self.errors, self.reconnects, self.stalls, self.stalled_s,
                      self.playing, set(self.stalled_players))


@dataclass
class Run:
    target: Target
    program: str
    rungs: list[str]
    publisher: int  # its pid
    totals: Totals = field(default_factory=Totals)
    # (rung, msn) -> when each player got the first playlist listing msn (this window only)
    arrivals: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    window: tuple[float, float] = (float("inf"), float("inf"))
    stopping: bool = False
    first_error: str = ""
    lags: list[float] = field(default_factory=list)  # this loop's lateness, sampled every 100 ms


async def watch_lag(run: Run) -> None:
    """How late this process's event loop wakes up: a late loop means late players, whatever the
    server does, so stalls seen with a large lag are the load generator's, not the server's."""
    while not run.stopping:
        due = time.monotonic() + 0.1
        await asyncio.sleep(0.1)
        now = time.monotonic()
        if run.window[0] <= now <= run.window[1]:
            run.lags.append(now - due)


def _parse(text: str) -> tuple[list[tuple[int, float]], str | None]:
    """[(segment number, duration)], the last init segment's name."""
    out: list[tuple[int, float]] = []
    init = None
    duration = 1.0
    for line in text.splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",")[0])
        elif line.startswith("#EXT-X-MAP:"):
            init = line.split('"')[1]
        elif line.startswith("seg-"):
            out.append((int(line[4:-4]), duration))
    return out, init


async def _get(run: Run, player: dict[str, Any], path: str, keep: bool) -> tuple[int, bytes]:
    """One request on the player's connection, reconnecting once when the connection is gone."""
    for attempt in range(2):
        conn: HttpConn = player["conn"]
        if conn.lost:
            run.totals.reconnects += 1
            conn = player["conn"] = await run.target.connect()
        try:
            status, body, size = await conn.get(run.target.request(path), keep)
        except ConnectionError:
            if attempt:
                raise
            conn.lost = True
            continue
        run.totals.requests += 1
        run.totals.bytes += size
        if status != 200:
            run.totals.errors += 1
        return status, body
    raise AssertionError("unreachable")


async def play(run: Run, index: int, rung: str) -> None:
    base = f"/hls/{run.program}/{rung}/"
    player: dict[str, Any] = {"conn": await run.target.connect()}
    try:
        await _get(run, player, f"/hls/{run.program}/master.m3u8", False)
        status, body = await _get(run, player, base + "live.m3u8", True)
        listed, init = _parse(body.decode()) if status == 200 else ([], None)
        if len(listed) < 2 or init is None:
            run.totals.errors += 1
            return
        await _get(run, player, base + init, False)
        for number, _duration in listed[-2:]:
            await _get(run, player, f"{base}seg-{number}.m4s", False)
        buffered = sum(d for _n, d in listed[-2:])
        start = time.monotonic()
        stalled = 0.0
        last = listed[-1][0]
        run.totals.playing += 1
        while not run.stopping:
            status, body = await _get(run, player, f"{base}live.m3u8?_HLS_msn={last + 1}", True)
            if status != 200:
                await asyncio.sleep(1.0)
                status, body = await _get(run, player, base + "live.m3u8", True)
                if status != 200:
                    continue
            now = time.monotonic()
            listed, new_init = _parse(body.decode())
            fresh = [(n, d) for n, d in listed if n > last]
            if not fresh:
                continue
            if run.window[0] <= now <= run.window[1]:
                run.arrivals[(rung, fresh[0][0])].append(now)
            if new_init is not None and new_init != init:  # a discontinuity: the new init first
                init = new_init
                await _get(run, player, base + init, False)
            for number, duration in fresh:
                await _get(run, player, f"{base}seg-{number}.m4s", False)
                now = time.monotonic()
                position = now - start - stalled
                if position > buffered:  # the player ran dry before this segment came
                    if run.window[0] <= now <= run.window[1]:
                        run.totals.stalls += 1
                        run.totals.stalled_s += position - buffered
                        run.totals.stalled_players.add(index)
                    stalled += position - buffered
                buffered += duration
                last = number
    except Exception as exc:  # counted and shown, never silently lost in gather()
        run.totals.errors += 1
        run.first_error = run.first_error or f"{type(exc).__name__}: {exc}"
    finally:
        conn: HttpConn = player["conn"]
        if conn.transport is not None:
            conn.transport.close()


# ---- what the machine did --------------------------------------------------------------------

def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found.extend(int(c) for c in (task / "children").read_text().split())
    return found


def _machine_busy() -> tuple[float, float]:
    """(busy jiffies, all jiffies) over every core, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


@dataclass
class Sample:
    at: float
    innotv: float
    workers: float
    nginx: float
    me: float
    publisher: float
    busy: tuple[float, float]
    origin: dict[str, float]


def _metrics(url: str) -> dict[str, float]:
    """innotv_hls_requests_total of one innotv process by file kind (route hls)."""
    out: dict[str, float] = defaultdict(float)
    with contextlib.suppress(OSError), urllib.request.urlopen(url + "/metrics", timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith("innotv_hls_requests_total{"):
                labels, value = line.rsplit(" ", 1)
                kind = labels.split('file="')[1].split('"')[0]
                out[kind] += float(value)
    return out


def sample(stack: dict[str, Any], publisher: int) -> Sample:
    innotv = [p["pid"] for p in stack["innotv"]]
    workers = [c for pid in innotv for c in _children(pid)]
    nginx = [stack["nginx"]["pid"], *_children(stack["nginx"]["pid"])]
    origin: dict[str, float] = defaultdict(float)
    for proc in stack["innotv"]:
        for kind, value in _metrics(proc["url"]).items():
            origin[kind] += value
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return Sample(time.monotonic(), sum(map(_proc_cpu, innotv)), sum(map(_proc_cpu, workers)),
                  sum(map(_proc_cpu, nginx)), usage.ru_utime + usage.ru_stime, _proc_cpu(publisher),
                  _machine_busy(), origin)


# ---- a phase ---------------------------------------------------------------------------------

@dataclass
class Result:
    name: str
    players: int
    playing: int
    window_s: float
    ramped_s: float  # how long starting every player took (longer than --ramp: this process was busy)
    cpu: dict[str, float]
    machine_cores: float
    origin: dict[str, float]
    totals: Totals
    behind_first: list[float]
    first_error: str
    lags: list[float]


async def phase(name: str, stack: dict[str, Any], run: Run, players: int, ramp_s: float,
                window_s: float, top_share: float) -> Result:
    tasks: list[asyncio.Task[None]] = [asyncio.create_task(watch_lag(run))]
    began = time.monotonic()
    started = 0
    while started < players:
        # every player due by now, then a short sleep: one player per wake-up would let a busy
        # loop (each turn serving thousands of players) stretch the ramp to minutes
        due = min(players, int((time.monotonic() - began) / max(ramp_s, 1e-6) * players) + 1)
        for i in range(started, due):
            rung = run.rungs[0] if i < players * top_share else run.rungs[-1]
            tasks.append(asyncio.create_task(play(run, i, rung)))
        started = due
        await asyncio.sleep(0.05)
    ramped = time.monotonic() - began
    _say(f"{name}: {players} players started in {ramped:.1f} s, {run.totals.playing} playing")
    await asyncio.sleep(3.0)  # the last players reach their steady loop
    before_totals = run.totals.copy()
    before = await asyncio.to_thread(sample, stack, run.publisher)
    run.window = (time.monotonic(), time.monotonic() + window_s)
    _say(f"{name}: measuring {window_s:g} s")
    await asyncio.sleep(window_s)
    after = await asyncio.to_thread(sample, stack, run.publisher)
    _say(f"{name}: measured {after.at - before.at:.1f} s; {run.totals.playing} playing, stopping them")
    after_totals = run.totals.copy()
    run.stopping = True
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    wall = after.at - before.at
    window = Totals(after_totals.requests - before_totals.requests, after_totals.bytes - before_totals.bytes,
                    after_totals.errors - before_totals.errors,
                    after_totals.reconnects - before_totals.reconnects, after_totals.stalls,
                    after_totals.stalled_s, after_totals.playing, after_totals.stalled_players)
    behind: list[float] = []
    for times in run.arrivals.values():
        first = min(times)
        behind.extend(t - first for t in times if t != first)
    busy = (after.busy[0] - before.busy[0]) / max(1.0, after.busy[1] - before.busy[1])
    return Result(
        name, players, after_totals.playing, wall, ramped,
        {"innotv": (after.innotv - before.innotv) / wall, "workers": (after.workers - before.workers) / wall,
         "nginx": (after.nginx - before.nginx) / wall, "me": (after.me - before.me) / wall,
         "publisher": (after.publisher - before.publisher) / wall},
        busy * (os.cpu_count() or 1),
        {k: (after.origin.get(k, 0.0) - before.origin.get(k, 0.0)) / wall
         for k in sorted(set(after.origin) | set(before.origin))},
        window, behind, run.first_error, run.lags)


# ---- the run ---------------------------------------------------------------------------------

def _say(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)


def _stack(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([str(STACK), *args], capture_output=True, text=True, timeout=180, env=env)
    if done.returncode != 0:
        raise SystemExit(f"deploy/stack {args[0]} failed:\n{done.stderr}{done.stdout}")
    return done.stdout


async def _wait_live(url: str, context: ssl.SSLContext, program: str) -> list[str]:
    """The rungs, once every rung's playlist lists at least three segments (polled: another process)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            master = await asyncio.to_thread(_fetch, f"{url}/hls/{program}/master.m3u8", context)
            rungs = [line.split("/")[0] for line in master.splitlines() if line.endswith("live.m3u8")]
            lists = [await asyncio.to_thread(_fetch, f"{url}/hls/{program}/{r}/live.m3u8", context)
                     for r in rungs]
            if rungs and all(len(_parse(text)[0]) >= 3 for text in lists):
                return rungs
        except OSError:
            pass
        await asyncio.sleep(0.5)
    raise SystemExit("the broadcast did not start within 90 s")


def _fetch(url: str, context: ssl.SSLContext | None) -> str:
    with urllib.request.urlopen(url, timeout=10, context=context) as resp:
        return str(resp.read().decode())


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(args: argparse.Namespace, results: list[Result], rungs: list[str], note: str) -> str:
    segment_s = float(os.environ.get("INNOTV_LIVE_SEGMENT_S", "1"))
    lines = [
        f"# bench/hls.py {' '.join(sys.argv[1:])}",
        f"# {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {platform.node()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {_nginx_version()}, "
        f"open files {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}",
        f"# ladder {args.ladder} (+96 kbit/s audio per rung), {segment_s:g} s segments, rungs {rungs}; "
        f"{args.top_share:.0%} of the players on {rungs[0]}; ramp {args.ramp:g} s, window {args.seconds:g} s",
        "# stack: deploy/stack up (nginx 2 workers, TLS; 2 innotv processes; redis), one WHIP publisher "
        "(426x240 15 fps, bench/media.py --publisher) to the first process; players: "
        f"this process (one {args.loop} loop); nothing pinned",
    ]
    if note:
        lines.append(f"# note: {note}")
    head = "| | " + " | ".join(r.name for r in results) + " |"
    lines += ["", head, "|---|" + "---|" * len(results)]

    def row(label: str, cell: Any) -> None:
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in results) + " |")

    row("players started / playing", lambda r: f"{r.players} / {r.playing}")
    row("time to start them all (asked: --ramp)", lambda r: f"{r.ramped_s:.1f} s")
    row("origin requests/s (innotv, both processes)", lambda r: f"{sum(r.origin.values()):.1f}")
    row("  of which blocking playlists / segments / other",
        lambda r: f"{r.origin.get('blocking_playlist', 0):.1f} / {r.origin.get('segment', 0):.1f} / "
                  f"{sum(v for k, v in r.origin.items() if k not in ('blocking_playlist', 'segment')):.1f}")
    row("origin requests per rung and segment (playlist + segment)",
        lambda r: f"{sum(r.origin.values()) * segment_s / len(rungs):.2f}")
    row("requests/s served to players", lambda r: f"{r.totals.requests / r.window_s:,.0f}")
    row("bytes delivered", lambda r: f"{r.totals.bytes / r.window_s / 1e6:.1f} MB/s = "
                                     f"{r.totals.bytes * 8 / r.window_s / 1e6:.0f} Mbit/s")
    row("innotv CPU (2 server processes), cores", lambda r: f"{r.cpu['innotv']:.2f}")
    row("nginx CPU (master + workers), cores",
        lambda r: f"{r.cpu['nginx']:.2f}" if r.name.startswith("through") else f"({r.cpu['nginx']:.2f})")
    row("media worker (the program's encoder), cores", lambda r: f"{r.cpu['workers']:.2f}")
    row("WHIP publisher (aiortc, another process), cores", lambda r: f"{r.cpu['publisher']:.2f}")
    row("load generator (this process), cores", lambda r: f"{r.cpu['me']:.2f}")
    row("load generator's loop late, p50 / max", lambda r: f"{_quantile(r.lags, 0.5) * 1000:.0f} / "
                                                         f"{max(r.lags, default=float('nan')) * 1000:.0f} ms")
    row("whole machine busy, cores", lambda r: f"{r.machine_cores:.2f} of {os.cpu_count()}")
    row("stalls: events / players / seconds",
        lambda r: f"{r.totals.stalls} / {len(r.totals.stalled_players)} / {r.totals.stalled_s:.1f}")
    row("errors (non-200 or failed) / reconnects", lambda r: f"{r.totals.errors} / {r.totals.reconnects}")
    row("playlist behind the first player, p50 / p95 / max",
        lambda r: f"{_quantile(r.behind_first, 0.5) * 1000:.0f} / "
                  f"{_quantile(r.behind_first, 0.95) * 1000:.0f} / "
                  f"{max(r.behind_first, default=float('nan')) * 1000:.0f} ms")
    lines += [f"\n{r.name}: a player failed: {r.first_error[:300]}" for r in results if r.first_error]
    return "\n".join(lines)


def _nginx_version() -> str:
    done = subprocess.run(["nginx", "-v"], capture_output=True, text=True, timeout=10)
    return done.stderr.strip().replace("nginx version: ", "")


async def main_async(args: argparse.Namespace) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNOTV_")}
    env.update({"INNOTV_PYTHON": sys.executable, "INNOTV_LIVE_LADDER": args.ladder,
                "INNOTV_LIVE_SEGMENT_S": "1", "INNOTV_LIVE_X264_PRESET": "ultrafast",
                "INNOTV_LOG_LEVEL": "WARNING"})
    directory = tempfile.mkdtemp(prefix="innotv-bench-hls-")
    main = asyncio.current_task()
    assert main is not None
    # SIGTERM ends the run like Ctrl-C: the main task is cancelled and the stack stopped on the way out
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    stack = json.loads(_stack("up", "--dir", directory, "--json", env=env))
    publisher: subprocess.Popen[bytes] | None = None
    try:
        program, key = await _program(stack, env)
        publisher = _publish(f"{stack['innotv'][0]['url']}/whip/{program}", key)
        context = ssl.create_default_context(cafile=stack["cert"])
        https = f"https://127.0.0.1:{stack['nginx']['port']}"
        rungs = await _wait_live(https, context, program)
        direct = urlsplit(stack["innotv"][0]["url"])
        targets = {
            "through nginx (https)": Target("127.0.0.1", stack["nginx"]["port"], context,
                                            f"localhost:{stack['nginx']['port']}"),
            "straight to innotv (http)": Target("127.0.0.1", int(direct.port or 80), None, direct.netloc),
        }
        results = []
        for name, target in targets.items():
            if args.only and not name.startswith(args.only):
                continue
            _say(f"{name}: starting {args.players} players over {args.ramp:g} s")
            run = Run(target, program, rungs, publisher.pid)
            results.append(await phase(name, stack, run, args.players, args.ramp, args.seconds,
                                       args.top_share))
            await asyncio.sleep(2.0)  # closed connections settle before the next phase
        print(report(args, results, rungs, args.note))
        return 0
    finally:
        if publisher is not None:
            _unpublish(publisher)
        _stack("down", "--dir", directory, "--purge", env=env)


async def _program(stack: dict[str, Any], env: dict[str, str]) -> tuple[str, str]:
    """A producer (the real CLI on the stack's Redis), a program on now, its stream key."""
    import aiohttp

    account = ("bench", "bench-password-1")
    made = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "innotv", "user", "add", account[0], "--role", "producer", "--password-stdin"],
        input=account[1] + "\n", capture_output=True, text=True, timeout=60, cwd=ROOT,
        env={**env, "INNOTV_REDIS_URL": stack["redis_url"], "INNOTV_DATA_DIR": stack["data_dir"]})
    if made.returncode != 0:
        raise SystemExit(f"innotv user add failed: {made.stderr}")
    origin = stack["innotv"][0]["url"]
    now = time.time()
    body = {"title": "HLS 벤치마크", "kind": "live",
            "starts_at": "now",
            "ends_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now + 3 * 3600))}
    async with aiohttp.ClientSession(origin, headers={"Origin": origin},
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        async with client.post("/api/session", json={"username": account[0], "password": account[1]}) as r:
            r.raise_for_status()
        async with client.post("/api/programs", json=body) as r:
            if r.status != 201:
                raise SystemExit(f"creating the program failed: {await r.text()}")
            program = str((await r.json())["id"])
        async with client.post(f"/api/programs/{program}/stream-key") as r:
            r.raise_for_status()
            return program, str((await r.json())["stream_key"])


def _publish(url: str, key: str) -> subprocess.Popen[bytes]:
    """bench/media.py's publisher child, publishing until its stdin closes."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "media.py"), "--publisher"], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
    assert proc.stdin is not None and proc.stdout is not None
    job = {"whip": [[url, key]], "width": 426, "height": 240, "fps": 15, "codec": "video/H264"}
    proc.stdin.write(json.dumps(job).encode() + b"\n")
    proc.stdin.flush()
    reply = json.loads(proc.stdout.readline() or b'{"error": "the publisher exited"}')
    if "error" in reply:
        _unpublish(proc)
        raise SystemExit(f"publishing failed: {reply['error']}")
    return proc


def _unpublish(proc: subprocess.Popen[bytes]) -> None:
    """Close the publisher's stdin (it stops with a WHIP DELETE); terminate it if it lingers."""
    with contextlib.suppress(OSError):
        assert proc.stdin is not None
        proc.stdin.close()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=20.0, help="the measured window of each phase")
    parser.add_argument("--ramp", type=float, default=20.0, help="players start evenly over this many s")
    parser.add_argument("--ladder", default="240p15:250,120p15:60", help="INNOTV_LIVE_LADDER of the stack")
    parser.add_argument("--top-share", type=float, default=0.5, help="share of players on the top rung")
    parser.add_argument("--only", choices=["through", "straight"], help="run one phase only")
    parser.add_argument("--note", default="", help="a line for the header (what else ran)")
    parser.add_argument("--smoke", action="store_true", help="50 players, 3 s ramp, 5 s windows")
    parser.add_argument("--plain-asyncio", action="store_true",
                        help="the standard event loop even with uvloop installed (pip install -e '.[bench]')")
    args = parser.parse_args()
    if args.smoke:
        args.players, args.ramp, args.seconds = 50, 3.0, 5.0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.players + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.players * 2 + 100), hard))
    loop_factory = None
    if not args.plain_asyncio:
        with contextlib.suppress(ImportError):
            import uvloop

            loop_factory = uvloop.new_event_loop
    args.loop = "uvloop" if loop_factory else "asyncio"
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
