"""Chat benchmark: innotv against the Node.js reference (socket.io 4.x), same workloads, one run.

    .venv/bin/python bench/chat.py                  # 5,000 clients, 10 s per fan-out rate
    .venv/bin/python bench/chat.py --clients 20000  # the lead's full run (raise ulimit -n first or
                                                    # let the script raise it to the hard limit)
    .venv/bin/python bench/chat.py --smoke          # tiny, about 20 s, for CI

Each server runs pinned to its own core (taskset) and this process, the load generator, to
another. The load generator speaks the raw Engine.IO/Socket.IO protocol over plain asyncio
sockets (one small Protocol object per client, not a python-socketio client each):

- join storm: N clients arrive at --arrival-rate per second; joins/s, p99 time from TCP connect
  to the join ack, server memory per connection (RSS growth / N);
- fan-out: all N clients in one room while senders post at 10 / 50 / 200 msg/s: messages
  delivered per second (all clients together), server CPU microseconds per delivery, p50/p99
  sender-to-receiver latency (sampled clients);
- heart storm: every client sends `heart` (count 10) for a while; taps/s absorbed per server
  core-second, and whether the server's total is exact;
- mass disconnect: every client drops at once; seconds until the server counts none.

The Node server is installed into bench/node by `npm install` on first use (socket.io +
bufferutil from the npm registry).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
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
NODE_DIR = ROOT / "bench" / "node"
ROOM = "hall:social-value"
PATH = "/socket.io/?EIO=4&transport=websocket"


# ---- the lean client ------------------------------------------------------------------------
def _frame(text: str) -> bytes:
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


class Gen:
    """Counters shared by every client of one run."""

    def __init__(self) -> None:
        self.delivered = 0
        self.latencies: list[float] = []
        self.join_times: list[float] = []
        self.joined = 0
        self.hearts_total = 0
        self.closed = 0
        self.sampling = False
        self.joined_event = asyncio.Event()
        self.target = 0


MARKER = b'"text":"'
PING = b"\x81\x012"  # an unmasked text frame holding Engine.IO's "2"


class Client(asyncio.Protocol):
    """One client. Until its join ack it parses every frame; afterwards a non-sampled client only
    counts message markers in the raw bytes (and answers pings), so the load generator can absorb
    a million deliveries a second and is not what limits a server."""

    __slots__ = ("ack_id", "buf", "fast", "gen", "host", "sample", "started", "state", "tail", "transport")

    def __init__(self, gen: Gen, host: str, sample: bool) -> None:
        self.gen = gen
        self.host = host
        self.sample = sample
        self.buf = bytearray()
        self.state = 0  # 0 http, 1 websocket
        self.transport: asyncio.Transport | None = None
        self.started = time.perf_counter()
        self.ack_id = 1
        self.fast = False
        self.tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(
            (f"GET {PATH} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n").encode()
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self.gen.closed += 1
        self.transport = None

    def send(self, text: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_frame(text))

    def data_received(self, data: bytes) -> None:
        if self.fast:
            joined = self.tail + data
            self.gen.delivered += joined.count(MARKER)
            self.tail = data[-(len(MARKER) - 1):]
            if PING in joined:
                self.send("3")
            return
        buf = self.buf
        buf += data
        if self.state == 0:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                raise RuntimeError(buf[:200].decode(errors="replace"))
            del buf[: end + 4]
            self.state = 1
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            b1 = buf[pos + 1] & 0x7F
            off = 2
            if b1 == 126:
                if size - pos < 4:
                    break
                b1 = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                off = 4
            elif b1 == 127:
                if size - pos < 10:
                    break
                b1 = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                off = 10
            if size - pos < off + b1:
                break
            opcode = buf[pos] & 0x0F
            payload = bytes(buf[pos + off : pos + off + b1])
            pos += off + b1
            if opcode == 1:
                self.on_text(payload)
            elif opcode == 9 and self.transport is not None:
                self.transport.write(bytes((0x8A, 0x80)) + b"\x00\x00\x00\x00")
        if pos:
            del buf[:pos]

    def on_text(self, p: bytes) -> None:
        head = p[:2]
        if head == b"42":
            if p.startswith(b'42["messages"'):
                gen = self.gen
                gen.delivered += p.count(b'"text":"')
                if self.sample and gen.sampling:
                    now = time.perf_counter()
                    for item in json.loads(p[2:])[1]["items"]:
                        text = item["text"]
                        if text.startswith("b:"):
                            gen.latencies.append(now - float(text[2:]))
            elif p.startswith(b'42["hearts"'):
                total = json.loads(p[2:])[1]["total"]
                self.gen.hearts_total = max(self.gen.hearts_total, total)
        elif head == b"43":
            if p.startswith(b"431["):
                self.gen.join_times.append(time.perf_counter() - self.started)
                self.gen.joined += 1
                if not self.sample:
                    self.fast = True
                if self.gen.joined >= self.gen.target:
                    self.gen.joined_event.set()
        elif p == b"2":
            self.send("3")
        elif p[:1] == b"0":
            self.send("40")
        elif head == b"40":
            self.send('421["join",' + json.dumps({"room": ROOM}) + "]")


# ---- servers --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class ServerProc:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    count_url: str
    tmp: str | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def count(self) -> int:
        with urllib.request.urlopen(self.count_url, timeout=5) as r:
            body = r.read().decode()
        if self.name != "innotv":
            return int(body)
        for line in body.splitlines():
            if line.startswith("innotv_chat_connections "):
                return int(float(line.split()[1]))
        return -1

    def hearts(self) -> int:
        """The server's own heart total of the room (-1 when it does not answer)."""
        base = self.count_url.rsplit("/", 1)[0]
        url = base + ("/api/halls" if self.name == "innotv" else "/hearts?room=" + ROOM)
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                body = r.read().decode()
        except OSError:
            return -1
        if self.name != "innotv":
            return int(body)
        halls = json.loads(body)["halls"]
        return int(next(h["hearts"] for h in halls if h["room"] == ROOM))

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _pin(core: int | None) -> list[str]:
    if core is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(core)]


