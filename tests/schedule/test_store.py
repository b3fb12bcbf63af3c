"""The program store's contract, run against both backends (SQLite and Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from innotv.config import Config
from kernel.core import build_kernel
from schedule.store import (
    Overlap,
    ProgramExists,
    ProgramMissing,
    ProgramStore,
    VersionMismatch,
    make_program_store,
)

from .util import program, seoul

T0 = seoul(2026, 11, 24, 14)


@pytest.fixture
async def store(config: Config) -> AsyncIterator[ProgramStore]:
    """The store alone on each backend (no server, so no scheduler moving states meanwhile)."""
    kernel = build_kernel(config.core)
    await kernel.backend.open()
    program_store = make_program_store(kernel.backend)
    await program_store.setup()
    try:
        yield program_store
    finally:
        await kernel.backend.close()


async def test_create_get_and_list_in_order(store: ProgramStore) -> None:
    b = await store.create(program("b", T0 + timedelta(hours=3), title_en="B", hosts=("x",)))
    a = await store.create(program("a", T0, description="줄1\n줄2"))
    assert await store.get("a") == a
    assert await store.get("b") == b
    assert await store.get("nope") is None
    assert [p.id for p in await store.in_range()] == ["a", "b"]
    got = await store.get("a")
    assert got is not None and got.starts_at == T0 and got.description == "줄1\n줄2"


async def test_range_queries_use_half_open_overlap(store: ProgramStore) -> None:
    await store.create(program("a", T0, 60))  # 14:00-15:00
    await store.create(program("b", T0 + timedelta(hours=2), 60))  # 16:00-17:00
    assert [p.id for p in await store.in_range(T0 + timedelta(minutes=30), None)] == ["a", "b"]
    assert [p.id for p in await store.in_range(T0 + timedelta(hours=1), None)] == ["b"]
    assert [p.id for p in await store.in_range(None, T0 + timedelta(hours=2))] == ["a"]
    window = (T0 + timedelta(minutes=59), T0 + timedelta(hours=2, seconds=1))
    assert [p.id for p in await store.in_range(*window)] == ["a", "b"]
    assert await store.in_range(T0 + timedelta(hours=1), T0 + timedelta(hours=2)) == []


async def test_create_refuses_duplicates_and_overlaps(store: ProgramStore) -> None:
    await store.create(program("a", T0, 60))
    with pytest.raises(ProgramExists):
        await store.create(program("a", T0 + timedelta(days=1)))
    with pytest.raises(Overlap) as caught:
        await store.create(program("b", T0 + timedelta(minutes=59), 60))
    assert (caught.value.program_id, caught.value.other_id) == ("b", "a")
    # Touching is not overlapping.
    await store.create(program("c", T0 + timedelta(hours=1), 60))
    await store.create(program("d", T0 - timedelta(hours=1), 60))
    assert [p.id for p in await store.in_range()] == ["d", "a", "c"]


async def test_update_is_compare_and_set_on_version(store: ProgramStore) -> None:
    await store.create(program("a", T0, 60, state="live"))
    await store.create(program("b", T0 + timedelta(hours=2), 60))
    edited = await store.update(program("a", T0, 90, title="새 제목", version=99), expected_version=1)
    assert (edited.title, edited.version, edited.state) == ("새 제목", 2, "live")
    assert edited.ends_at == T0 + timedelta(minutes=90)
    with pytest.raises(VersionMismatch) as caught:
        await store.update(program("a", T0, 30), expected_version=1)
    assert caught.value.current == 2
    with pytest.raises(Overlap):
        await store.update(program("a", T0, 150), expected_version=2)
    with pytest.raises(ProgramMissing):
        await store.update(program("zz", T0 + timedelta(days=3)), expected_version=1)
    stored = await store.get("a")
    assert stored == edited


async def test_concurrent_updates_only_one_wins(store: ProgramStore) -> None:
    await store.create(program("a", T0, 60))
    results = await asyncio.gather(
        *(store.update(program("a", T0, 60, title=f"t{i}"), expected_version=1) for i in range(5)),
        return_exceptions=True,
    )
    assert sum(1 for r in results if not isinstance(r, Exception)) == 1
    assert all(isinstance(r, VersionMismatch) for r in results if isinstance(r, Exception))


async def test_set_state_compare_and_set(store: ProgramStore) -> None:
    await store.create(program("a", T0))
    moved = await store.set_state("a", "lobby", expected_state="scheduled")
    assert moved is not None and moved.state == "lobby" and moved.version == 1
    assert await store.set_state("a", "live", expected_state="scheduled") is None
    assert await store.set_state("a", "lobby") is None  # already there: no change
    assert await store.set_state("missing", "live") is None
    results = await asyncio.gather(*(store.set_state("a", "live", "lobby") for _ in range(5)))
    assert sum(1 for r in results if r is not None) == 1
    got = await store.get("a")
    assert got is not None and got.state == "live"
    # a state that goes back (a replay hidden) may count as an edit, in the same atomic step
    back = await store.set_state("a", "lobby", expected_state="live", bump_version=True)
    assert back is not None and (back.state, back.version) == ("lobby", 2)
    assert await store.get("a") == back
    assert await store.set_state("a", "live", expected_state="scheduled", bump_version=True) is None
    assert (await store.get("a")) == back, "a refused change bumps nothing"


async def test_delete(store: ProgramStore) -> None:
    await store.create(program("a", T0))
    assert await store.delete("a") is True
    assert await store.delete("a") is False
    assert await store.get("a") is None
    assert await store.in_range() == []
    await store.create(program("b", T0))  # the slot is free again


async def test_save_many_replace_is_all_or_nothing(store: ProgramStore) -> None:
    await store.create(program("keep", T0 + timedelta(hours=5), 60))
    await store.create(program("a", T0, 60, state="lobby"))
    before = await store.in_range()
    batch = [
        program("a", T0, 60),  # unchanged
        program("new1", T0 + timedelta(hours=2), 60),
        program("new2", T0 + timedelta(hours=5, minutes=30), 60),  # overlaps "keep"
    ]
    with pytest.raises(Overlap) as caught:
        await store.save_many(batch, "replace")
    assert (caught.value.program_id, caught.value.other_id) == ("new2", "keep")
    assert await store.in_range() == before

    renamed = program("keep", T0 + timedelta(hours=5), 60, title="바뀜")
    changes = await store.save_many([*batch[:2], renamed], "replace")
    assert sorted((c.id, c.action) for c in changes) == [("keep", "updated"), ("new1", "created")]
    a = await store.get("a")
    assert a is not None and (a.version, a.state) == (1, "lobby")
    keep = await store.get("keep")
    assert keep is not None and (keep.title, keep.version) == ("바뀜", 2)
    # Replace may move a batch member into a slot another batch member leaves.
    swapped = [program("a", T0 + timedelta(hours=2), 60), program("new1", T0, 60)]
    assert len(await store.save_many(swapped, "replace")) == 2
    assert [p.id for p in await store.in_range()] == ["new1", "a", "keep"]
    assert await store.save_many(swapped, "replace") == []


async def test_save_many_missing_keeps_existing(store: ProgramStore) -> None:
    await store.create(program("a", T0, 60, title="편집됨"))
    batch = [program("a", T0, 60, title="원래"), program("b", T0 + timedelta(hours=1), 60)]
    changes = await store.save_many(batch, "missing")
    assert [(c.id, c.action) for c in changes] == [("b", "created")]
    a = await store.get("a")
    assert a is not None and a.title == "편집됨"
    assert await store.save_many(batch, "missing") == []
    # An existing program kept in place still blocks a new one.
    with pytest.raises(Overlap):
        moved = [program("a", T0 + timedelta(days=1)), program("c", T0 + timedelta(minutes=30))]
        await store.save_many(moved, "missing")
    assert await store.get("c") is None
