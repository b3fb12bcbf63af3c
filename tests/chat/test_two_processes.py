"""With Redis, two `innotv serve` processes on different ports are one chat: messages, deletions,
hearts, viewer counts and poll votes agree across them."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import aiohttp

from tests.chat.clients import HALL, ChatClient, connect, cookie_header
from tests.helpers import PRODUCER, RedisServer, spawn_server


async def _client(url: str, sessions: list[aiohttp.ClientSession], login: bool = False) -> ChatClient:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Origin": url})
    sessions.append(session)
    async with session.get(url + "/api/session") as r:
        assert r.status == 200
    if login:
        async with session.post(url + "/api/session",
                                json={"username": PRODUCER[0], "password": PRODUCER[1]}) as r:
            assert r.status == 200, await r.text()
    return await connect(url, cookies=cookie_header(session, url))


async def test_two_processes_are_one_chat(redis_server: RedisServer, tmp_path: Path) -> None:
    prefix = f"two{uuid.uuid4().hex[:8]}:"
    # Every tap counts here (the hall's one-heart-a-day rule has its own tests): taps add up exactly.
    taps = {"INNOTV_CHAT_HALL_HEARTS_PER_DAY": "0"}
    one = spawn_server(tmp_path / "a", redis_server.url, prefix, extra_env=taps)
    two = spawn_server(tmp_path / "b", redis_server.url, prefix, extra_env=taps)
    sessions: list[aiohttp.ClientSession] = []
    try:
        await asyncio.gather(one.wait_ready(), two.wait_ready())
        from innotv.cli import opened
        from innotv.config import load_config

        config = load_config({"redis_url": redis_server.url, "redis_prefix": prefix,
                              "data_dir": str(tmp_path / "c")}, environ={})
        async with opened(config) as (_kernel, auth):
            await auth.add_user(PRODUCER[0], "producer", PRODUCER[1])

        a = await _client(one.url, sessions)
        b = await _client(two.url, sessions)
        mod = await _client(two.url, sessions, login=True)
        for c in (a, b, mod):
            await c.join()
        # messages both ways
        ack = await a.call("chat", {"room": HALL, "text": "from one"})
        got = await b.wait_message("from one")
        assert got["id"] == ack["id"]
        ack2 = await b.call("chat", {"room": HALL, "text": "from two"})
        assert (await a.wait_message("from two"))["id"] == ack2["id"]
        # a deletion made on two reaches one
        assert (await mod.call("mod:delete", {"room": HALL, "id": ack["id"]}))["ok"]
        await a.rec.wait_for("deleted", lambda d: d["ids"] == [ack["id"]])
        # hearts from both add up, both see the same total
        await asyncio.gather(a.call("heart", {"room": HALL, "count": 6}),
                             b.call("heart", {"room": HALL, "count": 4}))
        await a.rec.wait_for("hearts", lambda d: d["total"] == 10)
        await b.rec.wait_for("hearts", lambda d: d["total"] == 10)
        # viewer counts agree: two viewers over two processes (the producer's is no viewer)
        await a.rec.wait_for("viewers", lambda d: d["count"] == 2, wait_s=5)
        await b.rec.wait_for("viewers", lambda d: d["count"] == 2, wait_s=5)
        # a poll opened on two is votable on one, once per viewer, counted exactly
        opened = await mod.call("poll:open", {"room": HALL, "question": "Q", "choices": ["x", "y"]})
        poll_id = opened["poll"]["id"]
        await a.rec.wait_for("poll", lambda d: d["id"] == poll_id)
        assert (await a.call("vote", {"room": HALL, "poll_id": poll_id, "choice": 1}))["ok"]
        assert (await b.call("vote", {"room": HALL, "poll_id": poll_id, "choice": 1}))["ok"]
        live = await mod.rec.wait_for("poll", lambda d: d.get("counts") == [0, 2])
        assert live["id"] == poll_id
        # slow mode set on two applies on one
        assert (await mod.call("mod:slow", {"room": HALL, "seconds": 30}))["ok"]
        await a.rec.wait_for("slow", lambda d: d["seconds"] == 30)
        # (a chatted seconds ago, so slow mode already holds a's next message on process one)
        assert (await a.call("chat", {"room": HALL, "text": "too soon"}))["error"]["code"] == "slow_mode"
        for c in (a, b, mod):
            await c.close()
    finally:
        one.kill9()
        two.kill9()
        for s in sessions:
            await s.close()
