"""POST /api/programs/import on both backends: a producer's lineup file, all of it or nothing."""

from __future__ import annotations

from tests.helpers import Server

from .util import body, lineup, seoul

T0 = seoul(2030, 11, 25, 14)


async def test_producer_imports_and_reimports_an_export(server: Server) -> None:
    producer = await server.producer()
    doc = {"programs": [body(T0, 60, title="가져온 방송 1"), body(T0.replace(day=26), 60, title="둘")]}
    async with producer.post("/api/programs/import", json=doc) as r:
        assert r.status == 200, await r.text()
        assert await r.json() == {"programs": 2, "created": 2, "updated": 0, "unchanged": 0}
    exported = {"programs": await lineup(producer)}
    exported["programs"][1]["title"] = "둘째 (수정)"
    async with producer.post("/api/programs/import", json=exported) as r:
        assert await r.json() == {"programs": 2, "created": 0, "updated": 1, "unchanged": 1}
    titles = [p["title"] for p in await lineup(producer)]
    assert titles == ["가져온 방송 1", "둘째 (수정)"]


async def test_import_is_all_or_nothing_and_producers_only(server: Server) -> None:
    producer = await server.producer()
    async with producer.post("/api/programs/import", json={"programs": [body(T0, 60)]}) as r:
        assert r.status == 200
    before = await lineup(producer)

    host = await server.host()
    anonymous = server.client()
    for client, status in ((anonymous, 401), (host, 403)):
        async with client.post("/api/programs/import", json={"programs": [body(T0.replace(day=27))]}) as r:
            assert r.status == status

    overlapping = {"programs": [body(T0.replace(day=28), 60, title="남으면 안 됨"),
                                body(T0.replace(day=28), 30, title="겹침")]}
    clashes_with_stored = {"programs": [body(T0.replace(day=29)), body(T0, 30, title="기존과 겹침")]}
    bad_item = {"programs": [body(T0.replace(day=30)), {"title": "시간 없음", "kind": "live"}]}
    cases = [
        (overlapping, 409, "program_conflict"),
        (clashes_with_stored, 409, "program_conflict"),
        (bad_item, 400, "invalid_lineup"),
        ({"programs": "x"}, 400, "invalid_lineup"),
        ({"programs": [], "extra": 1}, 400, "invalid_lineup"),
        ({"programs": [body(T0.replace(day=30), 60, description="설명" * 2000)] * 150}, 413,
         "payload_too_large"),
    ]
    for doc, status, code in cases:
        async with producer.post("/api/programs/import", json=doc) as r:
            assert r.status == status, await r.text()
            assert (await r.json())["error"]["code"] == code
    json_type = {"Content-Type": "application/json"}
    async with producer.post("/api/programs/import", data=b"{nope", headers=json_type) as r:
        assert r.status == 400
    assert await lineup(producer) == before
