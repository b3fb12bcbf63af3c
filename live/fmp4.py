"""Cut a fragmented MP4 byte stream into an HLS init segment and media segments.

PyAV's mp4 muxer writes `ftyp`+`moov` (the init segment, with `empty_moov`) and then one
`moof`+`mdat` fragment per video keyframe (`frag_keyframe`). Since keyframes are forced only at
segment starts, each fragment is one HLS segment. `BoxSink` is the file-like object the muxer
writes into; it hands back whole segments as they complete.
"""

from __future__ import annotations

import struct


class BoxSink:
    """A write-only file for the muxer that splits its output at top-level MP4 box boundaries."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pending = bytearray()  # boxes of the fragment being assembled
        self.init: bytes | None = None
        self.fragments: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._buf += data
        self._split()
        return len(data)

    def flush(self) -> None:
        return None

    def _split(self) -> None:
        while len(self._buf) >= 8:
            size, kind = struct.unpack(">I4s", self._buf[:8])
            if size == 1:
                if len(self._buf) < 16:
                    return
                size = struct.unpack(">Q", self._buf[8:16])[0]
            if size < 8 or len(self._buf) < size:
                return
            box = bytes(self._buf[:size])
            del self._buf[:size]
            self._on_box(kind, box)

    def _on_box(self, kind: bytes, box: bytes) -> None:
        if self.init is None and kind in (b"ftyp", b"moov"):
            self._pending += box
            if kind == b"moov":
                self.init = bytes(self._pending)
                self._pending.clear()
            return
        if kind in (b"mfra", b"free", b"skip"):
            return
        self._pending += box
        if kind == b"mdat":
            self.fragments.append(bytes(self._pending))
            self._pending.clear()

    def take(self) -> list[bytes]:
        """The fragments completed since the last call."""
        done, self.fragments = self.fragments, []
        return done


def avc_codec_string(init: bytes) -> str | None:
    """`avc1.PPCCLL` from the avcC box inside an init segment, for the master playlist CODECS."""
    at = init.find(b"avcC")
    if at < 0 or len(init) < at + 8:
        return None
    profile, compat, level = init[at + 5], init[at + 6], init[at + 7]
    return f"avc1.{profile:02x}{compat:02x}{level:02x}"
