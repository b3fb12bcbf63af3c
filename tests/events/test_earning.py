"""Mileage earned by taking part, through the real chat (Socket.IO) on both stores: a vote, a
question, a hall comment and program chat earn by the program's rules, the ack shows the earning
at once and the balance and history follow; a poll earns once per member whatever browser votes;
the daily cap and the earning rate limit trim; rules are the producer's to set; hosts earn
nothing and anonymous viewers are not asked."""

from __future__ import annotations

from typing import Any

import aiohttp

from innotv.config import Config
from kernel.clock import ManualClock
from tests.chat.clients import ChatClient, host
from tests.helpers import Server, cookie_header, running_server, with_settings

from .conftest import PASSWORD, chat_as, live_program, me, sign_up


async def open_poll(server: Server, room: str) -> str:
    staff = await host(server)
    await staff.join(room)
    ack = await staff.call("poll:open", {"room": room, "question": "최고의 사례는?", "choices": ["가", "나"]})
    assert ack["ok"], ack
    return str(ack["poll"]["id"])


async def set_rules(server: Server, program: str, **rules: int) -> dict[str, Any]:
    producer = await server.producer()
    async with producer.put(f"/api/events/programs/{program}/rules", json=rules) as r:
        assert r.status == 200, await r.text()
        body: dict[str, Any] = await r.json()
    return body


async def test_a_vote_a_question_and_comments_earn_and_show_at_once(
    server: Server, clock: ManualClock
) -> None:
    program = await live_program(server, clock)
    room = f"program:{program}"
    await set_rules(server, program, vote=30, question=20, chat=2, comment=7)
    client = await sign_up(server, "voter@example.kr")
    sock = await chat_as(server, client)
    await sock.join(room)
    poll = await open_poll(server, room)

    voted = await sock.call("vote", {"room": room, "poll_id": poll, "choice": 1})
    assert voted["mileage"] == {"earned": 30, "balance": 30, "kind": "vote"}
    asked = await sock.call("question", {"room": room, "text": "언제 다시 하나요?"})
    assert asked["mileage"]["earned"] == 20 and asked["mileage"]["balance"] == 50
    chatted = await sock.call("chat", {"room": room, "text": "좋아요"})
    assert chatted["mileage"]["earned"] == 2
    await sock.join("hall:regional")
    commented = await sock.call("chat", {"room": "hall:regional", "text": "우리 지역 최고"})
    assert commented["mileage"] == {"earned": 7, "balance": 59, "kind": "comment"}  # today's program's rules

    data = await me(client)
    assert data["balance"] == 59 and data["today"]["earned"] == 59
    async with client.get("/api/events/me/ledger?limit=2") as r:
        ledger = await r.json()
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in ledger["entries"]] == [
        ("comment", 7, 59),
        ("chat", 2, 52),
    ]
    async with client.get(f"/api/events/me/ledger?before={ledger['next_before']}") as r:
        older = await r.json()
    assert [e["kind"] for e in older["entries"]] == ["question", "vote"]
    # Page marks: an id of the other store's kind (a Redis stream id on SQLite), malformed or
    # hostile ones get a clear 400, never a 500; the smallest ids an empty page; nothing moves.
    on_redis = server.config.core.redis_url is not None
    top = "18446744073709551615-18446744073709551615"
    pages: dict[str, int | None] = (
        {"0": 0, "0-0": 0, "1-2": 0, top: 4} if on_redis else {"0": 0, "0-0": None, "1-2": None, top: None})
    for mark, count in pages.items():  # None: not an id of this store, 400
        async with client.get("/api/events/me/ledger", params={"before": mark}) as r:
            assert r.status == (400 if count is None else 200), (mark, await r.text())
            if count is not None:
                assert len((await r.json())["entries"]) == count, mark
    for mark in ("18446744073709551616", "9" * 5000, "\u0661\u0662", "-1", "1-", "a", "1-2-3", ""):
        async with client.get("/api/events/me/ledger", params={"before": mark}) as r:
            assert r.status == 400, (mark[:30], await r.text())
            assert (await r.json())["error"]["code"] == "invalid_before"
    assert (await me(client))["balance"] == 59


async def test_a_poll_earns_once_per_member_on_any_browser(server: Server, clock: ManualClock) -> None:
    program = await live_program(server, clock)
    room = f"program:{program}"
    phone = await sign_up(server, "two@example.kr")
    laptop = server.client()
    async with laptop.get("/api/session"):
        pass
    async with laptop.post(
        "/api/events/session", json={"email": "two@example.kr", "password": PASSWORD}
    ) as r:
        assert r.status == 200
    socks: list[ChatClient] = [await chat_as(server, c) for c in (phone, laptop)]
    for sock in socks:
        await sock.join(room)
    poll = await open_poll(server, room)
    first = await socks[0].call("vote", {"room": room, "poll_id": poll, "choice": 0})
    second = await socks[1].call("vote", {"room": room, "poll_id": poll, "choice": 0})
    assert first["mileage"]["earned"] == 10
    assert second["mileage"]["earned"] == 0 and second["mileage"]["balance"] == 10
    assert (await me(phone))["balance"] == 10


