"""AMF0, the encoding of RTMP's command and data messages (connect, publish, onMetaData, ...).

Only what a publisher sends and what we answer: numbers, booleans, strings (short and long),
objects and ECMA arrays (as dicts), strict arrays (as lists), null, undefined and dates (as their
milliseconds). Anything else, or data that ends early, raises `AmfError`; nesting is bounded so
a hostile message cannot recurse deeply.
"""

from __future__ import annotations

import struct
from typing import Any

NUMBER, BOOLEAN, STRING, OBJECT, NULL, UNDEFINED = 0x00, 0x01, 0x02, 0x03, 0x05, 0x06
ECMA_ARRAY, OBJECT_END, STRICT_ARRAY, DATE, LONG_STRING = 0x08, 0x09, 0x0A, 0x0B, 0x0C
MAX_DEPTH = 8
MAX_ITEMS = 4096


class AmfError(ValueError):
    """Not AMF0 we can read."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, count: int) -> bytes:
        if self.at + count > len(self.data):
            raise AmfError("AMF0 value ends early")
        chunk = self.data[self.at : self.at + count]
        self.at += count
        return chunk

    def text(self, length_bytes: int) -> str:
        length = int.from_bytes(self.take(length_bytes), "big")
        return self.take(length).decode("utf-8", errors="replace")

    def value(self, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise AmfError("AMF0 nested too deeply")
        marker = self.take(1)[0]
        if marker == NUMBER:
            return struct.unpack(">d", self.take(8))[0]
        if marker == BOOLEAN:
            return self.take(1)[0] != 0
        if marker == STRING:
            return self.text(2)
        if marker == LONG_STRING:
            return self.text(4)
        if marker in (NULL, UNDEFINED):
            return None
        if marker == OBJECT:
            return self.properties(depth)
        if marker == ECMA_ARRAY:
            self.take(4)  # the announced count is a hint; the end marker ends it
            return self.properties(depth)
        if marker == STRICT_ARRAY:
            count = int.from_bytes(self.take(4), "big")
            if count > MAX_ITEMS:
                raise AmfError("AMF0 array too long")
            return [self.value(depth + 1) for _ in range(count)]
        if marker == DATE:
            millis = struct.unpack(">d", self.take(8))[0]
            self.take(2)  # time zone, unused
            return millis
        raise AmfError(f"AMF0 type {marker:#x} is not supported")

    def properties(self, depth: int) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for _ in range(MAX_ITEMS):
            name = self.text(2)
            if not name and self.data[self.at : self.at + 1] == bytes([OBJECT_END]):
                self.at += 1
                return found
            found[name] = self.value(depth + 1)
        raise AmfError("AMF0 object too long")


def decode_all(data: bytes) -> list[Any]:
    """Every AMF0 value in `data`, in order."""
    reader = _Reader(data)
    values = []
    while reader.at < len(data):
        values.append(reader.value())
        if len(values) > MAX_ITEMS:
            raise AmfError("too many AMF0 values")
    return values


def encode(value: Any) -> bytes:
    """One value as AMF0: None, bool, int/float, str, dict (object), list (strict array)."""
    if value is None:
        return bytes([NULL])
    if isinstance(value, bool):
        return bytes([BOOLEAN, int(value)])
    if isinstance(value, int | float):
        return bytes([NUMBER]) + struct.pack(">d", float(value))
    if isinstance(value, str):
        raw = value.encode()
        if len(raw) > 0xFFFF:
            return bytes([LONG_STRING]) + struct.pack(">I", len(raw)) + raw
        return bytes([STRING]) + struct.pack(">H", len(raw)) + raw
    if isinstance(value, dict):
        body = b"".join(struct.pack(">H", len(k.encode())) + k.encode() + encode(v) for k, v in value.items())
        return bytes([OBJECT]) + body + b"\x00\x00" + bytes([OBJECT_END])
    if isinstance(value, list):
        return bytes([STRICT_ARRAY]) + struct.pack(">I", len(value)) + b"".join(encode(v) for v in value)
    raise TypeError(f"cannot encode {type(value).__name__} as AMF0")


def encode_all(*values: Any) -> bytes:
    return b"".join(encode(v) for v in values)
