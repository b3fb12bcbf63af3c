"""Logging out, or losing a role, takes the role off that person's open Socket.IO connections at
once, in every process: a host who logs out cannot moderate over a connection opened before."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.chat.clients import HALL, connect
from tests.helpers import HOST, RedisServer, Server, cookie_header, make_config, running_server


async def test_after_logout_the_open_connection_cannot_moderate(server: Server) -> None:
    session = await server.host()
    mod = await connect(server.url, cookies=cookie_header(session, server.url))
    assert (await mod.join())["you"]["role"] == "host"
    assert (await mod.call("mod:slow", {"room": HALL, "seconds": 5}))["ok"]
    async with session.delete("/api/session") as r:
        assert r.status == 200
    for event, payload in [("mod:slow", {"seconds": 0}), ("mod:ban", {"viewer": "v_someone12345"}),
                           ("poll:open", {"question": "누구?", "choices": ["가", "나"]})]:
        ack = await mod.call(event, {"room": HALL, **payload})
        assert ack["error"]["code"] == "forbidden", (event, ack)
    assert (await mod.call("join", {"room": HALL}))["you"]["role"] == "viewer"
    # another login of the same host, in another browser, keeps its role
    other = await connect(server.url, cookies=cookie_header(await server.host(), server.url))
    await other.join()
    assert (await other.call("mod:slow", {"room": HALL, "seconds": 0}))["ok"]


async def test_logout_on_one_process_reaches_connections_on_another(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    config = make_config("redis", tmp_path / "d", redis_server.url,
                         redis_prefix=f"acc{uuid.uuid4().hex[:8]}:")
    async with running_server(config) as one, running_server(config) as two:
        await one.add_user(HOST[0], "host", HOST[1])
        session = await one.login(*HOST)
        mod = await connect(two.url, cookies=cookie_header(session, one.url))
        assert (await mod.join())["you"]["role"] == "host"
        async with session.delete("/api/session") as r:  # on process one
            assert r.status == 200
        # the bus event reaches process two, which tells the connection why
        ended = await mod.rec.wait_for("notice", lambda n: n.get("code") == "session_ended")
        assert ended["reason"] == "logout"
        assert (await mod.call("join", {"room": HALL}))["you"]["role"] == "viewer"
        assert (await mod.call("mod:slow", {"room": HALL, "seconds": 5}))["error"]["code"] == "forbidden"
