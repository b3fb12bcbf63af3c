"""Media benchmark: encoding cost, glass-to-glass latency (HLS in Chromium, WHEP) and chat latency
while streams encode. Prints one table with Owncast's documented figures beside ours.

    .venv/bin/python bench/media.py            # full run (about 2 minutes)
    .venv/bin/python bench/media.py --smoke    # short, for CI (about 40 s)

What it measures:
- encode: the media worker alone (no network), fed the generated 720p30 source, for the default
  ladder (720p30 + 360p30): cores per published stream (process CPU time / wall time, minus the
  cost of generating the source, measured separately). The top rung passed through is not built.
- capacity: how many such streams fit on this machine's cores at 85 % (an estimate from the above).
- server CPU per WHIP stream: a real `innotv serve` child process; an aiortc client in this process
  publishes the generated source over WHIP (VP8); server CPU seconds per second, minus idle.
- glass to glass (HLS): the wall clock burnt into the published frames, read back in Chromium
  (Playwright, Debian's chromium) from a canvas copy of the <video> that hls.js plays, with the
  viewer page's hls.js settings (1 s segments, liveSyncDurationCount 2).
- glass to glass (WHEP): the same clock read from frames an aiortc WHEP client receives.
- chat p99: sender-to-receiver latency of chat messages to a room of clients (raw Socket.IO
  clients from bench/chat.py), with no stream and with two streams publishing.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
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
from live.ladder import parse_ladder  # noqa: E402
from live.media import ProgramMedia  # noqa: E402
from live.source import AUDIO_SAMPLES, TestPattern, Tone, wall_ms  # noqa: E402
from live.tracks import Publication, whip_publish  # noqa: E402
from live.worker import MediaWorker, WorkerSettings  # noqa: E402

DEFAULT_LADDER = "720p30:2800,360p30:800"
OWNCAST = "Owncast docs: ~5 s at its lowest latency setting, ~10 s by default"
PRODUCER = ("bench-producer", "bench-password-123")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---- 1. the encoder alone ---------------------------------------------------------------------
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


def measure_encode(seconds: float, ladder: str, preset: str) -> dict[str, float]:
    """Cores used by the media worker for one 720p30 stream, generator cost removed."""
    t0, c0 = time.monotonic(), time.process_time()
    _feed(lambda kind, frame: None, seconds, 1280, 720, 30)
    generator = (time.process_time() - c0) / (time.monotonic() - t0)

    tmp = Path(tempfile.mkdtemp(prefix="innotv-bench-media-"))
    try:
        media = ProgramMedia(tmp, "bench", 1.0, 6)
        settings = WorkerSettings(parse_ladder(ladder), 1.0, preset, 5.0, 240)
        worker = MediaWorker(media, settings, "bench")
        worker.start()
        t0, c0 = time.monotonic(), time.process_time()
        _feed(lambda kind, frame: worker.offer(kind, "bench", frame), seconds, 1280, 720, 30)
        worker.stop()
        worker.done.result(timeout=60)
        total = (time.process_time() - c0) / (time.monotonic() - t0)
        segments = sum(len(log.segments) for log in media.logs.values())
        return {"generator": generator, "total": total, "encode": max(0.0, total - generator),
                "dropped": float(worker.dropped), "segments": float(segments)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- a real server -------------------------------------------------------------------------------
@dataclass
class ServerProc:
    proc: subprocess.Popen[bytes]
    port: int
    data: Path
    url: str = ""
    keys: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        shutil.rmtree(self.data, ignore_errors=True)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(ladder: str) -> ServerProc:
    data = Path(tempfile.mkdtemp(prefix="innotv-bench-srv-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNOTV_")}
    env.update({"INNOTV_DATA_DIR": str(data), "INNOTV_LOG_LEVEL": "WARNING", "INNOTV_LIVE_LADDER": ladder,
                "INNOTV_CHAT_MAX_CONNS_PER_IP": "1000000", "INNOTV_CHAT_RATE_SCALE": "1000",
                "PYTHONPATH": str(ROOT)})
    subprocess.run([sys.executable, "-m", "innotv", "user", "add", PRODUCER[0], "--role", "producer",
                    "--password-stdin"], input=PRODUCER[1].encode(), env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    port = _free_port()
    serve = [sys.executable, "-m", "innotv", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(serve,
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = ServerProc(proc, port, data, f"http://127.0.0.1:{port}")
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
            start = now + timedelta(hours=3 * i) - timedelta(minutes=1)
            body = {"title": f"bench {i}", "kind": "live", "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(hours=2)).isoformat()}
            async with http.post("/api/programs", json=body) as r:
                program_id = str((await r.json())["id"])
            async with http.post(f"/api/programs/{program_id}/stream-key") as r:
                server.keys[program_id] = str((await r.json())["stream_key"])
            ids.append(program_id)
    return ids


async def publish(http: aiohttp.ClientSession, server: ServerProc, program_id: str, width: int,
                  height: int, fps: int, codec: str = "video/VP8") -> Publication:
    return await whip_publish(http, f"{server.url}/whip/{program_id}", server.keys[program_id],
                              width=width, height=height, fps=fps, video_codec=codec)


async def wait_playlist(http: aiohttp.ClientSession, url: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with http.get(url) as r:
            if r.status == 200 and "#EXTM3U" in await r.text():
                return
        await asyncio.sleep(0.3)
    raise RuntimeError(f"no segments at {url}")


async def server_cpu(server: ServerProc, seconds: float) -> float:
    c0, t0 = cpu_seconds(server.proc.pid), time.monotonic()
    await asyncio.sleep(seconds)
    return (cpu_seconds(server.proc.pid) - c0) / (time.monotonic() - t0)


# ---- glass to glass ------------------------------------------------------------------------------
PAGE = """<!doctype html><meta charset=utf-8><video id=v muted playsinline autoplay></video>
<canvas id=c></canvas><script type=module>
import Hls from '/hls.mjs';
const HLS_CONFIG = {liveSyncDurationCount: LIVE_SYNC, liveMaxLatencyDurationCount: 6,
  maxLiveSyncPlaybackRate: 1.2, backBufferLength: 30, enableWorker: false};
