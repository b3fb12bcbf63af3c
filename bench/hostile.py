"""Hostile-client benchmark: what one flooding or never-reading client costs everyone else.

    .venv/bin/python bench/hostile.py                        # 200 viewers, 60 s per phase
    .venv/bin/python bench/hostile.py --server-dir /tmp/old  # the same against another tree
    .venv/bin/python bench/hostile.py --smoke                # a few seconds per phase, for CI

Each phase starts a fresh `innotv serve` (SQLite in a temporary directory, default settings and
log level, stderr to a file as a service manager would keep it; only the per-address connection
cap is raised, so the run also works against trees from before the cap was replaced) and fills
the hall room `hall:social-value` with lean raw Socket.IO viewers from this process. Twenty of
them chat once a second each (within the per-connection limits); every tenth viewer times
each message from send to delivery. Then, for the window:

- `reference`: nothing else: the same chat workload without a hostile client;
- `flood`: one client (a separate process, so it takes no CPU from the measuring clients) joins
  the room and sends `chat` and `heart` events with acks as fast as the server takes them, reading
  what comes back (and sending a pong every 10 s, so it is never cut for silence); when the server
  cuts it, it connects again at once;
- `flood-never-read`: the same, but it never reads: its acks and the room's messages pile up
  wherever the server lets them.

Printed: the server's RSS at the end of the window (and its growth over the window), the chat
latency p50/p99 of the other clients, messages delivered of those expected, server CPU, the log
lines and bytes the server wrote in the window, and what happened to the hostile client, each
hostile figure beside the reference of the same run.
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
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROOM = "hall:social-value"
UPGRADE = (b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")
SCRIPT = str(Path(__file__).resolve())
JOIN = '421["join",' + json.dumps({"room": ROOM}) + "]"
MODES = ("flood", "flood-never-read")


def frame(text: str) -> bytes:
    """A masked client text frame (zero mask key: the XOR is a no-op, servers accept it)."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        header = bytes((0x81, 0x80 | n))
    elif n < 65536:
        header = bytes((0x81, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x81, 0x80 | 127)) + n.to_bytes(8, "big")
    return header + b"\x00\x00\x00\x00" + payload


# ---- the viewers ------------------------------------------------------------------------------
@dataclass
class Totals:
    joined: int = 0
    delivered: int = 0
    latencies: list[float] = field(default_factory=list)
    window_start: float = float("inf")
    all_joined: asyncio.Event = field(default_factory=asyncio.Event)
    target: int = 0


class Viewer(asyncio.Protocol):
    """One lean WebSocket viewer: joins the room, answers pings, counts (and maybe times) the
    `t:<send time>` messages it receives."""

    def __init__(self, totals: Totals, timed: bool) -> None:
        self.totals = totals
        self.timed = timed
        self.buf = bytearray()
        self.upgraded = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(UPGRADE)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def send(self, text: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame(text))

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                raise RuntimeError(buf[:200].decode(errors="replace"))
            del buf[: end + 4]
            self.upgraded = True
        pos, size = 0, len(buf)
        while size - pos >= 2:
            length, off = buf[pos + 1] & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, off = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, off = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if size - pos < off + length:
                break
            opcode = buf[pos] & 0x0F
            payload = bytes(buf[pos + off : pos + off + length])
            pos += off + length
            if opcode == 1:
                self.on_text(payload)
            elif opcode == 9 and self.transport is not None:
                self.transport.write(bytes((0x8A, 0x80)) + b"\x00\x00\x00\x00")
        del buf[:pos]

    def on_text(self, p: bytes) -> None:
        if p.startswith(b'42["messages"'):
            totals = self.totals
            totals.delivered += p.count(b'"text":"t:')
            if self.timed:
                now = time.perf_counter()
                for item in json.loads(p[2:])[1]["items"]:
                    text = item["text"]
                    if text.startswith("t:") and float(text[2:]) >= totals.window_start:
                        totals.latencies.append(now - float(text[2:]))
        elif p.startswith(b"431["):
            self.totals.joined += 1
            if self.totals.joined >= self.totals.target:
                self.totals.all_joined.set()
        elif p == b"2":
            self.send("3")
        elif p[:1] == b"0":
            self.send("40")
        elif p.startswith(b"40"):
            self.send(JOIN)


