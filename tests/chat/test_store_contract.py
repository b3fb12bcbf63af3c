"""The chat stores' contract, every capability run against both backends (SQLite rows, Redis
Streams); and `question_list`, the one ordering rule of questions, which needs no backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from chat import store_redis
from chat.store import (
    Audience,
    ChatStores,
    NewMessage,
    StoredQuestion,
    make_chat_stores,
    question_list,
)
from innotv.config import Config
from kernel.core import build_kernel
from kernel.storage import Backend

ROOM = "hall:regional"
OTHER = "hall:other"


@pytest.fixture
async def backend(config: Config) -> AsyncIterator[Backend]:
    kernel = build_kernel(config.core)
    await kernel.backend.open()
    try:
        yield kernel.backend
    finally:
        await kernel.backend.close()


@pytest.fixture
async def stores(backend: Backend, config: Config) -> ChatStores:
    """The chat's stores alone on each backend (no server, so no tick writes meanwhile)."""
    chat_stores = make_chat_stores(backend, config.chat.history_max)
    await chat_stores.setup()
    return chat_stores


def _msg(text: str, key: str | None = None, ts: int = 1_700_000_000_000) -> NewMessage:
    return NewMessage(viewer="v_1", nickname="n", text=text, ts=ts, role="viewer", client_key=key)


def _question(qid: str, ts: int) -> dict[str, Any]:
    return {"id": qid, "viewer": "v", "nickname": "n", "text": qid + "?", "ts": ts}


# ---- history and counters ----------------------------------------------------------------------
async def test_write_tick_dedupes_and_counts(stores: ChatStores) -> None:
    history, counters = stores.history, stores.counters
    first = await history.write_tick(ROOM, [_msg("a", "v_1/x"), _msg("b")], [], 5, 100)
    assert first.fresh == [True, True] and len(set(first.ids)) == 2
    assert (first.hearts_total, first.hearts_minute) == (5, 5)
    again = await history.write_tick(ROOM, [_msg("a", "v_1/x"), _msg("c")], [], 0, 100)
    assert again.ids[0] == first.ids[0] and again.fresh == [False, True]
    assert again.hearts_total == 5
    hearts_only = await history.write_tick(ROOM, [], [], 3, 101)
    assert (hearts_only.ids, hearts_only.hearts_total, hearts_only.hearts_minute) == ([], 8, 3)
    assert await counters.hearts(ROOM, 100) == (8, 5)
    assert await counters.hearts(OTHER, 100) == (0, 0)
    assert await counters.hearts_totals([ROOM, OTHER]) == {ROOM: 8, OTHER: 0}
    rows = await counters.per_minute(ROOM, 0)
    assert rows == [{"minute": 100, "messages": 3, "hearts": 5, "viewers": 0},
                    {"minute": 101, "messages": 0, "hearts": 3, "viewers": 0}]
    assert await counters.per_minute(ROOM, 101) == [
        {"minute": 101, "messages": 0, "hearts": 3, "viewers": 0}]


async def test_recent_recover_and_delete(stores: ChatStores) -> None:
    history = stores.history
    ids = []
    for i in range(6):
        ids += (await history.write_tick(ROOM, [_msg(f"m{i}")], [], 0, 1)).ids
    assert [m["text"] for m in await history.recent(ROOM, 3)] == ["m3", "m4", "m5"]
    assert [m["text"] for m in await history.recent(ROOM, 2, before=ids[3])] == ["m1", "m2"]
    await history.write_tick(ROOM, [], [ids[1], ids[4]], 0, 1)
    assert await history.get_message(ROOM, ids[1]) is None
    assert (await history.get_message(ROOM, ids[2]) or {})["text"] == "m2"
    recovered = await history.recover(ROOM, ids[2], 100)
    assert recovered is not None
    assert [m["text"] for m in recovered.messages] == ["m3", "m5"]
    assert recovered.deleted == [ids[1]]
    assert [m["text"] for m in await history.recent(ROOM, 10)] == ["m0", "m2", "m3", "m5"]
    assert await history.recover(OTHER, ids[2], 100) is None
    assert await history.recover(ROOM, ids[0], 2) is None  # too far back for the limit


