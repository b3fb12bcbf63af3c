"""History and `since` recovery: after a disconnect, and after a kill -9 of the server process,
on both stores; deletions missed are reported, a message deleted meanwhile does not come back,
a retry with the same client_id is stored once, and an unknown point answers recovered: false."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import aiohttp
import pytest

from tests.chat.clients import HALL, ChatClient, connect, cookie_header, host, viewer
from tests.helpers import RedisServer, Server, spawn_server


async def test_since_recovery_after_disconnect(server: Server) -> None:
    alice = await viewer(server)
    mod = await host(server)
    try:
        await alice.join()
        await mod.join()
        first = (await alice.call("chat", {"room": HALL, "text": "before"}))["id"]
        doomed_old = (await alice.call("chat", {"room": HALL, "text": "old doomed"}))["id"]
        bob = await viewer(server)
        seen = await bob.join()
        last_seen = seen["messages"][-1]["id"]
        assert last_seen == doomed_old
        await bob.close()
        # missed while away: two messages, one of them deleted meanwhile, and a deletion of an
        # old message bob had seen
        kept = (await alice.call("chat", {"room": HALL, "text": "missed 1"}))["id"]
        gone = (await alice.call("chat", {"room": HALL, "text": "missed and deleted"}))["id"]
        assert (await mod.call("mod:delete", {"room": HALL, "id": gone}))["ok"]
        assert (await mod.call("mod:delete", {"room": HALL, "id": doomed_old}))["ok"]
        kept2 = (await alice.call("chat", {"room": HALL, "text": "missed 2"}))["id"]
        back = await viewer(server)
        ack = await back.join(HALL, since=last_seen)
        assert ack["recovered"] is True
        assert [m["id"] for m in ack["messages"]] == [kept, kept2]
        assert ack["deleted"] == [doomed_old]
        # without since: the snapshot has no deleted message
        fresh = await viewer(server)
        snap = await fresh.join()
        assert [m["id"] for m in snap["messages"]] == [first, kept, kept2]
        # an id that is not in this room: recovered false and the latest snapshot
        other = await viewer(server)
        ack2 = await other.join(HALL, since="999999999" if server.parts.kernel.backend.kind == "sqlite"
                                else "1-0:0")
        assert ack2["recovered"] is False
        assert [m["id"] for m in ack2["messages"]] == [first, kept, kept2]
        for c in (back, fresh, other):
            await c.close()
    finally:
        await alice.close()
        await mod.close()


async def test_client_id_retry_is_stored_once(server: Server) -> None:
    alice = await viewer(server)
    watcher = await viewer(server)
    try:
        await alice.join()
        await watcher.join()
        first, second = await asyncio.gather(
            alice.call("chat", {"room": HALL, "text": "once", "client_id": "c-1"}),
            alice.call("chat", {"room": HALL, "text": "once", "client_id": "c-1"}),
        )
        assert first["ok"] and second["ok"] and first["id"] == second["id"]
        # a later retry (next tick) also gets the same id
        third = await alice.call("chat", {"room": HALL, "text": "once", "client_id": "c-1"})
        assert third["id"] == first["id"]
        other = await alice.call("chat", {"room": HALL, "text": "twice", "client_id": "c-2"})
        await watcher.wait_message("twice")
        assert [m["text"] for m in watcher.messages()].count("once") == 1
        snap = await (await viewer(server)).join()
        assert [m["text"] for m in snap["messages"]] == ["once", "twice"]
        assert other["id"] != first["id"]
    finally:
        await alice.close()
        await watcher.close()


async def _viewer_of(url: str) -> tuple[ChatClient, aiohttp.ClientSession]:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.get(url + "/api/session") as r:
        assert r.status == 200
    client = await connect(url, cookies=cookie_header(session, url))
    return client, session


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_no_acknowledged_message_lost_on_kill9(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    redis_url = prefix = None
    if kind == "redis":
        redis: RedisServer = request.getfixturevalue("redis_server")
        redis_url, prefix = redis.url, f"k{uuid.uuid4().hex[:8]}:"
    data = tmp_path / "data"
    taps = {"INNOTV_CHAT_HALL_HEARTS_PER_DAY": "0"}  # every tap counts: 7 taps are 7 hearts
    proc = spawn_server(data, redis_url, prefix, extra_env=taps)
    sessions: list[aiohttp.ClientSession] = []
    try:
        await proc.wait_ready()
        writers = []
        for _ in range(4):
            client, session = await _viewer_of(proc.url)
            sessions.append(session)
            await client.join()
            writers.append(client)
        alice = writers[0]
        acks = await asyncio.gather(
            *(w.call("chat", {"room": HALL, "text": f"n{w_i}-{i}", "client_id": f"id{i}"})
              for w_i, w in enumerate(writers) for i in range(5))
        )
        assert all(a["ok"] for a in acks)
        acked = [a["id"] for a in acks]
        hearts = await alice.call("heart", {"room": HALL, "count": 7})
        assert hearts["ok"]
        await alice.rec.wait_for("hearts", lambda d: d["total"] == 7)
        proc.kill9()
        for w in writers:
            await w.close()
        proc = spawn_server(data, redis_url, prefix, extra_env=taps)
        await proc.wait_ready()
        bob, s2 = await _viewer_of(proc.url)
        sessions.append(s2)
        first = min(acked, key=lambda i: [int(x) for x in i.replace("-", ":").split(":")])
        ack = await bob.call("join", {"room": HALL, "since": first})
        assert ack["recovered"] is True
        assert sorted(m["id"] for m in ack["messages"]) == sorted(set(acked) - {first})
        snap = await bob.call("join", {"room": HALL})
        assert set(acked) <= {m["id"] for m in snap["messages"]}
        assert snap["hearts"]["total"] == 7
        # a retry of an acknowledged message after the crash is not stored twice
        retry = await bob.call("chat", {"room": HALL, "text": "n0-3", "client_id": "id3"})
        assert retry["ok"] and retry["id"] != acked[3]  # bob is another viewer: his own id3
        again = await bob.call("chat", {"room": HALL, "text": "n0-3", "client_id": "id3"})
        assert again["id"] == retry["id"]
        # alice (same viewer cookie) retries her acknowledged id3 after the crash: same id back
        alice2 = await connect(proc.url, cookies=cookie_header(sessions[0], proc.url))
        await alice2.join()
        same = await alice2.call("chat", {"room": HALL, "text": "n0-3", "client_id": "id3"})
        assert same == {"ok": True, "id": acked[3]}
        await alice2.close()
        await bob.close()
    finally:
        proc.kill9()
        for s in sessions:
            await s.close()
