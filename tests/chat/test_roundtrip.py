"""Messages go round: stored, acknowledged with their id, delivered in one tick frame, kept."""

from __future__ import annotations

from tests.chat.clients import HALL, host, viewer
from tests.helpers import Server


async def test_message_round_trip(server: Server) -> None:
    alice = await viewer(server)
    bob = await viewer(server)
    try:
        await alice.join()
        await bob.join()
        ack = await alice.call("chat", {"room": HALL, "text": "  안녕하세요\u0007 innotv  "})
        assert ack["ok"] is True and isinstance(ack["id"], str)
        got = await bob.wait_message("안녕하세요 innotv")
        assert got["id"] == ack["id"]
        assert got["viewer"] == alice.viewer
        assert got["role"] == "viewer"
        # kept: a newcomer sees it in the join ack
        carol = await viewer(server)
        joined = await carol.join()
        assert [m["id"] for m in joined["messages"]] == [ack["id"]]
        assert joined["hearts"] == {"room": HALL, "total": 0, "per_minute": 0}
        assert joined["read_only"] is False
        await carol.close()
    finally:
        await alice.close()
        await bob.close()


async def test_many_messages_in_one_frame_and_order(server: Server) -> None:
    alice = await viewer(server)
    watcher = await viewer(server)
    try:
        await alice.join()
        await watcher.join()
        import asyncio

        acks = await asyncio.gather(
            *(alice.call("chat", {"room": HALL, "text": f"m{i}"}) for i in range(5))
        )
        ids = [a["id"] for a in acks]
        assert all(a["ok"] for a in acks)
        await watcher.wait_message("m4")
        for text in ("m0", "m1", "m2", "m3"):
            await watcher.wait_message(text)
        seen = [m["id"] for m in watcher.messages()]
        assert sorted(seen) == sorted(ids) and len(seen) == 5
        # fewer frames than messages: they were batched by the tick
        assert len(watcher.rec.all("messages")) < 5
    finally:
        await alice.close()
        await watcher.close()


async def test_host_message_has_role(server: Server) -> None:
    h = await host(server)
    v = await viewer(server)
    try:
        await h.join()
        await v.join()
        ack = await h.call("chat", {"room": HALL, "text": "welcome"})
        got = await v.wait_message("welcome")
        assert got["role"] == "host" and got["id"] == ack["id"]
    finally:
        await h.close()
        await v.close()


async def test_anonymous_connection_gets_its_own_id_and_no_compression(one_server: Server) -> None:
    from tests.chat.clients import connect

    anon = await connect(one_server.url)
    ack = await anon.join()
    assert ack["you"]["viewer"].startswith("anon-") and ack["you"]["role"] == "viewer"
    other = await connect(one_server.url)
    assert (await other.join())["you"]["viewer"] != ack["you"]["viewer"]
    # a browser offering permessage-deflate is answered without it
    import aiohttp

    async with aiohttp.ClientSession() as raw:
        url = one_server.url + "/socket.io/?EIO=4&transport=websocket"
        async with raw.ws_connect(url, compress=15) as ws:
            assert ws.compress == 0
            opened = await ws.receive_str()
            assert opened.startswith("0{") and '"maxPayload":16384' in opened