# ---- room settings -----------------------------------------------------------------------------
async def test_room_settings(stores: ChatStores) -> None:
    settings = stores.room_settings
    assert await settings.meta(ROOM) == {}
    await settings.set_meta(ROOM, "slow", "30")
    await settings.set_meta(ROOM, "slow", "10")
    await settings.set_meta(ROOM, "ban:v_x", "1")
    await settings.set_meta(ROOM, "ban:v_x", None)
    await settings.set_meta(ROOM, "never-set", None)
    assert await settings.meta(ROOM) == {"slow": "10"}
    assert await settings.meta(OTHER) == {}


# ---- polls and questions -----------------------------------------------------------------------
async def test_votes_count_once_per_viewer(stores: ChatStores) -> None:
    polls = stores.polls_and_questions
    assert await polls.vote("p1", "v_a", 1) is True
    assert await polls.vote("p1", "v_a", 0) is False
    assert await polls.vote("p1", "v_b", 1) is True
    assert await polls.vote("p2", "v_a", 0) is True
    assert await polls.poll_counts("p1", 3) == [0, 2, 0]
    assert await polls.poll_counts("p9", 2) == [0, 0]
    assert await polls.has_voted("p1", "v_a") and not await polls.has_voted("p1", "v_c")


async def test_questions_are_stored_with_upvotes_and_answers(stores: ChatStores) -> None:
    polls = stores.polls_and_questions
    assert await polls.add_question(ROOM, _question("q1", 1), 10)
    assert await polls.add_question(ROOM, _question("q2", 2), 10)
    assert await polls.upvote(ROOM, "q2", "v_a") is True
    assert await polls.upvote(ROOM, "q2", "v_a") is False
    assert await polls.upvote(ROOM, "nope", "v_a") is None
    assert await polls.upvote(OTHER, "q2", "v_a") is None
    assert await polls.answer_question(ROOM, "q2") and not await polls.answer_question(ROOM, "nope")
    stored = sorted(await polls.questions(ROOM), key=lambda s: s.question["id"])
    assert stored == [
        StoredQuestion(_question("q1", 1), 0, False), StoredQuestion(_question("q2", 2), 1, True)
    ]
    assert await polls.questions(OTHER) == []


async def test_question_order_with_ties(stores: ChatStores) -> None:
    """Most votes first, then the oldest, then by id: the same list on both backends."""
    polls = stores.polls_and_questions
    for qid, ts in [("q-b", 5), ("q-d", 9), ("q-a", 5), ("q-c", 3), ("q-e", 5)]:
        assert await polls.add_question(ROOM, _question(qid, ts), 10)
    for voter in ("v_1", "v_2"):
        assert await polls.upvote(ROOM, "q-d", voter)  # the newest, most upvoted
    assert await polls.upvote(ROOM, "q-e", "v_1")
    listed = question_list(await polls.questions(ROOM), 10)
    assert [(q["id"], q["votes"]) for q in listed] == [
        ("q-d", 2), ("q-e", 1), ("q-c", 0), ("q-a", 0), ("q-b", 0)
    ]
    assert listed[0] == {**_question("q-d", 9), "votes": 2, "answered": False}
    assert [q["id"] for q in question_list(await polls.questions(ROOM), 2)] == ["q-d", "q-e"]


async def test_questions_are_capped_per_room(stores: ChatStores) -> None:
    polls = stores.polls_and_questions
    for i in range(3):
        assert await polls.add_question(ROOM, _question(f"q{i}", i), 3) is True
    assert await polls.add_question(ROOM, _question("q3", 3), 3) is False
    assert sorted(s.question["id"] for s in await polls.questions(ROOM)) == ["q0", "q1", "q2"]
    assert await polls.upvote(ROOM, "q3", "v_a") is None  # nothing of it was stored
    assert await polls.upvote(ROOM, "q0", "v_a") is True  # a full room still counts upvotes
    assert await polls.add_question(OTHER, _question("q3", 3), 3) is True  # the cap is per room


