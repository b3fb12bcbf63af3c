"""Which recorded segments are the show, and where a producer's cut lands (`live/replay_files.py`):
pure, on a journal written by `RenditionLog` in tmp_path (no media, no server)."""

from __future__ import annotations

from pathlib import Path

from live.media import RenditionLog
from live.replay_files import cut, show_segments, snap

START_MS = 1_800_000_000_000  # the program's start, ms since the epoch


def _journal(tmp_path: Path) -> RenditionLog:
    """A camera test in the lobby, the show (with a break on the slate), the slate after the end."""
    log = RenditionLog(tmp_path / "r", 1.0, 6)
    at = START_MS - 5_000
    for slate, count in ((False, 3), (True, 2), (False, 4), (True, 3), (False, 3), (True, 4)):
        for _ in range(count):
            log.add(0, b"x" * 1000, 1.0, False, at=at, slate=slate)
            at += 1000
    return log


def test_the_show_is_the_programs_window_without_the_slate(tmp_path: Path) -> None:
    log = _journal(tmp_path)
    window = (START_MS, START_MS + 9_000)
    shown = show_segments(log, window)
    # seq 0-2 camera test (before the start), 3-4 slate, 5-8 show, 9-11 a break, 12-14 show, 15-18
    # slate after the host stopped; 14 starts 9 s in, when the program ended: out
    assert [s.seq for s in shown] == [5, 6, 7, 8, 12, 13]
    assert all(s.size == 1000 for s in shown)
    # a segment that straddles the start is in (the first picture of the show is in it)
    assert [s.seq for s in show_segments(log, (START_MS - 2_500, START_MS + 1000))] == [2, 5]
    # a premiere's segments, or an old journal's, carry no time: all of them count
    old = RenditionLog(tmp_path / "old", 1.0, 6)
    for _ in range(3):
        old.add(0, b"x", 1.0, False)
    assert len(show_segments(old, window)) == 3


def test_a_cut_snaps_to_segment_boundaries(tmp_path: Path) -> None:
    log = _journal(tmp_path)
    shown = show_segments(log, (START_MS, START_MS + 9_000))
    assert snap(shown, None, None) == (0.0, 6.0)
    assert snap(shown, 1.4, 3.2) == (1.0, 4.0)  # the segment 1.4 falls in starts at 1; 3.2's ends at 4
    assert snap(shown, 2.0, 4.0) == (2.0, 4.0)  # on a boundary: as given
    assert snap(shown, -3, 99) == (0.0, 6.0)
    assert [s.seq for s in cut(shown, 1.0, 4.0)] == [6, 7, 8]
