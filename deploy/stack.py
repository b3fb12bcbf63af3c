"""The whole innotv stack on one machine, for a rehearsal: `deploy/stack up|down|status|nginx-conf`.

`up` starts a redis-server of its own, N `innotv serve` processes on one data directory and
Debian's nginx in front of them (the site file rendered from deploy/nginx/innotv.conf.in, a
self-signed certificate made here unless one is given), all on free or given ports, every process
in its own session with its output in the stack directory. It waits until each answers, then
writes `stack.json` there: ports, PIDs, URLs, log files. `down` stops exactly the PIDs recorded
there (checked against their command lines first, so a reused PID is never signalled): innotv
with SIGTERM (it finishes its broadcasts), nginx with SIGQUIT, Redis with SIGTERM.
`nginx-conf` prints the site file for a real installation (docs/deploy.md).

Tooling, not part of the server: the standard library only, run by deploy/stack.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

DEPLOY = Path(__file__).resolve().parent
REPO = DEPLOY.parent
TEMPLATE = DEPLOY / "nginx" / "innotv.conf.in"
STATE = "stack.json"


# ---- the nginx site file -------------------------------------------------------------------

@dataclass(frozen=True)
class Site:
    """What the nginx template needs; the defaults are those of docs/deploy.md's installation."""

    upstreams: tuple[str, ...] = ("127.0.0.1:8081", "127.0.0.1:8082")
    server_name: str = "innotv.example.org"
    public_url: str = ""  # https://<server_name> when empty
    listen_https: tuple[str, ...] = ("443", "[::]:443")
    listen_http: tuple[str, ...] = ("80", "[::]:80")
    cert: str = "/etc/innotv/tls/fullchain.pem"
    key: str = "/etc/innotv/tls/privkey.pem"
    cache_dir: str = "/var/cache/nginx/innotv"
    cache_max: str = "4g"
    log_dir: str = "/var/log/nginx"
    acme_root: str = "/var/www/acme"
    max_upload_mb: int = 4096

    def render(self) -> str:
        servers = "\n".join(f"    server {u} max_fails=1 fail_timeout=5s;" for u in self.upstreams)
        values = {
            "SERVERS": servers,
            "SERVER_NAME": self.server_name,
            "PUBLIC_URL": (self.public_url or f"https://{self.server_name}").rstrip("/"),
            "LISTEN_HTTPS": "\n".join(f"    listen {a} ssl http2;" for a in self.listen_https),
            "LISTEN_HTTP": "\n".join(f"    listen {a};" for a in self.listen_http),
            "CERT": self.cert,
            "KEY": self.key,
            "CACHE_DIR": self.cache_dir,
            "CACHE_MAX": self.cache_max,
            "LOG_DIR": self.log_dir,
            "ACME_ROOT": self.acme_root,
            "MAX_UPLOAD_MB": str(self.max_upload_mb),
        }
        text = TEMPLATE.read_text(encoding="utf-8")
        for name, value in values.items():
            text = text.replace(f"@@{name}@@", value)
        left = sorted(set(re.findall(r"@@([A-Z_]+)@@", text)))
        if left:
            raise ValueError(f"the nginx template has placeholders this tool does not fill: {left}")
        return text


def main_conf(directory: Path, site: Path, workers: int) -> str:
    """A rehearsal's own nginx.conf: Debian's nginx binary, everything else under `directory`."""
    soft, _hard = _nofile()
    lines = [
        "# Written by deploy/stack for a rehearsal. A real installation keeps Debian's",
        "# /etc/nginx/nginx.conf and puts the site file in sites-enabled (docs/deploy.md).",
        "daemon off;",
        f"worker_processes {workers};",
        f"pid {directory}/nginx.pid;",
        f"error_log {directory}/error.log warn;",
    ]
    if os.geteuid() == 0:  # workers would otherwise run as nobody and could not read our files
        lines.append("user root root;")
    lines += [
        f"events {{ worker_connections {max(1024, min(16384, soft // max(1, workers)))}; }}",
        "http {",
        "    include /etc/nginx/mime.types;",
        "    default_type application/octet-stream;",
        "    sendfile on;",
        "    tcp_nopush on;",
        "    server_tokens off;",
        "    access_log off;",
    ]
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        lines.append(f"    {kind}_temp_path {directory}/tmp/{kind};")
    lines += [f"    include {site};", "}", ""]
    return "\n".join(lines)


# ---- processes ------------------------------------------------------------------------------

@dataclass
class Proc:
    name: str
    pid: int
    port: int
    log: str
    marker: str  # a string the process's command line contains (checked before any signal)
    url: str = ""


