"""Donations on both stores: a producer's campaign, members giving part or all of their mileage
once per request id, never more than they have; the thermometer of everyone in a program room
moves within a second, and the totals stay exact under many donors at once (the reconciliation
holds, the CSV export lists every entry)."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from datetime import timedelta
from typing import Any

import aiohttp

from events.reconcile import reconcile
from kernel.clock import ManualClock
from tests.chat.clients import viewer
from tests.helpers import Server

from .conftest import live_program, me, sign_up


async def campaign(server: Server, clock: ManualClock, **changes: Any) -> dict[str, Any]:
    producer = await server.producer()
    body = {
        "title": "이웃 돕기",
        "beneficiary": "사회복지공동모금회",
        "goal": 10_000_000,
        "starts_at": clock.now().isoformat(),
        "ends_at": (clock.now() + timedelta(days=10)).isoformat(),
    }
    body.update(changes)
    async with producer.post("/api/events/campaigns", json=body) as r:
        assert r.status == 201, await r.text()
        created: dict[str, Any] = (await r.json())["campaign"]
    return created


async def give(
    client: aiohttp.ClientSession, campaign_id: str, amount: Any, request_id: str
) -> tuple[int, dict[str, Any]]:
    async with client.post(
        f"/api/events/campaigns/{campaign_id}/donations", json={"amount": amount, "request_id": request_id}
    ) as r:
        return r.status, await r.json()


async def earn(server: Server, client: aiohttp.ClientSession, amount: int, ref: str = "seed") -> str:
    member_id = str((await me(client))["member"]["id"])
    result = await server.parts.events.mileage.earn(member_id, "vote", "p", ref, amount)
    assert result is not None and result.earned == amount
    return member_id


async def test_donating_part_then_all_once_per_request(server: Server, clock: ManualClock) -> None:
    cause = await campaign(server, clock)
    assert (cause["state"], cause["total"], cause["goal"]) == ("open", 0, 10_000_000)
    client = await sign_up(server, "giver@example.kr")
    await earn(server, client, 500)
    status, first = await give(client, cause["id"], 200, "req-00000001")
    assert status == 201 and (first["donated"], first["balance"], first["campaign"]["total"]) == (
        200,
        300,
        200,
    )
    status, again = await give(client, cause["id"], 200, "req-00000001")
    assert status == 200 and again["duplicate"] and again["balance"] == 300  # a retry donates once
    status, too_much = await give(client, cause["id"], 301, "req-00000002")
    assert (status, too_much["error"]["code"], too_much["error"]["balance"]) == (
        409,
        "insufficient_mileage",
        300,
    )
    status, everything = await give(client, cause["id"], "all", "req-00000003")
    assert status == 201 and (everything["donated"], everything["balance"]) == (300, 0)
    status, nothing = await give(client, cause["id"], "all", "req-00000004")
    assert (status, nothing["error"]["code"]) == (409, "nothing_to_donate")
    async with server.client().get("/api/events/campaigns") as r:
        listed = (await r.json())["campaigns"]
    assert [(c["id"], c["total"], c["donors"]) for c in listed] == [(cause["id"], 500, 1)]
    async with client.get("/api/events/me/ledger") as r:
        kinds = [(e["kind"], e["amount"], e["campaign"]) for e in (await r.json())["entries"]]
    assert kinds == [("donation", -300, cause["id"]), ("donation", -200, cause["id"]), ("vote", 500, None)]


async def test_bad_donations_and_campaigns_are_refused(server: Server, clock: ManualClock) -> None:
    cause = await campaign(server, clock)
    later = await campaign(server, clock, starts_at=(clock.now() + timedelta(days=1)).isoformat())
    client = await sign_up(server, "careful@example.kr")
    await earn(server, client, 50)
    for amount, request_id, code in (
        (0, "req-00000001", "invalid_amount"),
        (-5, "req-00000001", "invalid_amount"),
        ("half", "req-00000001", "invalid_amount"),
        (True, "req-00000001", "invalid_amount"),
        (10, "short", "invalid_request_id"),
        (10, None, "invalid_request_id"),
    ):
        status, body = await give(client, cause["id"], amount, request_id)  # type: ignore[arg-type]
        assert (status, body["error"]["code"]) == (400, code), (amount, request_id)
    status, body = await give(client, later["id"], 10, "req-00000002")
    assert (status, body["error"]["code"]) == (409, "campaign_closed")
    status, body = await give(client, "c_nothere", 10, "req-00000003")
    assert (status, body["error"]["code"]) == (404, "unknown_campaign")
    assert (await me(client))["balance"] == 50
    producer = await server.producer()
    base = {
        "title": "t",
        "beneficiary": "b",
        "goal": 10,
        "starts_at": clock.now().isoformat(),
        "ends_at": (clock.now() + timedelta(days=1)).isoformat(),
    }
    for change, code in (
        ({"goal": 0}, "invalid_goal"),
        ({"ends_at": clock.now().isoformat()}, "invalid_ends_at"),
        ({"starts_at": "tomorrow"}, "invalid_starts_at"),
        ({"title": ""}, "invalid_title"),
        ({"extra": 1}, "unknown_field"),
    ):
        async with producer.post("/api/events/campaigns", json={**base, **change}) as r:
            assert (r.status, (await r.json())["error"]["code"]) == (400, code), change
    async with client.post("/api/events/campaigns", json=base) as r:
        assert r.status == 401


async def test_the_thermometer_moves_for_everyone_within_a_second(server: Server, clock: ManualClock) -> None:
    program = await live_program(server, clock)
    room = f"program:{program}"
    cause = await campaign(server, clock)
    watchers = [await viewer(server) for _ in range(3)]
    for watcher in watchers:
        watcher.sio.on("campaign", _record(watcher, "campaign"))
        await watcher.join(room)
    client = await sign_up(server, "warm@example.kr")
    await earn(server, client, 90)
    started = time.monotonic()
    await give(client, cause["id"], 90, "req-00000001")
    for watcher in watchers:
        seen = await watcher.rec.wait_for("campaign", lambda c: c["total"] == 90, wait_s=1.0)
        assert seen == {"id": cause["id"], "total": 90, "donors": 1, "goal": 10_000_000, "room": room}
    assert time.monotonic() - started < 1.0


async def test_many_donors_at_once_stay_exact(server: Server, clock: ManualClock) -> None:
    cause = await campaign(server, clock)
    donors = [await sign_up(server, f"d{n}@example.kr", f"기부자{n}") for n in range(6)]
    for n, client in enumerate(donors):
        await earn(server, client, 100, ref=f"seed-{n}")
    # each member sends 8 donations of 20 at once (only 5 fit), two of them twice with the same id
    tries = [
        give(client, cause["id"], 20, f"req-{n:04d}-{k:04d}")
        for client in donors
        for n in range(8)
        for k in (0, 0 if n < 2 else 1)
    ]
    results = await asyncio.gather(*tries)
    assert sum(body["donated"] for status, body in results if status == 201) == 6 * 100
    assert all(status in (200, 201, 409) for status, _ in results)
    assert [(await me(c))["balance"] for c in donors] == [0] * 6
    async with server.client().get("/api/events/campaigns") as r:
        assert (await r.json())["campaigns"][0]["total"] == 600
    report = await reconcile(server.parts.events.store)
    assert report.ok, report.problems
    assert report.donated == {cause["id"]: 600}
    producer = await server.producer()
    async with producer.get("/api/events/ledger.csv") as r:
        assert r.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(await r.text())))
    assert len(rows) == report.entries == 6 + 6 * 5
    assert sum(int(row["amount"]) for row in rows if row["kind"] == "donation") == -600
    async with producer.get("/api/events/audit") as r:
        audit = await r.json()
    assert audit["ok"] and audit["donated"] == {cause["id"]: 600}
    async with donors[0].get("/api/events/ledger.csv") as r:
        assert r.status == 401


def _record(client: Any, event: str) -> Any:
    async def handler(data: Any) -> None:
        await client.rec.record(event, data)

    return handler
