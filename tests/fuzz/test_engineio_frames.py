"""Raw Engine.IO/Socket.IO frames made by hypothesis: text and binary WebSocket frames to the lean
path (fresh connections), and long-polling POST bodies and GET queries to python-engineio.
Whatever arrives, the server answers with a 4xx (polling) or an ack error, or closes only that
connection; nothing else moves (`World.check`)."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote

import aiohttp
import pytest
from hypothesis import event as event_note
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.chat.raw import Raw, RawPolling

from .conftest import World
from .hostile import FUZZ, HOSTILE_BYTES, JSON, TEXT, UNPARSEABLE, examples, weighted

PREFIXES = ["0", "1", "2", "3", "4", "5", "6", "40", "41", "42", "43", "44", "45", "46", "47", "4/admin,",
            "42/", "421", "42999999999999999999999", "451-", "42" + "9" * 120, "b", "42٣", "4²"]
SOCKETIO_BODY = weighted(
    (3, st.builds(json.dumps, st.lists(JSON, max_size=3))),
    (2, st.tuples(st.sampled_from(["join", "chat", "nick", "mod:ban", "vote", "disconnect", "*"]),
                  JSON).map(lambda t: json.dumps(list(t)))),
    (1, UNPARSEABLE.map(lambda v: json.dumps(["nick", v]))),
    (1, TEXT),
)
FRAME = st.builds(lambda prefix, body: prefix + body, st.sampled_from(PREFIXES), SOCKETIO_BODY)


def namespace_sid(world: World, raw: Raw) -> str | None:
    """The Socket.IO session the server holds for this raw connection now (None: it has left the
    namespace, or the connection is gone)."""
    ours = raw.writer.get_extra_info("sockname")
    for link in list(world.server.parts.chat.lean.links.values()):
        if link.transport.get_extra_info("peername") == ours:
            return link.sid
    return None


async def reply(raw: Raw, want: str) -> str | None:
    """The next text frame starting with `want`; None when the server closes the connection (its
    close frame answered at once, as a browser does, so that it need not wait for the answer)."""
    try:
        while True:
            opcode, text = await raw.frame(wait_s=10)
            if opcode == 8:
                raw.send("", opcode=8)
                return None
            if opcode == 1 and text.startswith(want):
                return text
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


@settings(FUZZ, max_examples=examples(100))
@given(frames=st.lists(st.one_of(FRAME, HOSTILE_BYTES), min_size=1, max_size=3))
async def test_raw_websocket_frames(world: World, frames: list[str | bytes]) -> None:
    raw = await Raw.open(world.server.url)
    try:
        await raw.connected()
        for frame in frames:
            # bytes go as a binary frame half of the time, as a text frame (maybe not UTF-8) else
            raw.send(frame, opcode=2 if isinstance(frame, bytes) and len(frame) % 2 else 1)
        # an Engine.IO ping: once answered, the server has read (and handled or refused) every
        # frame before it
        raw.send("2probe")
        if await reply(raw, "3probe") is None:
            event_note("connection closed")  # a malformed packet closes only this connection
        elif namespace_sid(world, raw) is None:
            event_note("left the namespace")  # a DISCONNECT among the frames
        else:
            raw.send('42987["nick",{"nickname":"still"}]')
            event_note("connection kept")
            assert await reply(raw, "43987") == '43987[{"ok":true,"nickname":"still"}]'

    finally:
        raw.abort()
    await world.check()


QUERY = st.dictionaries(st.sampled_from(["EIO", "transport", "sid", "j", "t", "b64"]) | TEXT,
                        st.sampled_from(["4", "3", "polling", "websocket", "x", "", "-1"]) | TEXT, max_size=4)


@pytest.mark.parametrize("backend_kind", ["sqlite"], indirect=True)  # python-engineio's, not our store's
@settings(FUZZ, max_examples=examples(60))
@given(body=st.one_of(FRAME.map(lambda f: f.encode("utf-8", "surrogatepass")), HOSTILE_BYTES,
                      st.lists(FRAME, min_size=2, max_size=20).map(lambda fs: "\x1e".join(fs).encode(
                          "utf-8", "surrogatepass"))),
       query=QUERY)
async def test_raw_long_polling_requests(world: World, body: bytes, query: dict[str, str]) -> None:
    raw = await RawPolling.open(world.server.url)
    try:
        await raw.connected()
        status, text = await raw.post(body)
        event_note(f"POST {status}")
        assert status in (200, 400, 411, 413), (status, text)
        if status != 200:
            assert json.loads(text)["error"]["code"]
        params = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items()
                          if k.isascii() and v.isascii())
        async with raw.http.get(f"{world.server.url}/socket.io/?{params}",
                                timeout=aiohttp.ClientTimeout(total=10)) as resp:
            event_note(f"GET {resp.status}")
            assert resp.status in (200, 400), await resp.text()
            if resp.status == 400:
                assert (await resp.json())["error"]["code"]
    finally:
        await raw.close()
    await world.check()