async def test_anonymous_viewers_and_hosts_earn_nothing(server: Server, clock: ManualClock) -> None:
    program = await live_program(server, clock)
    room = f"program:{program}"
    await set_rules(server, program, chat=5)
    anonymous_browser = server.client()
    async with anonymous_browser.get("/api/session"):
        pass
    anonymous = await chat_as(server, anonymous_browser)
    await anonymous.join(room)
    sent = await anonymous.call("chat", {"room": room, "text": "익명입니다"})
    assert sent["ok"] and "mileage" not in sent
    staff = await host(server)
    await staff.join(room)
    said = await staff.call("chat", {"room": room, "text": "진행자입니다"})
    assert said["ok"] and "mileage" not in said
    assert await server.parts.events.store.entries(None, 10) == []


async def test_the_daily_cap_and_the_rate_limit_trim(config: Config, clock: ManualClock) -> None:
    async with running_server(
        with_settings(config, events_daily_cap=100, events_earn_per_minute=3), clock=clock
    ) as server:
        program = await live_program(server, clock)
        room = f"program:{program}"
        await set_rules(server, program, chat=40)
        client = await sign_up(server, "cap@example.kr")
        sock = await chat_as(server, client)
        await sock.join(room)
        earned = [
            (await sock.call("chat", {"room": room, "text": f"메시지 {n}"}))["mileage"] for n in range(4)
        ]
        assert [m["earned"] for m in earned] == [40, 40, 20, 0]
        assert earned[2]["limited"] == "cap" and earned[3]["limited"] == "earn_rate"
        assert (await me(client))["today"] == {"earned": 100, "cap": 100}
        await sock.close()


async def test_rules_are_the_producers_and_checked(server: Server, clock: ManualClock) -> None:
    program = await live_program(server, clock)
    async with server.client().get(f"/api/events/programs/{program}/rules") as r:
        assert (await r.json())["rules"]["vote"] == 10  # the defaults until a producer sets them
    staff = await server.host()
    async with staff.put(f"/api/events/programs/{program}/rules", json={"vote": 1}) as r:
        assert (r.status, (await r.json())["error"]["code"]) == (403, "forbidden")
    producer = await server.producer()
    for body, code in (
        ({"vote": -1}, "invalid_vote"),
        ({"vote": "10"}, "invalid_vote"),
        ({"bonus": 1}, "unknown_field"),
        ({"watch_cap": 10**9}, "invalid_watch_cap"),
    ):
        async with producer.put(f"/api/events/programs/{program}/rules", json=body) as r:
            assert (r.status, (await r.json())["error"]["code"]) == (400, code), body
    async with producer.put("/api/events/programs/nope/rules", json={"vote": 3}) as r:
        assert r.status == 404
    body = await set_rules(server, program, vote=3, watch_per_minute=2)
    assert (
        body["rules"]["vote"] == 3 and body["rules"]["watch_per_minute"] == 2 and body["rules"]["quiz"] == 20
    )


async def cookies(server: Server, client: aiohttp.ClientSession) -> str:
    return cookie_header(client, server.url)


async def test_a_viewer_who_chatted_without_an_account_earns_once_signed_up(
    server: Server, clock: ManualClock
) -> None:
    """The chat does not ask the store again for a viewer it found to be no member; signing up
    (a link on any process) makes the very next message earn."""
    program = await live_program(server, clock)
    room = f"program:{program}"
    await set_rules(server, program, chat=3)
    browser = server.client()
    async with browser.get("/api/session") as r:
        assert r.status == 200
    sock = await chat_as(server, browser)
    await sock.join(room)
    for text in ("처음 왔어요", "계정 없이 한 번 더"):
        ack = await sock.call("chat", {"room": room, "text": text})
        assert ack["ok"] and "mileage" not in ack, ack
    body = {"email": "late@example.kr", "password": PASSWORD, "nickname": "늦깎이",
            "consent": server.config.events.privacy_version}
    async with browser.post("/api/events/members", json=body) as r:
        assert r.status == 201, await r.text()
    ack = await sock.call("chat", {"room": room, "text": "이제 가입했어요"})
    assert ack["mileage"] == {"earned": 3, "balance": 3, "kind": "chat"}, ack
