"""Prize draws on both stores: the pool's hash and the seed's commitment are published to the
program room before the draw, the seed after it; `innotv events verify-draw` recomputes the
winners from the published proof (and catches a changed one); winners are shown masked, only
they can leave contact details (with consent), which are deleted when the claim period ends on
the server's clock. Pools: correct quiz answers, commenters in a window, donors."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from events import fairdraw
from innotv.cli import main
from kernel.clock import ManualClock
from tests.helpers import Server

from .conftest import chat_as, live_program, me, sign_up
from .test_donations import campaign, earn, give


async def post(client: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with client.post(path, json=body) as r:
        return r.status, await r.json()


async def donors(
    server: Server, clock: ManualClock, names: list[str]
) -> tuple[str, list[aiohttp.ClientSession]]:
    cause = await campaign(server, clock)
    clients = []
    for n, name in enumerate(names):
        client = await sign_up(server, f"p{n}@example.kr", name)
        await earn(server, client, 10, ref=f"s{n}")
        assert (await give(client, cause["id"], 10, f"req-0000000{n}"))[0] == 201
        clients.append(client)
    return str(cause["id"]), clients


async def test_a_draw_is_committed_revealed_and_verifiable(
    server: Server, clock: ManualClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = await live_program(server, clock)
    campaign_id, clients = await donors(server, clock, ["홍길동", "김철수", "남궁민수", "이영"])
    watcher = await chat_as(server, clients[0])
    await watcher.join(f"program:{program}")
    producer = await server.producer()
    status, body = await post(
        producer,
        "/api/events/draws",
        {
            "program": program,
            "title": "기부 감사 경품",
            "pool": {"kind": "donors", "campaign": campaign_id},
            "winners": 2,
            "backups": 1,
            "claim_days": 7,
        },
    )
    assert status == 201, body
    draw = body["draw"]
    published = await watcher.rec.wait_for("draw", lambda d: d["id"] == draw["id"])
    assert published["state"] == "committed" and "seed" not in published and "winners" not in published
    assert published["pool_size"] == 4 and len(published["commitment"]) == 64
    async with server.client().get(f"/api/events/draws/{draw['id']}/proof") as r:
        before = await r.json()
    assert fairdraw.pool_hash(before["entries"]) == published["pool_hash"] and "seed" not in before

    status, _ = await post(producer, f"/api/events/draws/{draw['id']}/run", {})
    assert status == 200
    result = await watcher.rec.wait_for("draw", lambda d: d["id"] == draw["id"] and d["state"] == "drawn")
    assert hashlib.sha256(bytes.fromhex(result["seed"])).hexdigest() == published["commitment"]
    assert len(result["winners"]) == 2 and len(result["backups"]) == 1
    names = {w["name"] for w in result["winners"] + result["backups"]}
    assert names <= {"홍*동", "김*수", "남**수", "이*"}
    status, again = await post(producer, f"/api/events/draws/{draw['id']}/run", {})
    assert (status, again["error"]["code"]) == (409, "already_drawn")

    async with server.client().get(f"/api/events/draws/{draw['id']}/proof") as r:
        proof = await r.json()
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(json.dumps(proof))
    assert main(["events", "verify-draw", str(proof_file)]) == 0
    printed = capsys.readouterr().out
    assert "FAIL" not in printed and proof["winner_entries"][0] in printed
    proof["winner_entries"] = list(reversed(proof["winner_entries"]))
    proof_file.write_text(json.dumps(proof))
    assert main(["events", "verify-draw", str(proof_file)]) == 1
    assert "FAIL winners" in capsys.readouterr().out


async def test_only_winners_claim_and_contacts_go_after_the_claim_period(
    server: Server, clock: ManualClock
) -> None:
    program = await live_program(server, clock)
    campaign_id, clients = await donors(server, clock, ["홍길동", "김철수"])
    producer = await server.producer()
    _, body = await post(
        producer,
        "/api/events/draws",
        {
            "program": program,
            "title": "경품",
            "pool": {"kind": "donors", "campaign": campaign_id},
            "winners": 1,
            "backups": 0,
            "claim_days": 3,
        },
    )
    draw_id = body["draw"]["id"]
    await post(producer, f"/api/events/draws/{draw_id}/run", {})
    views = []
    for client in clients:
        async with client.get(f"/api/events/draws/{draw_id}") as r:
            views.append((await r.json())["draw"]["you"])
    winner = clients[[v["result"] for v in views].index("winner")]
    loser = clients[[v["result"] for v in views].index(None)]

    status, refused = await post(
        loser,
        f"/api/events/draws/{draw_id}/claim",
        {"name": "김철수", "phone": "010-1234-5678", "consent": True},
    )
    assert (status, refused["error"]["code"]) == (403, "not_a_winner")
    for body, code in (
        ({"name": "홍길동", "phone": "010-1234-5678"}, "consent_required"),
        ({"name": "홍길동", "phone": "call me", "consent": True}, "invalid_phone"),
        ({"name": "", "phone": "010-1234-5678", "consent": True}, "invalid_name"),
    ):
        status, bad = await post(winner, f"/api/events/draws/{draw_id}/claim", body)
        assert (status, bad["error"]["code"]) == (400, code), body
    status, claimed = await post(
        winner,
        f"/api/events/draws/{draw_id}/claim",
        {"name": "홍길동", "phone": "010-1234-5678", "consent": True},
    )
    assert status == 201 and claimed["claimed"]
    async with producer.get(f"/api/events/draws/{draw_id}/claims") as r:
        contacts = (await r.json())["claims"]
    assert [(c["name"], c["phone"]) for c in contacts] == [("홍길동", "010-1234-5678")]
    async with winner.get(f"/api/events/draws/{draw_id}/claims") as r:
        assert r.status == 401

    # the claim period ends: the sweep deletes the contact details (the server's clock)
    await clock.advance(timedelta(days=3, minutes=1))
    await asyncio.wait_for(clock.wait_for_sleeper(clock.now() + timedelta(minutes=1)), 5)
    async with producer.get(f"/api/events/draws/{draw_id}/claims") as r:
        assert (await r.json())["claims"] == []
    status, late = await post(
        winner,
        f"/api/events/draws/{draw_id}/claim",
        {"name": "홍길동", "phone": "010-1234-5678", "consent": True},
    )
    assert (status, late["error"]["code"]) == (409, "claim_closed")


async def test_pools_from_quiz_answers_and_comments(server: Server, clock: ManualClock) -> None:
    program = await live_program(server, clock)
    room = f"program:{program}"
    right = await sign_up(server, "q1@example.kr", "정답")
    chatty = await sign_up(server, "q2@example.kr", "수다")
    sock = await chat_as(server, chatty)
    await sock.join(room)
    start = clock.now()
    assert (await sock.call("chat", {"room": room, "text": "경품 주세요"}))["ok"]
    staff = await server.host()
    _, quiz = await post(
        staff,
        "/api/events/quizzes",
        {"program": program, "question": "Q?", "choices": ["a", "b"], "answer": 0, "window_s": 5},
    )
    quiz_id = quiz["quiz"]["id"]
    await post(right, f"/api/events/quizzes/{quiz_id}/answers", {"choice": 0})
    await post(chatty, f"/api/events/quizzes/{quiz_id}/answers", {"choice": 1})
    producer = await server.producer()
    base = {"program": program, "title": "경품", "winners": 1}
    status, early = await post(
        producer, "/api/events/draws", {**base, "pool": {"kind": "quiz", "quiz": quiz_id}}
    )
    assert (status, early["error"]["code"]) == (409, "quiz_not_revealed")
    await clock.advance(timedelta(seconds=5))
    await post(staff, f"/api/events/quizzes/{quiz_id}/reveal", {})
    status, by_quiz = await post(
        producer, "/api/events/draws", {**base, "pool": {"kind": "quiz", "quiz": quiz_id}}
    )
    assert status == 201 and by_quiz["draw"]["pool_size"] == 1
    window = {"kind": "comments", "room": room, "from": start.isoformat(), "to": clock.now().isoformat()}
    status, by_comments = await post(producer, "/api/events/draws", {**base, "pool": window})
    assert status == 201 and by_comments["draw"]["pool_size"] == 1
    members = {(await me(c))["member"]["id"] for c in (right, chatty)}
    async with server.client().get(f"/api/events/draws/{by_comments['draw']['id']}/proof") as r:
        assert set((await r.json())["entries"]) <= members
    later = {
        **window,
        "from": (clock.now() + timedelta(hours=1)).isoformat(),
        "to": (clock.now() + timedelta(hours=2)).isoformat(),
    }
    status, empty = await post(producer, "/api/events/draws", {**base, "pool": later})
    assert (status, empty["error"]["code"]) == (409, "empty_pool")
    for pool, code in (
        ({"kind": "everyone"}, "invalid_pool"),
        ("donors", "invalid_pool"),
        ({**window, "room": "lobby"}, "invalid_room"),
        ({**window, "to": "soon"}, "invalid_to"),
    ):
        status, bad = await post(producer, "/api/events/draws", {**base, "pool": pool})
        assert (status, bad["error"]["code"]) == (400, code), pool
    status, bad = await post(producer, "/api/events/draws", {**base, "winners": 0, "pool": window})
    assert (status, bad["error"]["code"]) == (400, "invalid_winners")
    status, host_try = await post(staff, "/api/events/draws", {**base, "pool": window})
    assert (status, host_try["error"]["code"]) == (403, "forbidden")


def test_the_pick_is_fair_and_reproducible() -> None:
    entries = [f"m_{n:05d}" for n in range(1000)]
    seed = "ab" * 32
    first = fairdraw.pick(seed, list(reversed(entries)), 20)
    assert first == fairdraw.pick(seed, entries, 20)  # the input order does not matter
    assert len(set(first)) == 20 and set(first) <= set(entries)
    assert fairdraw.pick("cd" * 32, entries, 20) != first
    assert fairdraw.pick(seed, ["a", "b"], 5) in (["a", "b"], ["b", "a"])
    # each entry is picked first about equally often over many seeds
    counts: dict[str, int] = {}
    for n in range(3000):
        winner = fairdraw.pick(f"{n:064x}", ["a", "b", "c"], 1)[0]
        counts[winner] = counts.get(winner, 0) + 1
    assert all(850 < c < 1150 for c in counts.values()), counts
    assert [fairdraw.mask(n) for n in ("홍길동", "김철", "남궁민수", "A")] == ["홍*동", "김*", "남**수", "*"]
