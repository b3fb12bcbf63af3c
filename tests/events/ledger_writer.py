"""A process that writes to the events ledger as fast as it can, for the crash tests: `credits`
earnings of 5 spread over `members` members and a donation of 5 after every third, each with its
own idempotency key, retried with the same key until the store answers. It prints one line per
acknowledged write (`credit <n> <earned> <duplicate>` / `donate <n> <given> <duplicate>`), flushed
at once, so the test knows what was acknowledged when it kills this process or the store.

    python -m tests.events.ledger_writer (--data-dir D | --redis-url URL --prefix P) [--credits N]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from events.store import Campaign, Credit, make_events_store
from kernel.settings import CoreSettings
from kernel.storage import Backend

T = TypeVar("T")
CAMPAIGN = "c_crash"


async def until_answered(step: Callable[[], Awaitable[T]]) -> T:
    while True:
        try:
            return await step()
        except Exception:  # the store is down or the connection broke: the same write again
            await asyncio.sleep(0.05)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir")
    parser.add_argument("--redis-url")
    parser.add_argument("--prefix", default="innotv:")
    parser.add_argument("--credits", type=int, default=600)
    parser.add_argument("--members", type=int, default=10)
    args = parser.parse_args()
    core = CoreSettings(
        data_dir=Path(args.data_dir or "data"), redis_url=args.redis_url, redis_prefix=args.prefix
    )
    backend = Backend.from_settings(core)
    await until_answered(backend.open)
    store = make_events_store(backend)
    await until_answered(store.setup)
    if await until_answered(lambda: store.get_campaign(CAMPAIGN)) is None:
        campaign = Campaign(CAMPAIGN, "crash", "test", 10**9, 0, 2**52, 0)
        await until_answered(lambda: store.create_campaign(campaign))
    for n in range(args.credits):
        member = f"m{n % args.members}"
        credit = Credit(
            member,
            5,
            "vote",
            f"r{n}",
            "p",
            1_700_000_000_000 + n,
            "2030-11-26",
            10**9,
            None,
            f"{member}:vote:r{n}",
        )
        result = await until_answered(lambda c=credit: store.credit(c))  # type: ignore[misc]
        print(f"credit {n} {result.earned} {int(result.duplicate)}", flush=True)
        if n % 3 == 2:
            given = await until_answered(
                lambda m=member, k=f"{member}:donate:d{n}": store.donate(m, CAMPAIGN, 5, k, 0)
            )  # type: ignore[misc]
            print(f"donate {n} {given.amount} {int(given.duplicate)}", flush=True)
    await backend.close()


if __name__ == "__main__":
    asyncio.run(main())
