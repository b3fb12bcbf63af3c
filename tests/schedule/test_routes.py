"""The lineup's REST routes on both backends: roles, hostile input, and an intact lineup after
every refused request."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from kernel.topics import LINEUP_CHANGED, LineupChanged
from tests.helpers import Server

from .util import body, lineup, seoul

T0 = seoul(2030, 11, 24, 14)
JSON = {"Content-Type": "application/json"}
PROGRAM_KEYS = {"id", "title", "title_en", "description", "kind", "starts_at", "ends_at", "hosts", "state",
                "version"}


async def _create(client: aiohttp.ClientSession, payload: dict[str, Any]) -> dict[str, Any]:
    async with client.post("/api/programs", json=payload) as r:
        assert r.status == 201, await r.text()
        assert r.headers["Location"].startswith("/api/programs/")
        created: dict[str, Any] = await r.json()
        return created


async def _error(response: aiohttp.ClientResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    data = await response.json()
    assert data["error"]["code"] == code, data
    assert data["error"]["message"]
    error: dict[str, Any] = data["error"]
    return error


async def test_create_read_edit_delete(server: Server) -> None:
    producer = await server.producer()
    await server.host()  # the account "hostess" exists now
    events: asyncio.Queue[LineupChanged] = asyncio.Queue()

    async def on_lineup(event: LineupChanged) -> None:
        await events.put(event)

    server.parts.kernel.bus.subscribe(LINEUP_CHANGED, on_lineup)
    created = await _create(producer, body(
        T0, 90, title_en="Innovation talk", description="첫 줄\n\t둘째 줄", hosts=["hostess"]
    ))
    assert set(created) == PROGRAM_KEYS
    assert created["starts_at"] == "2030-11-24T14:00:00+09:00"
    assert created["ends_at"] == "2030-11-24T15:30:00+09:00"
    assert (created["state"], created["version"], created["hosts"]) == ("scheduled", 1, ["hostess"])
    pid = created["id"]
    event = await asyncio.wait_for(events.get(), 5)
    assert (event.id, event.action) == (pid, "created")

    viewer = server.client()
    async with viewer.get(f"/api/programs/{pid}") as r:
        assert r.status == 200
        assert await r.json() == created
    # Times given in another offset come back in Seoul time.
    utc_start = (T0 + timedelta(hours=3)).astimezone(seoul(2030, 1, 1).tzinfo).isoformat()
    other = await _create(producer, body(T0 + timedelta(hours=3)) | {
        "starts_at": "2030-11-24T08:00:00Z", "ends_at": "2030-11-24T09:00:00+00:00"})
    assert other["starts_at"] == "2030-11-24T17:00:00+09:00" == utc_start
    assert [p["id"] for p in await lineup(viewer)] == [pid, other["id"]]
    event = await asyncio.wait_for(events.get(), 5)
    assert (event.id, event.action) == (other["id"], "created")

    async with producer.patch(f"/api/programs/{pid}", json={"version": 1, "title": "바뀐 제목"}) as r:
        assert r.status == 200, await r.text()
        edited = await r.json()
    assert (edited["title"], edited["version"], edited["ends_at"]) == ("바뀐 제목", 2, created["ends_at"])
    event = await asyncio.wait_for(events.get(), 5)
    assert (event.id, event.action, (event.program or {})["version"]) == (pid, "updated", 2)

    async with producer.delete(f"/api/programs/{pid}") as r:
        assert r.status == 204
    event = await asyncio.wait_for(events.get(), 5)
    assert (event.id, event.action) == (pid, "deleted")
    async with viewer.get(f"/api/programs/{pid}") as r:
        await _error(r, 404, "program_not_found")
    assert [p["id"] for p in await lineup(viewer)] == [other["id"]]


@pytest.mark.parametrize("who", ["anonymous", "viewer", "host"])
async def test_writes_need_a_producer(server: Server, who: str) -> None:
    producer = await server.producer()
    existing = await _create(producer, body(T0))
    if who == "host":
        client = await server.host()
    else:
        client = server.client()
        if who == "viewer":
            async with client.get("/api/session") as r:
                assert r.status == 200 and (await r.json())["user"] is None
    status, code = (403, "forbidden") if who == "host" else (401, "not_authenticated")
    before = await lineup(client)
    async with client.post("/api/programs", json=body(T0 + timedelta(days=1))) as r:
        await _error(r, status, code)
    async with client.patch(f"/api/programs/{existing['id']}", json={"version": 1, "title": "x"}) as r:
        await _error(r, status, code)
    async with client.delete(f"/api/programs/{existing['id']}") as r:
        await _error(r, status, code)
    # The role is checked before the body is read: even garbage gets 401/403.
    async with client.post("/api/programs", data=b"{not json", headers=JSON) as r:
        await _error(r, status, code)
    assert await lineup(client) == before
    # Reading is for everyone.
    async with client.get(f"/api/programs/{existing['id']}") as r:
        assert r.status == 200


_LONG = "가" * 201
BAD_CREATES: list[tuple[str, Any, int, str]] = [
    ("malformed json", b'{"title": ', 400, "invalid_json"),
    ("a json array", b"[1, 2]", 400, "invalid_json"),
    ("not utf-8", b'{"title": "\xff"}', 400, "invalid_json"),
    ("unknown field", {"colour": "red"}, 400, "unknown_field"),
    ("state is read-only", {"state": "live"}, 400, "read_only_field"),
    ("id is server-made", {"id": "mine"}, 400, "read_only_field"),
    ("version on create", {"version": 3}, 400, "read_only_field"),
    ("title wrong type", {"title": 5}, 400, "invalid_type"),
    ("title empty", {"title": "  "}, 400, "invalid_field"),
    ("title too long", {"title": _LONG}, 400, "invalid_field"),
    ("title_en wrong type", {"title_en": ["x"]}, 400, "invalid_type"),
    ("title_en too long", {"title_en": "e" * 201}, 400, "invalid_field"),
    ("description too long", {"description": "d" * 5001}, 400, "invalid_field"),
    ("control char in title", {"title": "벨\x07"}, 400, "control_character"),
    ("newline in title", {"title": "두\n줄"}, 400, "control_character"),
    ("nul in description", {"description": "a\x00b"}, 400, "control_character"),
    ("bidi override", {"title": "abc\u202edef"}, 400, "control_character"),
    ("lone surrogate", b'{"title": "\\ud800", "kind": "live", "starts_at": "2030-11-24T14:00:00+09:00", '
                       b'"ends_at": "2030-11-24T15:00:00+09:00"}', 400, "control_character"),
    ("kind unknown", {"kind": "rerun"}, 400, "invalid_field"),
    ("kind wrong type", {"kind": True}, 400, "invalid_type"),
    ("starts_at number", {"starts_at": 1700000000}, 400, "invalid_type"),
    ("starts_at garbage", {"starts_at": "tomorrow at two"}, 400, "invalid_datetime"),
    ("naive starts_at", {"starts_at": "2030-11-24T14:00:00"}, 400, "naive_datetime"),
    ("naive ends_at", {"ends_at": "2030-11-24T15:00:00"}, 400, "naive_datetime"),
    ("year far away", {"starts_at": "9999-12-31T23:59:00+09:00", "ends_at": "9999-12-31T23:59:59+09:00"},
     400, "invalid_datetime"),
    ("zero duration", {"ends_at": "2030-11-24T14:00:00+09:00"}, 400, "invalid_duration"),
    ("30 seconds", {"ends_at": "2030-11-24T14:00:30+09:00"}, 400, "invalid_duration"),
    ("ends before start", {"ends_at": "2030-11-24T13:00:00+09:00"}, 400, "invalid_duration"),
    ("13 hours", {"ends_at": "2030-11-25T03:00:00+09:00"}, 400, "invalid_duration"),
    ("hosts not a list", {"hosts": "prod"}, 400, "invalid_type"),
    ("host not a string", {"hosts": [1]}, 400, "invalid_type"),
    ("host listed twice", {"hosts": ["prod", "prod"]}, 400, "invalid_field"),
    ("too many hosts", {"hosts": [f"h{i}" for i in range(11)]}, 400, "invalid_field"),
    ("unknown host", {"hosts": ["nobody"]}, 400, "unknown_host"),
    ("missing title", {"title": None}, 400, "missing_field"),
    ("1 MB body", {"description": "x" * (1024 * 1024)}, 413, "payload_too_large"),
]


async def test_bad_creates_leave_the_lineup_intact(server: Server) -> None:
    producer = await server.producer()
    await _create(producer, body(T0 + timedelta(days=2)))
    before = await lineup(producer)
    for case, change, status, code in BAD_CREATES:
        if isinstance(change, bytes):
            raw = change
        else:
            payload = body(T0) | change
            payload = {k: v for k, v in payload.items() if v is not None}
            raw = json.dumps(payload).encode()
        async with producer.post("/api/programs", data=raw, headers=JSON) as r:
            assert r.status == status, (case, await r.text())
            assert (await r.json())["error"]["code"] == code, case
        assert await lineup(producer) == before, case


async def test_overlap_names_the_other_program(server: Server) -> None:
    producer = await server.producer()
    first = await _create(producer, body(T0, 60, title="전지적 90년대생 시점"))
    second = await _create(producer, body(T0 + timedelta(hours=2), 60))
    before = await lineup(producer)
    async with producer.post("/api/programs", json=body(T0 + timedelta(minutes=30), 60)) as r:
        error = await _error(r, 409, "program_conflict")
    assert first["id"] in error["message"] and "전지적 90년대생 시점" in error["message"]
    assert error["conflict"] == {"id": first["id"], "title": "전지적 90년대생 시점",
                                 "starts_at": first["starts_at"], "ends_at": first["ends_at"]}
    # Moving the second program onto the first is refused the same way.
    async with producer.patch(f"/api/programs/{second['id']}",
                              json={"version": 1, "starts_at": (T0 + timedelta(minutes=59)).isoformat(),
                                    "ends_at": (T0 + timedelta(minutes=119)).isoformat()}) as r:
        error = await _error(r, 409, "program_conflict")
    assert error["conflict"]["id"] == first["id"]
    assert await lineup(producer) == before
    # Back to back is fine.
    await _create(producer, body(T0 + timedelta(hours=1), 60))


async def test_patch_checks(server: Server) -> None:
    producer = await server.producer()
    created = await _create(producer, body(T0))
    url = f"/api/programs/{created['id']}"
    async with producer.patch(url, json={"version": 1, "description": "v2"}) as r:
        assert r.status == 200
    before = await lineup(producer)
    cases: list[tuple[Any, int, str]] = [
        ({"version": 1, "title": "stale"}, 409, "version_conflict"),
        ({"title": "no version"}, 400, "missing_field"),
        ({"version": "2", "title": "x"}, 400, "invalid_type"),
        ({"version": True, "title": "x"}, 400, "invalid_type"),
        ({"version": 2, "state": "live"}, 400, "read_only_field"),
        ({"version": 2, "id": "other"}, 400, "read_only_field"),
        ({"version": 2, "bogus": 1}, 400, "unknown_field"),
        ({"version": 2, "ends_at": created["starts_at"]}, 400, "invalid_duration"),
        ({"version": 2, "starts_at": "2030-11-24T14:00:00"}, 400, "naive_datetime"),
        ({"version": 2, "title": "탭\t"}, 400, "control_character"),
        ({"version": 2, "hosts": ["ghost"]}, 400, "unknown_host"),
        ({"version": 2, "description": "x" * (1024 * 1024)}, 413, "payload_too_large"),
        (b"nope", 400, "invalid_json"),
    ]
    for change, status, code in cases:
        kwargs: dict[str, Any] = {"data": change, "headers": {"Content-Type": "application/json"}} \
            if isinstance(change, bytes) else {"json": change}
        async with producer.patch(url, **kwargs) as r:
            error = await _error(r, status, code)
        if code == "version_conflict":
            assert error["current_version"] == 2
    assert await lineup(producer) == before
    for method in ("patch", "delete"):
        async with producer.request(method, "/api/programs/no-such-id", json={"version": 1}) as r:
            await _error(r, 404, "program_not_found")
    for odd in ("no-such-id", "%00", "%ED%95%9C%EA%B8%80", "x" * 2000, "..%2F..%2Fetc"):
        async with producer.get(f"/api/programs/{odd}") as r:
            assert r.status == 404, odd
            assert (await r.json())["error"]["code"] in ("program_not_found", "not_found"), odd
    assert await lineup(producer) == before


async def test_range_query(server: Server) -> None:
    producer = await server.producer()
    for day in range(3):
        await _create(producer, body(T0 + timedelta(days=day)))
    client = server.client()
    params = {"from": "2030-11-25T00:00:00+09:00", "to": "2030-11-26T00:00:00+09:00"}
    async with client.get("/api/programs", params=params) as r:
        assert r.status == 200
        programs = (await r.json())["programs"]
    assert [p["starts_at"] for p in programs] == ["2030-11-25T14:00:00+09:00"]
    # An unencoded "+" arrives as a space; it is still understood.
    async with client.get("/api/programs?from=2030-11-25T14:30:00+09:00") as r:
        assert r.status == 200
        assert len((await r.json())["programs"]) == 2
    for query in ("from=yesterday", "from=2030-11-25T00:00:00", "to=1",
                  "from=2030-11-26T00:00:00%2B09:00&to=2030-11-25T00:00:00%2B09:00"):
        async with client.get(f"/api/programs?{query}") as r:
            await _error(r, 400, "invalid_query")


async def test_current_program(server: Server) -> None:
    client = server.client()
    async with client.get("/api/programs/current") as r:
        await _error(r, 404, "no_program")
    producer = await server.producer()
    later = await _create(producer, body(T0 + timedelta(days=1)))
    first = await _create(producer, body(T0))
    async with client.get("/api/programs/current") as r:
        assert r.status == 200
        assert (await r.json())["id"] == first["id"]
    service = server.parts.schedule.service
    assert await service.set_state(later["id"], "live") is not None
    async with client.get("/api/programs/current") as r:
        assert (await r.json())["id"] == later["id"]


async def test_methods_and_unknown_routes_are_json(server: Server) -> None:
    client = server.client()
    async with client.put("/api/programs") as r:
        await _error(r, 405, "method_not_allowed")
    async with client.get("/api/programs/a/b/c") as r:
        await _error(r, 404, "not_found")
