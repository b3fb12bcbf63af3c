"""Checking a long-polling POST before python-engineio sees it.

python-engineio answers some bad POSTs badly: one over `max_http_buffer_size` waits for the
client's next poll before answering (a client that only POSTs waits forever), a body sent without
Content-Length is dropped unread, and a body that is not UTF-8 or not Engine.IO packets is logged
with a traceback and answered 200. Here every POST is read whole (it is small) and checked first:

- no Content-Length: 411 `length_required`;
- more than the limit (16 KiB, the same as one WebSocket message): 413 `payload_too_large`, and
  the Engine.IO session ends (as a WebSocket over the limit is closed);
- not UTF-8, more than 16 packets (python-engineio's own cap), or a packet a client may not send
  (only close `1`, pong `3`, message `4` carrying a Socket.IO packet type, upgrade `5`; binary
  `b…` is not spoken here): 400 `invalid_payload`.

Each of these answers `Connection: close`. What passes is handed to python-engineio as read.
"""

from __future__ import annotations

from aiohttp import web

from kernel.errors import ApiError

MAX_PACKETS = 16
_CLIENT_PACKET_TYPES = frozenset("1345")
_SOCKETIO_PACKET_TYPES = frozenset("0123456")


class TooLarge(ApiError):
    """The POST is over the limit: the caller ends the Engine.IO session too."""


def _invalid(message: str) -> ApiError:
    return ApiError(400, "invalid_payload", message, close_connection=True)


def payload_problem(text: str) -> str | None:
    """What is wrong with a polling payload (packets joined by U+001E), or None."""
    packets = text.split("\x1e")
    if len(packets) > MAX_PACKETS:
        return f"At most {MAX_PACKETS} packets per request."
    for packet in packets:
        if not packet or packet[0] not in _CLIENT_PACKET_TYPES:
            return "A packet is not one a client sends (close, pong, message or upgrade)."
        if packet[0] == "4" and (len(packet) < 2 or packet[1] not in _SOCKETIO_PACKET_TYPES):
            return "A message does not carry a Socket.IO packet."
    return None


async def read_polling_post(request: web.Request, limit: int) -> bytes:
    """The body of a long-polling POST, checked; ApiError (TooLarge over `limit`) otherwise."""
    length = request.content_length
    if length is None:
        raise ApiError(411, "length_required", "Send the packets with a Content-Length.",
                       close_connection=True)
    if length > limit:
        raise TooLarge(413, "payload_too_large", f"The packets are larger than {limit} bytes.",
                       close_connection=True)
    body = await request.read()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid("The packets are not UTF-8 text.") from None
    problem = payload_problem(text)
    if problem is not None:
        raise _invalid(problem)
    return body