@dataclass
class Stack:
    dir: str
    url: str
    http_url: str
    cert: str
    data_dir: str
    redis_url: str
    access_log: str
    innotv: list[Proc] = field(default_factory=list)
    redis: Proc | None = None
    nginx: Proc | None = None

    def procs(self) -> list[Proc]:
        return [*self.innotv, *[p for p in (self.nginx, self.redis) if p is not None]]

    def save(self) -> None:
        path = Path(self.dir) / STATE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)

    @staticmethod
    def load(directory: Path) -> Stack:
        raw: dict[str, Any] = json.loads((directory / STATE).read_text(encoding="utf-8"))
        procs = {k: raw.pop(k) for k in ("innotv", "redis", "nginx")}
        stack = Stack(**raw)
        stack.innotv = [Proc(**p) for p in procs["innotv"]]
        stack.redis = Proc(**procs["redis"]) if procs["redis"] else None
        stack.nginx = Proc(**procs["nginx"]) if procs["nginx"] else None
        return stack


def _nofile() -> tuple[int, int]:
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spawn(name: str, argv: list[str], log: Path, marker: str, port: int, env: dict[str, str] | None = None,
           cwd: Path | None = None) -> Proc:
    with open(log, "wb") as out:  # one run per log: a rehearsal restarted starts clean logs
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=cwd, start_new_session=True)
    return Proc(name, proc.pid, port, str(log), marker)


def alive(proc: Proc) -> bool:
    """Running, not a zombie, and still the process we started (its command line has our marker)."""
    try:
        stat = Path(f"/proc/{proc.pid}/stat").read_text()
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z" and proc.marker in cmdline


def stop(proc: Proc, sig: signal.Signals, wait_s: float) -> str:
    """Signal `proc` if it is still ours, wait for it to go, SIGKILL it after `wait_s`."""
    if not alive(proc):
        return "not running"
    os.kill(proc.pid, sig)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if not alive(proc):
            return "stopped"
        time.sleep(0.05)
    if alive(proc):
        os.kill(proc.pid, signal.SIGKILL)
        return f"killed after {wait_s:.0f} s"
    return "stopped"