async def test_hidden_questions_leave_every_list(stores: ChatStores) -> None:
    polls = stores.polls_and_questions
    for qid, ts in [("q1", 1), ("q2", 2)]:
        assert await polls.add_question(ROOM, _question(qid, ts), 10)
    assert await polls.upvote(ROOM, "q2", "v_a")
    assert await polls.hide_question(ROOM, "q2") is True
    assert await polls.hide_question(ROOM, "nope") is False
    assert await polls.hide_question(OTHER, "q1") is False
    stored = {s.question["id"]: s for s in await polls.questions(ROOM)}
    assert stored["q2"].hidden and not stored["q1"].hidden and stored["q2"].votes == 1
    assert [q["id"] for q in question_list(stored.values(), 10)] == ["q1"]


def test_question_list_shapes_and_orders() -> None:
    """No store involved: ties on votes go to the oldest, ties on both to the smaller id."""
    stored = [
        StoredQuestion(_question("q2", 7), 1, False),
        StoredQuestion(_question("q3", 7), 1, True),
        StoredQuestion(_question("q1", 7), 1, False),
        StoredQuestion(_question("q0", 8), 1, False),
        StoredQuestion(_question("q9", 1), 0, False),
        StoredQuestion(_question("q8", 9), 4, False),
    ]
    listed = question_list(stored, 50)
    assert [q["id"] for q in listed] == ["q8", "q1", "q2", "q3", "q0", "q9"]
    assert listed[3] == {**_question("q3", 7), "votes": 1, "answered": True}
    assert question_list(stored, 1) == [{**_question("q8", 9), "votes": 4, "answered": False}]
    assert question_list([], 50) == []


# ---- audience and hall hearts --------------------------------------------------------------------
PROGRAM = "program:p1"


async def test_audience_keeps_peak_uniques_watch_time_and_viewers_per_minute(stores: ChatStores) -> None:
    audience, counters = stores.audience, stores.counters
    assert await audience.audience(PROGRAM) == Audience(0, 0, 0)
    await audience.record(PROGRAM, 100, 3, 0, ["v_a", "v_b", "v_c"])
    await audience.record(PROGRAM, 100, 5, 150, ["v_b", "v_d"])  # v_b came back: counted once
    await audience.record(PROGRAM, 101, 2, 90, [])
    await audience.record(PROGRAM, 101, 4, 0, [])
    assert await audience.audience(PROGRAM) == Audience(peak=5, unique=4, watch_seconds=240)
    assert await audience.audience(OTHER) == Audience(0, 0, 0)
    await stores.history.write_tick(PROGRAM, [_msg("hi")], [], 2, 101)
    assert await counters.per_minute(PROGRAM, 0) == [
        {"minute": 100, "messages": 0, "hearts": 0, "viewers": 5},
        {"minute": 101, "messages": 1, "hearts": 2, "viewers": 4},
    ]


async def test_hall_hearts_count_up_to_the_days_limit(stores: ChatStores) -> None:
    hearts = stores.hall_hearts
    assert await hearts.admit(ROOM, "2026-11-26", "v_a", 3, 1) == 1
    assert await hearts.admit(ROOM, "2026-11-26", "v_a", 1, 1) == 0
    assert await hearts.admit(ROOM, "2026-11-26", "v_b", 1, 1) == 1
    assert await hearts.admit(ROOM, "2026-11-27", "v_a", 1, 1) == 1  # another day
    assert await hearts.admit(OTHER, "2026-11-26", "v_a", 1, 1) == 1  # another hall
    assert await hearts.admit(ROOM, "2026-11-28", "v_a", 2, 3) == 2
    assert await hearts.admit(ROOM, "2026-11-28", "v_a", 5, 3) == 1  # up to the limit, no more
    assert await hearts.given(ROOM, "2026-11-26", "v_a") == 1
    assert await hearts.given(ROOM, "2026-11-28", "v_a") == 3
    assert await hearts.given(ROOM, "2026-11-26", "v_z") == 0


