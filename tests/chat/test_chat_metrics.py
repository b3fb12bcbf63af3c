"""The chat's figures on `/metrics`: acks timed per event family, ticks timed, messages and
hearts counted (what the show-day dashboard plots)."""

from __future__ import annotations

from tests.chat.clients import HALL, viewer
from tests.helpers import Server


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_acks_ticks_messages_and_hearts_are_measured(server: Server) -> None:
    alice = await viewer(server)
    await alice.join()
    for text in ("하나", "둘"):
        assert (await alice.call("chat", {"room": HALL, "text": text}))["ok"]
    hearted = await alice.call("heart", {"room": HALL, "count": 3})
    counted = hearted["counted"]  # a hall's hearts are a vote: a few per visitor a day
    assert hearted["ok"] and counted >= 1
    refused = await alice.call("chat", {"room": HALL, "text": ""})
    assert refused["ok"] is False
    await alice.wait_message("둘")
    await alice.rec.wait_for("hearts", lambda h: h["total"] == counted)
    samples = await server.samples()
    ack = "innotv_chat_ack_seconds"
    assert value(samples, f"{ack}_count", family="chat", outcome="ok") == 2
    assert value(samples, f"{ack}_count", family="chat", outcome="error") == 1
    assert value(samples, f"{ack}_count", family="join", outcome="ok") == 1
    assert value(samples, f"{ack}_count", family="heart", outcome="ok") == 1
    # a stored message waits for a tick: its ack is slower than a millisecond
    assert value(samples, f"{ack}_bucket", family="chat", outcome="ok", le="0.001") == 0
    assert value(samples, f"{ack}_sum", family="chat", outcome="ok") > 0
    assert value(samples, "innotv_chat_tick_seconds_count") >= 1
    assert value(samples, "innotv_chat_messages_total", kind="hall") == 2
    assert value(samples, "innotv_chat_hearts_total", kind="hall") == counted
