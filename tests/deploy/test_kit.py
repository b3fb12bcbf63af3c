"""The deployment kit's files are valid for the programs that read them: the nginx site file, as
`deploy/stack nginx-conf` renders it for a real installation, passes `nginx -t` inside Debian's own
nginx.conf (its modules, its http-level settings), and the systemd units pass
`systemd-analyze verify` without a warning."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "deploy" / "stack"
UNITS = ROOT / "deploy" / "systemd"
DEBIAN_CONF = Path("/etc/nginx/nginx.conf")


def _stack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(STACK), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "INNOTV_PYTHON": sys.executable})


def _certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "fullchain.pem", directory / "privkey.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=innotv.example.org", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def _debian_nginx_conf(tmp_path: Path, site: Path) -> Path:
    """Debian's nginx.conf with our site file where sites-enabled/* is included, and its pid and
    log files moved into `tmp_path` (nothing else changed)."""
    text = DEBIAN_CONF.read_text()
    assert "include /etc/nginx/sites-enabled/*;" in text, "Debian's nginx.conf changed its layout"
    text = text.replace("include /etc/nginx/sites-enabled/*;", f"include {site};")
    text = text.replace("/var/log/nginx", str(tmp_path / "log"))
    text = text.replace("/run/nginx.pid", str(tmp_path / "pid"))
    (tmp_path / "log").mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    return conf


def test_the_site_file_passes_nginx_t_in_debians_nginx_conf(tmp_path: Path) -> None:
    if not DEBIAN_CONF.exists():
        pytest.fail("Debian's nginx is not installed (bash scripts/test installs it)")
    cert, key = _certificate(tmp_path)
    rendered = _stack("nginx-conf", "--upstream", "127.0.0.1:8081", "--upstream", "127.0.0.1:8082",
                      "--upstream", "127.0.0.1:8083", "--server-name", "innotv.example.org",
                      "--cert", str(cert), "--key", str(key), "--cache-dir", str(tmp_path / "cache"),
                      "--log-dir", str(tmp_path / "log"))
    assert rendered.returncode == 0, rendered.stderr
    site = tmp_path / "innotv.conf"
    site.write_text(rendered.stdout)
    conf = _debian_nginx_conf(tmp_path, site)
    checked = subprocess.run(["nginx", "-t", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr
    assert "[warn]" not in checked.stderr, checked.stderr


def test_nginx_t_refuses_a_site_file_naming_a_missing_certificate(tmp_path: Path) -> None:
    """The check above has teeth: the same rendering with a certificate that is not there fails."""
    rendered = _stack("nginx-conf", "--cert", str(tmp_path / "missing.pem"), "--key", str(tmp_path / "k.pem"),
                      "--cache-dir", str(tmp_path / "cache"), "--log-dir", str(tmp_path / "log"))
    site = tmp_path / "innotv.conf"
    site.write_text(rendered.stdout)
    conf = _debian_nginx_conf(tmp_path, site)
    checked = subprocess.run(["nginx", "-t", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert checked.returncode != 0 and "missing.pem" in checked.stderr


def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """Verified offline. The units name /opt/innotv/.venv/bin/innotv, which does not exist on a test
    machine: in the copy checked here that path, and only it, points to an executable stub."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian: the systemd package)")
    stub = tmp_path / "innotv"
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    for unit in UNITS.iterdir():
        text = unit.read_text().replace("/opt/innotv/.venv/bin/innotv", str(stub))
        (tmp_path / unit.name).write_text(text)
    names = ["innotv@8081.service", "innotv@8082.service", "innotv.target", "innotv-redis.service"]
    checked = subprocess.run(["systemd-analyze", "verify", *(str(tmp_path / n) for n in names)],
                             capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "" and checked.stderr.strip() == "", checked.stderr


def test_the_redis_configuration_starts_a_redis_server(tmp_path: Path) -> None:
    """deploy/redis/innotv-redis.conf with only its port and directory changed (a test cannot use
    6380 and /var/lib): Redis accepts every line and answers with AOF on and eviction off."""
    import redis

    from tests.helpers import free_port

    port = free_port()
    text = (ROOT / "deploy" / "redis" / "innotv-redis.conf").read_text()
    assert "\nport 6380\n" in text and "\ndir /var/lib/innotv-redis\n" in text
    conf = tmp_path / "redis.conf"
    conf.write_text(text.replace("\nport 6380\n", f"\nport {port}\n")
                    .replace("\ndir /var/lib/innotv-redis\n", f"\ndir {tmp_path}\n"))
    proc = subprocess.Popen(["redis-server", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        client = redis.Redis(port=port, socket_timeout=2, decode_responses=True)
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                raise AssertionError(proc.stdout.read().decode() if proc.stdout else "redis-server exited")
            try:
                assert client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not answer"
                time.sleep(0.05)
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
