"""The chat store contract, run against both backends (SQLite rows, Redis Streams)."""

from __future__ import annotations

import pytest

from chat.store import ChatStore, NewMessage
from tests.helpers import Server

ROOM = "hall:regional"


def _msg(text: str, key: str | None = None, ts: int = 1_700_000_000_000) -> NewMessage:
    return NewMessage(viewer="v_1", nickname="n", text=text, ts=ts, role="viewer", client_key=key)


def _store(server: Server) -> ChatStore:
    store: ChatStore = server.parts.chat.service.store
    return store


async def test_write_tick_dedupes_and_counts(server: Server) -> None:
    store = _store(server)
    first = await store.write_tick(ROOM, [_msg("a", "v_1/x"), _msg("b")], [], 5, 100)
    assert first.fresh == [True, True] and len(set(first.ids)) == 2
    assert (first.hearts_total, first.hearts_minute) == (5, 5)
    again = await store.write_tick(ROOM, [_msg("a", "v_1/x"), _msg("c")], [], 0, 100)
    assert again.ids[0] == first.ids[0] and again.fresh == [False, True]
    assert again.hearts_total == 5
    hearts_only = await store.write_tick(ROOM, [], [], 3, 101)
    assert (hearts_only.ids, hearts_only.hearts_total, hearts_only.hearts_minute) == ([], 8, 3)
    assert await store.hearts(ROOM, 100) == (8, 5)
    assert await store.hearts_totals([ROOM, "hall:other"]) == {ROOM: 8, "hall:other": 0}
    rows = await store.per_minute(ROOM, 0)
    assert rows == [{"minute": 100, "messages": 3, "hearts": 5}, {"minute": 101, "messages": 0, "hearts": 3}]


async def test_recent_recover_and_delete(server: Server) -> None:
    store = _store(server)
    ids = []
    for i in range(6):
        ids += (await store.write_tick(ROOM, [_msg(f"m{i}")], [], 0, 1)).ids
    assert [m["text"] for m in await store.recent(ROOM, 3)] == ["m3", "m4", "m5"]
    assert [m["text"] for m in await store.recent(ROOM, 2, before=ids[3])] == ["m1", "m2"]
    await store.write_tick(ROOM, [], [ids[1], ids[4]], 0, 1)
    assert await store.get_message(ROOM, ids[1]) is None
    assert (await store.get_message(ROOM, ids[2]) or {})["text"] == "m2"
    recovered = await store.recover(ROOM, ids[2], 100)
    assert recovered is not None
    assert [m["text"] for m in recovered.messages] == ["m3", "m5"]
    assert recovered.deleted == [ids[1]]
    assert [m["text"] for m in await store.recent(ROOM, 10)] == ["m0", "m2", "m3", "m5"]
    assert await store.recover("hall:other", ids[2], 100) is None
    assert await store.recover(ROOM, ids[0], 2) is None  # too far back for the limit


async def test_votes_upvotes_meta(server: Server) -> None:
    store = _store(server)
    assert await store.vote("p1", "v_a", 1) is True
    assert await store.vote("p1", "v_a", 0) is False
    assert await store.vote("p1", "v_b", 1) is True
    assert await store.poll_counts("p1", 3) == [0, 2, 0]
    assert await store.has_voted("p1", "v_a") and not await store.has_voted("p1", "v_c")
    await store.add_question(ROOM, {"id": "q1", "viewer": "v", "nickname": "n", "text": "?", "ts": 1})
    await store.add_question(ROOM, {"id": "q2", "viewer": "v", "nickname": "n", "text": "!", "ts": 2})
    assert await store.upvote(ROOM, "q2", "v_a") is True
    assert await store.upvote(ROOM, "q2", "v_a") is False
    assert await store.upvote(ROOM, "nope", "v_a") is None
    assert await store.answer_question(ROOM, "q2") and not await store.answer_question(ROOM, "nope")
    listed = await store.questions(ROOM, 10)
    assert [(q["id"], q["votes"], q["answered"]) for q in listed] == [("q2", 1, True), ("q1", 0, False)]
    await store.set_meta(ROOM, "slow", "30")
    await store.set_meta(ROOM, "ban:v_x", "1")
    await store.set_meta(ROOM, "ban:v_x", None)
    assert await store.meta(ROOM) == {"slow": "30"}


@pytest.mark.parametrize("backend_kind", ["redis"])
async def test_redis_commands_per_tick_are_fixed(server: Server) -> None:
    store = _store(server)
    redis = server.parts.kernel.backend.require_redis()

    # Every tick is one pipeline of 3 commands (script, INCRBY, HINCRBY), whatever its size.
    pipe_sizes = []
    original = redis.pipeline

    def spy(*args: object, **kwargs: object) -> object:
        pipe = original(*args, **kwargs)  # type: ignore[arg-type]
        real_execute = pipe.execute

        async def execute(*a: object, **k: object) -> object:
            pipe_sizes.append(len(pipe.command_stack))
            return await real_execute(*a, **k)  # type: ignore[arg-type]

        pipe.execute = execute  # type: ignore[method-assign]
        return pipe

    redis.pipeline = spy  # type: ignore[method-assign]
    try:
        await store.write_tick(ROOM, [_msg("y")], [], 1, 6)
        await store.write_tick(ROOM, [_msg(f"z{i}") for i in range(300)], ["1-0:0"], 40, 6)
    finally:
        redis.pipeline = original  # type: ignore[method-assign]
    assert pipe_sizes == [3, 3]
