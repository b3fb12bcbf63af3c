"""Write encoded samples as fMP4 fragments (`moof` + `mdat`), cut where the session says.

FFmpeg's mp4 muxer only writes the init segment (`ftyp` + `moov`); the media is ours to cut, so a
fragment can end at any video frame: at a keyframe (a new HLS segment) or every few frames (an
LL-HLS partial segment, `EXT-X-PART`). A segment is then the concatenation of its parts' fragments.

A video sample is held until the next one arrives (its duration is the difference of their
decode times), so a part is complete as soon as the first frame of the next part is here; audio
samples carry their own duration (AAC: 1024 samples). Every fragment has one `traf` per track
that has samples, `tfdt` with the track's decode time, and a `trun` with each sample's duration,
size, flags and (video, when presentation and decode time differ) composition offset.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .fmp4 import TrackInfo

SYNC = 0x02000000  # sample_depends_on = 2: decodable on its own
NON_SYNC = 0x01010000  # depends on others, not a sync sample
_TFHD_BASE_IS_MOOF = 0x020000
_TRUN_DATA_OFFSET, _TRUN_DURATION, _TRUN_SIZE, _TRUN_FLAGS, _TRUN_CTS = 0x1, 0x100, 0x200, 0x400, 0x800


def box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *parts)


def length_prefixed(data: bytes) -> bytes:
    """An H.264 access unit in Annex B form (start codes: what x264 writes here and what WebRTC
    and RTMP publishers' units are turned into) in the sample format of `avc1` (4-byte NAL
    lengths)."""
    out = bytearray()
    starts: list[tuple[int, int]] = []  # (start code position, NAL start)
    at = 0
    while True:
        found = data.find(b"\x00\x00\x01", at)
        if found < 0:
            break
        code = found - 1 if found > 0 and data[found - 1] == 0 else found
        starts.append((code, found + 3))
        at = found + 3
    for i, (_code, begin) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(data)
        nal = data[begin:end]
        if nal:
            out += struct.pack(">I", len(nal)) + nal
    return bytes(out)


@dataclass
class Sample:
    data: bytes
    duration: int  # in the track's timescale
    flags: int
    cts: int = 0  # presentation minus decode time


@dataclass
class _Track:
    info: TrackInfo
    samples: list[Sample] = field(default_factory=list)  # ready for the next fragment
    first_dts: int | None = None  # decode time of samples[0]


@dataclass(frozen=True)
class Fragment:
    """One `moof` + `mdat`: its bytes, the video it holds (start and duration in seconds) and
    whether it starts with a video sync sample."""

    data: bytes
    start: float
    duration: float
    independent: bool


class FragmentWriter:
    """Samples of one video and (optionally) one audio track in; fragments out on `cut`."""

    def __init__(self, video: TrackInfo, audio: TrackInfo | None) -> None:
        self.video = _Track(video)
        self.audio = _Track(audio) if audio is not None else None
        self._held: tuple[bytes, int, int, bool] | None = None  # (data, dts, pts, key) of the last frame
        self._sequence = 0

    @property
    def has_video(self) -> bool:
        """Whether a cut now would hold video (a held frame counts: `finish` writes it)."""
        return bool(self.video.samples) or self._held is not None

    def add_video(self, data: bytes, dts: int, pts: int, key: bool,
                  cut_before: bool = False) -> Fragment | None:
        """One encoded frame (the sample as it is stored: NAL lengths, not start codes), times
        in the video track's timescale; the frame before it is now
        complete (its duration is known). With `cut_before`, everything before this frame is
        cut into a fragment first (returned; None when there was no video)."""
        self._release_held(dts)
        fragment = self.cut() if cut_before else None
        self._held = (data, dts, pts, key)
        return fragment

    def add_audio(self, data: bytes, dts: int, duration: int) -> None:
        """One encoded audio frame, decode time and duration in the audio track's timescale."""
        track = self.audio
        if track is None:
            return
        if not track.samples:
            track.first_dts = dts
        track.samples.append(Sample(data, max(1, duration), SYNC))

    def cut(self) -> Fragment | None:
        """The samples complete so far as one fragment (None when there is no video in it)."""
        if not self.video.samples:
            return None
        video = self.video
        timescale = video.info.timescale
        start = (video.first_dts or 0) / timescale
        duration = sum(s.duration for s in video.samples) / timescale
        independent = video.samples[0].flags == SYNC
        self._sequence += 1
        data = self._fragment([t for t in (video, self.audio) if t is not None and t.samples])
        for track in (video, self.audio):
            if track is not None:
                track.samples = []
                track.first_dts = None
        return Fragment(data, start, duration, independent)

    def finish(self, last_duration: int) -> Fragment | None:
        """The end of the stream: the held frame gets `last_duration`; the rest as one fragment."""
        if self._held is not None:
            self._release_held(self._held[1] + max(1, last_duration))
        return self.cut()

    def _release_held(self, next_dts: int) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        data, dts, pts, key = held
        track = self.video
        if not track.samples:
            track.first_dts = dts
        track.samples.append(Sample(data, max(1, next_dts - dts), SYNC if key else NON_SYNC, pts - dts))

    def _fragment(self, tracks: list[_Track]) -> bytes:
        def moof(offsets: list[int]) -> bytes:
            trafs = [self._traf(t, off) for t, off in zip(tracks, offsets, strict=True)]
            return box(b"moof", full_box(b"mfhd", 0, 0, struct.pack(">I", self._sequence)), *trafs)

        sizes = [sum(len(s.data) for s in t.samples) for t in tracks]
        head = len(moof([0] * len(tracks))) + 8  # the offsets' values do not change the size
        offsets, at = [], head
        for size in sizes:
            offsets.append(at)
            at += size
        mdat = box(b"mdat", *(s.data for t in tracks for s in t.samples))
        return moof(offsets) + mdat

    @staticmethod
    def _traf(track: _Track, data_offset: int) -> bytes:
        samples = track.samples
        with_cts = any(s.cts for s in samples)
        flags = _TRUN_DATA_OFFSET | _TRUN_DURATION | _TRUN_SIZE | _TRUN_FLAGS | (_TRUN_CTS if with_cts else 0)
        rows = bytearray()
        for s in samples:
            rows += struct.pack(">III", s.duration, len(s.data), s.flags)
            if with_cts:
                rows += struct.pack(">i", s.cts)
        trun = full_box(b"trun", 1 if with_cts else 0, flags, struct.pack(">Ii", len(samples), data_offset),
                        bytes(rows))
        tfhd = full_box(b"tfhd", 0, _TFHD_BASE_IS_MOOF, struct.pack(">I", track.info.track_id))
        tfdt = full_box(b"tfdt", 1, 0, struct.pack(">Q", max(0, track.first_dts or 0)))
        return box(b"traf", tfhd, tfdt, trun)
