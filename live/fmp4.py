"""Read what we need from fMP4 boxes: the init segment the muxer writes, its tracks, its codec.

PyAV's mp4 muxer (`empty_moov`) writes `ftyp` + `moov` when encoding starts; `BoxSink` is the
file-like object it writes into, and keeps that init segment. The media fragments are written by
fragments.py. `init_tracks` reads each track's id, kind and timescale from the init segment, and
`avc_codec_string` its video codec for the master playlist.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

_CONTAINERS = (b"moov", b"trak", b"mdia", b"minf", b"stbl", b"moof", b"traf", b"mvex", b"edts")


class BoxSink:
    """A write-only file for the muxer that keeps the init segment (`ftyp` + `moov`)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.init: bytes | None = None

    def write(self, data: bytes) -> int:
        if self.init is None:
            self._buf += data
            self._split()
        return len(data)

    def flush(self) -> None:
        return None

    def _split(self) -> None:
        for kind, _start, end in _top_boxes(bytes(self._buf)):
            if kind == b"moov":
                self.init = bytes(self._buf[:end])
                self._buf.clear()
                return


def _top_boxes(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(type, start, end) of each complete box at the top level of `data`."""
    at = 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        if size == 1:
            if at + 16 > len(data):
                return
            size = struct.unpack(">Q", data[at + 8 : at + 16])[0]
        if size < 8 or at + size > len(data):
            return
        yield kind, at, at + size
        at += size


def boxes(data: bytes, path: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
    """Every box inside `data` as (path like b"/moov/trak/tkhd", body), depth first."""
    for kind, start, end in _top_boxes(data):
        header = 16 if struct.unpack(">I", data[start : start + 4])[0] == 1 else 8
        body = data[start + header : end]
        here = path + b"/" + kind
        yield here, body
        if kind in _CONTAINERS:
            yield from boxes(body, here)


@dataclass(frozen=True)
class TrackInfo:
    track_id: int
    kind: str  # "vide" or "soun"
    timescale: int


def init_tracks(init: bytes) -> list[TrackInfo]:
    """The tracks of an init segment, in order."""
    tracks: list[TrackInfo] = []
    track_id, timescale = 0, 0
    for path, body in boxes(init):
        if path == b"/moov/trak/tkhd":
            version = body[0]
            track_id = struct.unpack(">I", body[20:24] if version == 1 else body[12:16])[0]
        elif path == b"/moov/trak/mdia/mdhd":
            version = body[0]
            timescale = struct.unpack(">I", body[20:24] if version == 1 else body[12:16])[0]
        elif path == b"/moov/trak/mdia/hdlr":
            tracks.append(TrackInfo(track_id, body[8:12].decode("latin-1"), timescale))
    return tracks


def avc_codec_string(init: bytes) -> str | None:
    """`avc1.PPCCLL` from the avcC box inside an init segment, for the master playlist CODECS."""
    at = init.find(b"avcC")
    if at < 0 or len(init) < at + 8:
        return None
    profile, compat, level = init[at + 5], init[at + 6], init[at + 7]
    return f"avc1.{profile:02x}{compat:02x}{level:02x}"
