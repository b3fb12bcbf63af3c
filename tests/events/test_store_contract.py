"""The events store's contract, every capability run against both backends (SQLite rows, Redis
scripts and streams): the append-only ledger with its caps, idempotency and overdraft rules,
exact under concurrent writers from two connections; members, sessions, links; quizzes,
activity, draws and claims."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from events.reconcile import reconcile
from events.store import Campaign, Claim, Credit, Draw, EventsStore, Member, Quiz, make_events_store
from innotv.config import Config
from kernel.core import build_kernel
from kernel.storage import Backend

DAY = "2026-11-24"


async def _open(config: Config) -> tuple[Backend, EventsStore]:
    backend = build_kernel(config.core).backend
    await backend.open()
    store = make_events_store(backend)
    await store.setup()
    return backend, store


@pytest.fixture
async def store(config: Config) -> AsyncIterator[EventsStore]:
    backend, events_store = await _open(config)
    try:
        yield events_store
    finally:
        await backend.close()


def credit(
    member: str,
    amount: int,
    key: str,
    *,
    kind: str = "vote",
    program: str = "p1",
    daily_cap: int = 1000,
    program_cap: int | None = None,
    day: str = DAY,
) -> Credit:
    return Credit(
        member,
        amount,
        kind,
        key,
        program,
        1_700_000_000_000,
        day,
        daily_cap,
        program_cap,
        f"{member}:{kind}:{key}",
    )


async def campaign(store: EventsStore, cid: str = "c1") -> None:
    await store.create_campaign(Campaign(cid, "나눔", "어린이재단", 10_000_000, 0, 2_000_000_000_000, 1))


# ---- the ledger ---------------------------------------------------------------------------------
async def test_credits_append_and_the_balance_is_their_sum(store: EventsStore) -> None:
    first = await store.credit(credit("m1", 30, "poll-a"))
    second = await store.credit(credit("m1", 20, "poll-b"))
    assert (first.earned, first.balance, second.earned, second.balance) == (30, 30, 20, 50)
    assert await store.balance("m1") == 50 and await store.balance("nobody") == 0
    history = await store.history("m1", 10)
    assert [e.amount for e in history] == [20, 30]  # newest first
    assert [e.balance_after for e in history] == [50, 30]
    assert history[0].id == second.entry_id
    older = await store.history("m1", 10, before=history[0].id)
    assert [e.amount for e in older] == [30]


async def test_the_same_key_is_credited_once(store: EventsStore) -> None:
    assert (await store.credit(credit("m1", 30, "poll-a"))).earned == 30
    again = await store.credit(credit("m1", 30, "poll-a"))
    assert (again.earned, again.duplicate, again.balance) == (0, True, 30)
    assert len(await store.entries(None, 100)) == 1


async def test_daily_and_program_caps_trim_the_credit(store: EventsStore) -> None:
    assert (await store.credit(credit("m1", 80, "a", daily_cap=100))).earned == 80
    trimmed = await store.credit(credit("m1", 50, "b", daily_cap=100))
    assert (trimmed.earned, trimmed.balance) == (20, 100)
    capped = await store.credit(credit("m1", 50, "c", daily_cap=100))
    assert (capped.earned, capped.entry_id, capped.duplicate) == (0, None, False)
    assert (await store.credit(credit("m1", 50, "d", daily_cap=100, day="2026-11-25"))).earned == 50
    assert await store.earned_on("m1", DAY) == 100
    # the program cap counts one kind for one member and program
    assert (await store.credit(credit("m2", 7, "w1", kind="watch", program_cap=10))).earned == 7
    assert (await store.credit(credit("m2", 7, "w2", kind="watch", program_cap=10))).earned == 3
    assert (await store.credit(credit("m2", 7, "w3", kind="watch", program_cap=10))).earned == 0
    assert (await store.credit(credit("m2", 7, "w4", kind="watch", program="p2", program_cap=10))).earned == 7


async def test_the_rate_limit_is_counted_in_the_same_step(store: EventsStore) -> None:
    def limited(key: str) -> Credit:
        return Credit("m1", 5, "chat", key, "p1", 1, DAY, 1000, None, f"m1:chat:{key}", "earn:m1:7", 2)

    results = [await store.credit(limited(f"k{n}")) for n in range(3)]
    assert [(r.earned, r.limited) for r in results] == [(5, False), (5, False), (0, True)]
    assert (await store.credit(limited("k0"))).duplicate  # a duplicate is told so, not counted
    assert await store.balance("m1") == 10


async def test_donations_move_mileage_and_never_overdraw(store: EventsStore) -> None:
    await campaign(store)
    await store.credit(credit("m1", 100, "a"))
    given = await store.donate("m1", "c1", 60, "m1:d1", 5)
    assert (given.refused, given.amount, given.balance) == (None, 60, 40)
    assert (given.campaign_total, given.donors) == (60, 1)
    again = await store.donate("m1", "c1", 60, "m1:d1", 6)
    assert (again.duplicate, again.amount, again.balance) == (True, 60, 40)
    too_much = await store.donate("m1", "c1", 41, "m1:d2", 7)
    assert (too_much.refused, too_much.balance, too_much.campaign_total) == ("insufficient_mileage", 40, 60)
    assert (await store.donate("m1", "nope", 1, "m1:d3", 8)).refused == "unknown_campaign"
    everything = await store.donate("m1", "c1", None, "m1:d4", 9)
    assert (everything.amount, everything.balance, everything.campaign_total) == (40, 0, 100)
    assert (await store.donate("m1", "c1", None, "m1:d5", 10)).refused == "nothing_to_donate"
    assert await store.campaign_total("c1") == (100, 1)
    assert await store.donors("c1") == ["m1"]
    entry = (await store.history("m1", 1))[0]
    assert (entry.kind, entry.campaign, entry.amount) == ("donation", "c1", -40)
    assert entry.campaign_total_after == 100


async def test_closing_a_balance_appends_an_entry(store: EventsStore) -> None:
    await store.credit(credit("m1", 70, "a"))
    assert await store.close_balance("m1", 99) == 70
    assert await store.balance("m1") == 0
    assert await store.close_balance("m1", 100) == 0
    assert [e.kind for e in await store.history("m1", 5)] == ["closed", "vote"]


async def test_two_connections_at_once_stay_exact(config: Config) -> None:
    """Two store connections (two processes' worth) earn and donate the same members' mileage at
    once: no credit is lost or doubled, nobody donates more than they had, and the
    reconciliation holds."""
    backend_a, a = await _open(config)
    backend_b, b = await _open(config)
    try:
        await campaign(a)
        members = [f"m{i}" for i in range(5)]
        credits = [s.credit(credit(m, 3, f"k{n}")) for n in range(40) for m in members for s in (a, b)]
        results = await asyncio.gather(*credits)
        assert sum(r.earned for r in results) == 5 * 40 * 3  # each key once, on whichever came first
        donations = [s.donate(m, "c1", 50, f"{m}:d{n}", n) for n in range(6) for m in members for s in (a, b)]
        given = await asyncio.gather(*donations)
        assert sum(d.amount for d in given if d.refused is None and not d.duplicate) == 5 * 100
        assert [await a.balance(m) for m in members] == [20] * 5
        assert await b.campaign_total("c1") == (500, 5)
        report = await reconcile(a)
        assert report.ok, report.problems
        assert (report.members, report.entries, report.campaigns) == (5, 5 * 40 + 5 * 2, 1)
    finally:
        await backend_a.close()
        await backend_b.close()


# ---- members, sessions, links -------------------------------------------------------------------
def member(mid: str, email: str | None = None, subject: str | None = None) -> Member:
    return Member(
        mid,
        "홍길동",
        email,
        "hash" if email else None,
        "https://id" if subject else None,
        subject,
        "2026-11",
        1,
        2,
    )


async def test_members_are_unique_by_email_and_by_subject(store: EventsStore) -> None:
    assert await store.create_member(member("m1", email="a@example.kr")) is None
    assert await store.create_member(member("m2", email="a@example.kr")) == "email"
    assert await store.create_member(member("m3", subject="sub-1")) is None
    assert await store.create_member(member("m4", subject="sub-1")) == "subject"
    assert (await store.member_by_email("a@example.kr")) == member("m1", email="a@example.kr")
    found = await store.member_by_subject("https://id", "sub-1")
    assert found is not None and found.id == "m3"
    assert await store.get_member("m2") is None


async def test_erasing_a_member_leaves_the_ledger(store: EventsStore) -> None:
    await store.create_member(member("m1", email="a@example.kr"))
    await store.create_session("s1", "m1", 2**45)
    await store.link_viewer("v1", "m1", 2**45)
    await store.credit(credit("m1", 10, "a"))
    await store.put_claim(Claim("d1", "m1", '{"name": "홍길동"}', 1, 2**45))
    assert await store.session_member("s1", 1) == "m1" and await store.member_of_viewer("v1", 1) == "m1"
    assert await store.erase_member("m1")
    assert await store.get_member("m1") is None and await store.member_by_email("a@example.kr") is None
    assert await store.session_member("s1", 1) is None and await store.member_of_viewer("v1", 1) is None
    assert await store.claims("d1") == []
    assert [e.amount for e in await store.entries(None, 10)] == [10]
    assert await store.create_member(member("m9", email="a@example.kr")) is None  # the email is free again


async def test_kv_values(store: EventsStore) -> None:
    assert await store.kv_set_if_absent("secret", "a") == "a"
    assert await store.kv_set_if_absent("secret", "b") == "a"
    await store.kv_put("state", "x", 60)
    assert await store.kv_take("state") == "x" and await store.kv_take("state") is None
    assert await store.kv_swap("w", None, "n1", 60)
    assert not await store.kv_swap("w", None, "n2", 60)
    assert await store.kv_swap("w", "n1", "n2", 60) and await store.kv_get("w") == "n2"
    assert not await store.kv_swap("w", "n1", "n3", 60)
    assert [await store.hit("h", 60) for _ in range(3)] == [1, 2, 3]


# ---- quizzes, activity, draws ---------------------------------------------------------------------
async def test_quiz_answers_once_per_member(store: EventsStore) -> None:
    await store.create_quiz(Quiz("q1", "p1", "수도는?", ("서울", "부산"), 0, 10, 20, False))
    await store.create_quiz(Quiz("q2", "p1", "다음은?", ("가", "나"), 1, 30, 40, False))
    latest = await store.latest_quiz("p1")
    assert latest is not None and latest.id == "q2" and latest.choices == ("가", "나")
    assert await store.answer_quiz("q1", "m1", 0) and not await store.answer_quiz("q1", "m1", 1)
    assert await store.answer_quiz("q1", "m2", 1)
    assert await store.quiz_answers("q1") == {"m1": 0, "m2": 1}
    assert await store.quiz_answer_of("q1", "m1") == 0 and await store.quiz_answer_of("q1", "m3") is None
    assert await store.reveal_quiz("q1") and not await store.reveal_quiz("q1")
    quiz = await store.get_quiz("q1")
    assert quiz is not None and quiz.revealed


async def test_activity_in_a_window(store: EventsStore) -> None:
    for who, at in (("m1", 100), ("m1", 150), ("m2", 300), ("m3", 50)):
        await store.record_activity("program:p1", who, at)
    assert sorted(await store.active_members("program:p1", 100, 300)) == ["m1", "m2"]
    assert await store.active_members("program:other", 0, 1000) == []


async def test_draws_record_their_result_once_and_claims_expire(store: EventsStore) -> None:
    draw = Draw("d1", "p1", "경품", '{"kind": "donors"}', 1, 1, 3, "h", "c", "s", 10, 7)
    await store.create_draw(draw, ["a", "b", "c"])
    assert await store.draw_pool("d1") == ["a", "b", "c"]
    assert await store.set_drawn("d1", ["b"], ["a"], 20)
    assert not await store.set_drawn("d1", ["c"], ["a"], 30)
    stored = await store.get_draw("d1")
    assert stored is not None and stored.winners == ("b",) and stored.drawn_ms == 20
    assert [d.id for d in await store.draws_of("p1")] == ["d1"]
    await store.put_claim(Claim("d1", "b", '{"name": "김"}', 21, 1000))
    await store.put_claim(Claim("d1", "a", '{"name": "이"}', 22, 5000))
    assert [c.member for c in await store.claims("d1")] == ["b", "a"]
    assert await store.delete_expired_claims(1000) == 1
    assert [c.member for c in await store.claims("d1")] == ["a"]
