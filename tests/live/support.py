"""Helpers for the live tests: a small-ladder server, a program with a stream key, HLS readers."""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import aiohttp
import av

from tests.helpers import Server, make_config

# Small pictures and a low frame rate: the point of most tests is not resolution, and the
# machine's two cores are shared.
SMALL = {"live_ladder": "240p15:300,120p15:120", "live_segment_s": 1.0, "live_slate_after_s": 1.0,
         "live_x264_preset": "ultrafast"}


def small_config(tmp_path: Path, kind: str = "sqlite", redis_url: str | None = None, **extra: Any) -> Any:
    return make_config(kind, tmp_path / "data", redis_url, **{**SMALL, **extra})


async def new_program(server: Server, kind: str = "live", minutes: int = 60,
                      later_hours: int = 0) -> tuple[str, str]:
    """A program on now (`starts_at: "now"`, or `later_hours` later) and its stream key."""
    producer = await server.producer()
    now = datetime.now(UTC) + timedelta(hours=later_hours)
    body = {
        "title": "라이브 테스트",
        "kind": kind,
        "starts_at": now.isoformat() if later_hours else "now",
        "ends_at": (now + timedelta(minutes=minutes)).isoformat(),
    }
    async with producer.post("/api/programs", json=body) as resp:
        assert resp.status == 201, await resp.text()
        program_id = str((await resp.json())["id"])
    async with producer.post(f"/api/programs/{program_id}/stream-key") as resp:
        assert resp.status == 200, await resp.text()
        key = str((await resp.json())["stream_key"])
    return program_id, key


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def end_program(server: Server, program_id: str) -> dict[str, Any]:
    """End the program now, as a producer (POST /api/programs/{id}/end); the program."""
    producer = await server.producer()
    async with producer.post(f"/api/programs/{program_id}/end") as resp:
        assert resp.status == 200, await resp.text()
        program: dict[str, Any] = await resp.json()
        return program


async def wait_for(predicate: Any, within: float = 20.0, what: str = "condition") -> Any:
    """Poll `predicate` (async, returns a truthy value when done) for `within` seconds (nothing to await)."""
    deadline = time.monotonic() + within
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def wait_for_state(server: Server, program_id: str, state: str) -> None:
    """Until the program's state is `state` (set by a service in the server; nothing to await)."""
    programs = server.parts.schedule.service

    async def reached() -> bool:
        program = await programs.get(program_id)
        return program is not None and program.state == state

    await wait_for(reached, what=f"state {state}")


async def get_text(client: aiohttp.ClientSession, path: str) -> tuple[int, str, dict[str, str]]:
    async with client.get(path) as resp:
        return resp.status, await resp.text(), dict(resp.headers)


async def get_bytes(client: aiohttp.ClientSession, path: str) -> bytes:
    async with client.get(path) as resp:
        assert resp.status == 200, (path, resp.status, await resp.text())
        return await resp.read()


def segments(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


async def last_seq(client: aiohttp.ClientSession, path: str) -> int:
    """The newest segment's number in a live playlist; -1 when there is none (yet)."""
    status, text, _ = await get_text(client, path)
    names = segments(text) if status == 200 else []
    return max((int(n[4:-4]) for n in names), default=-1)


async def has_segment(client: aiohttp.ClientSession, path: str, seq: int) -> bool:
    return await last_seq(client, path) >= seq


def maps(playlist: str) -> list[str]:
    return [line.split('"')[1] for line in playlist.splitlines() if line.startswith("#EXT-X-MAP")]


def decode(init: bytes, segment: bytes) -> tuple[list[av.VideoFrame], int]:
    """Decoded video frames and the number of audio frames of one fMP4 segment."""
    with tempfile.NamedTemporaryFile(suffix=".mp4") as fh:
        fh.write(init + segment)
        fh.flush()
        with av.open(fh.name) as container:
            video: list[av.VideoFrame] = []
            audio = 0
            for frame in container.decode(*container.streams):
                if isinstance(frame, av.VideoFrame):
                    video.append(frame)
                else:
                    audio += 1
            return video, audio


def ffprobe(init: bytes, segment: bytes) -> list[dict[str, Any]]:
    with tempfile.NamedTemporaryFile(suffix=".mp4") as fh:
        fh.write(init + segment)
        fh.flush()
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,codec_type,width,height",
             "-of", "json", fh.name],
            capture_output=True, check=True, timeout=30,
        )
    return list(json.loads(out.stdout)["streams"])


def make_media_file(path: Path, seconds: float = 3.0, width: int = 320, height: int = 240,
                    fps: int = 15, video: bool = True, audio: bool = True) -> Path:
    """A small H.264/AAC MP4 of the generated source (or audio only), for premiere uploads."""
    from live.source import TestPattern, Tone

    with av.open(str(path), "w", format="mp4") as out:
        vs = out.add_stream("libx264", rate=fps) if video else None
        if vs is not None:
            vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
            vs.codec_context.options = {"preset": "ultrafast"}
        aus = out.add_stream("aac", rate=48000, layout="stereo") if audio else None
        pattern, tone = TestPattern(width, height, fps), Tone()
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=48000, frame_size=1024)
        samples = 0
        for i in range(int(seconds * fps)):
            if vs is not None:
                frame = pattern.next_frame()
                frame.pts, frame.time_base = i, Fraction(1, fps)
                for packet in vs.encode(frame.reformat(format="yuv420p")):
                    out.mux(packet)
            while aus is not None and tone.index * 960 < (i + 1) * 48000 / fps:
                for af in resampler.resample(tone.next_frame()):
                    af.pts = samples
                    samples += af.samples
                    for packet in aus.encode(af):
                        out.mux(packet)
        for stream in (vs, aus):
            if stream is not None:
                for packet in stream.encode(None):
                    out.mux(packet)
        pattern.close()
    return path


class NginxRtmp:
    """A real nginx with the RTMP module on a free port that records what it receives (by PID)."""

    def __init__(self, directory: Path) -> None:
        import os
        import socket

        from tests.helpers import free_port

        self.dir = directory
        self.port = free_port()
        self.rec = directory / "rec"
        self.rec.mkdir(parents=True, exist_ok=True)
        conf = directory / "nginx.conf"
        conf.write_text(
            "load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;\n"
            "daemon off; master_process off; worker_processes 1;\n"
            f"pid {directory}/nginx.pid; error_log {directory}/error.log info;\n"
            "events { worker_connections 64; }\n"
            f"rtmp {{ server {{ listen 127.0.0.1:{self.port}; application live {{ live on; record all;"
            f" record_path {self.rec}; record_unique off; }} }} }}\n"
        )
        self.proc = subprocess.Popen(
            ["nginx", "-p", str(directory), "-e", str(directory / "error.log"), "-c", str(conf)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self._os = os
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not start: " + (directory / "error.log").read_text(errors="replace"))

    def url(self, name: str) -> str:
        return f"rtmp://127.0.0.1:{self.port}/live/{name}"

    def stop(self) -> None:
        import signal

        if self.proc.poll() is None:
            self._os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
