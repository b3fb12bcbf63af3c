"""Captions benchmark: commit to screen for socket viewers, commit to cue in the HLS, and the
replay's subtitle track after the end.

    .venv/bin/python bench/captions.py                 # 5,000 viewers, 40 lines
    .venv/bin/python bench/captions.py --viewers 200   # quick

One `innotv serve` (SQLite, per-address limits lifted: every client comes from one address), a
program on the air, a captioner (a python-socketio client with a captioner's login) and N viewers
in the program's room (bench/chat.py's raw Engine.IO clients, one small object each; every 50th
times the arrival of each line), while a WHIP publisher (aiortc, 320x240 15 fps, in this process)
feeds the program (the server encodes it: the show is on). Then the same captioner again, while
this process polls the live subtitle playlist and its newest segments
every 50 ms; then the program ends and this process polls the replay's `captions-ko.vtt` until it
has every line. Prints one table with the target beside each figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.chat import Client, Gen, _connect, free_port, pct, raise_nofile  # noqa: E402
from live.tracks import whip_publish  # noqa: E402


class Viewer(Client):
    """A raw client in the program's room that times each `captions` line."""

    room = ""
    sent: dict[str, float] = {}  # noqa: RUF012 - the run's send times, shared by the viewers

    def on_text(self, p: bytes) -> None:
        if p.startswith(b'42["captions"'):
            gen = self.gen
            gen.delivered += 1
            if self.sample:
                now = time.perf_counter()
                for item in json.loads(p[2:])[1]["items"]:
                    sent = Viewer.sent.get(item["text"])
                    if sent is not None:
                        gen.latencies.append(now - sent)
            return
        if p[:2] == b"40":
            self.send('421["join",' + json.dumps({"room": Viewer.room}) + "]")
            return
        super().on_text(p)


