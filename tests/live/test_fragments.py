"""Our fMP4 fragment writer (`live/fragments.py`) read back box by box: decode times, sample
durations (a frame's is known when the next arrives), flags, composition offsets and the data
offsets that point into `mdat`."""

from __future__ import annotations

import struct

from live.fmp4 import TrackInfo, boxes
from live.fragments import NON_SYNC, SYNC, FragmentWriter, length_prefixed

VIDEO = TrackInfo(1, "vide", 90_000)
AUDIO = TrackInfo(2, "soun", 48_000)


def trun_rows(body: bytes) -> tuple[int, list[tuple[int, ...]]]:
    """(data offset, rows of (duration, size, flags[, cts])) of a trun box body."""
    version_flags, count, offset = struct.unpack(">IIi", body[:12])
    with_cts = bool(version_flags & 0x800)
    width = 16 if with_cts else 12
    rows = []
    for i in range(count):
        row = body[12 + i * width:12 + (i + 1) * width]
        rows.append(struct.unpack(">IIIi" if with_cts else ">III", row))
    return offset, rows


def test_a_fragment_holds_the_complete_frames_and_points_at_their_bytes() -> None:
    writer = FragmentWriter(VIDEO, AUDIO)
    frames = [bytes([i]) * (10 + i) for i in range(4)]
    assert writer.add_video(frames[0], 90_000, 90_000, True) is None
    writer.add_audio(b"a0", 48_000, 1024)
    writer.add_video(frames[1], 93_000, 93_000, False)
    writer.add_audio(b"a1", 49_024, 1024)
    writer.add_video(frames[2], 96_100, 96_100, False)
    fragment = writer.add_video(frames[3], 99_000, 99_000, True, cut_before=True)
    assert fragment is not None and fragment.independent
    assert (fragment.start, round(fragment.duration, 6)) == (1.0, round(9_000 / 90_000, 6))
    data = fragment.data
    found = list(boxes(data))
    assert [p for p, _ in found if p.count(b"/") == 1] == [b"/moof", b"/mdat"]
    tfdts = [struct.unpack(">Q", body[4:12])[0] for p, body in found if p.endswith(b"tfdt")]
    assert tfdts == [90_000, 48_000]
    (voff, video), (aoff, audio) = (trun_rows(b) for p, b in found if p.endswith(b"trun"))
    assert [r[0] for r in video] == [3_000, 3_100, 2_900], "each lasts until the next one"
    assert [r[2] for r in video] == [SYNC, NON_SYNC, NON_SYNC]
    assert [r[0] for r in audio] == [1024, 1024]
    assert data[voff:voff + len(frames[0])] == frames[0]
    assert data[aoff:aoff + 2] == b"a0"
    # the frame that started the cut is in the next fragment, which the end closes
    last = writer.finish(3_000)
    assert last is not None and last.start == 99_000 / 90_000 and last.independent


def test_b_frames_carry_composition_offsets() -> None:
    writer = FragmentWriter(VIDEO, None)
    for dts, pts, key in ((0, 6_000, True), (3_000, 12_000, False), (6_000, 9_000, False)):
        writer.add_video(b"x", dts, pts, key)
    fragment = writer.finish(3_000)
    assert fragment is not None
    trun = next(body for p, body in boxes(fragment.data) if p.endswith(b"trun"))
    assert trun[0] == 1  # version 1: signed offsets
    _, rows = trun_rows(trun)
    assert [r[3] for r in rows] == [6_000, 9_000, 3_000]


def test_annex_b_units_become_length_prefixed() -> None:
    unit = b"\x00\x00\x00\x01\x67AB\x00\x00\x01\x68C\x00\x00\x00\x01\x65DEF"
    assert length_prefixed(unit) == (b"\x00\x00\x00\x03\x67AB" + b"\x00\x00\x00\x02\x68C"
                                     + b"\x00\x00\x00\x04\x65DEF")
