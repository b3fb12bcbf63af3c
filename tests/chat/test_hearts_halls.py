"""Hearts are exact from 50 clients and reach viewers within 500 ms at <= 5 updates a second;
halls are rooms with persistent comments (older pages over REST) ranked by hearts, a popularity
vote where each viewer's hearts count once per hall per Seoul day; each hall lists its cases."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from innotv.config import Config, ConfigError
from kernel.clock import ManualClock
from tests.chat.clients import HALL, connect, viewer, viewer_cookies
from tests.chat.conftest import close_all
from tests.helpers import Server, running_server, with_settings


@pytest.fixture
async def tapping(config: Config) -> AsyncIterator[Server]:
    """Every tap counts (`chat_hall_hearts_per_day=0`): the counting pipeline itself, in a hall."""
    async with running_server(with_settings(config, chat_hall_hearts_per_day=0)) as srv:
        try:
            yield srv
        finally:
            await close_all()


async def test_hearts_exact_from_50_clients(tapping: Server) -> None:
    server = tapping
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


async def test_hearts_rate_is_bounded(tapping: Server) -> None:
    server = tapping
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
        # Ten taps of one viewer count once; another viewer's count too.
        assert (await fan.call("heart", {"room": "hall:failure-expo", "count": 10}))["counted"] == 1
        assert (await fan2.call("heart", {"room": "hall:failure-expo", "count": 3}))["counted"] == 1
        assert (await fan.call("heart", {"room": "hall:regional", "count": 5}))["counted"] == 1
        await fan.rec.wait_for("hearts", lambda d: d["room"] == "hall:failure-expo" and d["total"] == 2)
        await fan.rec.wait_for("hearts", lambda d: d["room"] == "hall:regional" and d["total"] == 1)
        async with client.get("/api/halls") as r:
            ranked = (await r.json())["halls"]
        assert [(h["id"], h["hearts"], h["rank"]) for h in ranked[:2]] == [
            ("failure-expo", 2, 1), ("regional", 1, 2)]

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


async def test_a_viewer_counts_once_per_hall_per_seoul_day(config: Config) -> None:
    """Taps beyond the first of the day count nothing (also from a second connection of the same
    viewer); at midnight in Seoul (15:00 UTC) the viewer may heart the hall again."""
    clock = ManualClock(datetime(2026, 11, 26, 14, 59, 0, tzinfo=UTC))  # 23:59 in Seoul
    async with running_server(config, clock=clock) as server:
        try:
            cookies, _session = await viewer_cookies(server)
            cookies_fan = await connect(server.url, cookies=cookies)
            await cookies_fan.join()
            first = await cookies_fan.call("heart", {"room": HALL, "count": 3})
            assert first == {"ok": True, "counted": 1}
            again = await cookies_fan.call("heart", {"room": HALL, "count": 1})
            assert again == {"ok": True, "counted": 0}
            same_viewer = await connect(server.url, cookies=cookies)
            await same_viewer.join()
            assert (await same_viewer.call("heart", {"room": HALL, "count": 1}))["counted"] == 0
            await cookies_fan.rec.wait_for("hearts", lambda d: d["total"] == 1)
            rejoined = await cookies_fan.call("join", {"room": HALL})
            assert rejoined["hearted"] is True and rejoined["hearts"]["total"] == 1

            other = await viewer(server)
            fresh = await other.join()
            assert fresh["hearted"] is False
            assert (await other.call("heart", {"room": HALL, "count": 1}))["counted"] == 1
            await other.rec.wait_for("hearts", lambda d: d["total"] == 2)

            await clock.advance(timedelta(minutes=1))  # 00:00 in Seoul: a new day
            next_day = await cookies_fan.call("join", {"room": HALL})
            assert next_day["hearted"] is False
            assert (await cookies_fan.call("heart", {"room": HALL, "count": 2}))["counted"] == 1
            await other.rec.wait_for("hearts", lambda d: d["total"] == 3)
        finally:
            await close_all()


async def test_every_hall_lists_its_cases(one_server: Server) -> None:
    client = one_server.client()
    counts = {}
    for hall in ("social-value", "digital-services", "participation", "regional", "achievements"):
        async with client.get(f"/api/halls/{hall}/cases") as r:
            assert r.status == 200
            body = await r.json()
        counts[hall] = body["hall"]["cases"]
        assert [c["number"] for c in body["cases"]] == list(range(1, len(body["cases"]) + 1))
        assert len(body["cases"]) == (body["hall"]["cases"] or 0)
    assert counts == {"social-value": 11, "digital-services": 11, "participation": 11,
                      "regional": 17, "achievements": None}
    async with client.get("/api/halls/regional/cases") as r:
        regional = (await r.json())["cases"]
    assert regional[0]["title"].startswith("서울특별시") and regional[-1]["title"].startswith("제주")
    async with client.get("/api/halls/nope/cases") as r:
        assert r.status == 404 and (await r.json())["error"]["code"] == "unknown_hall"


async def test_the_operators_halls_file_names_the_cases(tmp_path: Path, one_server: Server) -> None:
    halls = tmp_path / "halls.json"
    halls.write_text(json.dumps({"achievements": [
        {"title": "국민비서 구삐", "title_en": "Gubby, the people's secretary", "agency": "행정안전부",
         "url": "https://www.gov.kr/"},
        {"title": "<b>모바일 신분증</b>"},
    ]}, ensure_ascii=False))
    config = with_settings(one_server.config, chat_halls_file=str(halls))
    async with running_server(config) as server:
        client = server.client()
        async with client.get("/api/halls/achievements/cases") as r:
            body = await r.json()
        assert body["hall"]["cases"] == 2
        assert [c["title"] for c in body["cases"]] == ["국민비서 구삐", "<b>모바일 신분증</b>"]
        assert body["cases"][0]["agency"] == "행정안전부"
        async with client.get("/api/halls") as r:
            listed = {h["id"]: h["cases"] for h in (await r.json())["halls"]}
        assert listed["achievements"] == 2 and listed["social-value"] == 11

    halls.write_text(json.dumps({"achievements": [{"title": ""}]}))
    with pytest.raises(ConfigError, match=r"chat_halls_file: .*achievements case 1: 'title'"):
        with_settings(one_server.config, chat_halls_file=str(halls))
    halls.write_text(json.dumps({"nowhere": []}))
    with pytest.raises(ConfigError, match="unknown hall 'nowhere'"):
        with_settings(one_server.config, chat_halls_file=str(halls))
