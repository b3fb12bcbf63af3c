"""Every Socket.IO event, with hypothesis-made hostile payloads, from a host (so that every
validator is reached: a viewer is refused moderation before its payload is read), on both
transports (the lean WebSocket path and long-polling through python-engineio) and both stores.
Each call is answered with an ack that is a success or an error with a code; nothing else moves
(`World.check`)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import event as event_note
from hypothesis import strategies as st

from chat.incoming import INVALID_EVENT
from tests.chat.clients import host

from .conftest import World
from .hostile import FUZZ, TEXT, encoded_size, examples, payloads, weighted

# What a client can name besides the events the server handles: python-socketio's own names,
# unknown ones.
OTHERS = st.one_of(st.sampled_from(["connect", "disconnect", "connect_error", "message", "*", "mod:",
                                    INVALID_EVENT]), TEXT)


@pytest.mark.parametrize("transport", ["websocket", "polling"])
@settings(FUZZ, max_examples=examples(120))
@given(data=st.data())
async def test_every_event_with_hostile_payloads(world: World, transport: str, data: st.DataObject) -> None:
    served = sorted(set(world.server.parts.chat.lean.handlers) - {INVALID_EVENT})  # every slice's
    fuzzer = world.fuzzer
    if fuzzer is None or not fuzzer.sio.connected:  # a payload over 16 KiB closes its connection
        fuzzer = world.fuzzer = await host(world.server, transports=[transport])
        for room in world.rooms[:3]:
            assert (await fuzzer.call("join", {"room": room}))["ok"]
    event = data.draw(weighted((8, st.sampled_from(served)), (2, OTHERS)), "event")
    one = payloads(world.rooms)
    args: Any = data.draw(weighted((8, one), (1, one.map(lambda p: (p, p))), (1, st.just(()))), "payload")
    assume(encoded_size(args) < 12_000)
    ack = await fuzzer.sio.call(event, args, timeout=10)
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    event_note(f"{event if event in served else 'other'}: {ack['error']['code'] if not ack['ok'] else 'ok'}")
    if not ack["ok"]:
        error = ack["error"]
        assert isinstance(error["code"], str) and error["code"] and isinstance(error["message"], str)
        assert error["code"] not in ("internal_error", "not_connected"), (event, args, ack)
    await world.check()
