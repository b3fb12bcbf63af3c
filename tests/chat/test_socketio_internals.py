"""python-socketio's and python-engineio's internals that `chat/socketio_internals.py` relies on
are still there: a failure here means an upgrade changed them (read the module's docstring before
changing the pins)."""

from __future__ import annotations

import inspect
from importlib.metadata import version
from pathlib import Path

import engineio.async_drivers.aiohttp as aiohttp_driver
import socketio

from chat import socketio_internals
from chat.incoming import INVALID_EVENT
from chat.server import make_sio
from tests.chat.clients import HALL, connect
from tests.helpers import make_config, running_server


def test_the_pinned_versions_are_installed() -> None:
    pinned = socketio_internals.PINNED
    assert {name: version(name) for name in pinned} == pinned


def test_the_manager_keeps_the_tables_our_disconnect_edits() -> None:
    manager = socketio.AsyncManager()
    for table in ("rooms", "callbacks", "pending_connect", "pending_disconnect"):
        assert isinstance(getattr(manager, table), dict), table
    params = inspect.signature(socketio.AsyncManager.basic_disconnect).parameters
    assert list(params)[:3] == ["self", "sid", "namespace"]


def test_the_websocket_driver_table_is_replaced_per_server() -> None:
    stock = dict(aiohttp_driver._async)
    sio = make_sio()
    assert sio.eio._async["websocket"] is socketio_internals.PlainWebSocket
    assert aiohttp_driver._async == stock  # the module's own table is untouched
    assert isinstance(sio.manager, socketio_internals.RoomlessManager)


async def test_a_polling_connection_is_reached_through_its_engineio_socket(tmp_path: Path) -> None:
    """A real long-polling client: the server finds its Engine.IO socket and its queue."""
    async with running_server(make_config("sqlite", tmp_path / "data", None)) as server:
        client = await connect(server.url, transports=["polling"])
        try:
            assert (await client.join())["ok"]
            sid = next(iter(server.parts.chat.service.conns))
            link = socketio_internals.eio_link(server.parts.chat.sio, sid)
            assert not link.upgraded and link.transport() is None and not link.closed()
            assert isinstance(link.backlog(), int)
            assert server.parts.chat.service.members.count(HALL) == 1
        finally:
            await client.close()


def test_checked_packets_decode_whatever_a_client_sends() -> None:
    """`CheckedPacket` relies on `Packet.decode` setting `packet_type`, `id` and `data`, and on
    python-socketio taking a Packet subclass as `serializer`."""
    event = socketio_internals.CheckedPacket(encoded_packet='21["nick",{"nickname":"a"}]')
    assert (event.packet_type, event.id, event.data) == (2, 1, ["nick", {"nickname": "a"}])
    for bad in ("27[" + "[" * 100, "27[" + "1" * 5000 + "]", "27{}", "27[5]", '27["disconnect"]', "9x",
                '51-7["nick",{"_placeholder":true,"num":0}]', b"\x00\x01"):
        packet = socketio_internals.CheckedPacket(encoded_packet=bad)
        assert packet.packet_type == 2 and packet.data == [INVALID_EVENT, {}], bad
        if isinstance(bad, str) and bad.startswith("27"):
            assert packet.id == 7
    sio = make_sio()
    assert sio.packet_class is socketio_internals.CheckedPacket
    assert callable(sio.eio._async["translate_request"])
