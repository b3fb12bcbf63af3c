"""Decoding the Socket.IO events that clients send, for both transports.

An event packet's data must be a JSON array whose first item is the event's name (a string,
not one of python-socketio's reserved `connect`, `disconnect`, `connect_error`, `*`);
the JSON is parsed by `kernel.untrusted_json` (64-bit integers, finite numbers, at most 64 levels
deep). Anything else is not an event: when it carries an ack id it is answered with the
`invalid_payload` error (the lean WebSocket path does it in `chat.lean`; the polling path turns
it into the event `INVALID_EVENT`, whose handler answers the same), so a client learns what went
wrong instead of waiting for an ack that never comes.
"""

from __future__ import annotations

from typing import Any

from kernel.untrusted_json import UntrustedJsonError, loads_untrusted

from .errors import ChatError

# The name an undecodable packet is handled under, as `[INVALID_EVENT, {}]` (see
# socketio_internals.CheckedPacket); its handler answers `invalid_packet()`.
INVALID_EVENT = "\x00invalid-packet"
# Names python-socketio keeps for its own handlers: a client sending `["disconnect"]` as an event
# would otherwise reach our disconnect handler (and free its connection slot while connected),
# and `"*"` our catch-all handler with the wrong arguments.
RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error", "*"})
# python-socketio reads ack ids of up to 100 digits; longer is not a packet.
MAX_ACK_DIGITS = 100


def invalid_packet() -> ChatError:
    return ChatError("invalid_payload", "The packet is not a Socket.IO event with a JSON array we accept.")


def split_ack(body: str) -> tuple[str | None, str] | None:
    """(ack id or None, the rest) of an event packet's body; None when the id is too long."""
    digits = 0
    end = min(len(body), MAX_ACK_DIGITS + 1)
    while digits < end and "0" <= body[digits] <= "9":
        digits += 1
    if digits > MAX_ACK_DIGITS:
        return None
    return (body[:digits] or None), body[digits:]


def is_event(value: Any) -> bool:
    """Whether a decoded packet's data is `[event name, *args]` (not a reserved name)."""
    return (isinstance(value, list) and bool(value) and isinstance(value[0], str)
            and value[0] not in RESERVED_EVENTS)


def event_args(text: str) -> list[Any] | None:
    """`[event, *args]` from an event packet's JSON, or None when it is not one we accept."""
    try:
        value = loads_untrusted(text)
    except UntrustedJsonError:
        return None
    return value if is_event(value) else None
