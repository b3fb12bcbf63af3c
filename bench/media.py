"""Media benchmark: encoding cost, glass-to-glass latency (HLS in Chromium, WHEP) and chat latency
while streams encode. Prints one table with each figure beside its target or reference (Owncast's
documented latency figures for HLS).

    .venv/bin/python bench/media.py            # full run (about 3 minutes)
    .venv/bin/python bench/media.py --smoke    # short, for CI (under a minute)

Where each part runs (printed in the table header too; nothing is pinned to a core):
- the server: a real `innotv serve` child process; its CPU is summed over its whole process tree
  (the server process plus any media worker children it spawns, found through
  /proc/<pid>/task/*/children, recursively), reported as server process and worker children;
- the WHIP publishers (aiortc encoding the generated 720p30 source with the burnt-in clock, VP8
  and then H.264): a separate process, `bench/media.py --publisher`, fed its programs and keys as
  one JSON line on stdin; it stops when its stdin closes (or on SIGINT/SIGTERM) and is always
  stopped by the benchmark, also on Ctrl-C or an error;
- the chat clients (raw Socket.IO clients from bench/chat.py) and the WHEP client: this process;
- the HLS viewer: Chromium (Playwright), in its own processes, watching a third program while it is
  the only one on the air (as on the expo's stage: one VP8 publisher; the others stopped).
On a machine with few cores all of these still share the same cores: read the header.

What it measures:
- encode: the media worker alone (no network), fed the generated 720p30 source, for the default
  ladder (720p30 + 360p30): cores per published stream (CPU time of this process and any children
  / wall time, minus the cost of generating the source, measured separately).
- server CPU per WHIP stream: two programs published (VP8, then H.264 whose top rung may be passed
  through); the server tree's CPU seconds per second, minus the idle server's, divided by two.
- glass to glass (HLS): the wall clock burnt into the published frames, read back in Chromium from
  a canvas copy of the <video> that hls.js plays, once per displayed frame, with exactly the viewer
  page's hls.js configuration (`HLS_CONFIG` imported from static/js/player.js, served with the rest
  of static/ under /static/); `waiting` events (stalls) during the window are counted.
- glass to glass (WHEP): the same clock read from frames an aiortc WHEP client receives.
- chat p99: sender-to-receiver latency of chat messages (sent at random instants) to a room of
  clients, with no stream and with two streams publishing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import importlib.util
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402

from live.font import age_ms, read_bits  # noqa: E402
from live.source import AUDIO_SAMPLES, TestPattern, Tone, wall_ms  # noqa: E402
from live.tracks import Publication, whip_publish  # noqa: E402

DEFAULT_LADDER = "720p30:2800,360p30:800"
OWNCAST = "Owncast docs: ~5 s at its lowest latency setting, ~10 s by default"
PRODUCER = ("bench-producer", "bench-password-123")
STATIC = ROOT / "static"
SELF = Path(__file__).resolve()
PLAYER_JS = STATIC / "js" / "player.js"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _find_prctl() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return None


_PRCTL = _find_prctl()  # looked up here, not in the forked child (no dlopen between fork and exec)


def _die_with_parent() -> None:
    """In a child, before exec: SIGTERM it when the benchmark dies, even by SIGKILL (Linux)."""
    if _PRCTL is not None:
        _PRCTL(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG


# ---- CPU of a process tree, from /proc -------------------------------------------------------------
def _proc_times(pid: int) -> tuple[float, float] | None:
    """(own utime+stime, utime+stime of its reaped children) in seconds; None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK, (int(fields[13]) + int(fields[14])) / CLK_TCK


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found.extend(int(c) for c in (task / "children").read_text().split())
    return found


@dataclass
class TreeCpu:
    """CPU seconds so far of a process (`own`) and of everything below it (`children`: live
    descendants plus the children it has reaped); `pids` the descendants alive at the sample."""

    own: float
    children: float
    pids: frozenset[int]


def tree_cpu(pid: int) -> TreeCpu:
    top = _proc_times(pid)
    if top is None:
        raise RuntimeError(f"process {pid} is gone")
    own, children = top
    seen: set[int] = set()
    stack = _children(pid)
    while stack:
        child = stack.pop()
        if child in seen:
            continue
        seen.add(child)
        times = _proc_times(child)
        if times is not None:
            children += times[0] + times[1]
        stack.extend(_children(child))
    return TreeCpu(own, children, frozenset(seen))


def cores_between(a: TreeCpu, b: TreeCpu, wall: float) -> dict[str, float]:
    """Cores used between two samples of one tree. A child absent from `a` counts from its start
    (it held 0 s then); a child reaped in between moved into its parent's reaped-children time."""
    server = (b.own - a.own) / wall
    children = max(0.0, b.children - a.children) / wall
    return {"server": server, "children": children, "total": server + children,
            "worker_pids": float(len(a.pids | b.pids))}


