"""Scheduler leadership on Redis with two real server processes: one leads, the other takes over
within the lease time when the leader is killed with SIGKILL, and every transition is published
exactly once (read straight off the Redis bus channel)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis.asyncio as aioredis

from innotv.cli import opened
from schedule import build_service
from schedule.model import Program
from tests.helpers import RedisServer, SpawnedServer, make_config, spawn_server

LEASE_MS = 1000


async def _wait_for(check: object, within: float, what: str) -> None:
    """Poll `check()` with a deadline (nothing to await across processes)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def test_lease_handover_publishes_each_transition_once(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}:"
    env = {"INNOTV_SCHEDULER_LEASE_MS": str(LEASE_MS), "INNOTV_LOBBY_MINUTES": "0"}
    servers = [spawn_server(tmp_path / name, redis_server.url, prefix, extra_env=env) for name in "ab"]
    r = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    pubsub = r.pubsub(ignore_subscribe_messages=True)
    seen: list[tuple[str, str]] = []

    async def listen() -> None:
        async for message in pubsub.listen():
            event = json.loads(message["data"])
            if event["topic"] == "program":
                seen.append((event["event"]["id"], event["event"]["state"]))

    await pubsub.subscribe(prefix + "bus")
    listener = asyncio.create_task(listen())
    cli = opened(make_config("redis", tmp_path / "cli", redis_server.url, redis_prefix=prefix))
    try:
        await asyncio.gather(*(s.wait_ready() for s in servers))
        lease_key = prefix + "scheduler:lease"

        async def holder() -> SpawnedServer | None:
            token = await r.get(lease_key)
            pids = {s.proc.pid: s for s in servers}
            return pids.get(int(str(token).split(":")[1])) if token else None

        leader = await holder()
        assert leader is not None, "one of the two processes must hold the lease"
        follower = servers[1] if leader is servers[0] else servers[0]

        # Two short programs (the store takes any length; the API's 1-minute minimum is for people).
        kernel, auth = await cli.__aenter__()
        service = build_service(kernel, auth)
        await service.setup()
        now = datetime.now(UTC).replace(microsecond=0)
        programs = [
            Program(id="first", title="첫 방송", kind="live", starts_at=now + timedelta(seconds=2),
                    ends_at=now + timedelta(seconds=4)),
            Program(id="second", title="둘째 방송", kind="live", starts_at=now + timedelta(seconds=4),
                    ends_at=now + timedelta(seconds=5)),
        ]
        await service.save_many(programs, "replace")

        async def first_live() -> bool:
            return ("first", "live") in seen

        await _wait_for(first_live, 10, "the first program to go live")
        assert await holder() is leader
        leader.kill9()
        killed = time.monotonic()

        async def follower_leads() -> bool:
            return await holder() is follower

        await _wait_for(follower_leads, 5, "the follower to take the lease")
        takeover = time.monotonic() - killed
        # A figure, not an assertion (a busy machine moves it): the key expires at most one lease
        # after the last renewal, and the follower tries again the moment it does.
        print(f"lease {LEASE_MS} ms: the follower led {takeover:.2f} s after the leader's SIGKILL")

        expected = {("first", "live"), ("first", "ended"), ("second", "live"), ("second", "ended")}

        async def all_seen() -> bool:
            return expected <= set(seen)

        await _wait_for(all_seen, 15, f"all transitions (seen {seen})")
        # A barrier instead of a pause: one more program, live at once, makes the new leader
        # publish after everything it published before; a doubled publish would show by then.
        await service.save_many([Program(id="barrier", title="마지막", kind="live",
                                         starts_at=programs[-1].ends_at,
                                         ends_at=now + timedelta(hours=1))], "replace")

        async def barrier_seen() -> bool:
            return ("barrier", "live") in seen

        await _wait_for(barrier_seen, 10, "the barrier program to go live")
        seen.remove(("barrier", "live"))
        assert Counter(seen) == Counter(expected), seen
        states = {p.id: p.state for p in await service.list_programs()}
        assert states == {"first": "ended", "second": "ended", "barrier": "live"}
        assert follower.terminate() == 0
        assert await r.get(lease_key) is None, "a clean shutdown gives the lease back"
    finally:
        for server in servers:
            server.kill9()
        listener.cancel()
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await r.aclose()
        await cli.__aexit__(None, None, None)
