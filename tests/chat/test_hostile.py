"""Malformed, oversized and flooding input for every event: an error ack with a code, a log line,
the connection kept, nothing stored. Origins are checked on the handshake; connections per
address are capped; long-polling works as the fallback transport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import socketio

from innotv.config import Config
from tests.chat.clients import HALL, connect, host, viewer, viewer_cookies
from tests.chat.conftest import close_all
from tests.helpers import Server, make_config, running_server, with_settings

EVENTS = ["join", "leave", "nick", "chat", "heart", "question", "upvote", "vote",
          "mod:delete", "mod:timeout", "mod:ban", "mod:unban", "mod:slow", "mod:pin", "mod:words",
          "poll:open", "poll:close", "poll:reveal", "question:answer"]

GARBAGE: list[Any] = [
    None, 42, "text", [1, 2], {"room": 5}, {"room": "lobby"}, {"room": "hall:" + "x" * 500},
    {"room": "program:../../etc"}, {"room": HALL, "text": None}, {"room": HALL, "count": "3"},
    {"room": HALL, "count": True}, {"room": HALL, "id": {"$gt": ""}}, {"room": HALL, "viewer": "a b"},
    {"room": HALL, "seconds": 1e9}, {"room": HALL, "words": "spam"}, {"room": HALL, "choices": [None]},
    {"room": HALL, "since": "'; DROP TABLE chat_log; --"}, {"room": HALL, "question_id": ["x"]},
    {"room": HALL, "poll_id": "p1", "choice": -1}, {"nickname": "\u202e\u0000"},
]


@pytest.fixture
async def lenient(config: Config) -> AsyncIterator[Server]:
    """A server whose rate limits are scaled up so every payload reaches validation (flooding
    is tested against the real limits below)."""
    async with running_server(with_settings(config, chat_rate_scale=100.0)) as server:
        try:
            yield server
        finally:
            await close_all()


async def test_malformed_input_for_every_event(lenient: Server) -> None:
    server = lenient
    for who in ("viewer", "host"):
        client = await (viewer(server) if who == "viewer" else host(server))
        await client.join()
        before = await client.call("join", {"room": HALL})
        sent = 0
        for event in EVENTS:
            for payload in GARBAGE:
                ack = await client.call(event, payload)
                sent += 1
                if ack.get("ok") is True:
                    # only harmless cases may pass: joining/leaving the hall itself
                    assert event in ("join", "leave") and isinstance(payload, dict), (event, payload)
                    if event == "leave":
                        await client.call("join", {"room": HALL})
                    continue
                error = ack["error"]
                assert error["code"].startswith(
                    ("invalid_", "empty_", "text_", "not_joined", "forbidden", "unknown_"),
                ), (event, payload, ack)
                assert isinstance(error["message"], str) and error["message"]
        # extra positional args and a missing payload are refused too
        assert (await client.sio.call("chat", timeout=5))["error"]["code"] == "invalid_payload"
        assert client.sio.connected
        after = await client.call("join", {"room": HALL})
        assert after["messages"] == before["messages"]
        assert after["hearts"]["total"] == before["hearts"]["total"]
        assert after["pinned"] is None and after["slow"] == 0 and after["poll"] is None


async def test_text_rules(lenient: Server) -> None:
    server = lenient
    v = await viewer(server)
    await v.join()
    for text, code in [("", "empty_text"), ("   \n\t ", "empty_text"), ("\u200b\u202e", "empty_text"),
                       ("x" * 301, "text_too_long"), ("가" * 1000, "text_too_long")]:
        ack = await v.call("chat", {"room": HALL, "text": text})
        assert ack["error"]["code"] == code, (text[:10], ack)
    # NFC: a decomposed 한 is stored composed; 300 characters is fine
    ack = await v.call("chat", {"room": HALL, "text": "\u1112\u1161\u11ab" + "a" * 299})
    assert ack["ok"], ack
    snap = await v.call("join", {"room": HALL})
    assert snap["messages"][-1]["text"] == "한" + "a" * 299
    assert (await v.call("nick", {"nickname": "  혁신이 "}))["nickname"] == "혁신이"
    assert (await v.call("nick", {"nickname": "n" * 25}))["error"]["code"] == "text_too_long"


async def test_oversized_frame_closes_only_that_connection(one_server: Server) -> None:
    big = await viewer(one_server)
    other = await viewer(one_server)
    await big.join()
    await other.join()
    # 16 KiB is the transport's limit: beyond it Engine.IO closes that one connection
    disconnected = asyncio.Event()
    big.sio.on("disconnect", lambda *a: disconnected.set())
    await big.sio.emit("chat", {"room": HALL, "text": "x" * 20_000})
    await asyncio.wait_for(disconnected.wait(), 5)
    # below the limit it is an ack error
    ack = await other.call("chat", {"room": HALL, "text": "y" * 10_000})
    assert ack["error"]["code"] == "text_too_long"
    assert (await other.call("chat", {"room": HALL, "text": "still fine"}))["ok"]
    snap = await other.call("join", {"room": HALL})
    assert [m["text"] for m in snap["messages"]] == ["still fine"]


async def test_flooding_is_rate_limited_per_connection(server: Server) -> None:
    calm = await viewer(server)
    await calm.join()
    for event, payload, burst in [("chat", {"room": HALL, "text": "spam"}, 5),
                                  ("heart", {"room": HALL, "count": 1}, 20),
                                  ("join", {"room": HALL}, 10), ("nick", {"nickname": "n"}, 3),
                                  ("upvote", {"room": HALL, "question_id": "q1"}, 20),
                                  ("vote", {"room": HALL, "poll_id": "p1", "choice": 0}, 5),
                                  ("question", {"room": HALL, "text": "?"}, 3),
                                  ("leave", {"room": "hall:regional"}, 10)]:
        # A burst a little past the limit: refused, not cut (that takes seconds of flooding).
        flood = await viewer(server)
        await flood.join()
        acks = await asyncio.gather(*(flood.call(event, payload) for _ in range(burst + 1)))
        codes = [a["error"]["code"] for a in acks if not a["ok"]]
        assert "rate_limited" in codes, (event, codes[:5])
        assert flood.sio.connected
        await flood.close()
    stored = await calm.call("join", {"room": HALL})
    # the bursts, plus what the buckets refilled while the refusals paused the reading
    assert [m["text"] for m in stored["messages"]].count("spam") <= 5 + 2
    assert stored["hearts"]["total"] <= 20 + 16
    # the calm client was not slowed or refused
    assert (await calm.call("chat", {"room": HALL, "text": "calm"}))["ok"]
    # a host flooding moderation events is limited too
    mod = await host(server)
    await mod.join()
    acks = await asyncio.gather(*(mod.call("mod:slow", {"room": HALL, "seconds": 0}) for _ in range(33)))
    assert "rate_limited" in [a["error"]["code"] for a in acks if not a["ok"]]


async def test_origin_refused(one_server: Server) -> None:
    cookies, _ = await viewer_cookies(one_server)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect(one_server.url, cookies=cookies, origin="https://evil.example")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect(one_server.url, cookies=cookies, origin="https://evil.example", transports=["polling"])
    async with aiohttp.ClientSession() as raw:
        async with raw.get(one_server.url + "/socket.io/?EIO=4&transport=polling",
                           headers={"Origin": "http://127.0.0.1.evil.example"}) as r:
            assert r.status == 403
            assert (await r.json())["error"]["code"] == "origin_not_allowed"
    # our own origin and a missing Origin (non-browser client) are allowed
    ok = await connect(one_server.url, cookies=cookies)
    assert ok.sio.connected
    no_origin = await connect(one_server.url, cookies=cookies, origin=None)
    assert no_origin.sio.connected


async def test_allowed_origins_setting(tmp_path: Any) -> None:
    config = make_config("sqlite", tmp_path / "d", None, allowed_origins=("https://expo.example",))
    async with running_server(config) as srv:
        c = await connect(srv.url, origin="https://expo.example")
        assert c.sio.connected
        await c.close()


async def test_connections_per_address_capped(tmp_path: Any) -> None:
    config = make_config("sqlite", tmp_path / "d", None, chat_max_conns_per_ip=3)
    async with running_server(config) as srv:
        clients = [await connect(srv.url) for _ in range(3)]
        with pytest.raises(socketio.exceptions.ConnectionError):
            await connect(srv.url)
        await clients[0].close()
        conns = srv.parts.chat.service.conns
        deadline = asyncio.get_running_loop().time() + 5
        while len(conns) > 2:
            assert asyncio.get_running_loop().time() < deadline, "the server never saw the close"
            await asyncio.sleep(0.01)
        again = await connect(srv.url)
        assert again.sio.connected
        for c in [*clients[1:], again]:
            await c.close()


async def test_long_polling_fallback(one_server: Server) -> None:
    poller = await viewer(one_server, transports=["polling"])
    ws = await viewer(one_server)
    await poller.join()
    await ws.join()
    ack = await ws.call("chat", {"room": HALL, "text": "to the poller"})
    got = await poller.wait_message("to the poller")
    assert got["id"] == ack["id"]
    sent = await poller.call("chat", {"room": HALL, "text": "from the poller"})
    assert sent["ok"]
    await ws.wait_message("from the poller")


async def test_polling_then_upgrade(one_server: Server) -> None:
    upgraded = await viewer(one_server, transports=["polling", "websocket"])
    sender = await viewer(one_server)
    await upgraded.join()
    await sender.join()
    for i in range(3):
        ack = await sender.call("chat", {"room": HALL, "text": f"u{i}"})
        assert (await upgraded.wait_message(f"u{i}"))["id"] == ack["id"]
    assert upgraded.sio.transport() == "websocket"
