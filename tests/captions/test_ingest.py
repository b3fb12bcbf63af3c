"""Captioning services feed a program in YouTube's live caption ingestion format (with the
program's caption key), and a simulcast destination's caption URL gets the captions in that same
format: tested against a real local HTTP receiver."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from captions.youtube_format import parse, stamp
from tests.chat.clients import viewer
from tests.helpers import Server, free_port

from .conftest import captioner
from .support import program_on_air


async def caption_key(server: Server, program_id: str) -> tuple[str, str]:
    async with (await server.producer()).post(f"/api/programs/{program_id}/caption-key") as resp:
        assert resp.status == 200, await resp.text()
        body = await resp.json()
    assert body["ingest_url"].endswith(f"/captions/{program_id}/ingest?cid={body['caption_key']}")
    return body["caption_key"], f"/captions/{program_id}/ingest"


async def post(server: Server, path: str, body: str, **query: Any) -> tuple[int, str]:
    params = {k: str(v) for k, v in query.items()}
    async with server.client(origin=False).post(path, params=params, data=body.encode(),
                                                headers={"Content-Type": "text/plain"}) as r:
        return r.status, await r.text()


async def test_a_captioning_service_feeds_the_program(server: Server) -> None:
    program_id = await program_on_air(server)
    watcher = await viewer(server)
    await watcher.join(f"program:{program_id}")
    key, path = await caption_key(server, program_id)
    now = int(time.time() * 1000)
    body = f"{stamp(now - 1500)} region:reg1#cue1\n첫 줄<br>이어지는 줄\n{stamp(now - 500)}\n둘째 줄\n"
    status, text = await post(server, path, body, cid=key, seq=1)
    assert status == 200, text
    answered = datetime.strptime(text.strip(), "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC).timestamp() * 1000
    assert abs(answered - time.time() * 1000) < 5000  # the server's time, for the service's clock
    frame = await watcher.rec.wait_for("captions", lambda f: len(f["items"]) == 2)
    assert [(i["text"], i["at"], i["by"]) for i in frame["items"]] == [
        ("첫 줄 이어지는 줄", now - 1500, "ingest"), ("둘째 줄", now - 500, "ingest")]
    # A retried POST (same seq) stores nothing twice; an empty POST only answers the time.
    assert (await post(server, path, body, cid=key, seq=1))[0] == 200
    assert (await post(server, path, "", cid=key, seq=2))[0] == 200
    async with server.client().get(f"/api/programs/{program_id}/captions") as resp:
        assert [i["text"] for i in (await resp.json())["items"]] == ["첫 줄 이어지는 줄", "둘째 줄"]


async def test_bad_ingestion_gets_a_clear_json_error(one_server: Server) -> None:
    server = one_server
    program_id = await program_on_air(server)
    key, path = await caption_key(server, program_id)
    now = int(time.time() * 1000)
    good = f"{stamp(now)}\n좋은 줄\n"
    cases: list[tuple[dict[str, Any], str, int, str]] = [
        ({}, good, 403, "invalid_caption_key"),
        ({"cid": "ck_wrong"}, good, 403, "invalid_caption_key"),
        ({"cid": key, "seq": "-1"}, good, 400, "invalid_seq"),
        ({"cid": key, "lang": "fr"}, good, 400, "invalid_lang"),
        ({"cid": key}, "줄만 있고 시각이 없음\n", 400, "invalid_body"),
        ({"cid": key}, f"{stamp(now)}\n", 400, "invalid_body"),
        ({"cid": key}, f"{stamp(now - 3_600_000)}\n한 시간 전\n", 400, "timestamp_out_of_range"),
        ({"cid": key}, f"{stamp(now)}\n{'가' * 201}\n", 400, "text_too_long"),
        ({"cid": key}, "".join(f"{stamp(now)}\n줄 {i}\n" for i in range(21)), 400, "invalid_body"),
    ]
    for query, body, status, code in cases:
        got, text = await post(server, path, body, **query)
        assert got == status and f'"code": "{code}"' in text, (query, body[:40], got, text)
    async with server.client(origin=False).post(path, params={"cid": key}, data=b"\xff\xfe") as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_body"
    async with server.client(origin=False).post(path, params={"cid": key}, data=b"x" * 20_000) as resp:
        assert resp.status == 413
    async with server.client(origin=False).post("/captions/nope/ingest", params={"cid": key},
                                                data=good) as resp:
        assert resp.status == 403
    async with server.client().get(f"/api/programs/{program_id}/captions") as resp:
        assert (await resp.json())["items"] == []
    # Only producers issue keys.
    async with server.client().post(f"/api/programs/{program_id}/caption-key") as resp:
        assert resp.status == 401


def test_the_format_both_ways() -> None:
    lines = parse("2026-11-26T05:00:01.5 region:reg1#cue1\nA<br/>B\n\n2026-11-26T05:00:02.250Z\nC\n", 5)
    assert [(stamp(t.at), t.text) for t in lines] == [("2026-11-26T05:00:01.500", "A B"),
                                                      ("2026-11-26T05:00:02.250", "C")]


class Receiver:
    """A local HTTP server standing in for YouTube's caption ingestion: it records each POST."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], str, str]] = []
        self.changed = asyncio.Condition()

    async def handle(self, request: web.Request) -> web.Response:
        async with self.changed:
            self.posts.append((dict(request.query), request.content_type, await request.text()))
            self.changed.notify_all()
        return web.Response(text=stamp(int(time.time() * 1000)))

    async def wait(self, count: int) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: len(self.posts) >= count), 10)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    got = Receiver()
    app = web.Application()
    app.router.add_post("/closedcaption", got.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield got, f"http://127.0.0.1:{port}/closedcaption?cid=yt-secret"
    finally:
        await runner.cleanup()


async def test_captions_are_forwarded_to_a_destinations_caption_url(
        server: Server, receiver: tuple[Receiver, str]) -> None:
    got, url = receiver
    program_id = await program_on_air(server)
    producer = await server.producer()
    async with producer.post(f"/api/programs/{program_id}/simulcast",
                             json={"url": "rtmp://127.0.0.1:1/live/key", "caption_url": url}) as resp:
        assert resp.status == 201, await resp.text()
        assert (await resp.json())["caption_url"] == f"{url.split('?')[0]}?…"  # the cid stays secret
    async with producer.post(f"/api/programs/{program_id}/simulcast",
                             json={"url": "rtmp://127.0.0.1:1/live/other", "caption_url": "ftp://x"}) as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_caption_url"
    room = f"program:{program_id}"
    cap = await captioner(server)
    await cap.join(room)
    first = await cap.call("caption", {"room": room, "text": "유튜브로도 갑니다"})
    await got.wait(1)
    second = await cap.call("caption", {"room": room, "text": "두 번째 & <줄>"})
    await got.wait(2)
    (q1, ctype, body1), (q2, _, body2) = got.posts[:2]
    assert ctype == "text/plain" and q1 == {"cid": "yt-secret", "seq": str(first["id"])}
    assert int(q2["seq"]) > int(q1["seq"])
    assert [(stamp(t.at), t.text) for t in parse(body1, 5)] == [(stamp(first["at"]), "유튜브로도 갑니다")]
    assert [t.text for t in parse(body2, 5)] == ["두 번째 & <줄>"]
    assert second["ok"]
