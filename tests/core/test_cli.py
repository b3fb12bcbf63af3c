"""The command line: flags and INNOTV_* variables, clear errors, `user add`, graceful SIGTERM,
the version."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from innotv import __version__ as innotv_version
from tests.helpers import spawn_server


def innotv(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INNOTV_")}
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "innotv", *args], input=stdin, capture_output=True, text=True,
        env=clean, timeout=60, check=False,
    )


def test_bad_flags_and_variables_give_one_clear_line(tmp_path: Path) -> None:
    result = innotv("serve", "--port", "abc")
    assert result.returncode == 2
    assert "invalid int value" in result.stderr
    result = innotv("serve", "--data-dir", str(tmp_path), env={"INNOTV_PORT": "70000"})
    assert result.returncode == 2
    assert result.stderr.strip() == "innotv: port: 70000 is outside 1-65535"
    result = innotv("serve", "--redis-url", "http://nope")
    assert result.returncode == 2
    assert "redis_url" in result.stderr
    assert "Traceback" not in result.stderr


def test_user_add_from_stdin_and_refusals(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    ok = innotv("user", "add", "anna", "--role", "host", "--password-stdin", "--data-dir", data,
                stdin="anna-password-1\n")
    assert ok.returncode == 0, ok.stderr
    assert "created host anna" in ok.stdout
    assert "anna-password-1" not in ok.stdout + ok.stderr
    dup = innotv("user", "add", "anna", "--role", "producer", "--password-stdin", "--data-dir", data,
                 stdin="anna-password-2\n")
    assert dup.returncode == 1
    assert "taken" in dup.stderr
    short = innotv("user", "add", "bob", "--role", "host", "--password-stdin", "--data-dir", data,
                   stdin="short\n")
    assert short.returncode == 1
    assert "password" in short.stderr
    bad_role = innotv("user", "add", "bob", "--role", "admin", "--password-stdin", "--data-dir", data)
    assert bad_role.returncode == 2


async def test_serve_prints_link_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    server = spawn_server(tmp_path / "data", extra_env={"INNOTV_LOG_LEVEL": "INFO"})
    try:
        await server.wait_ready()
        async with aiohttp.ClientSession() as session, session.get(server.url + "/api/session") as r:
            assert r.status == 200
        out = server.output()
        assert f"open {server.url.replace('127.0.0.1', 'localhost')}/" in out
        assert "/setup#token=" in out
        token = out.split("/setup#token=")[1].split()[0]
        # The one-time token is printed for the person, never written into a log line.
        log_lines = [line for line in out.splitlines() if line.startswith("{")]
        assert log_lines and not any(token in line for line in log_lines)
        # which version answers: in the startup line, /healthz and `innotv --version`
        listening = next(json.loads(line) for line in log_lines if '"msg": "listening"' in line)
        assert listening["version"] == innotv_version
        async with aiohttp.ClientSession() as session, session.get(server.url + "/healthz") as r:
            assert (await r.json()) == {"ok": True, "version": innotv_version}
        shown = innotv("--version")
        assert shown.returncode == 0 and shown.stdout.strip() == f"innotv {innotv_version}"
        os.kill(server.proc.pid, signal.SIGTERM)
        assert server.proc.wait(timeout=15) == 0
        assert '"msg": "stopped"' in server.output()
    finally:
        server.kill9()


def test_halls_template_is_a_file_the_server_takes(tmp_path: Path) -> None:
    """The operator's way to name the halls' cases: print the template, edit it, point to it."""
    import json

    printed = innotv("halls", "template")
    assert printed.returncode == 0, printed.stderr
    halls = json.loads(printed.stdout)
    assert {k: len(v) for k, v in halls.items()} == {
        "social-value": 11, "digital-services": 11, "participation": 11, "regional": 17,
        "achievements": 0, "failure-expo": 0}
    halls["achievements"] = [{"title": "국민비서 구삐", "agency": "행정안전부"}]
    edited = tmp_path / "halls.json"
    edited.write_text(json.dumps(halls, ensure_ascii=False))
    again = innotv("halls", "template", env={"INNOTV_CHAT_HALLS_FILE": str(edited)})
    assert json.loads(again.stdout)["achievements"] == [{"title": "국민비서 구삐", "agency": "행정안전부"}]
    edited.write_text('{"achievements": [{"title": "x", "url": "javascript:alert(1)"}]}')
    bad = innotv("halls", "template", env={"INNOTV_CHAT_HALLS_FILE": str(edited)})
    assert bad.returncode == 2 and "achievements case 1: 'url'" in bad.stderr
    assert "Traceback" not in bad.stderr
