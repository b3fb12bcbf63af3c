"""Programs, accounts and stream keys survive `kill -9` of a real server and its restart, on both backends."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import aiohttp
import pytest

from innotv.cli import opened
from innotv.config import load_config
from live.keys import StreamKeys, make_stream_key_store
from tests.helpers import spawn_server

from .util import body, seoul


async def _add_producer(data_dir: Path, redis_url: str | None, prefix: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNOTV_")}
    env.update({"INNOTV_DATA_DIR": str(data_dir), "INNOTV_LOG_LEVEL": "WARNING"})
    if redis_url and prefix:
        env.update({"INNOTV_REDIS_URL": redis_url, "INNOTV_REDIS_PREFIX": prefix})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "innotv", "user", "add", "prod", "--role", "producer", "--password-stdin",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    _, err = await asyncio.wait_for(proc.communicate(b"producer-password-1\n"), 60)
    assert proc.returncode == 0, err.decode()


async def test_programs_accounts_and_keys_survive_kill9(
    backend_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    redis_url = request.getfixturevalue("redis_server").url if backend_kind == "redis" else None
    prefix = f"t{uuid.uuid4().hex[:10]}:" if redis_url else None
    data_dir = tmp_path / "data"
    await _add_producer(data_dir, redis_url, prefix)
    server = spawn_server(data_dir, redis_url, prefix)
    try:
        await server.wait_ready()
        jar = aiohttp.CookieJar(unsafe=True)  # cookies from 127.0.0.1
        origin = {"Origin": server.url}
        async with aiohttp.ClientSession(base_url=server.url, headers=origin, cookie_jar=jar) as client:
            login = {"username": "prod", "password": "producer-password-1"}
            async with client.post("/api/session", json=login) as r:
                assert r.status == 200
            async with client.post("/api/programs", json=body(seoul(2030, 12, 2, 14), 90)) as r:
                assert r.status == 201
                created = await r.json()
            edit = {"version": 1, "title": "수정됨"}
            async with client.patch(f"/api/programs/{created['id']}", json=edit) as r:
                assert r.status == 200
                edited = await r.json()
            async with client.post(f"/api/programs/{created['id']}/stream-key") as r:
                assert r.status == 200
                stream_key = (await r.json())["stream_key"]
        server.kill9()
        server = spawn_server(data_dir, redis_url, prefix)
        await server.wait_ready()
        jar = aiohttp.CookieJar(unsafe=True)
        origin = {"Origin": server.url}
        async with aiohttp.ClientSession(base_url=server.url, headers=origin, cookie_jar=jar) as client:
            async with client.get("/api/programs") as r:
                assert (await r.json())["programs"] == [edited]
            async with client.post("/api/session", json=login) as r:
                assert r.status == 200  # the account survived
        config = load_config(
            {"data_dir": str(data_dir), "redis_url": redis_url, "redis_prefix": prefix}, environ={}
        )
        async with opened(config) as (kernel, _auth):
            keys = StreamKeys(make_stream_key_store(kernel.backend))
            assert await keys.verify(created["id"], stream_key)
            assert not await keys.verify(created["id"], stream_key + "x")
    finally:
        server.kill9()
