"""The webhook store's contract on both backends: webhooks kept within the limit, listed oldest
first, removed; a delivery claim won by exactly one of several callers, also across two
processes' connections to the same store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from innotv.config import Config
from kernel.core import build_kernel
from kernel.storage import Backend
from webhooks.store import Webhook, WebhookStore, make_webhook_store


@pytest.fixture
async def backends(config: Config) -> AsyncIterator[tuple[Backend, Backend]]:
    """Two connections to the same store, as two processes would have."""
    first, second = build_kernel(config.core).backend, build_kernel(config.core).backend
    await first.open()
    await second.open()
    try:
        yield first, second
    finally:
        await second.close()
        await first.close()


async def stores(backends: tuple[Backend, Backend]) -> tuple[WebhookStore, WebhookStore]:
    one, two = make_webhook_store(backends[0]), make_webhook_store(backends[1])
    await one.setup()
    await two.setup()
    return one, two


def hook(n: int) -> Webhook:
    return Webhook(f"wh_{n}", f"https://portal.example.kr/hook/{n}", f"secret-{n}", "prod", 1000.0 + n)


async def test_add_list_remove_within_the_limit(backends: tuple[Backend, Backend]) -> None:
    store, other = await stores(backends)
    assert await store.list() == []
    assert await store.add(hook(2), limit=2)
    assert await store.add(hook(1), limit=2)
    assert not await other.add(hook(3), limit=2)  # the limit holds for every process
    assert [h.id for h in await other.list()] == ["wh_1", "wh_2"]  # oldest first
    assert (await other.list())[0] == hook(1)  # the secret is kept (deliveries are signed with it)
    assert await other.remove("wh_1")
    assert not await store.remove("wh_1")
    assert [h.id for h in await store.list()] == ["wh_2"]
    assert hook(2).public() == {"id": "wh_2", "url": "https://portal.example.kr/hook/2",
                                "created_by": "prod", "created_at": 1002.0}


async def test_adding_at_once_never_passes_the_limit(backends: tuple[Backend, Backend]) -> None:
    store, other = await stores(backends)
    added = await asyncio.gather(*((store if n % 2 else other).add(hook(n), limit=3) for n in range(10)))
    assert sum(added) == 3
    assert len(await store.list()) == 3


async def test_a_claim_is_won_once(backends: tuple[Backend, Backend]) -> None:
    store, other = await stores(backends)
    won = await asyncio.gather(*((store if n % 2 else other).claim("program:p1:live:2", 60)
                                 for n in range(10)))
    assert sum(won) == 1
    assert await other.claim("program:p1:ended:2", 60)  # another change, another claim
    assert not await store.claim("program:p1:ended:2", 60)
