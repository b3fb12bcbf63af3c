"""Hearts are exact from 50 clients and reach viewers within 500 ms at <= 5 updates a second;
halls are rooms with persistent comments (older pages over REST) ranked by hearts."""

from __future__ import annotations

import asyncio
import time

from tests.chat.clients import HALL, viewer
from tests.helpers import Server


async def test_hearts_exact_from_50_clients(server: Server) -> None:
    clients = await asyncio.gather(*(viewer(server) for _ in range(50)))
    try:
        await asyncio.gather(*(c.join() for c in clients))
        counts = [(i % 10) + 1 for i in range(50)]
        rounds = 3
        for _ in range(rounds):
            acks = await asyncio.gather(
                *(c.call("heart", {"room": HALL, "count": n}) for c, n in zip(clients, counts, strict=True))
            )
            assert all(a == {"ok": True} for a in acks)
        expected = sum(counts) * rounds
        sent_at = time.monotonic()
        final = await clients[0].rec.wait_for("hearts", lambda d: d["total"] == expected, wait_s=5)
        assert time.monotonic() - sent_at < 0.5 + 0.2
        assert final["per_minute"] >= 1
        # nobody ever saw more than the exact total, and updates were at most ~5/s
        updates = clients[1].rec.all("hearts")
        assert max(u["total"] for u in updates) == expected or (
            await clients[1].rec.wait_for("hearts", lambda d: d["total"] == expected)
        )
        assert all(u["total"] <= expected for u in clients[2].rec.all("hearts"))
        # the store agrees
        joined = await clients[3].call("join", {"room": HALL})
        assert joined["hearts"]["total"] == expected
    finally:
        await asyncio.gather(*(c.close() for c in clients))


async def test_hearts_rate_is_bounded(server: Server) -> None:
    a = await viewer(server)
    b = await viewer(server)
    try:
        await a.join()
        await b.join()
        start = time.monotonic()
        total = 0
        while time.monotonic() - start < 1.2:
            ack = await a.call("heart", {"room": HALL, "count": 1})
            if ack["ok"]:
                total += 1
            await b.rec.wait_for("hearts", lambda d, t=total: d["total"] >= t)
        updates = b.rec.all("hearts")
        span = time.monotonic() - start
        assert len(updates) <= span * 5 + 2
    finally:
        await a.close()
        await b.close()


async def test_halls_ranking_and_comment_pages(server: Server) -> None:
    client = server.client()
    async with client.get("/api/halls") as r:
        body = await r.json()
    assert r.status == 200
    assert [h["id"] for h in body["halls"]][:4] == [
        "social-value", "digital-services", "participation", "regional"]
    assert {h["name"] for h in body["halls"]} >= {"사회적 가치", "지역혁신", "성과관", "실패박람회관"}
    assert next(h for h in body["halls"] if h["id"] == "regional")["cases"] == 17

    fan = await viewer(server)
    fan2 = await viewer(server)
    try:
        await fan.join("hall:failure-expo")
        await fan.join("hall:regional")
        await fan2.join("hall:failure-expo")
        assert (await fan.call("heart", {"room": "hall:failure-expo", "count": 10}))["ok"]
        assert (await fan2.call("heart", {"room": "hall:failure-expo", "count": 3}))["ok"]
        assert (await fan.call("heart", {"room": "hall:regional", "count": 5}))["ok"]
        await fan.rec.wait_for("hearts", lambda d: d["room"] == "hall:failure-expo" and d["total"] == 13)
        await fan.rec.wait_for("hearts", lambda d: d["room"] == "hall:regional" and d["total"] == 5)
        async with client.get("/api/halls") as r:
            ranked = (await r.json())["halls"]
        assert [(h["id"], h["hearts"], h["rank"]) for h in ranked[:2]] == [
            ("failure-expo", 13, 1), ("regional", 5, 2)]

        ids = []
        for i in range(4):
            ids.append((await fan.call("chat", {"room": "hall:regional", "text": f"c{i}"}))["id"])
        async with client.get("/api/halls/regional/comments?limit=2") as r:
            page = await r.json()
        assert [c["id"] for c in page["comments"]] == ids[2:]
        async with client.get(f"/api/halls/regional/comments?limit=2&before={page['next_before']}") as r:
            older = await r.json()
        assert [c["text"] for c in older["comments"]] == ["c0", "c1"]
        async with client.get("/api/halls/nope/comments") as r:
            assert r.status == 404 and (await r.json())["error"]["code"] == "unknown_hall"
        async with client.get("/api/halls/regional/comments?before=x';--") as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_before"
        async with client.get("/api/halls/regional/comments?limit=100000") as r:
            assert r.status == 400
        bad = await fan.call("join", {"room": "hall:nope"})
        assert bad["ok"] is False and bad["error"]["code"] == "unknown_room"
    finally:
        await fan.close()
        await fan2.close()
