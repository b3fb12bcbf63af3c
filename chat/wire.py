"""The bytes on the wire: Socket.IO event packets encoded once, as ready-made WebSocket frames.

`event_text(event, data)` gives the Engine.IO/Socket.IO text (`42["event",{...}]`) and
`ws_frame(text)` the same text as one unmasked, uncompressed WebSocket text frame, which the
fan-out writes straight into a connection's transport (an aiohttp uncompressed frame is also
written in one synchronous call, so frames never interleave).
"""

from __future__ import annotations

import json
import struct
from typing import Any


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def event_text(event: str, data: Any) -> str:
    """The Engine.IO message carrying a Socket.IO EVENT on the default namespace."""
    return "42" + dumps([event, data])


def ws_frame(text: str) -> bytes:
    payload = text.encode("utf-8")
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, length)
    elif length < 65536:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + payload