# ---- presence ----------------------------------------------------------------------------------
async def test_report_viewers(stores: ChatStores, backend_kind: str) -> None:
    presence = stores.presence
    assert await presence.report_viewers("proc-a", {ROOM: 3, OTHER: 0}) == {ROOM: 3, OTHER: 0}
    second = await presence.report_viewers("proc-b", {ROOM: 2})
    # Redis adds up every process; SQLite is one process, so its own counts are the totals.
    assert second == ({ROOM: 5} if backend_kind == "redis" else {ROOM: 2})
    assert await presence.report_viewers("proc-a", {ROOM: 1}) == (
        {ROOM: 3} if backend_kind == "redis" else {ROOM: 1}
    )


@pytest.mark.parametrize("backend_kind", ["redis"])
async def test_redis_drops_processes_that_stopped_reporting(backend: Backend) -> None:
    now = [1_700_000_000_000]
    presence = store_redis.RedisPresence(backend, now_ms=lambda: now[0])
    assert await presence.report_viewers("proc-a", {ROOM: 3}) == {ROOM: 3}
    now[0] += store_redis.VIEWERS_FRESH_MS + 1000
    assert await presence.report_viewers("proc-b", {ROOM: 2}) == {ROOM: 2}


# ---- one round trip per tick -------------------------------------------------------------------
@pytest.mark.parametrize("backend_kind", ["redis"])
async def test_redis_tick_is_one_command_whatever_its_size(stores: ChatStores, backend: Backend) -> None:
    history = stores.history
    redis: Any = backend.require_redis()
    await history.write_tick(ROOM, [_msg("warm")], [], 0, 6)  # the server learns the script

    # Every tick is one command (the script), whatever its size: no pipeline, no SCRIPT EXISTS.
    sent: list[object] = []
    original_command, original_pipeline = redis.execute_command, redis.pipeline

    async def command(*args: object, **kwargs: object) -> object:
        sent.append(args[0])
        return await original_command(*args, **kwargs)

    def pipeline(*args: object, **kwargs: object) -> object:
        sent.append("pipeline")
        return original_pipeline(*args, **kwargs)

    redis.execute_command, redis.pipeline = command, pipeline
    try:
        small = await history.write_tick(ROOM, [_msg("y")], [], 1, 6)
        large = await history.write_tick(ROOM, [_msg(f"z{i}") for i in range(300)], [small.ids[0]], 40, 6)
        hearts_only = await history.write_tick(ROOM, [], [], 2, 6)
    finally:
        redis.execute_command, redis.pipeline = original_command, original_pipeline
    assert sent == ["EVALSHA", "EVALSHA", "EVALSHA"]
    assert all(large.fresh) and len(large.ids) == 300
    assert (hearts_only.hearts_total, hearts_only.hearts_minute) == (43, 43)


@pytest.mark.parametrize("backend_kind", ["redis"])
async def test_redis_tick_after_the_scripts_were_flushed(stores: ChatStores, backend: Backend) -> None:
    """A restarted Redis forgets the script: the tick loads it and counts everything once."""
    history, counters = stores.history, stores.counters
    await history.write_tick(ROOM, [_msg("a")], [], 1, 7)
    await backend.require_redis().script_flush()
    result = await history.write_tick(ROOM, [_msg("b")], [], 2, 7)
    assert (result.hearts_total, result.hearts_minute) == (3, 3)
    assert [m["text"] for m in await history.recent(ROOM, 10)] == ["a", "b"]
    assert await counters.per_minute(ROOM, 0) == [
        {"minute": 7, "messages": 2, "hearts": 3, "viewers": 0}]
