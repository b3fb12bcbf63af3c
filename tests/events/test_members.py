"""Viewer accounts through the real server on both stores: sign up with consent (its version
recorded), one account per email, sign in and out, bad input refused with clear codes and nothing
created, and deletion: personal data gone, the ledger kept (anonymised) and still reconciling;
watching and chatting need no account."""

from __future__ import annotations

from typing import Any

from events.reconcile import reconcile
from tests.chat.clients import viewer
from tests.helpers import Server

from .conftest import PASSWORD, json_of, me, sign_up


async def test_sign_up_records_consent_and_signs_in(server: Server) -> None:
    client = await sign_up(server, "Hong@Example.kr", "홍길동")
    data = await me(client)
    member = data["member"]
    assert (member["email"], member["nickname"], member["provider"]) == ("hong@example.kr", "홍길동", "email")
    assert member["consent_version"] == server.config.events.privacy_version
    assert member["consented_at"].endswith("+09:00")
    assert data["balance"] == 0 and data["today"] == {"earned": 0, "cap": 1000}
    assert "password_hash" not in str(data)

    async with client.delete("/api/events/session") as r:
        assert r.status == 200
    assert (await me(client))["member"] is None
    async with client.post(
        "/api/events/session", json={"email": "hong@example.kr", "password": "wrong-one-1"}
    ) as r:
        assert (r.status, (await r.json())["error"]["code"]) == (401, "invalid_credentials")
    async with client.post(
        "/api/events/session", json={"email": "HONG@example.kr", "password": PASSWORD}
    ) as r:
        assert r.status == 200, await r.text()
    assert (await me(client))["member"]["id"] == member["id"]


async def test_one_account_per_email(server: Server) -> None:
    await sign_up(server, "same@example.kr")
    again = server.client()
    body = {
        "email": "SAME@example.kr",
        "password": PASSWORD,
        "nickname": "둘째",
        "consent": server.config.events.privacy_version,
    }
    async with again.post("/api/events/members", json=body) as r:
        assert (r.status, (await r.json())["error"]["code"]) == (409, "email_taken")


async def test_bad_sign_ups_are_refused_and_create_nothing(server: Server) -> None:
    client = server.client()
    good: dict[str, Any] = {
        "email": "new@example.kr",
        "password": PASSWORD,
        "nickname": "새싹",
        "consent": server.config.events.privacy_version,
    }
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**good, "email": "not-an-email"}, 400, "invalid_email"),
        ({**good, "password": "short"}, 400, "invalid_password"),
        ({**good, "nickname": "\u200b\u0007 "}, 400, "invalid_nickname"),
        ({**good, "nickname": "가" * 25}, 400, "invalid_nickname"),
        ({**good, "consent": "1999-01-01"}, 400, "consent_required"),
        ({k: v for k, v in good.items() if k != "consent"}, 400, "consent_required"),
        ({**good, "admin": True}, 400, "unknown_field"),
    ]
    for body, status, code in cases:
        async with client.post("/api/events/members", json=body) as r:
            assert (r.status, (await json_of(r))["error"]["code"]) == (status, code), body
    async with client.post(
        "/api/events/members", data="{not json", headers={"Content-Type": "application/json"}
    ) as r:
        assert (r.status, (await json_of(r))["error"]["code"]) == (400, "invalid_json")
    async with client.post(
        "/api/events/members", data="x" * 9000, headers={"Content-Type": "application/json"}
    ) as r:
        assert (r.status, (await json_of(r))["error"]["code"]) == (413, "payload_too_large")
    assert await server.parts.events.store.member_by_email("new@example.kr") is None
    assert (await me(client))["member"] is None


async def test_member_routes_need_a_member(server: Server) -> None:
    client = server.client()
    for method, path in (
        ("GET", "/api/events/me/ledger"),
        ("DELETE", "/api/events/me"),
        ("POST", "/api/events/watch/start"),
        ("POST", "/api/events/campaigns/c_x/donations"),
    ):
        async with client.request(method, path, json={}) as r:
            assert (r.status, (await r.json())["error"]["code"]) == (401, "sign_in_required"), path


async def test_deleting_an_account_erases_it_and_keeps_the_ledger(server: Server) -> None:
    client = await sign_up(server, "gone@example.kr", "떠나는이")
    member_id = (await me(client))["member"]["id"]
    store = server.parts.events.store
    earned = await server.parts.events.mileage.earn(member_id, "vote", "p", "poll-1", 40)
    assert earned is not None and earned.earned == 40

    async with client.delete("/api/events/me", json={"confirm": "yes"}) as r:
        assert (r.status, (await r.json())["error"]["code"]) == (400, "confirm_required")
    async with client.delete("/api/events/me", json={"confirm": "delete"}) as r:
        assert r.status == 200
        assert await r.json() == {"deleted": True, "forfeited": 40}
    assert (await me(client))["member"] is None
    assert await store.get_member(member_id) is None
    assert await store.member_by_email("gone@example.kr") is None
    async with client.post(
        "/api/events/session", json={"email": "gone@example.kr", "password": PASSWORD}
    ) as r:
        assert r.status == 401
    entries = await store.entries(None, 10)
    assert [(e.member, e.kind, e.amount) for e in entries] == [
        (member_id, "vote", 40),
        (member_id, "closed", -40),
    ]
    report = await reconcile(store)
    assert report.ok and report.mileage_outstanding == 0


async def test_watching_and_chatting_need_no_account(server: Server) -> None:
    anonymous = await viewer(server)
    ack = await anonymous.join("hall:social-value")
    assert ack["ok"]
    sent = await anonymous.call("chat", {"room": "hall:social-value", "text": "안녕하세요"})
    assert sent["ok"] and "mileage" not in sent
    hearts = await anonymous.call("heart", {"room": "hall:social-value", "count": 1})
    assert hearts["ok"]
