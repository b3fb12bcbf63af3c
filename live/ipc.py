"""Messages between the server and its media worker processes.

A message is a JSON header (a list whose first item names the message) and an optional binary
payload (an encoded video or audio packet), framed as two lengths and the two parts. It travels
over a socket pair the server creates for that one child.
"""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any, BinaryIO

LENGTHS = struct.Struct("!II")
MAX_HEADER = 1024 * 1024
MAX_PAYLOAD = 32 * 1024 * 1024  # far above a video frame; a longer length means a broken stream

Message = tuple[list[Any], bytes]


class BrokenStream(Exception):
    """The other side sent something that is not one of our messages."""


def pack(header: list[Any], payload: bytes = b"") -> bytes:
    head = json.dumps(header, separators=(",", ":")).encode()
    return LENGTHS.pack(len(head), len(payload)) + head + payload


def _sizes(lengths: bytes) -> tuple[int, int]:
    head, body = LENGTHS.unpack(lengths)
    if head > MAX_HEADER or body > MAX_PAYLOAD:
        raise BrokenStream(f"message of {head} + {body} bytes")
    return head, body


def _header(raw: bytes) -> list[Any]:
    header = json.loads(raw)
    if not isinstance(header, list) or not header or not isinstance(header[0], str):
        raise BrokenStream("not a message")
    return header


def read_message(stream: BinaryIO) -> Message | None:
    """The next message from a blocking stream; None at the end of the stream."""
    lengths = stream.read(LENGTHS.size)
    if len(lengths) < LENGTHS.size:
        return None
    head, body = _sizes(lengths)
    raw = stream.read(head + body)
    if len(raw) < head + body:
        return None
    return _header(raw[:head]), raw[head:]


async def read_message_async(reader: asyncio.StreamReader) -> Message | None:
    """The next message from an asyncio stream; None at the end of the stream."""
    try:
        head, body = _sizes(await reader.readexactly(LENGTHS.size))
        raw = await reader.readexactly(head + body)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    return _header(raw[:head]), raw[head:]
