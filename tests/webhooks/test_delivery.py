"""Webhooks end to end: a producer registers a local receiver (allowed by
INNOTV_WEBHOOK_ALLOW_PRIVATE), a program's state changes reach it signed, failed tries are
retried with the same delivery id, a stuck receiver never holds up the server, and with two
processes on one Redis each change is delivered once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from innotv.config import Config
from tests.helpers import Server, make_config, running_server, with_settings
from tests.live.support import wait_for

from .receiver import receiver

FAST = {"webhook_allow_private": True, "webhook_backoff_s": 0.1, "webhook_timeout_s": 1.0}


async def register(producer: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with producer.post("/api/webhooks", json={"url": url}) as r:
        assert r.status == 201, await r.text()
        assert r.headers["Location"].startswith("/api/webhooks/wh_")
        answer: dict[str, Any] = await r.json()
    assert answer["secret"].startswith("whsec_") and answer["webhook"]["url"] == url
    return answer


async def program_now(producer: aiohttp.ClientSession) -> dict[str, Any]:
    ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    async with producer.post("/api/programs", json={
            "title": "웹훅 시험 방송", "kind": "live", "starts_at": "now", "ends_at": ends}) as r:
        assert r.status == 201, await r.text()
        program: dict[str, Any] = await r.json()
    return program


async def end(producer: aiohttp.ClientSession, program_id: str) -> None:
    async with producer.post(f"/api/programs/{program_id}/end") as r:
        assert r.status == 200, await r.text()


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_state_changes_arrive_signed_and_failed_tries_are_retried(config: Config) -> None:
    config = with_settings(config, **FAST)
    async with receiver(statuses=[503, 503]) as rec, running_server(config) as srv:
        producer = await srv.producer()
        hook = await register(producer, rec.url)
        async with producer.get("/api/webhooks") as r:
            listed = (await r.json())["webhooks"]
        assert listed == [hook["webhook"]] and "secret" not in listed[0]
        program = await program_now(producer)
        tries = await rec.wait_for(3)  # two answered 503, the third 200
        assert len({t.headers["X-Innotv-Delivery"] for t in tries}) == 1  # one delivery, three tries
        for t in tries:
            assert t.signed_by(hook["secret"])
            assert not t.signed_by("whsec_someone-else")
            assert abs(int(t.headers["X-Innotv-Timestamp"]) - time.time()) < 30
            assert t.headers["X-Innotv-Event"] == "program.state"
            assert t.headers["Content-Type"] == "application/json"
        sent = tries[-1].json()
        assert sent["event"] == "program.state"
        assert sent["program"]["id"] == program["id"] and sent["program"]["state"] == "live"
        await end(producer, program["id"])
        ended = (await rec.wait_for(4))[-1].json()
        assert ended["program"]["state"] == "ended" and ended["delivery"] != sent["delivery"]
        samples = await srv.samples()
        assert value(samples, "innotv_webhook_deliveries_total", outcome="retried") == 2
        assert value(samples, "innotv_webhook_deliveries_total", outcome="delivered") == 2
        # a removed webhook hears nothing more
        async with producer.delete(f"/api/webhooks/{hook['webhook']['id']}") as r:
            assert r.status == 204
        async with producer.delete(f"/api/webhooks/{hook['webhook']['id']}") as r:
            assert r.status == 404 and (await r.json())["error"]["code"] == "webhook_not_found"


async def test_a_stuck_receiver_never_holds_up_the_server(tmp_path: Path) -> None:
    config = make_config("sqlite", tmp_path / "d", None, **{**FAST, "webhook_max_attempts": 2})
    async with receiver(hang=True) as rec, running_server(config) as srv:
        producer = await srv.producer()
        await register(producer, rec.url)
        program = await program_now(producer)
        await rec.wait_for(1)  # the first try is in the receiver, which never answers
        started = time.monotonic()
        await end(producer, program["id"])  # another change, and the API answers at once
        async with producer.get("/api/programs") as r:
            assert r.status == 200
        assert time.monotonic() - started < 0.9  # less than one try's timeout
        await rec.wait_for(4)  # both changes, each tried twice (timeout, retry)


async def test_one_delivery_per_change_with_two_processes(tmp_path: Path, redis_server: Any) -> None:
    first = make_config("redis", tmp_path / "a", redis_server.url, **FAST)
    second = with_settings(first, data_dir=str(tmp_path / "b"))  # same Redis prefix: one deployment
    async with receiver() as rec, running_server(first) as one, running_server(second) as two:
        producer = await one.producer()
        await register(producer, rec.url)
        program = await program_now(producer)
        await rec.wait_for(1)  # on the air
        await end(producer, program["id"])
        got = await rec.wait_for(2)
        assert [g.json()["program"]["state"] for g in got] == ["live", "ended"]

        async def heard() -> tuple[float, float]:
            counts = [await s.samples() for s in (one, two)]
            claimed = sum(value(c, "innotv_webhook_changes_total", outcome="claimed") for c in counts)
            elsewhere = sum(value(c, "innotv_webhook_changes_total", outcome="claimed_elsewhere")
                            for c in counts)
            return claimed, elsewhere

        # Both processes heard both changes (the bus brings each to every process); each change
        # was claimed by one of them only, and only the claimer sent it.
        await wait_for(lambda: _heard_everything(one, two), what="both processes to hear both changes")
        counts = [await s.samples() for s in (one, two)]
        claimed = sum(value(c, "innotv_webhook_changes_total", outcome="claimed") for c in counts)
        delivered = sum(value(c, "innotv_webhook_deliveries_total", outcome="delivered") for c in counts)
        assert claimed == 2 and delivered == 2
        assert len(rec.received) == 2


async def _heard_everything(*servers: Server) -> bool:
    counts = [await s.samples() for s in servers]
    return sum(value(c, "innotv_webhook_changes_total", outcome=outcome)
               for c in counts for outcome in ("claimed", "claimed_elsewhere")) == 4


async def test_targets_are_checked_again_at_delivery(tmp_path: Path) -> None:
    """A webhook stored while private targets were allowed (or a name that now resolves to a
    private address) is refused when it is delivered, by literal and by name."""
    allowed = make_config("sqlite", tmp_path / "d", None, **FAST)
    async with receiver() as rec:
        port = rec.url.split(":")[2].split("/")[0]
        async with running_server(allowed) as srv:
            producer = await srv.producer()
            await register(producer, rec.url)
            await register(producer, f"http://localhost:{port}/hook")
        strict = with_settings(allowed, webhook_allow_private=False)
        async with running_server(strict) as srv:
            producer = await srv.producer()
            await program_now(producer)

            async def refused() -> bool:
                samples = await srv.samples()
                return value(samples, "innotv_webhook_deliveries_total", outcome="refused") == 2

            await wait_for(refused, what="both deliveries refused")
        assert rec.received == []