async def tree_cores(pid: int, seconds: float) -> dict[str, float]:
    a, t0 = tree_cpu(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return cores_between(a, tree_cpu(pid), time.monotonic() - t0)


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return total - idle, total


def busy_cores(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Cores the whole machine kept busy between two `machine_jiffies` samples."""
    return (b[0] - a[0]) / max(1, b[1] - a[1]) * (os.cpu_count() or 1)


# ---- 1. the encoder alone ------------------------------------------------------------------------
def _feed(offer: Any, seconds: float, width: int, height: int, fps: int) -> None:
    pattern, tone = TestPattern(width, height, fps), Tone()
    start = time.monotonic()
    while pattern.index < seconds * fps:
        offer("video", pattern.next_frame())
        while tone.index * AUDIO_SAMPLES * fps < pattern.index * 48_000:
            offer("audio", tone.next_frame())
        delay = start + pattern.index / fps - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    pattern.close()


def _cpu_self() -> float:
    sample = tree_cpu(os.getpid())
    return sample.own + sample.children


def measure_encode(seconds: float, ladder: str, preset: str,
                   generator_alone: bool = True) -> dict[str, float]:
    """Cores used by the media worker for one 720p30 stream (this process and any children it
    spawns), generator cost removed."""
    from live.ladder import parse_ladder
    from live.media import ProgramMedia
    from live.worker import MediaWorker, WorkerSettings

    generator = 0.0
    if generator_alone:
        t0, c0 = time.monotonic(), _cpu_self()
        _feed(lambda kind, frame: None, seconds, 1280, 720, 30)
        generator = (_cpu_self() - c0) / (time.monotonic() - t0)

    tmp = Path(tempfile.mkdtemp(prefix="innotv-bench-media-"))
    try:
        media = ProgramMedia(tmp, "bench", 1.0, 6)
        settings = WorkerSettings(parse_ladder(ladder), 1.0, preset, 5.0, 240, threads=2)  # the server's
        worker = MediaWorker(media, settings, "bench")
        worker.start()
        t0, c0 = time.monotonic(), _cpu_self()
        _feed(lambda kind, frame: worker.offer(kind, "bench", frame), seconds, 1280, 720, 30)
        stopped = time.monotonic()
        worker.stop()
        worker.done.result(timeout=120)
        drain = time.monotonic() - stopped  # how far behind real time the worker had fallen
        total = (_cpu_self() - c0) / (time.monotonic() - t0)
        segments = sum(len(log.segments) for log in media.logs.values())
        return {"generator": generator, "total": total, "encode": max(0.0, total - generator),
                "dropped": float(worker.dropped), "segments": float(segments), "drain_s": drain}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def programs_scan(args: argparse.Namespace) -> str:
    """Run 1, 2, 4, ... media workers side by side, each in its own process fed its own generated
    720p30 source in real time (as a program's worker process is), until one falls behind: it
    drops frames or needs more than a second after the end to catch up. The generators' CPU
    counts against the machine, so the figure is conservative."""
    cores = os.cpu_count() or 1
    seconds = max(args.seconds, 8.0)
    rows, best, count = [], 0, 1
    while count <= 2 * cores:
        before = machine_jiffies()
        procs = [subprocess.Popen([sys.executable, str(SELF), "--encode-one", str(seconds), args.ladder,
                                   args.preset], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                 for _ in range(count)]
        results = []
        for proc in procs:
            out, _ = proc.communicate(timeout=seconds * 4 + 120)
            results.append(json.loads(out.decode().strip().splitlines()[-1]))
        busy = busy_cores(before, machine_jiffies())
        dropped = sum(r["dropped"] for r in results)
        drain = max(r["drain_s"] for r in results)
        kept_up = dropped == 0 and drain < 1.0
        rows.append(f"  {count:>3} programs: machine busy {busy:5.1f} of {cores} cores, frames dropped "
                    f"{dropped:.0f}, slowest worker {drain:.2f} s behind at the end"
                    f"{'' if kept_up else '  <- falls behind'}")
        print(rows[-1], flush=True)
        if not kept_up:
            break
        best = count
        count = count * 2 if count < 4 else count + max(2, cores // 4)
    limit = "" if count <= 2 * cores else f" (the scan stops at twice the cores: at least {best})"
    return "\n".join([
        f"programs transcoded in real time on this machine ({cores} cores, ladder {args.ladder}, "
        f"x264 {args.preset}, each worker in its own process with its own 720p30 generator): {best}{limit}",
        *rows])


# ---- a real server -------------------------------------------------------------------------------
def stop_by_pid(proc: subprocess.Popen[bytes], sig: int, wait_s: float) -> None:
    """Stop a process this benchmark started: `sig`, then SIGKILL after `wait_s` seconds."""
    if proc.poll() is None:
        os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


@dataclass
class ServerProc:
    proc: subprocess.Popen[bytes]
    port: int
    data: Path
    url: str = ""
    keys: dict[str, str] = field(default_factory=dict)
    log: Any = None  # the server's stderr (a temporary file), shown when the benchmark fails

    def log_tail(self, chars: int = 3000) -> str:
        if self.log is None or self.log.closed:
            return ""
        self.log.seek(0)
        return str(self.log.read().decode(errors="replace")[-chars:])

    def stop(self) -> None:
        stop_by_pid(self.proc, signal.SIGTERM, 15)
        shutil.rmtree(self.data, ignore_errors=True)
        if self.log is not None:
            self.log.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(ladder: str, extra_env: dict[str, str] | None = None) -> ServerProc:
    data = Path(tempfile.mkdtemp(prefix="innotv-bench-srv-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNOTV_")}
    env.update({"INNOTV_DATA_DIR": str(data), "INNOTV_LOG_LEVEL": "WARNING", "INNOTV_LIVE_LADDER": ladder,
                "INNOTV_CHAT_MAX_CONNS_PER_IP": "1000000", "INNOTV_CHAT_CONN_BURST_PER_IP": "1000000",
                "INNOTV_CHAT_CONN_RATE_PER_IP": "1000000", "INNOTV_CHAT_RATE_SCALE": "1000",
                "PYTHONPATH": str(ROOT)})
    env.update(extra_env or {})
    subprocess.run([sys.executable, "-m", "innotv", "user", "add", PRODUCER[0], "--role", "producer",
                    "--password-stdin"], input=PRODUCER[1].encode(), env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    port = _free_port()
    serve = [sys.executable, "-m", "innotv", "serve", "--host", "127.0.0.1", "--port", str(port)]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(serve, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=log, preexec_fn=_die_with_parent,
                            start_new_session=True)  # Ctrl-C reaches only the benchmark, which stops it
    server = ServerProc(proc, port, data, f"http://127.0.0.1:{port}", log=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            import urllib.request

            with urllib.request.urlopen(server.url + "/readyz", timeout=1) as resp:
                if resp.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError("innotv did not start")


async def make_programs(server: ServerProc, count: int) -> list[str]:
    from datetime import UTC, datetime, timedelta

    ids = []
    async with aiohttp.ClientSession(base_url=server.url, headers={"Origin": server.url},
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post("/api/session", json={"username": PRODUCER[0], "password": PRODUCER[1]}) as r:
            assert r.status == 200, await r.text()
        now = datetime.now(UTC)
        for i in range(count):
            # not on the air yet: a publisher's WHIP DELETE then stops the output (on the air it
            # would be a break, with the slate encoding in the background of the next measure)
            start = now + timedelta(hours=3 * (i + 1))
            body = {"title": f"bench {i}", "kind": "live", "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(hours=2)).isoformat()}
            async with http.post("/api/programs", json=body) as r:
                program_id = str((await r.json())["id"])
            async with http.post(f"/api/programs/{program_id}/stream-key") as r:
                server.keys[program_id] = str((await r.json())["stream_key"])
            ids.append(program_id)
    return ids


async def wait_playlist(http: aiohttp.ClientSession, url: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with http.get(url) as r:
            if r.status == 200 and "#EXTM3U" in await r.text():
                return
        await asyncio.sleep(0.3)
    raise RuntimeError(f"no segments at {url}")


async def server_gauge(http: aiohttp.ClientSession, server: ServerProc, name: str) -> float | None:
    """One gauge from the server's /metrics (None when it is not there)."""
    async with http.get(f"{server.url}/metrics") as resp:
        for line in (await resp.text()).splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


# ---- the WHIP publishers, in their own process ---------------------------------------------------
class Publishers:
    """A child process (`media.py --publisher`) publishing the generated source to some programs.

    `async with Publishers(...) as pubs:` returns once every program answered 201; leaving the block
    (normally, on an error or on Ctrl-C) closes the child's stdin, which makes it close its peer
    connections and exit; it is terminated, then killed, if it does not within a few seconds."""

    def __init__(self, server: ServerProc, programs: list[str], size: tuple[int, int], fps: int,
                 codec: str) -> None:
        self.job = {"whip": [[f"{server.url}/whip/{p}", server.keys[p]] for p in programs],
                    "width": size[0], "height": size[1], "fps": fps, "codec": codec}
        self.proc: asyncio.subprocess.Process | None = None
        self.log = tempfile.TemporaryFile()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def __aenter__(self) -> Publishers:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, str(SELF), "--publisher", cwd=ROOT,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=self.log,
            preexec_fn=_die_with_parent, start_new_session=True)
        try:
            assert self.proc.stdin is not None and self.proc.stdout is not None
            self.proc.stdin.write(json.dumps(self.job).encode() + b"\n")
            await self.proc.stdin.drain()
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout=60)
            reply = json.loads(line) if line.strip() else {"error": f"exited with {self.proc.returncode}"}
            if "error" in reply:
                raise RuntimeError(f"publisher process: {reply['error']}; {self._log_tail()}")
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    def _log_tail(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-400:]

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None and not proc.stdin.is_closing():
                proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), timeout=10)
            except TimeoutError:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), timeout=5)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
        except BaseException:  # cancelled while stopping: do not leave it behind
            if proc.returncode is None:
                proc.kill()
            raise
        finally:
            self.log.close()