const v = document.getElementById('v'), c = document.getElementById('c');
const hls = new Hls(HLS_CONFIG); hls.loadSource(SRC); hls.attachMedia(v);
hls.on(Hls.Events.MANIFEST_PARSED, () => v.play().catch(() => {}));
window.samples = [];
const BITS = 40;
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
    const age = (Date.now() - value) % 2 ** BITS;
    if (age >= 0 && age < 60000) window.samples.push(age);
  }
  requestAnimationFrame(sample);
}
requestAnimationFrame(sample);
</script>"""


def find_hls_js(explicit: str | None) -> Path | None:
    for candidate in (explicit, ROOT / "static/vendor/hls.min.mjs", "/tmp/hlsjs/package/dist/hls.min.mjs"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


async def hls_latency(server: ServerProc, program_id: str, seconds: float, hls_js: Path,
                      live_sync: int = 2) -> list[float]:
    from playwright.async_api import async_playwright

    app = web.Application()
    src = json.dumps(f"{server.url}/hls/{program_id}/master.m3u8")

    async def page(_r: web.Request) -> web.Response:
        text = PAGE.replace("SRC", src).replace("LIVE_SYNC", str(live_sync))
        return web.Response(text=text, content_type="text/html")

    async def lib(_r: web.Request) -> web.FileResponse:
        return web.FileResponse(hls_js, headers={"Content-Type": "text/javascript"})

    app.router.add_get("/", page)
    app.router.add_get("/hls.mjs", lib)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=shutil.which("chromium") or None,
                args=["--autoplay-policy=no-user-gesture-required", "--no-sandbox"])
            tab = await browser.new_page()
            await tab.goto(f"http://127.0.0.1:{port}/")
            await tab.wait_for_function("window.samples && window.samples.length > 0", timeout=30_000)
            await asyncio.sleep(2)  # let the player settle at its live-sync position
            await tab.evaluate("window.samples = []")
            await asyncio.sleep(seconds)
            samples = await tab.evaluate("window.samples")
            await browser.close()
            return [float(s) for s in samples]
    finally:
        await runner.cleanup()


async def whep_latency(server: ServerProc, program_id: str, seconds: float) -> list[float]:
    async with aiohttp.ClientSession(base_url=server.url, headers={"Origin": server.url},
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post("/api/session", json={"username": PRODUCER[0], "password": PRODUCER[1]}) as r:
            assert r.status == 200
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
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

        tasks: list[asyncio.Task[None]] = []
        async with http.post(f"/whep/{program_id}", data=pc.localDescription.sdp,
                             headers={"Content-Type": "application/sdp"}) as r:
            assert r.status == 201, await r.text()
            answer = await r.text()
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await asyncio.wait_for(done.wait(), timeout=seconds + 30)
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


async def chat_latency(server: ServerProc, clients: int, rate: int, seconds: float) -> list[float]:
    cb = _chat_bench()
    gen = cb.Gen()
    gen.target = clients
    loop = asyncio.get_running_loop()
    crowd = [cb.Client(gen, f"127.0.0.1:{server.port}", sample=(i % 10 == 0)) for i in range(clients)]
    await asyncio.gather(*(cb._connect(loop, c, server.port) for c in crowd))
    await asyncio.wait_for(gen.joined_event.wait(), timeout=60)
    gen.sampling = True
    await cb._send_chats(crowd[:5], rate, seconds)
    await asyncio.sleep(1.0)
    gen.sampling = False
    for c in crowd:
        if c.transport is not None:
            c.transport.close()
    return [x * 1000 for x in gen.latencies]


# ---- main ----------------------------------------------------------------------------------------
async def run(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    print(f"encode: the worker alone, 720p30 source, ladder {args.ladder}, preset {args.preset}",
          flush=True)
    out["encode"] = await asyncio.to_thread(measure_encode, args.seconds, args.ladder, args.preset)

    server = start_server(args.ladder)
    pubs: list[Publication] = []
    try:
        programs = await make_programs(server, 2)
        out["idle_cpu"] = await server_cpu(server, min(3.0, args.seconds))
        print("chat: no stream ...", flush=True)
        out["chat_idle"] = await chat_latency(server, args.chat_clients, args.chat_rate, args.seconds)
        async with aiohttp.ClientSession() as http:
            w, h = args.publish_size
            for program_id in programs:
                pubs.append(await publish(http, server, program_id, w, h, 30))
            for program_id in programs:
                await wait_playlist(http, f"{server.url}/hls/{program_id}/master.m3u8")
            out["two_stream_cpu"] = await server_cpu(server, args.seconds)
            print("chat: two streams publishing ...", flush=True)
            out["chat_busy"] = await chat_latency(server, args.chat_clients, args.chat_rate, args.seconds)
            print("WHEP preview latency ...", flush=True)
            out["whep"] = await whep_latency(server, programs[0], min(args.seconds, 5))
            hls_js = find_hls_js(args.hls_js)
            if hls_js is None:
                out["hls"] = "hls.js not found (pass --hls-js PATH to hls.min.mjs)"
            else:
                print("HLS glass to glass in Chromium ...", flush=True)
                try:
                    out["hls"] = await hls_latency(server, programs[0], args.seconds, hls_js,
                                                   args.live_sync)
                except Exception as exc:  # no browser: say so in the table
                    out["hls"] = f"not measured: {type(exc).__name__}: {str(exc)[:120]}"
            for pub in pubs:
                await pub.pc.close()
            pubs.clear()
            await asyncio.sleep(args.slate_wait)  # the slate takes over; then H.264 publishers
            print("H.264 publishers (top rung passed through) ...", flush=True)
            for program_id in programs:
                pubs.append(await publish(http, server, program_id, w, h, 30, "video/H264"))
            await asyncio.sleep(3)
            out["two_h264_cpu"] = await server_cpu(server, args.seconds)
    finally:
        for pub in pubs:
            await pub.pc.close()
        server.stop()
    return out


def table(out: dict[str, Any], args: argparse.Namespace) -> str:
    enc = out["encode"]
    cores = os.cpu_count() or 1
    per_stream = enc["encode"]
    streams_cpu = (out["two_stream_cpu"] - out["idle_cpu"]) / 2
    h264_cpu = (out["two_h264_cpu"] - out["idle_cpu"]) / 2
    lines = [
        f"innotv media benchmark — {platform.processor() or platform.machine()}, {cores} cores, "
        f"Python {platform.python_version()}, {'smoke' if args.smoke else 'full'} run, "
        f"{args.seconds:.0f} s phases",
        f"ladder {args.ladder}, x264 preset {args.preset}, 1 s segments; WHIP publishers "
        f"{args.publish_size[0]}x{args.publish_size[1]}@30 (aiortc, in the benchmark process; a "
        "source smaller than 720p drops the 720p rung)",
        "",
        f"{'measure':<52}{'innotv':>18}   reference",
        f"{'encode 720p30 -> ladder (cores per stream)':<52}{per_stream:>18.2f}   target <= 0.9",
        f"{'  (generator, subtracted)':<52}{enc['generator']:>18.2f}",
        f"{'  frames dropped by the worker queue':<52}{enc['dropped']:>18.0f}",
        f"{'server CPU per WHIP stream, VP8 in (cores)':<52}{streams_cpu:>18.2f}   "
        "decode + every rung encoded",
        f"{'server CPU per WHIP stream, H.264 in (cores)':<52}{h264_cpu:>18.2f}   "
        "top rung passed through; target <= 0.4",
        f"{'streams per machine at 85 % (estimate)':<52}{int(cores * 0.85 / max(per_stream, 1e-6)):>18d}",
    ]
    hls = out["hls"]
    if isinstance(hls, list) and hls:
        lines.append(f"{f'glass to glass, HLS, liveSync {args.live_sync} (p50 / p95, s)':<52}"
                     f"{pct(hls, 0.5) / 1000:>8.2f} / {pct(hls, 0.95) / 1000:<7.2f}   target <= 3; {OWNCAST}")
    else:
        lines.append(f"{'glass to glass, HLS in Chromium':<52}{'—':>18}   {hls}")
    whep = out["whep"]
    lines.append(f"{'glass to glass, WHEP preview (p50 / p95, s)':<52}"
                 f"{pct(whep, 0.5) / 1000:>8.2f} / {pct(whep, 0.95) / 1000:<7.2f}   target <= 0.5")
    for key, label in (("chat_idle", "no stream"), ("chat_busy", "two streams encoding")):
        lat = out[key]
        lines.append(f"{'chat latency, ' + label + ' (p50 / p99, ms)':<52}"
                     f"{pct(lat, 0.5):>8.1f} / {pct(lat, 0.99):<7.1f}   n={len(lat)}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="short run for CI")
    parser.add_argument("--seconds", type=float, default=None, help="length of each phase")
    parser.add_argument("--ladder", default=DEFAULT_LADDER)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--chat-clients", type=int, default=None)
    parser.add_argument("--chat-rate", type=int, default=20, help="chat messages per second")
    parser.add_argument("--publish-size", default=None, help="WHIP source size, e.g. 640x360")
    parser.add_argument("--hls-js", default=None, help="path to hls.min.mjs (hls.js 1.x ESM build)")
    parser.add_argument("--live-sync", type=int, default=2,
                        help="hls.js liveSyncDurationCount (the viewer page uses 2)")
    parser.add_argument("--slate-wait", type=float, default=3.0, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="also print the raw figures as JSON")
    args = parser.parse_args()
    args.seconds = args.seconds or (4.0 if args.smoke else 15.0)
    args.chat_clients = args.chat_clients or (50 if args.smoke else 500)
    size = args.publish_size or ("320x240" if args.smoke else "640x360")
    args.publish_size = tuple(int(x) for x in size.split("x"))
    out = asyncio.run(run(args))
    print()
    print(table(out, args))
    if args.json:
        print(json.dumps({k: v for k, v in out.items()}, default=str))


if __name__ == "__main__":
    main()
