"""The captions store contract, on SQLite and on Redis (the same tests for both backends)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from captions.model import NewCaption, Turn
from captions.store import CaptionStore, make_caption_store
from innotv.config import Config
from kernel.core import build_kernel


@pytest.fixture
async def store(config: Config) -> AsyncIterator[CaptionStore]:
    kernel = build_kernel(config.core)
    await kernel.open()
    made = make_caption_store(kernel.backend)
    await made.setup()
    try:
        yield made
    finally:
        await kernel.close()


async def test_lines_are_numbered_in_order_per_program_and_read_back(store: CaptionStore) -> None:
    first = await store.append("p1", [NewCaption("ko", 1000, "안녕하세요", "cap1"),
                                      NewCaption("en", 1100, "Hello <b>&", "cap2")])
    second = await store.append("p1", [NewCaption("ko", 2000, "두 번째 줄", "cap1")])
    other = await store.append("p2", [NewCaption("ko", 500, "다른 방송", "cap1")])
    assert [(c.id, fresh) for c, fresh in first + second] == [(1, True), (2, True), (3, True)]
    assert other[0][0].id == 1
    lines = await store.lines("p1")
    assert [(c.id, c.lang, c.at, c.text, c.by, c.rev) for c in lines] == [
        (1, "ko", 1000, "안녕하세요", "cap1", 0), (2, "en", 1100, "Hello <b>&", "cap2", 0),
        (3, "ko", 2000, "두 번째 줄", "cap1", 0)]
    assert [c.id for c in await store.lines("p1", since=1)] == [2, 3]
    assert [c.id for c in await store.lines("p1", since=0, limit=2)] == [1, 2]
    assert await store.lines("nothing") == []
    last = await store.last("p1", "ko")
    assert last is not None and last.id == 3
    assert await store.last("p1", "ja") is None


async def test_a_retried_line_is_stored_once(store: CaptionStore) -> None:
    await store.append("p1", [NewCaption("ko", 1000, "한 번만", "cap1", "cap1/a1")])
    again = await store.append("p1", [NewCaption("ko", 1200, "한 번만", "cap1", "cap1/a1"),
                                      NewCaption("ko", 1300, "새 줄", "cap1", "cap1/a2")])
    assert [(c.id, c.at, fresh) for c, fresh in again] == [(1, 1000, False), (2, 1300, True)]
    assert [c.text for c in await store.lines("p1")] == ["한 번만", "새 줄"]


async def test_a_correction_raises_the_revision_and_keeps_the_place(store: CaptionStore) -> None:
    await store.append("p1", [NewCaption("ko", 1000, "오타가 있는 줄", "cap1")])
    fixed = await store.correct("p1", 1, "고친 줄")
    assert fixed is not None and (fixed.id, fixed.at, fixed.text, fixed.rev) == (1, 1000, "고친 줄", 1)
    assert (await store.get("p1", 1)) == fixed
    assert await store.correct("p1", 99, "없음") is None
    assert await store.get("p1", 99) is None


async def test_turns_and_the_caption_key_hash(store: CaptionStore) -> None:
    assert await store.turns("p1") == []
    await store.set_turn("p1", Turn("ko", "cap1", 10))
    await store.set_turn("p1", Turn("en", "cap2", 20))
    await store.set_turn("p1", Turn("ko", None, 30))
    assert await store.turns("p1") == [Turn("en", "cap2", 20), Turn("ko", None, 30)]
    assert await store.key_hash("p1") is None
    await store.set_key_hash("p1", "abc")
    await store.set_key_hash("p1", "def")
    assert await store.key_hash("p1") == "def"
    assert await store.key_hash("p2") is None