async def publisher_main() -> int:
    """The `--publisher` child: read one JSON job from stdin, publish, report, wait, clean up."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def reply(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    pubs: list[Publication] = []
    try:
        job = json.loads(await reader.readline())
        async with aiohttp.ClientSession() as http:
            for url, key in job["whip"]:
                pubs.append(await whip_publish(http, url, key, width=job["width"], height=job["height"],
                                               fps=job["fps"], video_codec=job["codec"]))
            reply({"ready": len(pubs), "pid": os.getpid()})

            async def until_eof() -> None:
                await reader.read()
                stop.set()

            eof = asyncio.ensure_future(until_eof())
            await stop.wait()
            eof.cancel()
            for (url, _key), pub in zip(job["whip"], pubs, strict=True):
                # stop as OBS does, with a WHIP DELETE: the output stops (the program is not on
                # the air yet, so this is no break and no slate plays)
                origin = url.split("/whip/")[0]
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.delete(origin + pub.location, timeout=aiohttp.ClientTimeout(total=10)):
                        pass
        return 0
    except Exception as exc:
        reply({"error": f"{type(exc).__name__}: {str(exc)[:300]}"})
        return 1
    finally:
        for pub in pubs:
            await pub.pc.close()


# ---- glass to glass ------------------------------------------------------------------------------
PAGE = """<!doctype html><meta charset=utf-8><video id=v muted playsinline autoplay></video>
<canvas id=c></canvas><script type=module>
import Hls from '/static/vendor/hls.min.mjs';
const SRC = __SRC__, OVERRIDE = __OVERRIDE__, PARSED = __PARSED__;
let config = null, origin = null, player = null;
try {
  player = await import('/static/js/player.js');
  if (player.HLS_CONFIG) { config = player.HLS_CONFIG; origin = 'exported'; }
} catch (e) { window.importError = String(e); }
if (!config && PARSED) { config = (new Function('return (' + PARSED + ');'))(); origin = 'parsed'; }
if (!config) throw new Error('no HLS_CONFIG in /static/js/player.js');
config = Object.assign({}, config, OVERRIDE || {});
window.hlsConfig = {origin, config};
const v = document.getElementById('v'), c = document.getElementById('c');
const hls = new Hls(config); hls.loadSource(SRC); hls.attachMedia(v);
const follow = player && (player.followLiveEdge || player.startAtLiveSync);
if (follow) { follow(hls, v); window.startJump = true; }
hls.on(Hls.Events.MANIFEST_PARSED, () => v.play().catch(() => {}));
window.errors = [];
hls.on(Hls.Events.ERROR, (_e, d) => window.errors.push((d.fatal ? 'fatal ' : '') + d.details));
window.samples = []; window.waiting = 0; window.stalls = []; window.windowStart = performance.now();
// What each stall looked like from the player: how long hls.js had started no media request, and
// how much the newest playlist listed beyond the buffer (media the server had already published).
let lastLoad = performance.now(), listedEnd = null, stalledAt = null;
hls.on(Hls.Events.FRAG_LOADING, (_e, d) => {
  if (d.frag.type !== 'main') return;
  lastLoad = performance.now();
  const last = window.stalls[window.stalls.length - 1];  // the first request into a stall
  if (last && last.request_after_s === null) last.request_after_s = (lastLoad - stalledAt) / 1000;
});
hls.on(Hls.Events.LEVEL_UPDATED, (_e, d) => { listedEnd = d.details.partEnd || d.details.edge; });
const bufferEnd = () => { const r = v.buffered; return r.length ? r.end(r.length - 1) : v.currentTime; };
v.addEventListener('waiting', () => {
  window.waiting += 1;
  stalledAt = performance.now();
  window.stalls.push({at_s: (stalledAt - window.windowStart) / 1000, idle_s: (stalledAt - lastLoad) / 1000,
                      listed_ahead_s: listedEnd === null ? null : listedEnd - bufferEnd(), lasted_s: null,
                      request_after_s: null});
});
v.addEventListener('playing', () => {
  const last = window.stalls[window.stalls.length - 1];
  if (last && last.lasted_s === null && stalledAt !== null) {
    last.lasted_s = (performance.now() - stalledAt) / 1000;
  }
});
window.edge = [];  // hls.js's own estimate of the distance from the live edge, 4 times a second
setInterval(() => {
  if (Number.isFinite(hls.latency) && hls.latency > 0) window.edge.push([hls.latency, hls.targetLatency]);
}, 250);
const BITS = 40;
let last = -1;
function sample() {
  if (v.videoWidth && !v.paused) {
    c.width = v.videoWidth; c.height = v.videoHeight;
    const g = c.getContext('2d', {willReadFrequently: true}); g.drawImage(v, 0, 0);
    const cell = Math.max(4, Math.floor(v.videoHeight / 30));
    const row = g.getImageData(0, cell + (cell >> 1), cell * (BITS + 1), 1).data;
    let value = 0;
    for (let i = 0; i < BITS; i++) {
      const x = cell * (i + 1) + (cell >> 1);
      value = value * 2 + (row[x * 4 + 1] > 128 ? 1 : 0);
    }
    if (value !== last) {  // one sample per displayed frame, taken when it is first seen
      last = value;
      const age = (Date.now() - value) % 2 ** BITS;
      if (age >= 0 && age < 60000) window.samples.push(age);
    }
  }
  requestAnimationFrame(sample);
}
requestAnimationFrame(sample);
window.startWindow = () => { window.samples = []; window.waiting = 0; window.errors = []; window.edge = [];
  window.stalls = []; window.windowStart = performance.now(); };
