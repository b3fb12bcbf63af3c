"""The lean WebSocket path (`chat.lean`): the Engine.IO/Socket.IO wire protocol spoken without
python-engineio, checked with raw frames and real python-socketio clients: the open packet,
server pings and the ping timeout, clients that vanish without a close frame, acks, refused
namespaces and connections, malformed packets, and shutdown."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from chat.service import ChatService
from tests.chat.clients import HALL, connect
from tests.chat.raw import Raw
from tests.helpers import Server, make_config, running_server


def chat_service(srv: Server) -> ChatService:
    service: ChatService = srv.parts.chat.service
    return service


async def test_open_packet_and_a_python_socketio_client_takes_the_lean_path(one_server: Server) -> None:
    raw = await Raw.open(one_server.url)
    opened = json.loads((await raw.text())[1:])
    assert opened["upgrades"] == []
    assert opened["pingInterval"] == 25_000 and opened["pingTimeout"] == 20_000
    assert opened["maxPayload"] == 16 * 1024 and isinstance(opened["sid"], str)
    raw.abort()
    service = chat_service(one_server)
    client = await connect(one_server.url)
    ack = await client.join()
    assert ack["ok"] and service.members.count(HALL) == 1
    assert len(one_server.parts.chat.lean.links) == 1  # served by the lean path ...
    assert not one_server.parts.chat.sio.eio.sockets  # ... not by python-engineio
    assert (await client.call("heart", {"room": HALL, "count": 3})) == {"ok": True, "counted": 1}
    assert (await client.call("heart", {"room": HALL, "count": 11}))["error"]["code"] == "invalid_count"


async def test_pings_answered_keep_the_connection(one_server: Server) -> None:
    service = chat_service(one_server)
    one_server.parts.chat.lean.ping_interval, one_server.parts.chat.lean.ping_timeout = 0.2, 0.4
    raw = await Raw.open(one_server.url)
    opened = json.loads((await raw.text())[1:])
    assert opened["pingInterval"] == 200
    raw.send("40")
    assert (await raw.text()).startswith("40{")
    for _ in range(4):  # four pings, each answered: well past interval + timeout
        assert await raw.text() == "2"
        raw.send("3")
    assert len(service.conns) == 1
    assert await one_server.metric("innotv_chat_ping_timeouts_total") == 0
    raw.abort()


async def test_ping_timeout_cuts_a_client_that_went_silent(one_server: Server) -> None:
    service = chat_service(one_server)
    one_server.parts.chat.lean.ping_interval, one_server.parts.chat.lean.ping_timeout = 0.2, 0.3
    raw = await Raw.open(one_server.url)
    await raw.connected()
    raw.send('421["join",{"room":"' + HALL + '"}]')
    assert (await raw.text()).startswith("431[")
    assert service.members.count(HALL) == 1
    assert await raw.until("2") == "2"  # the ping, never answered: the client is "gone"
    await raw.closed()
    assert await one_server.metric("innotv_chat_ping_timeouts_total") == 1
    assert not service.conns and service.members.count(HALL) == 0 and not one_server.parts.chat.lean.links


async def test_client_that_vanishes_without_a_close_frame_is_cleaned_up(one_server: Server) -> None:
    service = chat_service(one_server)
    raws = [await Raw.open(one_server.url) for _ in range(3)]
    for raw in raws:
        await raw.connected()
        raw.send('421["join",{"room":"' + HALL + '"}]')
        assert (await raw.text()).startswith("431[")
    assert service.members.count(HALL) == 3
    raws[0].abort()  # TCP reset, no WebSocket close
    raws[1].writer.close()  # TCP FIN, no WebSocket close
    await raws[1].closed()
    deadline = asyncio.get_running_loop().time() + 5
    while len(service.conns) > 1 and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)  # nothing to await: the one_server sees the reset on its own
    assert len(service.conns) == 1 and service.members.count(HALL) == 1
    assert len(one_server.parts.chat.lean.links) == 1
    # the survivor is served as before
    raws[2].send('422["heart",{"room":"' + HALL + '","count":2}]')
    assert await raws[2].until("432") == '432[{"ok":true,"counted":1}]'
    raws[2].abort()


async def test_acks_unknown_events_and_events_before_connect(one_server: Server) -> None:
    raw = await Raw.open(one_server.url)
    assert (await raw.text()).startswith("0")
    raw.send('427["nick",{"nickname":"early"}]')  # not connected to `/` yet: ignored
    raw.send("40")
    assert (await raw.text()).startswith("40{")
    raw.send('423["no-such-event",{}]')  # no handler: an ack that says so
    reply = await raw.text()
    assert reply.startswith("433[") and json.loads(reply[3:])[0]["error"]["code"] == "unknown_event"
    raw.send('424["nick",{"nickname":"  Ada  "}]')
    assert await raw.text() == '434[{"ok":true,"nickname":"Ada"}]'
    raw.send('42["nick",{"nickname":"no ack wanted"}]')
    raw.send('4215["nick",{"nickname":"x"},"extra"]')
    reply = await raw.text()
    assert reply.startswith("4315[") and json.loads(reply[4:])[0]["error"]["code"] == "invalid_payload"
    raw.abort()


async def test_other_namespaces_are_refused(one_server: Server) -> None:
    raw = await Raw.open(one_server.url)
    assert (await raw.text()).startswith("0")
    raw.send("40/admin,")
    reply = await raw.text()
    assert reply.startswith("44/admin,") and json.loads(reply[len("44/admin,"):])["message"]
    raw.send("40/")  # `/` written out is the default namespace
    assert (await raw.text()).startswith("40{")
    raw.abort()


async def test_connection_cap_answers_connect_error(tmp_path: Path) -> None:
    config = make_config("sqlite", tmp_path / "d", None, chat_max_conns_per_ip=1)
    async with running_server(config) as srv:
        first = await Raw.open(srv.url)
        await first.connected()
        second = await Raw.open(srv.url)
        assert (await second.text()).startswith("0")
        second.send("40")
        reply = await second.text()
        assert reply.startswith("44"), reply
        error: dict[str, Any] = json.loads(reply[2:])
        assert error["data"] == {"code": "too_many_connections"} and error["message"]
        assert len(chat_service(srv).conns) == 1
        first.abort()
        second.abort()


async def test_malformed_packets_drop_only_that_connection(one_server: Server) -> None:
    service = chat_service(one_server)
    good = await connect(one_server.url)
    await good.join()
    for bad in ('42{"not":"a list"}', "42[not json", "42[]", "45-binary", "9what"):
        raw = await Raw.open(one_server.url)
        await raw.connected()
        raw.send(bad)
        await raw.closed()
    binary = await Raw.open(one_server.url)
    await binary.connected()
    binary.send("42[]", opcode=2)  # a binary frame: not spoken here
    await binary.closed()
    assert (await good.call("heart", {"room": HALL, "count": 1})) == {"ok": True, "counted": 1}
    assert len(service.conns) == 1


async def test_shutdown_closes_lean_connections_at_once(tmp_path: Path) -> None:
    config = make_config("sqlite", tmp_path / "d", None)
    async with running_server(config) as srv:
        client = await connect(srv.url)
        gone = asyncio.Event()
        client.sio.on("disconnect", lambda *_args: gone.set())
        await client.join()
        raw = await Raw.open(srv.url)
        await raw.connected()
    # the server told both to go (Engine.IO close) instead of waiting out the shutdown timeout
    await asyncio.wait_for(gone.wait(), 5)
    assert not client.sio.connected
    assert await raw.text() == "1"
    await raw.closed()