def _wait(what: str, check: Callable[[], bool], proc: Proc, within: float) -> None:
    """Poll `check()` until it is true (another process: nothing to await), failing early if the
    process died."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not alive(proc):
            tail = Path(proc.log).read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{what} exited while starting; the end of {proc.log}:\n{tail}")
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer within {within:.0f} s (log: {proc.log})")


def _http_ok(url: str, context: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as resp:
            return int(resp.status) == 200
    except (OSError, urllib.error.URLError):
        return False


def _redis_ok(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _self_signed(tls: Path, name: str) -> tuple[Path, Path]:
    cert, key = tls / "cert.pem", tls / "key.pem"
    if cert.exists() and key.exists():
        return cert, key
    tls.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "30", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name},DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    key.chmod(0o600)
    return cert, key


def _ports(given: str | None, count: int) -> list[int]:
    if not given:
        return [free_port() for _ in range(count)]
    ports = [int(p) for p in given.split(",") if p.strip()]
    if len(ports) != count:
        raise SystemExit(f"--innotv-ports names {len(ports)} ports for {count} processes")
    return ports


# ---- commands -------------------------------------------------------------------------------

def up(args: argparse.Namespace) -> int:
    directory = Path(args.dir).resolve()
    if (directory / STATE).exists() and any(alive(p) for p in Stack.load(directory).procs()):
        print(f"a stack is already running from {directory} (deploy/stack down --dir {directory})",
              file=sys.stderr)
        return 1
    for binary in ("nginx", "redis-server", "openssl"):
        if shutil.which(binary) is None:
            print(f"{binary} is not installed (bash scripts/test installs what is missing)", file=sys.stderr)
            return 1
    for sub in ("logs", "data", "redis", "nginx/tmp", "nginx/cache"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    https_port = args.port or free_port()
    http_port = args.http_port or free_port()
    redis_port = args.redis_port or free_port()
    innotv_ports = _ports(args.innotv_ports, args.processes)
    name = args.server_name
    url = f"https://{name}:{https_port}"
    if args.cert:
        cert, key = Path(args.cert).resolve(), Path(args.key).resolve()
    else:
        cert, key = _self_signed(directory / "tls", name)
    logs = directory / "logs"
    stack = Stack(str(directory), url, f"http://{name}:{http_port}", str(cert), str(directory / "data"),
                  f"redis://127.0.0.1:{redis_port}/0", str(logs / "innotv-access.log"))
    try:
        _start(stack, args, directory, https_port, http_port, redis_port, innotv_ports, key)
    except BaseException:
        for proc in stack.procs():
            stop(proc, signal.SIGKILL, 5)
        raise
    stack.save()
    _report(stack, as_json=args.json)
    return 0


def _start(stack: Stack, args: argparse.Namespace, directory: Path, https_port: int, http_port: int,
           redis_port: int, innotv_ports: list[int], key: Path) -> None:
    logs = Path(stack.access_log).parent
    stack.redis = _spawn(
        "redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--protected-mode", "yes",
                  "--dir", str(directory / "redis"), "--appendonly", "yes", "--appendfsync", "always",
                  "--save", ""],
        logs / "redis.log", str(redis_port), redis_port)  # the title changes; the port stays in it
    stack.save()
    _wait("redis-server", lambda: _redis_ok(redis_port), stack.redis, 10)

    env = dict(os.environ)
    env.update({
        "INNOTV_HOST": "127.0.0.1",
        "INNOTV_DATA_DIR": stack.data_dir,
        "INNOTV_REDIS_URL": stack.redis_url,
        "INNOTV_TRUST_PROXY": "1",
        "INNOTV_PUBLIC_URL": stack.url,
    })
    for index, port in enumerate(innotv_ports):
        argv = [sys.executable, "-m", "innotv", "serve", "--port", str(port)]
        if args.demo and index == 0:
            argv.append("--demo")  # one process plays it; the others would only find it taken
        proc = _spawn(f"innotv-{port}", argv, logs / f"innotv-{port}.log", f"--port {port}", port,
                      {**env, "INNOTV_PORT": str(port)}, cwd=REPO)
        proc.url = f"http://127.0.0.1:{port}"
        stack.innotv.append(proc)
        stack.save()
    for proc in stack.innotv:
        _wait(proc.name, partial(_http_ok, proc.url + "/readyz"), proc, 60)

    site = Site(
        upstreams=tuple(f"127.0.0.1:{p}" for p in innotv_ports), server_name=args.server_name,
        public_url=stack.url, listen_https=(f"127.0.0.1:{https_port}",),
        listen_http=(f"127.0.0.1:{http_port}",), cert=stack.cert, key=str(key),
        cache_dir=str(directory / "nginx" / "cache"), cache_max="1g", log_dir=str(logs),
        acme_root=str(directory / "nginx" / "acme"),
    )
    site_file = directory / "nginx" / "innotv.conf"
    site_file.write_text(site.render(), encoding="utf-8")
    conf = directory / "nginx" / "nginx.conf"
    conf.write_text(main_conf(directory / "nginx", site_file, args.nginx_workers), encoding="utf-8")
    prefix = ["nginx", "-p", str(directory / "nginx"), "-e", str(directory / "nginx" / "error.log"),
              "-c", str(conf)]
    checked = subprocess.run([*prefix, "-t", "-q"], capture_output=True, text=True, timeout=30)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t refused the configuration:\n{checked.stderr}")
    stack.nginx = _spawn("nginx", prefix, logs / "nginx.log", str(conf), https_port)
    stack.nginx.url = stack.url
    stack.save()
    context = ssl.create_default_context(cafile=stack.cert)
    local = f"https://127.0.0.1:{https_port}"
    _wait("nginx", lambda: _http_ok(local + "/readyz", context), stack.nginx, 20)


def _report(stack: Stack, as_json: bool) -> None:
    if as_json:
        print(json.dumps(asdict(stack)))
        return
    print(f"innotv stack is up: open {stack.url}/  (self-signed unless --cert: trust {stack.cert})")
    for proc in stack.innotv:
        print(f"  innotv  pid {proc.pid:>7}  {proc.url}  log {proc.log}")
    for other in (stack.redis, stack.nginx):
        if other is not None:
            print(f"  {other.name:<7} pid {other.pid:>7}  port {other.port}  log {other.log}")
    print(f"  data directory {stack.data_dir}; nginx's upstream log {stack.access_log}")
    links = [line.strip() for proc in stack.innotv
             for line in Path(proc.log).read_text(errors="replace").splitlines() if "/setup#token=" in line]
    if links:  # every process prints one while no producer exists; any of them will do
        print("Create the first producer account (one-time link, 24 h):", links[0])
    print(f"Stop it with: deploy/stack down --dir {stack.dir}")


def down(args: argparse.Namespace) -> int:
    directory = Path(args.dir).resolve()
    if not (directory / STATE).exists():
        print(f"no stack in {directory}", file=sys.stderr)
        return 1
    stack = Stack.load(directory)
    # innotv first (it finishes recordings and closes sockets), then the proxy, then the store.
    for proc in stack.innotv:
        print(f"{proc.name}: {stop(proc, signal.SIGTERM, 20)}")
    if stack.nginx is not None:
        print(f"nginx: {stop(stack.nginx, signal.SIGQUIT, 10)}")
    if stack.redis is not None:
        print(f"redis: {stop(stack.redis, signal.SIGTERM, 10)}")
    if args.purge:
        shutil.rmtree(directory)
        print(f"removed {directory}")
    else:
        (directory / STATE).unlink()
        print(f"kept {directory} (data, logs, certificate); --purge removes it")
    return 0


def status(args: argparse.Namespace) -> int:
    directory = Path(args.dir).resolve()
    if not (directory / STATE).exists():
        print(f"no stack in {directory}")
        return 1
    stack = Stack.load(directory)
    running = 0
    for proc in stack.procs():
        state = "running" if alive(proc) else "gone"
        running += state == "running"
        print(f"{proc.name:<14} pid {proc.pid:>7}  port {proc.port:>5}  {state}")
    print(stack.url)
    return 0 if running == len(stack.procs()) else 3


def nginx_conf(args: argparse.Namespace) -> int:
    defaults = Site()
    site = Site(
        upstreams=tuple(args.upstream or defaults.upstreams),
        server_name=args.server_name, public_url=args.public_url or "",
        listen_https=tuple(args.listen or defaults.listen_https),
        listen_http=tuple(args.http_listen or defaults.listen_http),
        cert=args.cert, key=args.key, cache_dir=args.cache_dir, cache_max=args.cache_max,
        log_dir=args.log_dir, acme_root=args.acme_root, max_upload_mb=args.max_upload_mb,
    )
    sys.stdout.write(site.render())
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="deploy/stack", description=__doc__.split("\n\n")[0])
    sub = top.add_subparsers(dest="command", required=True)
    default_dir = str(REPO / ".stack")

    p = sub.add_parser("up", help="start redis, N innotv processes and nginx; wait until all answer")
    p.add_argument("--dir", default=default_dir, help="where state, data, logs and certificate go")
    p.add_argument("--processes", type=int, default=2, help="innotv processes (default 2)")
    p.add_argument("--port", type=int, help="nginx's https port (default: a free one)")
    p.add_argument("--http-port", type=int, help="nginx's http port, redirecting to https")
    p.add_argument("--innotv-ports", help="comma-separated ports of the innotv processes")
    p.add_argument("--redis-port", type=int)
    p.add_argument("--server-name", default="localhost")
    p.add_argument("--cert", help="certificate (PEM, full chain); default: a self-signed one made here")
    p.add_argument("--key", help="its private key (with --cert)")
    p.add_argument("--nginx-workers", type=int, default=2)
    p.add_argument("--demo", action="store_true", help="the first innotv process plays the demo broadcast")
    p.add_argument("--json", action="store_true", help="print stack.json's content instead of a summary")
    p.set_defaults(run=up)

    p = sub.add_parser("down", help="stop what `up` started, by PID")
    p.add_argument("--dir", default=default_dir)
    p.add_argument("--purge", action="store_true", help="also remove the stack directory")
    p.set_defaults(run=down)

    p = sub.add_parser("status", help="which of the stack's processes run (exit 3 if any is gone)")
    p.add_argument("--dir", default=default_dir)
    p.set_defaults(run=status)

    d = Site()
    p = sub.add_parser("nginx-conf", help="print the nginx site file for a real installation")
    p.add_argument("--upstream", action="append", help=f"an innotv process, repeated (default {d.upstreams})")
    p.add_argument("--server-name", default=d.server_name)
    p.add_argument("--public-url", help="the https address people open (default https://<server-name>)")
    p.add_argument("--listen", action="append",
                   help=f"https listen address, repeated (default {d.listen_https})")
    p.add_argument("--http-listen", action="append", help=f"http listen address (default {d.listen_http})")
    p.add_argument("--cert", default=d.cert)
    p.add_argument("--key", default=d.key)
    p.add_argument("--cache-dir", default=d.cache_dir)
    p.add_argument("--cache-max", default=d.cache_max)
    p.add_argument("--log-dir", default=d.log_dir)
    p.add_argument("--acme-root", default=d.acme_root, help="where certbot --webroot writes challenges")
    p.add_argument("--max-upload-mb", type=int, default=d.max_upload_mb,
                   help="keep equal to INNOTV_LIVE_MAX_UPLOAD_MB")
    p.set_defaults(run=nginx_conf)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "up" and bool(args.cert) != bool(args.key):
        print("--cert and --key go together", file=sys.stderr)
        return 2
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