def start_innotv(core: int | None, tick_ms: int) -> ServerProc:
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="innotv-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNOTV_")}
    env.update({
        "INNOTV_DATA_DIR": tmp, "INNOTV_LOG_LEVEL": "WARNING", "INNOTV_TICK_MS": str(tick_ms),
        # Every load-generator client comes from one address: the per-address limits are lifted.
        "INNOTV_CHAT_MAX_CONNS_PER_IP": "1000000", "INNOTV_CHAT_CONN_BURST_PER_IP": "1000000",
        "INNOTV_CHAT_CONN_RATE_PER_IP": "1000000", "INNOTV_CHAT_RATE_SCALE": "1000",
        "PYTHONPATH": str(ROOT),
    })
    proc = subprocess.Popen(
        [*_pin(core), sys.executable, "-m", "innotv", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = ServerProc("innotv", proc, port, f"http://127.0.0.1:{port}/metrics", tmp)
    _wait_http(f"http://127.0.0.1:{port}/readyz", proc)
    return server


def ensure_node() -> str:
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        raise SystemExit("node and npm are needed for the reference server")
    if not (NODE_DIR / "node_modules" / "socket.io").is_dir():
        print("installing the Node reference (npm install socket.io bufferutil) ...", flush=True)
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--no-package-lock"],
                       cwd=NODE_DIR, check=True)
    return node


def start_node(core: int | None) -> ServerProc:
    node = ensure_node()
    port = free_port()
    proc = subprocess.Popen([*_pin(core), node, "server.js", str(port)], cwd=NODE_DIR,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = ServerProc("node", proc, port, f"http://127.0.0.1:{port}/count")
    _wait_http(server.count_url, proc)
    return server


def start_stock(core: int | None) -> ServerProc:
    port = free_port()
    proc = subprocess.Popen([*_pin(core), sys.executable, str(ROOT / "bench" / "stock_psio.py"), str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = ServerProc("stock-psio", proc, port, f"http://127.0.0.1:{port}/count")
    _wait_http(server.count_url, proc)
    return server


def _wait_http(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({url})")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server not ready: {url}")


# ---- workloads ------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Result:
    name: str
    figures: dict[str, float] = field(default_factory=dict)


async def run_server(server: ServerProc, args: argparse.Namespace) -> Result:
    loop = asyncio.get_running_loop()
    gen = Gen()
    result = Result(server.name)
    clients: list[Client] = []
    n = args.clients
    samples = max(1, min(50, n // 20))

    # join storm
    base_rss = rss_bytes(server.pid)
    join_cpu0 = cpu_seconds(server.pid)
    gen.target = n
    start = time.perf_counter()
    interval = 1.0 / args.arrival_rate
    connecting: set[asyncio.Task[None]] = set()
    for i in range(n):
        due = start + i * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        client = Client(gen, f"127.0.0.1:{server.port}", sample=i < samples)
        clients.append(client)
        connecting.add(loop.create_task(_connect(loop, client, server.port)))
    try:
        await asyncio.wait_for(gen.joined_event.wait(), timeout=max(60.0, n / 50))
    except TimeoutError:
        print(f"  {server.name}: only {gen.joined}/{n} joined", flush=True)
    elapsed = time.perf_counter() - start
    result.figures["join_server_cores"] = (cpu_seconds(server.pid) - join_cpu0) / elapsed
    await drain(gen)
    result.figures["joins_per_s"] = gen.joined / elapsed
    result.figures["join_p99_ms"] = pct(gen.join_times, 0.99) * 1000
    result.figures["kb_per_conn"] = (rss_bytes(server.pid) - base_rss) / max(1, gen.joined) / 1024
    joined_clients = [c for c in clients if c.transport is not None]

    # fan-out at each rate
    senders = joined_clients[: max(1, min(20, len(joined_clients)))]
    for rate in args.rates:
        gen.delivered = 0
        gen.latencies = []
        gen.sampling = True
        cpu0 = cpu_seconds(server.pid)
        own0 = sum(os.times()[:2])
        t0 = time.perf_counter()
        sent = await _send_chats(senders, rate, args.duration)
        await asyncio.sleep(0.5)  # let the last tick arrive
        wall = time.perf_counter() - t0
        cpu = cpu_seconds(server.pid) - cpu0
        delivered = gen.delivered
        result.figures[f"r{rate}_loadgen_cores"] = (sum(os.times()[:2]) - own0) / wall
        await drain(gen)  # a backlog's latency still counts; its deliveries do not
        gen.sampling = False
        result.figures[f"r{rate}_sent"] = sent
        result.figures[f"r{rate}_delivered_per_s"] = delivered / wall
        result.figures[f"r{rate}_expected_per_s"] = sent * len(joined_clients) / wall
        result.figures[f"r{rate}_cpu_us_per_delivery"] = cpu / max(1, delivered) * 1e6
        result.figures[f"r{rate}_server_cores"] = cpu / wall
        result.figures[f"r{rate}_p50_ms"] = pct(gen.latencies, 0.5) * 1000
        result.figures[f"r{rate}_p99_ms"] = pct(gen.latencies, 0.99) * 1000

    # heart storm: every client taps 10 per event, spread over the duration
    before_total = gen.hearts_total
    cpu0 = cpu_seconds(server.pid)
    t0 = time.perf_counter()
    taps = 0
    per_client = max(1, int(args.heart_events))
    for round_no in range(per_client):
        for c in joined_clients:
            c.send('42["heart",' + json.dumps({"room": ROOM, "count": 10}) + "]")
            taps += 10
        await asyncio.sleep(args.duration / per_client if round_no < per_client - 1 else 0)
    expected = before_total + taps
    deadline = time.monotonic() + 10
    while gen.hearts_total < expected and time.monotonic() < deadline:  # noqa: ASYNC110 - polled
        await asyncio.sleep(0.05)
    wall = time.perf_counter() - t0
    cpu = cpu_seconds(server.pid) - cpu0
    result.figures["taps"] = taps
    result.figures["taps_per_s"] = taps / wall
    if cpu >= 0.05:  # /proc counts in 10 ms ticks: below that the ratio means nothing
        result.figures["taps_per_core_s"] = taps / cpu
    await drain(gen)
    stored = await asyncio.to_thread(server.hearts)
    result.figures["hearts_exact"] = 1.0 if stored == expected else 0.0
    result.figures["hearts_stored"] = stored
    result.figures["hearts_expected"] = expected

    # mass disconnect
    t0 = time.perf_counter()
    for c in clients:
        if c.transport is not None:
            c.transport.abort()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if await asyncio.to_thread(server.count) == 0:
                break
        except OSError:  # a server still busy with a backlog may not answer in time: ask again
            pass
        await asyncio.sleep(0.01)
    result.figures["disconnect_s"] = time.perf_counter() - t0
    return result


async def drain(gen: Gen, quiet_s: float = 0.5, limit_s: float = 60.0) -> None:
    """Wait until no delivery arrived for `quiet_s` (a server's backlog has drained)."""
    deadline = time.monotonic() + limit_s
    last = -1
    while time.monotonic() < deadline and gen.delivered != last:
        last = gen.delivered
        await asyncio.sleep(quiet_s)


async def _connect(loop: asyncio.AbstractEventLoop, client: Client, port: int) -> None:
    try:
        await loop.create_connection(lambda: client, "127.0.0.1", port)
    except OSError as exc:
        print(f"  connect failed: {exc}", flush=True)


async def _send_chats(senders: list[Client], rate: int, duration: float) -> int:
    start = time.perf_counter()
    sent = 0
    index = 0
    while True:
        now = time.perf_counter()
        if now - start >= duration:
            return sent
        due = int((now - start) * rate)
        while sent < due:
            sender = senders[index % len(senders)]
            index += 1
            sender.send('42["chat",' + json.dumps({"room": ROOM, "text": f"b:{time.perf_counter()}"}) + "]")
            sent += 1
        await asyncio.sleep(0.005)


# ---- main -----------------------------------------------------------------------------------
def raise_nofile(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(needed, soft)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


ROWS = [
    ("join storm: joins/s", "joins_per_s", "{:.0f}", "higher"),
    ("join storm: p99 join ack (ms)", "join_p99_ms", "{:.0f}", "lower"),
    ("join storm: server cores", "join_server_cores", "{:.2f}", ""),
    ("memory per connection (KB)", "kb_per_conn", "{:.1f}", "lower"),
]


def table(results: list[Result], args: argparse.Namespace) -> str:
    rows = list(ROWS)
    for rate in args.rates:
        rows += [
            (f"fan-out {rate} msg/s: delivered/s", f"r{rate}_delivered_per_s", "{:.0f}", "higher"),
            (f"fan-out {rate} msg/s: expected/s", f"r{rate}_expected_per_s", "{:.0f}", ""),
            (f"fan-out {rate} msg/s: CPU us/delivery", f"r{rate}_cpu_us_per_delivery", "{:.2f}", "lower"),
            (f"fan-out {rate} msg/s: server cores", f"r{rate}_server_cores", "{:.2f}", ""),
            (f"fan-out {rate} msg/s: load generator cores", f"r{rate}_loadgen_cores", "{:.2f}", ""),
            (f"fan-out {rate} msg/s: p50 latency (ms)", f"r{rate}_p50_ms", "{:.0f}", "lower"),
            (f"fan-out {rate} msg/s: p99 latency (ms)", f"r{rate}_p99_ms", "{:.0f}", "lower"),
        ]
    rows += [
        ("heart storm: taps/s", "taps_per_s", "{:.0f}", "higher"),
        ("heart storm: taps per server core-second", "taps_per_core_s", "{:.0f}", "higher"),
        ("heart storm: total exact (1 = yes)", "hearts_exact", "{:.0f}", ""),
        ("heart storm: stored / expected total", "hearts_stored", "{:.0f}", ""),
        ("", "hearts_expected", "{:.0f}", ""),
        ("mass disconnect (s)", "disconnect_s", "{:.2f}", "lower"),
    ]
    names = [r.name for r in results]
    header = f"{'':44}" + "".join(f"{n:>14}" for n in names)
    header += "".join(f"{'vs ' + n:>16}" for n in names[1:])
    lines = [header, "-" * len(header)]
    for label, key, fmt, better in rows:
        cells = []
        values = [r.figures.get(key) for r in results]
        for v in values:
            cells.append(f"{fmt.format(v) if v is not None else '-':>14}")
        line = f"{label:44}" + "".join(cells)
        for other in values[1:]:
            a, b = values[0], other
            if better and a and b and a == a and b == b:  # nan != nan
                ratio = float(a) / float(b) if better == "higher" else float(b) / float(a)
                line += f"{ratio:>15.2f}x"
            else:
                line += f"{'':>16}"
        lines.append(line)
    lines.append("ratios: innotv's advantage (above 1 = innotv better, in the row's own sense)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per fan-out rate")
    parser.add_argument("--rates", default="10,50,200", help="sender msg/s, comma separated")
    parser.add_argument("--arrival-rate", type=float, default=500.0, help="join storm arrivals per second")
    parser.add_argument("--heart-events", type=int, default=4, help="heart events per client")
    parser.add_argument("--tick-ms", type=int, default=100)
    parser.add_argument("--only", choices=["innotv", "node", "stock-psio"], help="run one server only")
    parser.add_argument("--stock", action="store_true",
                        help="also run stock python-socketio (per-message room emit)")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--loadgen-core", type=int, default=None, help="default: the last core")
    parser.add_argument("--smoke", action="store_true", help="tiny run (~20 s) for CI")
    args = parser.parse_args()
    if args.smoke:
        args.clients, args.duration, args.rates = min(args.clients, 100), 1.5, "10,50"
        args.arrival_rate, args.heart_events = 500.0, 2
    args.rates = [int(r) for r in str(args.rates).split(",") if r]
    cores = os.cpu_count() or 1
    loadgen_core = args.loadgen_core if args.loadgen_core is not None else cores - 1
    if hasattr(os, "sched_setaffinity") and cores > 1:
        os.sched_setaffinity(0, {loadgen_core})
    nofile = raise_nofile(args.clients * 2 + 256)
    if nofile < args.clients + 64:
        raise SystemExit(f"ulimit -n is {nofile}: too low for {args.clients} clients")
    config = (
        f"clients={args.clients} duration={args.duration}s rates={args.rates} "
        f"arrival={args.arrival_rate}/s tick={args.tick_ms}ms server_core={args.server_core} "
        f"loadgen_core={loadgen_core} cpus={cores} nofile={nofile} "
        f"python={platform.python_version()} machine={platform.machine()} "
        f"kernel={platform.release()} node={_node_version()}"
    )
    print("configuration:", config, flush=True)
    results = []
    names = ["innotv", "node"] + (["stock-psio"] if args.stock or args.only == "stock-psio" else [])
    for name in names:
        if args.only and args.only != name:
            continue
        print(f"running {name} ...", flush=True)
        if name == "innotv":
            server = start_innotv(args.server_core, args.tick_ms)
        elif name == "node":
            server = start_node(args.server_core)
        else:
            server = start_stock(args.server_core)
        try:
            results.append(asyncio.run(run_server(server, args)))
        finally:
            server.stop()
        print(table(results[-1:], args), flush=True)
    print()
    print("configuration:", config)
    print(table(results, args))


def _node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return "absent"
    return subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()


if __name__ == "__main__":
    main()