def add_user(data: str, name: str, role: str, password: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNOTV_")}
    subprocess.run([sys.executable, "-m", "innotv", "user", "add", name, "--role", role, "--password-stdin",
                    "--data-dir", data], input=password + "\n", text=True, check=True, env=env, cwd=ROOT,
                   capture_output=True)


async def login(url: str, name: str, password: str) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Origin": url})
    async with session.post(url + "/api/session", json={"username": name, "password": password}) as r:
        assert r.status == 200, await r.text()
    return session


async def run(args: argparse.Namespace) -> None:
    raise_nofile(args.viewers + 200)
    data = tempfile.mkdtemp(prefix="innotv-bench-captions-")
    add_user(data, "prod", "producer", "producer-password-1")
    add_user(data, "steno", "captioner", "captioner-password-1")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNOTV_")}
    env.update({"INNOTV_DATA_DIR": data, "INNOTV_LOG_LEVEL": "WARNING",
                "INNOTV_CHAT_MAX_CONNS_PER_IP": "1000000", "INNOTV_CHAT_CONN_BURST_PER_IP": "1000000",
                "INNOTV_CHAT_CONN_RATE_PER_IP": "1000000", "INNOTV_CHAT_RATE_SCALE": "1000",
                "INNOTV_LIVE_LADDER": "240p15:300,120p15:120", "INNOTV_LIVE_X264_PRESET": "ultrafast"})
    command = [sys.executable, "-m", "innotv", "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, env=env, cwd=ROOT,  # noqa: ASYNC220 - started once, never waited on
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sessions: list[aiohttp.ClientSession] = []
    try:
        for _ in range(200):
            try:
                async with aiohttp.ClientSession() as probe, probe.get(url + "/readyz") as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        producer = await login(url, "prod", "producer-password-1")
        steno = await login(url, "steno", "captioner-password-1")
        sessions += [producer, steno]
        ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        async with producer.post(url + "/api/programs", json={"title": "bench", "kind": "live",
                                                              "starts_at": "now", "ends_at": ends}) as r:
            program_id = (await r.json())["id"]
        async with producer.post(f"{url}/api/programs/{program_id}/stream-key") as r:
            key = (await r.json())["stream_key"]
        room = f"program:{program_id}"
        Viewer.room = room
        # The show is on: a publisher (the whole run, so every line is in the replay).
        publisher_session = aiohttp.ClientSession()
        sessions.append(publisher_session)
        publication = await whip_publish(publisher_session, f"{url}/whip/{program_id}", key)
        anyone = aiohttp.ClientSession()
        sessions.append(anyone)
        playlist_url = f"{url}/hls/{program_id}/subs/ko/live.m3u8"
        for _ in range(300):
            async with anyone.get(playlist_url) as r:
                if r.status == 200 and (await r.text()).count(".vtt") >= 2:
                    break
            await asyncio.sleep(0.1)

        # viewers
        loop = asyncio.get_running_loop()
        gen = Gen()
        gen.target = args.viewers
        viewers = []
        connecting = set()
        started = time.perf_counter()
        for i in range(args.viewers):
            client = Viewer(gen, f"127.0.0.1:{port}", sample=i % 50 == 0)
            viewers.append(client)
            connecting.add(loop.create_task(_connect(loop, client, port)))
            if i % 100 == 99:
                await asyncio.sleep(0.1)
        await asyncio.wait_for(gen.joined_event.wait(), timeout=max(60.0, args.viewers / 50))
        join_s = time.perf_counter() - started
        cookie = "; ".join(f"{c.key}={c.value}" for c in steno.cookie_jar)
        captioner = socketio.AsyncClient()
        await captioner.connect(url, headers={"Cookie": cookie, "Origin": url}, transports=["websocket"])
        assert (await captioner.call("join", {"room": room}))["ok"]

        # phase 1: commit to screen, socket viewers
        gen.latencies = []
        acks = []
        for i in range(args.lines):
            text = f"자막 {i} 번째 줄"
            Viewer.sent[text] = time.perf_counter()
            acks.append(await captioner.call("caption", {"room": room, "text": text}))
            await asyncio.sleep(args.gap)
        await asyncio.sleep(1.0)
        socket_lat = list(gen.latencies)
        assert all(a["ok"] for a in acks), acks[:3]
        expected = args.lines * args.viewers
        for client in viewers:
            if client.transport is not None:
                client.transport.close()

        # phase 2: commit to cue in the HLS
        hls_lat = []
        for i in range(args.hls_lines):
            text = f"HLS 줄 {i}"
            sent = time.perf_counter()
            ack = await captioner.call("caption", {"room": room, "text": text})
            assert ack["ok"], ack
            seen = None
            while seen is None and time.perf_counter() - sent < 10:
                async with anyone.get(playlist_url) as r:
                    names = [n for n in (await r.text()).splitlines() if n.endswith(".vtt")]
                for name in names[-3:]:
                    async with anyone.get(f"{url}/hls/{program_id}/subs/ko/{name}") as r:
                        if text in await r.text():
                            seen = time.perf_counter() - sent
                            break
                if seen is None:
                    await asyncio.sleep(0.05)
            hls_lat.append(seen if seen is not None else float("inf"))
            await asyncio.sleep(args.gap)
        await publication.pc.close()

        # phase 3: the replay's track
        ended = time.perf_counter()
        async with producer.post(f"{url}/api/programs/{program_id}/end") as r:
            assert r.status == 200
        total = args.lines + args.hls_lines
        replay_s = float("inf")
        while time.perf_counter() - ended < 120:
            async with anyone.get(f"{url}/vod/{program_id}/captions-ko.vtt") as r:
                if r.status == 200 and (await r.text()).count(" --> ") >= total:
                    replay_s = time.perf_counter() - ended
                    break
            await asyncio.sleep(0.2)
        await captioner.disconnect()
    finally:
        for session in sessions:
            await session.close()
        server.terminate()
        server.wait(30)

    load = os.getloadavg()
    print(f"innotv captions benchmark — {platform.node()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, load average at the end {load[0]:.1f}/{load[1]:.1f}")
    print(f"{args.viewers} socket viewers joined in {join_s:.1f} s; {args.lines} lines {args.gap} s apart; "
          f"server, load generator and captioner on the same machine (nothing pinned)")
    print()
    print("| measure | figure | target |")
    print("|---|---|---|")
    p50, p95, worst = pct(socket_lat, .5) * 1000, pct(socket_lat, .95) * 1000, max(socket_lat) * 1000
    print(f"| commit to caption on screen, socket viewers: p50 / p95 / max ({len(socket_lat)} samples) | "
          f"{p50:.0f} / {p95:.0f} / {worst:.0f} ms | p95 ≤ 300 ms |")
    print(f"| `captions` events delivered | {gen.delivered} of {expected} | all |")
    finite = [x for x in hls_lat if x != float("inf")]
    slowest = max(finite) if finite else float("inf")
    print(f"| commit to cue in the HLS (listed subtitle segment): p50 / max ({len(finite)} of {len(hls_lat)} "
          f"lines) | {pct(finite, .5):.2f} / {slowest:.2f} s | ≤ one segment (1 s) + 0.5 s |")
    print(f"| end of the program to the replay's whole subtitle track ({total} lines) | {replay_s:.1f} s "
          "| ≤ 60 s |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", type=int, default=5000)
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("--hls-lines", type=int, default=10)
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between two lines")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
