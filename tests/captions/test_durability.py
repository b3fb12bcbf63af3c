"""An acknowledged caption line is never lost: the server is killed with SIGKILL right after the
acks, and the restarted server has every line (on SQLite and on Redis). The accounts are made
with the real command line (`innotv user add NAME --role captioner`)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from tests.chat.clients import connect
from tests.helpers import RedisServer, cookie_header, spawn_server


def add_user(data: Path, name: str, role: str, password: str, redis_url: str | None,
             prefix: str | None) -> str:
    args = [sys.executable, "-m", "innotv", "user", "add", name, "--role", role, "--password-stdin",
            "--data-dir", str(data)]
    if redis_url:
        args += ["--redis-url", redis_url]
    env = {"INNOTV_REDIS_PREFIX": prefix} if prefix else {}
    done = subprocess.run(args, input=password + "\n", capture_output=True, text=True, timeout=60,
                          env={**{k: v for k, v in os.environ.items() if not k.startswith("INNOTV_")}, **env})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


async def login(url: str, name: str, password: str) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Origin": url})
    async with session.post(url + "/api/session", json={"username": name, "password": password}) as r:
        assert r.status == 200, await r.text()
    return session


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_no_acknowledged_caption_is_lost_on_kill9(kind: str, tmp_path: Path,
                                                        request: pytest.FixtureRequest) -> None:
    redis_url = prefix = None
    if kind == "redis":
        redis: RedisServer = request.getfixturevalue("redis_server")
        redis_url, prefix = redis.url, f"c{uuid.uuid4().hex[:8]}:"
    data = tmp_path / "data"
    made = add_user(data, "prod", "producer", "producer-password-1", redis_url, prefix)
    assert made == "created producer prod"
    assert add_user(data, "steno", "captioner", "captioner-password-1", redis_url, prefix) \
        == "created captioner steno"
    proc = spawn_server(data, redis_url, prefix)
    sessions: list[aiohttp.ClientSession] = []
    try:
        await proc.wait_ready()
        producer = await login(proc.url, "prod", "producer-password-1")
        sessions.append(producer)
        ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        async with producer.post(proc.url + "/api/programs", json={
                "title": "자막 보존", "kind": "live", "starts_at": "now", "ends_at": ends}) as r:
            assert r.status == 201, await r.text()
            program_id = (await r.json())["id"]
        steno = await login(proc.url, "steno", "captioner-password-1")
        sessions.append(steno)
        client = await connect(proc.url, cookies=cookie_header(steno, proc.url))
        room = f"program:{program_id}"
        await client.join(room)
        acks = []
        for i in range(8):  # one after another, as a captioner types
            acks.append(await client.call("caption", {"room": room, "text": f"줄 {i}", "client_id": f"k{i}"}))
        assert all(a["ok"] for a in acks)
        proc.kill9()
        await client.close()
        proc = spawn_server(data, redis_url, prefix)
        await proc.wait_ready()
        async with aiohttp.ClientSession() as anyone:
            async with anyone.get(f"{proc.url}/api/programs/{program_id}/captions") as r:
                items = (await r.json())["items"]
        assert [(i["id"], i["text"]) for i in items] == [(a["id"], f"줄 {n}") for n, a in enumerate(acks)]
    finally:
        for session in sessions:
            await session.close()
        proc.kill9()
