"""RTMP chunk streams: bytes from a publisher in, whole messages out; our messages out as chunks.

After the handshake, RTMP interleaves messages (commands, audio, video, control) cut into chunks of
the sender's chunk size (128 bytes until it sends Set Chunk Size). Each chunk starts with a basic
header (format and chunk stream id) and a message header whose length depends on the format (11,
7, 3 or 0 bytes: later chunks reuse what the earlier ones of their chunk stream said), and a
timestamp of 0xFFFFFF means a 4-byte extended timestamp follows (repeated in continuation chunks,
as librtmp and FFmpeg send it). `ChunkReader.feed` takes bytes as they arrive from the socket and
returns the messages completed by them; it keeps a partial chunk until the rest arrives.

Limits: a message may be at most `max_message` bytes (a video frame of a studio encoder is well
under 4 MiB), at most `max_streams` chunk streams may be in use, and a chunk size must be 1 to
2^24 - 1 bytes. Anything else raises `ChunkError`: the connection is closed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SET_CHUNK_SIZE, ABORT, ACKNOWLEDGEMENT, USER_CONTROL, WINDOW_ACK_SIZE, SET_PEER_BANDWIDTH = 1, 2, 3, 4, 5, 6
AUDIO, VIDEO, DATA_AMF3, COMMAND_AMF3, DATA_AMF0, COMMAND_AMF0, AGGREGATE = 8, 9, 15, 17, 18, 20, 22
MAX_MESSAGE = 8 * 1024 * 1024
MAX_STREAMS = 64
MAX_CHUNK_SIZE = 0xFFFFFF
_HEADER_SIZES = (11, 7, 3, 0)


class ChunkError(ValueError):
    """A chunk stream we will not read further."""


@dataclass(frozen=True)
class Message:
    type_id: int
    stream_id: int
    timestamp: int  # milliseconds
    payload: bytes


@dataclass
class _ChunkStream:
    timestamp: int = 0
    delta: int = 0
    length: int = 0
    type_id: int = 0
    stream_id: int = 0
    extended: bool = False  # its last header carried an extended timestamp
    body: bytearray = field(default_factory=bytearray)


class ChunkReader:
    def __init__(self, max_message: int = MAX_MESSAGE, max_streams: int = MAX_STREAMS) -> None:
        self.chunk_size = 128
        self.max_message = max_message
        self.max_streams = max_streams
        self._buf = bytearray()
        self._streams: dict[int, _ChunkStream] = {}

    def set_chunk_size(self, size: int) -> None:
        if not 1 <= size <= MAX_CHUNK_SIZE:
            raise ChunkError(f"chunk size {size} is out of range")
        self.chunk_size = size

    def feed(self, data: bytes) -> list[Message]:
        """The messages completed by `data` (Set Chunk Size is applied as soon as it is read, since
        it changes how the chunks after it are cut)."""
        self._buf += data
        done: list[Message] = []
        at = 0
        while True:
            parsed = self._chunk(at)
            if parsed is None:
                break
            at, message = parsed
            if message is not None:
                if message.type_id == SET_CHUNK_SIZE and message.stream_id == 0:
                    if len(message.payload) < 4:
                        raise ChunkError("short Set Chunk Size")
                    self.set_chunk_size(struct.unpack(">I", message.payload[:4])[0] & 0x7FFFFFFF)
                done.append(message)
        del self._buf[:at]
        return done

    def _chunk(self, at: int) -> tuple[int, Message | None] | None:
        """Read one chunk at `at`: (where the next starts, the message it completed), or None
        when the buffer does not hold the whole chunk yet (nothing is changed then)."""
        buf = self._buf
        if at >= len(buf):
            return None
        fmt, csid, pos = buf[at] >> 6, buf[at] & 0x3F, at + 1
        if csid == 0:
            if pos + 1 > len(buf):
                return None
            csid, pos = 64 + buf[pos], pos + 1
        elif csid == 1:
            if pos + 2 > len(buf):
                return None
            csid, pos = 64 + buf[pos] + buf[pos + 1] * 256, pos + 2
        stream = self._streams.get(csid)
        fresh = stream is None
        if stream is None:
            if fmt >= 2:
                raise ChunkError("a chunk stream must start with its message length")
            if len(self._streams) >= self.max_streams:
                raise ChunkError("too many chunk streams")
            stream = _ChunkStream()
        size = _HEADER_SIZES[fmt]
        if pos + size > len(buf):
            return None
        header = bytes(buf[pos : pos + size])
        pos += size
        stamp = int.from_bytes(header[:3], "big") if fmt < 3 else None
        extended = stamp == 0xFFFFFF if stamp is not None else stream.extended
        if extended:
            if pos + 4 > len(buf):
                return None
            stamp_ext = struct.unpack(">I", buf[pos : pos + 4])[0]
            pos += 4
            if stamp is not None:
                stamp = stamp_ext
        length, type_id = stream.length, stream.type_id
        if fmt <= 1:
            length, type_id = int.from_bytes(header[3:6], "big"), header[6]
            if length > self.max_message:
                raise ChunkError(f"message of {length} bytes is over the limit")
        if stream.body and fmt < 3:
            raise ChunkError("a new message header in the middle of a message")
        take = min(self.chunk_size, length - len(stream.body))
        if pos + take > len(buf):
            return None
        # the whole chunk is here: apply it
        if fresh:
            self._streams[csid] = stream
        stream.extended = extended
        if fmt == 0:
            stream.timestamp, stream.delta = stamp or 0, 0
            stream.stream_id = struct.unpack("<I", header[7:11])[0]
        elif fmt in (1, 2):
            stream.delta = stamp or 0
            stream.timestamp = (stream.timestamp + stream.delta) & 0xFFFFFFFF
        elif not stream.body:
            stream.timestamp = (stream.timestamp + stream.delta) & 0xFFFFFFFF
        stream.length, stream.type_id = length, type_id
        stream.body += buf[pos : pos + take]
        pos += take
        if len(stream.body) < length:
            return pos, None
        message = Message(type_id, stream.stream_id, stream.timestamp, bytes(stream.body))
        stream.body.clear()
        return pos, message


def chunks(csid: int, message: Message, chunk_size: int) -> bytes:
    """`message` as chunks of `chunk_size` on chunk stream `csid` (2-63), as we send it."""
    payload = message.payload
    stamp = min(message.timestamp, 0xFFFFFF)
    head = bytes([csid & 0x3F]) + stamp.to_bytes(3, "big") + len(payload).to_bytes(3, "big")
    head += bytes([message.type_id]) + struct.pack("<I", message.stream_id)
    ext = struct.pack(">I", message.timestamp) if stamp == 0xFFFFFF else b""
    out = bytearray(head + ext)
    for at in range(0, max(1, len(payload)), chunk_size):
        if at:
            out += bytes([0xC0 | (csid & 0x3F)]) + ext
        out += payload[at : at + chunk_size]
    return bytes(out)