# ---- the server -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    tmp: str
    log_path: Path

    def log_size(self) -> tuple[int, int]:
        """(lines, bytes) the server has written to stderr so far."""
        data = self.log_path.read_bytes()
        return data.count(b"\n"), len(data)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def start_server(server_dir: Path) -> Server:
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="innotv-hostile-")
    log_path = Path(tmp) / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNOTV_")}
    env.update({"INNOTV_DATA_DIR": str(Path(tmp) / "data"), "INNOTV_CHAT_MAX_CONNS_PER_IP": "100000",
                "PYTHONPATH": str(server_dir)})
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "innotv", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=server_dir, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
        )
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early:\n{log_path.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("server not ready in 30 s") from None
            time.sleep(0.05)
    return Server(proc, port, tmp, log_path)


# ---- one phase --------------------------------------------------------------------------------
@dataclass
class PhaseResult:
    name: str
    rss_start: int
    rss_end: int
    rss_peak: int
    p50_ms: float
    p99_ms: float
    delivered: int
    expected: int
    cpu_core: float
    log_lines: int
    log_bytes: int
    hostile: dict[str, object] | None


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_phase(name: str, args: argparse.Namespace) -> PhaseResult:
    server = start_server(args.server_dir)
    loop = asyncio.get_running_loop()
    viewers: list[Viewer] = []
    hostile_proc: asyncio.subprocess.Process | None = None
    try:
        totals = Totals(target=args.clients)
        for i in range(args.clients):
            viewer = Viewer(totals, timed=i % 10 == 0)
            await loop.create_connection(lambda v=viewer: v, "127.0.0.1", server.port)  # type: ignore[misc]
            viewers.append(viewer)
        await asyncio.wait_for(totals.all_joined.wait(), 60)
        if name != "reference":
            hostile_proc = await asyncio.create_subprocess_exec(
                sys.executable, SCRIPT, "--hostile", name, "--port", str(server.port),
                "--seconds", str(args.seconds + 1), stdout=asyncio.subprocess.PIPE,
            )
        await asyncio.sleep(1.0)  # the hostile client under way, the room warm
        senders = viewers[: args.senders]
        totals.window_start = time.perf_counter()
        rss_start = rss_bytes(server.proc.pid)
        cpu_start = cpu_seconds(server.proc.pid)
        log_start = server.log_size()
        delivered_start = totals.delivered
        peak = rss_start
        sent = 0

        async def chat_once_a_second(sender: Viewer) -> None:
            nonlocal sent
            await asyncio.sleep(random.random())
            end = totals.window_start + args.seconds
            while time.perf_counter() < end:
                text = f"t:{time.perf_counter()!r}"
                sender.send('42["chat",' + json.dumps({"room": ROOM, "text": text}) + "]")
                sent += 1
                await asyncio.sleep(1.0)

        async def watch_rss() -> None:
            nonlocal peak
            while True:
                await asyncio.sleep(0.5)
                peak = max(peak, rss_bytes(server.proc.pid))

        watcher = asyncio.create_task(watch_rss())
        await asyncio.gather(*(chat_once_a_second(s) for s in senders))
        await asyncio.sleep(1.0)  # the last messages' tick and delivery
        watcher.cancel()
        rss_end = rss_bytes(server.proc.pid)
        peak = max(peak, rss_end)
        cpu = (cpu_seconds(server.proc.pid) - cpu_start) / (args.seconds + 1.0)
        log_end = server.log_size()
        hostile = None
        if hostile_proc is not None:
            out, _ = await asyncio.wait_for(hostile_proc.communicate(), 30)
            hostile = json.loads(out.decode().strip().splitlines()[-1])
            hostile_proc = None
        return PhaseResult(
            name, rss_start, rss_end, peak, percentile(totals.latencies, 0.5) * 1000,
            percentile(totals.latencies, 0.99) * 1000, totals.delivered - delivered_start,
            sent * args.clients, cpu, log_end[0] - log_start[0], log_end[1] - log_start[1], hostile,
        )
    finally:
        if hostile_proc is not None and hostile_proc.returncode is None:
            hostile_proc.kill()
            await hostile_proc.wait()
        for viewer in viewers:
            if viewer.transport is not None:
                viewer.transport.abort()
        server.stop()


# ---- the hostile client (a process of its own) -------------------------------------------------
async def hostile_client(mode: str, port: int, seconds: float) -> dict[str, object]:
    """Floods events until `seconds` pass, connecting again whenever the server cuts it."""
    never_read = mode == "flood-never-read"
    start = time.monotonic()
    deadline = start + seconds
    stats: dict[str, object] = {"connections": 0, "refused": 0, "events_sent": 0}
    lifetimes: list[float] = []
    payloads = ['["chat",' + json.dumps({"room": ROOM, "text": "flood"}) + "]",
                '["heart",' + json.dumps({"room": ROOM, "count": 1}) + "]"]
    ack = 10
    while time.monotonic() < deadline:
        sock = socket.socket()
        if never_read:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
            reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 16)
            writer.write(UPGRADE)
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            stats["connections"] = int(stats["connections"]) + 1  # type: ignore[call-overload]
            writer.write(frame("40"))
            writer.write(frame(JOIN))
            joined = await asyncio.wait_for(_until_ack_or_refusal(reader), 10)
            if not joined:
                stats["refused"] = int(stats["refused"]) + 1  # type: ignore[call-overload]
                writer.close()
                await asyncio.sleep(0.01)
                continue
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            sock.close()
            await asyncio.sleep(0.01)
            continue
        connected_at = time.monotonic()
        drain_reads = None if never_read else asyncio.create_task(_discard(reader))
        pong_at = 0.0
        try:
            while time.monotonic() < deadline:
                if time.monotonic() >= pong_at:
                    # Pongs sent blindly, without reading the pings: never cut for silence.
                    writer.write(frame("3"))
                    pong_at = time.monotonic() + 10.0
                batch = []
                for _ in range(100):
                    ack += 1
                    batch.append(frame(f"42{ack}" + payloads[ack % 2]))
                writer.write(b"".join(batch))
                stats["events_sent"] = int(stats["events_sent"]) + 100  # type: ignore[call-overload]
                await asyncio.wait_for(writer.drain(), max(0.1, deadline - time.monotonic()))
                if writer.transport.is_closing() or reader.at_eof():
                    break
        except (OSError, TimeoutError):
            pass
        if writer.transport.is_closing() or reader.at_eof() or time.monotonic() < deadline:
            lifetimes.append(time.monotonic() - connected_at)
        if drain_reads is not None:
            drain_reads.cancel()
        writer.transport.abort()
    stats["cut"] = len(lifetimes)
    stats["first_cut_after_s"] = round(lifetimes[0], 1) if lifetimes else None
    return stats