window.report = () => ({samples: window.samples, waiting: window.waiting, errors: window.errors,
  stalls: window.stalls, edge: window.edge, config: window.hlsConfig, importError: window.importError || null,
  startJump: !!window.startJump});
</script>"""


def player_config_source() -> str | None:
    """The `HLS_CONFIG = {...}` object literal in static/js/player.js, for the page to evaluate when
    the module does not export it (yet)."""
    try:
        text = PLAYER_JS.read_text()
    except OSError:
        return None
    match = re.search(r"\bconst\s+HLS_CONFIG\s*=\s*\{", text)
    if match is None:
        return None
    depth, start = 0, match.end() - 1
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start:i + 1]
    return None


async def hls_latency(server: ServerProc, program_id: str, seconds: float, settle: float,
                      live_sync: int | None, base_url: str | None = None) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    if not (STATIC / "vendor" / "hls.min.mjs").is_file() or not PLAYER_JS.is_file():
        raise RuntimeError("static/vendor/hls.min.mjs or static/js/player.js missing")
    app = web.Application()
    override = {"liveSyncDurationCount": live_sync} if live_sync is not None else None
    master_url = f"{base_url or server.url}/hls/{program_id}/master.m3u8"
    text = (PAGE.replace("__SRC__", json.dumps(master_url))
            .replace("__OVERRIDE__", json.dumps(override))
            .replace("__PARSED__", json.dumps(player_config_source())))

    async def page(_r: web.Request) -> web.Response:
        return web.Response(text=text, content_type="text/html")

    app.router.add_get("/", page)
    app.router.add_static("/static/", STATIC)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=shutil.which("chromium") or None,
                args=["--autoplay-policy=no-user-gesture-required", "--no-sandbox",
                      "--ignore-certificate-errors"])  # the self-signed nginx of --compare-parts
            try:
                tab = await browser.new_page()
                page_errors: list[str] = []
                tab.on("pageerror", lambda exc: page_errors.append(str(exc)))
                await tab.goto(f"http://127.0.0.1:{port}/")
                try:
                    await tab.wait_for_function("window.samples && window.samples.length > 0",
                                                timeout=30_000)
                except Exception as exc:
                    raise RuntimeError(f"no frame read back; page errors: {page_errors[:2]}") from exc
                await asyncio.sleep(settle)  # let the player settle at its live-sync position
                await tab.evaluate("window.startWindow()")
                await asyncio.sleep(seconds)
                result = await tab.evaluate("window.report()")
            finally:
                await browser.close()
    finally:
        await runner.cleanup()
    result["samples"] = [float(s) for s in result["samples"]]
    result["window_s"] = seconds
    result["target_duration"] = None
    with contextlib.suppress(Exception):
        result["target_duration"] = await target_duration(f"{server.url}/hls/{program_id}/master.m3u8")
    result["master_url"] = master_url
    return dict(result)


async def target_duration(master_url: str) -> int | None:
    """EXT-X-TARGETDURATION of the first rendition's live playlist (hls.js's live-sync distance is
    liveSyncDurationCount times it)."""
    from urllib.parse import urljoin

    async with aiohttp.ClientSession() as http:
        async with http.get(master_url) as r:
            master = await r.text()
        uris = [line for line in master.splitlines() if line and not line.startswith("#")]
        if not uris:
            return None
        async with http.get(urljoin(master_url, uris[0])) as r:
            match = re.search(r"#EXT-X-TARGETDURATION:(\d+)", await r.text())
    return int(match.group(1)) if match else None


async def whep_latency(server: ServerProc, program_id: str, seconds: float) -> list[float]:
    async with aiohttp.ClientSession(base_url=server.url, headers={"Origin": server.url},
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post("/api/session", json={"username": PRODUCER[0], "password": PRODUCER[1]}) as r:
            assert r.status == 200
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        tasks: list[asyncio.Task[None]] = []
        try:
            pc.addTransceiver("video", direction="recvonly")
            pc.addTransceiver("audio", direction="recvonly")
            await pc.setLocalDescription(await pc.createOffer())
            ages: list[float] = []
            done = asyncio.Event()

            @pc.on("track")
            def on_track(track: Any) -> None:
                if track.kind != "video":
                    return

                async def read() -> None:
                    end = time.monotonic() + seconds + 2
                    while time.monotonic() < end:
                        frame = await track.recv()
                        ages.append(float(age_ms(read_bits(frame), wall_ms())))
                    done.set()

                tasks.append(asyncio.ensure_future(read()))

            async with http.post(f"/whep/{program_id}", data=pc.localDescription.sdp,
                                 headers={"Content-Type": "application/sdp"}) as r:
                assert r.status == 201, await r.text()
                answer = await r.text()
            await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            await asyncio.wait_for(done.wait(), timeout=seconds + 30)
        finally:
            for task in tasks:
                task.cancel()
            await pc.close()
        return ages[len(ages) // 5:]  # drop the first fifth (connection start)


# ---- chat latency --------------------------------------------------------------------------------
def _chat_bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_chat", ROOT / "bench" / "chat.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_chat"] = module
    spec.loader.exec_module(module)
    return module


async def send_chats_poisson(cb: Any, senders: list[Any], rate: int, duration: float, seed: int) -> int:
    """Send `rate` chat messages a second on average at random (Poisson) instants, so that their
    latencies sample every phase of the server's fan-out tick evenly. (A fixed schedule, like
    bench/chat.py's, sends at the same one or two phases of a 100 ms tick throughout a run, so the
    median of one run depends on where those phases fell: two runs of an idle server differed by
    30 ms.)"""
    rng = random.Random(seed)
    start = time.perf_counter()
    due, sent = start, 0
    while True:
        due += rng.expovariate(rate)
        if due - start >= duration:
            return sent
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sender = senders[sent % len(senders)]
        text = f"b:{time.perf_counter()}"
        sender.send('42["chat",' + json.dumps({"room": cb.ROOM, "text": text}) + "]")
        sent += 1


async def chat_latency(server: ServerProc, clients: int, rate: int, seconds: float) -> dict[str, Any]:
    """Latencies (ms), the cores this process used while the chat was sent and the cores the
    whole machine kept busy meanwhile (everything: ours and anyone else's)."""
    cb = _chat_bench()
    gen = cb.Gen()
    gen.target = clients
    loop = asyncio.get_running_loop()
    crowd = [cb.Client(gen, f"127.0.0.1:{server.port}", sample=(i % 10 == 0)) for i in range(clients)]
    try:
        await asyncio.gather(*(cb._connect(loop, c, server.port) for c in crowd))
        await asyncio.wait_for(gen.joined_event.wait(), timeout=60)
        gen.sampling = True
        t0, c0, m0 = time.monotonic(), time.process_time(), machine_jiffies()
        sent = await send_chats_poisson(cb, crowd[:5], rate, seconds, seed=rate)
        await asyncio.sleep(1.0)
        loadgen = (time.process_time() - c0) / (time.monotonic() - t0)
        machine = busy_cores(m0, machine_jiffies())
        gen.sampling = False
    finally:
        for c in crowd:
            if c.transport is not None:
                c.transport.close()
    return {"ms": [x * 1000 for x in gen.latencies], "loadgen_cores": loadgen, "machine_cores": machine,
            "messages": sent, "timers": sum(1 for c in crowd if c.sample)}


# ---- main ----------------------------------------------------------------------------------------
def _proc_cores(pid: int, a: tuple[float, float] | None, wall: float) -> float:
    b = _proc_times(pid)
    return float("nan") if a is None or b is None else (b[0] - a[0]) / wall


async def run(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"loadavg_start": os.getloadavg()[0]}
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    print(f"encode: the worker alone, 720p30 source, ladder {args.ladder}, preset {args.preset}",
          flush=True)
    try:
        out["encode"] = await asyncio.to_thread(measure_encode, args.seconds, args.ladder, args.preset)
    except Exception as exc:  # the worker's API moved: say so in the table, measure the rest
        out["encode"] = f"not measured: {type(exc).__name__}: {str(exc)[:120]}"

    server = start_server(args.ladder, dict(item.split("=", 1) for item in args.server_env))
    pid = server.proc.pid
    size = args.publish_size
    try:
        *programs, stage = await make_programs(server, 3)
        out["idle_cpu"] = await tree_cores(pid, min(3.0, args.seconds / 2))
        print("chat: no stream ...", flush=True)
        out["chat_idle"] = await chat_latency(server, args.chat_clients, args.chat_rate, args.seconds)
        async with aiohttp.ClientSession() as http:
            print("VP8 publishers (separate process) ...", flush=True)
            async with Publishers(server, programs, size, 30, "video/VP8") as pubs:
                for program_id in programs:
                    await wait_playlist(http, f"{server.url}/hls/{program_id}/master.m3u8")
                t0, p0 = time.monotonic(), _proc_times(pubs.pid)
                out["two_stream_cpu"] = await tree_cores(pid, args.seconds)
                out["publisher_cores"] = _proc_cores(pubs.pid, p0, time.monotonic() - t0)
                print("chat: two streams publishing ...", flush=True)
                out["chat_busy"] = await chat_latency(server, args.chat_clients, args.chat_rate,
                                                      args.seconds)
                print("WHEP preview latency ...", flush=True)
                out["whep"] = await whep_latency(server, programs[0], args.seconds)
                out["worker_dropped"] = await server_gauge(http, server, "innotv_live_frames_dropped")
            print("H.264 publishers (top rung passed through) ...", flush=True)
            async with Publishers(server, programs, size, 30, "video/H264") as pubs:
                await asyncio.sleep(2.0 if args.smoke else 3.0)  # pass-through starts at a keyframe
                out["two_h264_cpu"] = await tree_cores(pid, args.seconds)
            # One program on the air, as on the expo's stage (the others stopped with a WHIP DELETE).
            print(f"HLS glass to glass in Chromium, one VP8 publisher ({args.hls_seconds:.0f} s window) ...",
                  flush=True)
            async with Publishers(server, [stage], size, 30, "video/VP8"):
                await wait_playlist(http, f"{server.url}/hls/{stage}/master.m3u8")
                try:
                    out["hls"] = await hls_latency(server, stage, args.hls_seconds,
                                                   args.hls_settle, args.live_sync)
                except Exception as exc:  # no browser: say so in the table
                    out["hls"] = f"not measured: {type(exc).__name__}: {str(exc)[:160]}"
    except Exception:
        print(f"--- the server's log (tail) ---\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        server.stop()
    out["loadavg_end"] = os.getloadavg()[0]
    return out


# ---- low-latency HLS against today's segments, side by side --------------------------------------
def _deploy_kit() -> Any:
    spec = importlib.util.spec_from_file_location("innotv_deploy_stack", ROOT / "deploy" / "stack.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


class NginxFront:
    """Debian's nginx with deploy/'s site configuration (TLS, HTTP/2, the HLS cache) in front of one
    innotv process, as `deploy/stack` runs it; stopped by PID."""

    def __init__(self, origin_port: int) -> None:
        kit = _deploy_kit()
        self.dir = Path(tempfile.mkdtemp(prefix="innotv-bench-nginx-"))
        for sub in ("tmp", "cache", "logs"):
            (self.dir / sub).mkdir()
        cert, key = kit._self_signed(self.dir / "tls", "localhost")
        self.cert = cert
        self.port = _free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        site = kit.Site(upstreams=(f"127.0.0.1:{origin_port}",), server_name="localhost", public_url=self.url,
                        listen_https=(f"127.0.0.1:{self.port}",), listen_http=(f"127.0.0.1:{_free_port()}",),
                        cert=str(cert), key=str(key), cache_dir=str(self.dir / "cache"), cache_max="1g",
                        log_dir=str(self.dir / "logs"), acme_root=str(self.dir / "acme"))
        (self.dir / "innotv.conf").write_text(site.render())
        conf = self.dir / "nginx.conf"
        conf.write_text(kit.main_conf(self.dir, self.dir / "innotv.conf", 2))
        self.proc = subprocess.Popen(["nginx", "-p", str(self.dir), "-e", str(self.dir / "error.log"),
                                      "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=_die_with_parent, start_new_session=True)

    async def ready(self) -> None:
        import ssl

        context = ssl.create_default_context(cafile=str(self.cert))
        deadline = time.monotonic() + 20
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(self.url + "/readyz", ssl=context) as r:
                        if r.status == 200:
                            return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"nginx did not start: {(self.dir / 'error.log').read_text()[-500:]}")

    def stop(self) -> None:
        stop_by_pid(self.proc, signal.SIGQUIT, 10)  # nginx's graceful stop
        shutil.rmtree(self.dir, ignore_errors=True)


PART_MODES = (("today (whole segments)", "0"), ("low-latency HLS (0.2 s parts)", "0.2"))


async def compare_parts(args: argparse.Namespace) -> dict[str, Any]:
    """For each mode in turn, in one run: a server with that INNOTV_LIVE_PART_S, one program with
    one VP8 publisher (the stage), its server CPU, then glass to glass in Chromium with the viewer
    page's player, straight from innotv and through deploy/'s nginx."""
    out: dict[str, Any] = {"loadavg_start": os.getloadavg()[0], "modes": {}}
    extra = dict(item.split("=", 1) for item in args.server_env)
    for label, part_s in PART_MODES:
        server = start_server(args.ladder, {**extra, "INNOTV_LIVE_PART_S": part_s})
        front: NginxFront | None = None
        figures: dict[str, Any] = {}
        try:
            [stage] = await make_programs(server, 1)
            idle = await tree_cores(server.proc.pid, 3.0)
            front = NginxFront(server.port)
            await front.ready()
            async with aiohttp.ClientSession() as http, \
                    Publishers(server, [stage], args.publish_size, 30, "video/VP8"):
                await wait_playlist(http, f"{server.url}/hls/{stage}/master.m3u8")
                await asyncio.sleep(3.0)
                busy = await tree_cores(server.proc.pid, args.seconds)
                figures["cpu"] = busy["total"] - idle["total"]
                for path, base in (("direct", None), ("nginx", front.url)):
                    print(f"{label}: glass to glass {path}, {args.hls_seconds:.0f} s ...", flush=True)
                    try:
                        figures[path] = await hls_latency(server, stage, args.hls_seconds, args.hls_settle,
                                                          None, base)
                    except Exception as exc:
                        figures[path] = f"not measured: {type(exc).__name__}: {str(exc)[:160]}"
        except Exception:
            print(f"--- the server's log (tail) ---\n{server.log_tail()}", file=sys.stderr)
            raise
        finally:
            if front is not None:
                front.stop()
            server.stop()
        out["modes"][label] = figures
    out["loadavg_end"] = os.getloadavg()[0]
    return out


def stall_line(stall: dict[str, Any]) -> str:
    """One stall as the player saw it: when, how long, and whether the media was already listed."""
    def seconds(key: str) -> str:
        value = stall.get(key)
        return "?" if value is None else f"{value:.2f}"

    return (f"stall at {stall['at_s']:.1f} s, lasted {seconds('lasted_s')} s; hls.js's last media request "
            f"{seconds('idle_s')} s before it, its next {seconds('request_after_s')} s into it; the "
            f"playlist listed {seconds('listed_ahead_s')} s beyond the buffer when it began")


def compare_table(out: dict[str, Any], args: argparse.Namespace) -> str:
    cores = os.cpu_count() or 1
    lines = [
        f"innotv low-latency HLS benchmark — {cores} cores (load average {out['loadavg_start']:.2f} at "
        f"start, {out['loadavg_end']:.2f} at end{'' if args.note is None else '; ' + args.note})",
        f"ladder {args.ladder}, one {args.publish_size[0]}x{args.publish_size[1]}@30 VP8 WHIP publisher, "
        f"server CPU over {args.seconds:.0f} s, glass to glass over {args.hls_seconds:.0f} s per path in "
        "Chromium with the viewer page's HLS_CONFIG and followLiveEdge (static/js/player.js)",
        "",
        f"{'mode':<32}{'path':<8}{'p50 s':>8}{'p95 s':>8}{'stalls':>8}{'frames':>8}   server CPU (cores)",
    ]
    for label, figures in out["modes"].items():
        for path in ("direct", "nginx"):
            hls = figures.get(path)
            cpu = f"{figures['cpu']:.2f}" if path == "direct" and "cpu" in figures else ""
            if isinstance(hls, dict):
                samples = hls["samples"]
                p50, p95 = pct(samples, 0.5) / 1000, pct(samples, 0.95) / 1000
                lines.append(f"{label:<32}{path:<8}{p50:>8.2f}{p95:>8.2f}{hls['waiting']:>8}"
                             f"{len(samples):>8}   {cpu}")
                if hls["errors"]:
                    lines.append(f"{'':<40}hls.js errors: {', '.join(hls['errors'][:4])}")
                for stall in hls.get("stalls", [])[:4]:
                    lines.append(f"{'':<40}{stall_line(stall)}")
            else:
                lines.append(f"{label:<32}{path:<8}{str(hls)[:60]}")
    modes = list(out["modes"].values())
    if len(modes) == 2 and "cpu" in modes[0] and "cpu" in modes[1] and modes[0]["cpu"] > 0:
        lines.append(f"CPU of low-latency HLS against today's: {modes[1]['cpu'] / modes[0]['cpu'] - 1:+.0%} "
                     "(target: at most +10 %)")
    lines.append("targets (issue #16): p50 <= 1.2 s, p95 <= 1.5 s, 0 stalls over two minutes")
    return "\n".join(lines)


def _row(label: str, value: str, reference: str = "") -> str:
    return f"{label:<52}{value:>18}   {reference}".rstrip()


def _p(values: list[float], lo: float, hi: float, scale: float, fmt: str) -> str:
    return f"{pct(values, lo) / scale:{fmt}} / {pct(values, hi) / scale:<{fmt}}".rstrip()


def table(out: dict[str, Any], args: argparse.Namespace) -> str:
    cores = os.cpu_count() or 1
    idle = out["idle_cpu"]

    def per_stream(busy: dict[str, float]) -> dict[str, float]:
        server = (busy["server"] - idle["server"]) / 2
        children = (busy["children"] - idle["children"]) / 2
        return {"server": server, "children": children, "total": server + children,
                "pids": busy["worker_pids"]}

    vp8, h264 = per_stream(out["two_stream_cpu"]), per_stream(out["two_h264_cpu"])
    w, h = args.publish_size
    hls = out["hls"]
    if isinstance(hls, dict):
        if args.live_sync is not None:
            viewer = (f"OVERRIDE liveSyncDurationCount {args.live_sync} on top of the viewer's "
                      f"HLS_CONFIG: NOT the viewer's configuration")
        else:
            viewer = ("the viewer's HLS_CONFIG, " + ("imported from static/js/player.js"
                      if hls["config"]["origin"] == "exported"
                      else "read from static/js/player.js (not exported there yet)"))
        used = hls["config"]["config"]
        keys = ("lowLatencyMode", "liveSyncDuration", "liveSyncDurationCount", "maxLiveSyncPlaybackRate")
        viewer += " (" + ", ".join(f"{k} {json.dumps(used[k])}" for k in keys if k in used) + ")"
        if hls.get("startJump"):
            viewer += " and its startAtLiveSync()"
    else:
        viewer = "hls.js: not measured (see the HLS row)"
    lines = [
        f"innotv media benchmark — {platform.processor() or platform.machine()}, {cores} cores "
        f"(nothing pinned; load average {out['loadavg_start']:.2f} at start, {out['loadavg_end']:.2f} "
        f"at end{'' if args.note is None else '; ' + args.note}), Python {platform.python_version()}, "
        f"{'smoke' if args.smoke else 'full'} run",
        f"server settings: {', '.join(args.server_env) or 'defaults'}",
        f"ladder {args.ladder}, x264 preset {args.preset}, 1 s segments; windows: server CPU, chat and "
        f"WHEP {args.seconds:.0f} s each, HLS {args.hls_seconds:.0f} s",
        "where each part runs:",
        f"  server: `innotv serve` process + its media worker children (CPU summed over the tree; "
        f"{max(vp8['pids'], h264['pids']):.0f} child processes alive at the samples)",
        f"  WHIP publishers: 2 x {w}x{h}@30 aiortc (VP8, then H.264) in a separate process, "
        f"{out['publisher_cores']:.2f} cores while VP8 was published (a source smaller than 720p drops "
        "the 720p rung)",
        f"  chat clients: {args.chat_clients} raw Socket.IO clients in the benchmark process "
        f"({out['chat_idle']['loadgen_cores']:.2f} / {out['chat_busy']['loadgen_cores']:.2f} cores "
        "without / with streams); WHEP client: the benchmark process",
        f"  HLS viewer: Chromium (Playwright), {viewer}; during the HLS window one program is on the "
        f"air (one {w}x{h} VP8 publisher, the others stopped with a WHIP DELETE)",
        "",
        _row("measure", "innotv", "reference"),
    ]
    enc = out["encode"]
    if isinstance(enc, dict):
        lines += [_row("encode 720p30 -> ladder, worker alone (cores/stream)", f"{enc['encode']:.2f}",
                       "target <= 0.9"),
                  _row("  (generator, subtracted)", f"{enc['generator']:.2f}"),
                  _row("  frames dropped by the worker queue", f"{enc['dropped']:.0f}")]
    else:
        lines.append(_row("encode 720p30 -> ladder, worker alone", "—", str(enc)))
    for label, fig, ref in (("VP8 in", vp8, "decode + every rung encoded; target <= 0.9"),
                            ("H.264 in", h264, "top rung passed through; target <= 0.4")):
        lines += [_row(f"server CPU per WHIP stream, {label} (cores)", f"{fig['total']:.2f}", ref),
                  _row("  server process / worker children", f"{fig['server']:.2f} / {fig['children']:.2f}",
                       "idle server subtracted")]
    lines.append(_row("  idle server (process / children, cores)",
                      f"{idle['server']:.2f} / {idle['children']:.2f}"))
    dropped = out.get("worker_dropped")
    lines.append(_row("  frames the server's workers dropped (VP8 phase)",
                      "—" if dropped is None else f"{dropped:.0f}", "a worker that cannot keep up drops"))
    lines.append(_row("streams per machine at 85 % (estimate)",
                      f"{int(cores * 0.85 / max(vp8['total'], 1e-6))}",
                      "from server CPU per VP8 stream"))
    if isinstance(hls, dict):
        samples = hls["samples"]
        errors = hls["errors"]
        lines.append(_row("glass to glass, HLS in Chromium (p50 / p95, s)",
                          _p(samples, 0.5, 0.95, 1000, ".2f"),
                          f"n={len(samples)} frames, {hls['waiting']} stalls (waiting) in "
                          f"{hls['window_s']:.0f} s; target <= 3; {OWNCAST}"))
        edge = [float(e[0]) for e in hls["edge"]]
        target = [float(e[1]) for e in hls["edge"] if e[1] is not None]
        lines.append(_row("  hls.js's own live-edge distance (p50 / p95, s)", _p(edge, 0.5, 0.95, 1, ".2f"),
                          f"its target latency {pct(target, 0.5):.2f} s (playlist TARGETDURATION "
                          f"{hls['target_duration']}); the rest is encoding + packaging"))
        if errors:
            lines.append(_row("  hls.js errors in the window", str(len(errors)), ", ".join(errors[:4])))
    else:
        lines.append(_row("glass to glass, HLS in Chromium", "—", str(hls)))
    whep = out["whep"]
    lines.append(_row("glass to glass, WHEP preview (p50 / p95, s)", _p(whep, 0.5, 0.95, 1000, ".2f"),
                      f"n={len(whep)} frames; target <= 0.5"))
    for key, label in (("chat_idle", "no stream"), ("chat_busy", "two streams encoding")):
        chat = out[key]
        lat = chat["ms"]
        ref = (f"n={len(lat)} ({chat['messages']} messages x {chat['timers']} clients); machine busy "
               f"{chat['machine_cores']:.1f} of {cores} cores")
        ref += "" if key == "chat_idle" else "; target: no rise"
        lines.append(_row(f"chat latency, {label} (p50 / p99, ms)", _p(lat, 0.5, 0.99, 1, ".1f"), ref))
    return "\n".join(lines)


def main() -> None:
    if sys.argv[1:] == ["--publisher"]:
        sys.exit(asyncio.run(publisher_main()))
    if sys.argv[1:2] == ["--encode-one"]:  # one program of --programs-scan
        seconds, ladder, preset = float(sys.argv[2]), sys.argv[3], sys.argv[4]
        print(json.dumps(measure_encode(seconds, ladder, preset, generator_alone=False)))
        return
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="short run for CI")
    parser.add_argument("--seconds", type=float, default=None,
                        help="window for server CPU, chat and WHEP (default 15, smoke 4)")
    parser.add_argument("--hls-seconds", type=float, default=None,
                        help="HLS glass-to-glass window (default max(20, --seconds), smoke 4)")
    parser.add_argument("--ladder", default=DEFAULT_LADDER)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--chat-clients", type=int, default=None)
    parser.add_argument("--chat-rate", type=int, default=20, help="chat messages per second")
    parser.add_argument("--publish-size", default=None, help="WHIP source size, e.g. 640x360")
    parser.add_argument("--live-sync", type=int, default=None,
                        help="OVERRIDE hls.js liveSyncDurationCount (then NOT the viewer's configuration)")
    parser.add_argument("--server-env", action="append", default=[], metavar="INNOTV_X=VALUE",
                        help="a setting for the server (repeatable), e.g. INNOTV_LIVE_CODEC_THREADS=0")
    parser.add_argument("--note", default=None, help="a note for the header, e.g. 'shared with others'")
    parser.add_argument("--hls-settle", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="also print the raw figures as JSON")
    parser.add_argument("--compare-parts", action="store_true",
                        help="only low-latency HLS against whole segments: CPU, glass to glass direct and "
                             "through deploy/'s nginx (use --hls-seconds 120)")
    parser.add_argument("--programs-scan", action="store_true",
                        help="only measure how many 720p30 programs this machine transcodes in real time")
    args = parser.parse_args()
    args.seconds = args.seconds or (4.0 if args.smoke else 15.0)
    args.hls_seconds = args.hls_seconds or (4.0 if args.smoke else max(20.0, args.seconds))
    args.hls_settle = args.hls_settle if args.hls_settle is not None else (2.0 if args.smoke else 3.0)
    args.chat_clients = args.chat_clients or (50 if args.smoke else 500)
    size = args.publish_size or ("320x240" if args.smoke else "640x360")
    args.publish_size = tuple(int(x) for x in size.split("x"))
    if args.programs_scan:
        print(programs_scan(args))
        return
    if args.compare_parts:
        compared = asyncio.run(compare_parts(args))
        print()
        print(compare_table(compared, args))
        if args.json:
            print(json.dumps(compared, default=str))
        return
    try:
        out = asyncio.run(run(args))
    except KeyboardInterrupt:
        print("interrupted: the server and the publisher process were stopped", file=sys.stderr)
        sys.exit(130)
    print()
    print(table(out, args))
    if args.json:
        print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