async def _until_ack_or_refusal(reader: asyncio.StreamReader) -> bool:
    """Read frames until the join ack (True) or a CONNECT_ERROR (False)."""
    while True:
        head = await reader.readexactly(2)
        length = head[1] & 0x7F
        if length == 126:
            length = int.from_bytes(await reader.readexactly(2), "big")
        elif length == 127:
            length = int.from_bytes(await reader.readexactly(8), "big")
        text = (await reader.readexactly(length)).decode(errors="replace")
        if text.startswith("44"):
            return False
        if text.startswith("431["):
            return True


async def _discard(reader: asyncio.StreamReader) -> None:
    with_suppressed = (OSError, asyncio.IncompleteReadError)
    try:
        while await reader.read(1 << 16):
            pass
    except with_suppressed:
        pass


# ---- the table ----------------------------------------------------------------------------------
def mb(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB"


def describe_hostile(h: dict[str, object] | None) -> str:
    if h is None:
        return "—"
    cut = h.get("first_cut_after_s")
    first = f"first cut after {cut} s" if cut is not None else "never cut"
    return (f"{h['events_sent']:,} events sent, {h['connections']} connections "
            f"({h['refused']} refused), {h['cut']} cut, {first}")


def print_table(args: argparse.Namespace, results: list[PhaseResult]) -> None:
    ref = results[0]
    head = ["measure", *(r.name if r is not ref else "reference (no hostile client)" for r in results)]
    rows: list[list[str]] = []

    def row(label: str, cell: object) -> None:
        rows.append([label, *(cell(r) for r in results)])  # type: ignore[operator]

    row("server RSS at the end of the window", lambda r: mb(r.rss_end) if r is ref
        else f"{mb(r.rss_end)} ({(r.rss_end - ref.rss_end) / (1 << 20):+.1f} MB)")
    row("RSS growth over the window, peak", lambda r: f"{(r.rss_end - r.rss_start) / (1 << 20):+.1f} MB, "
        f"peak {mb(r.rss_peak)}")
    row("chat latency of the others p50 / p99",
        lambda r: f"{r.p50_ms:.0f} / {r.p99_ms:.0f} ms"
        + ("" if r is ref else f" (p99 {r.p99_ms - ref.p99_ms:+.0f} ms)"))
    row("messages delivered / expected", lambda r: f"{r.delivered:,} / {r.expected:,}")
    row("server CPU", lambda r: f"{r.cpu_core:.2f} core")
    row("server log lines, bytes in the window", lambda r: f"{r.log_lines:,}, {r.log_bytes:,} B")
    row("hostile client", lambda r: describe_hostile(r.hostile))
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for cells in rows:
        print("| " + " | ".join(cells) + " |")
    print(f"\nlimits: RSS at most +20 MB and chat p99 at most +50 ms against the reference "
          f"(window {args.seconds:g} s)")


def git_describe(directory: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(directory), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5)
    except OSError:
        return "?"
    return out.stdout.strip() or "not a git checkout"


async def main_async(args: argparse.Namespace) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(f"bench/hostile.py: server tree {args.server_dir} ({git_describe(args.server_dir)}), "
          f"{args.clients} viewers in {ROOM}, {args.senders} of them chatting once a second, "
          f"window {args.seconds:g} s per phase; Python {platform.python_version()}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start"
          + (f"; {args.note}" if args.note else ""), flush=True)
    results = []
    for name in ("reference", *args.modes):
        print(f"... {name}", file=sys.stderr, flush=True)
        results.append(await run_phase(name, args))
    print_table(args, results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server-dir", type=Path, default=ROOT, help="the innotv tree to serve from")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--modes", default=",".join(MODES), help="hostile phases, comma separated")
    parser.add_argument("--smoke", action="store_true", help="20 viewers, 3 s windows")
    parser.add_argument("--note", default="", help="printed in the header (e.g. which commit the tree is)")
    parser.add_argument("--hostile", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hostile:
        stats = asyncio.run(hostile_client(args.hostile, args.port, args.seconds))
        print(json.dumps(stats), flush=True)
        return
    if args.smoke:
        args.clients, args.senders, args.seconds = 20, 5, 3.0
    args.modes = [m for m in args.modes.split(",") if m]
    unknown = set(args.modes) - set(MODES)
    if unknown:
        parser.error(f"unknown mode(s): {', '.join(sorted(unknown))}")
    args.server_dir = args.server_dir.resolve()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
