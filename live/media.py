"""A program's media on disk: init and media segments per rendition, live/VOD/master playlists.

Layout under `<data_dir>/live/<program>/` (see docs/operations.md):
`master.m3u8` (live), `vod.m3u8` (replay master, once finalised), and per rendition
`<rung>/init-<k>.mp4`, `<rung>/seg-<n>.m4s`, `<rung>/live.m3u8` (sliding window),
`<rung>/vod.m3u8` (the replay's segments, ENDLIST; written by replay.py) and
`<rung>/segments.log` (the journal: each segment's number, init, duration, size, wall-clock
start, media timestamp and whether it is the slate, from which the replay is chosen), and per
captioned language `subs/<lang>/seg-<n>.vtt` and `subs/<lang>/live.m3u8` (subtitles.py), written
with the top rung's segments. Every file is written to a
temporary name and renamed, so a reader sees either the old or the new version, never half of
one. Used from one media thread at a time.

Every segment of a broadcast carries `EXT-X-PROGRAM-DATE-TIME` in the live playlist: the
journaled wall-clock time of its first picture. Each segment's write time and its delay behind
the wall clock are counted here (`write_seconds`, `delay_seconds`) and reported by the worker
process to the server's `/metrics` (live/worker_metrics.py).

`BANDWIDTH` in the master playlist is the rung's nominal figure, raised to the peak segment bit
rate actually written (RFC 8216 section 4.1: any run of segments lasting 0.5-1.5 target
durations) as soon as one goes above it: a publisher's own H.264 (pass-through) or a busy picture
can exceed the nominal figure, and the playlist must not understate it.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import math
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kernel.metrics import BucketCounts

from .ladder import Rung

if TYPE_CHECKING:
    from .subtitles import LiveSubtitles

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")
# Seconds a segment takes to be written (the file, the journal line, the live playlist), and from
# the wall-clock end of its media to that moment; measured here, reported by the worker process.
SEGMENT_WRITE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
SEGMENT_DELAY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


def lock_media(directory: Path) -> int | None:
    """An exclusive lock on a program's media directory (`.lock`, released when the descriptor is
    closed or its process ends); None when someone else holds it. Whoever writes a program's
    segments or playlists holds it: two innotv processes sharing a data directory never write one
    program at once."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


@dataclass(frozen=True)
class Segment:
    seq: int
    init: int
    duration: float
    discontinuity: bool
    file: str
    size: int | None = None  # bytes (None: journals written before sizes were kept)
    at: int | None = None  # wall-clock start, ms since the epoch (None: a premiere's, or an old journal)
    slate: bool = False  # the generated "be right back" card, not the show
    pts: int | None = None  # the fragment's first video decode time (tfdt, 90 kHz; None: not known)


def program_date_time(at_ms: int) -> str:
    """EXT-X-PROGRAM-DATE-TIME's value: ISO 8601 in UTC with milliseconds (RFC 8216 4.3.2.6)."""
    return datetime.fromtimestamp(at_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def peak_bitrate(segments: list[Segment], target_s: float, last_only: bool = False) -> int:
    """The peak segment bit rate (RFC 8216 4.1): the highest of sum(size) / sum(duration) over
    runs of consecutive segments lasting 0.5 to 1.5 target durations; segments of unknown size
    are skipped. `last_only`: only the runs that end with the last segment (a live update)."""
    peak = 0.0
    ends = [len(segments) - 1] if last_only and segments else range(len(segments))
    for end in ends:
        total_bytes, total_s = 0, 0.0
        for seg in reversed(segments[: end + 1]):
            if seg.size is None:
                break
            total_bytes += seg.size
            total_s += round(seg.duration, 3)  # as the playlists say it (EXTINF has 3 decimals)
            if total_s > 1.5 * target_s:
                break
            if total_s >= 0.5 * target_s:
                peak = max(peak, total_bytes * 8 / total_s)
    return int(peak + 0.999)


class RenditionLog:
    """The segments of one rendition and its playlists."""

    def __init__(self, directory: Path, segment_s: float, window: int) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.segment_s = segment_s
        self.window = window
        self.segments: list[Segment] = []
        self.publish_live = True  # False while a premiere is prepared: revealed later by the clock
        self._load()

    def _load(self) -> None:
        journal = self.dir / "segments.log"
        if not journal.exists():
            return
        for line in journal.read_text().splitlines():
            try:
                raw = json.loads(line)
                size, at, pts = raw.get("bytes"), raw.get("at"), raw.get("pts")
                self.segments.append(
                    Segment(int(raw["seq"]), int(raw["init"]), float(raw["duration"]),
                            bool(raw["disc"]), str(raw["file"]),
                            int(size) if size is not None else None,
                            int(at) if at is not None else None, bool(raw.get("slate", False)),
                            int(pts) if pts is not None else None)
                )
            except (ValueError, KeyError, TypeError):
                continue

    @property
    def next_seq(self) -> int:
        return self.segments[-1].seq + 1 if self.segments else 0

    def write_init(self, index: int, data: bytes) -> None:
        atomic_write(self.dir / f"init-{index}.mp4", data)

    def add(self, init: int, data: bytes, duration: float, discontinuity: bool,
            at: int | None = None, slate: bool = False, pts: int | None = None) -> Segment:
        seq = self.next_seq
        seg = Segment(seq, init, duration, discontinuity and bool(self.segments), f"seg-{seq}.m4s",
                      len(data), at, slate, pts)
        atomic_write(self.dir / seg.file, data)
        self.segments.append(seg)
        entry: dict[str, object] = {"seq": seg.seq, "init": seg.init, "duration": round(seg.duration, 4),
                                    "disc": seg.discontinuity, "file": seg.file, "bytes": seg.size}
        if at is not None:
            entry["at"] = at
        if slate:
            entry["slate"] = True
        if pts is not None:
            entry["pts"] = pts
        with open(self.dir / "segments.log", "a") as fh:
            fh.write(json.dumps(entry) + "\n")
        if self.publish_live:
            self.write_live()
        return seg

    def target_duration(self, segments: list[Segment]) -> int:
        """EXT-X-TARGETDURATION: every EXTINF rounded to the nearest integer must fit (RFC 8216
        4.3.3.1). Rounded, not ceiled: a 1.2 s segment (a late keyframe from a publisher) keeps a
        1 s target, and with it the players' distance from the live edge (2 target durations)."""
        longest = max((s.duration for s in segments), default=self.segment_s)
        return max(math.ceil(self.segment_s), math.floor(longest + 0.5))

    def _body(self, segments: list[Segment]) -> list[str]:
        lines: list[str] = []
        current_init: int | None = None
        for seg in segments:
            if seg.discontinuity:
                lines.append("#EXT-X-DISCONTINUITY")
            if seg.init != current_init:
                lines.append(f'#EXT-X-MAP:URI="init-{seg.init}.mp4"')
                current_init = seg.init
            if seg.at is not None:
                # Every segment of a broadcast says when its first picture was live: players and
                # monitoring can show the wall clock and measure how far behind they play.
                lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{program_date_time(seg.at)}")
            lines.append(f"#EXTINF:{seg.duration:.3f},")
            lines.append(seg.file)
        return lines

    def live_window(self, upto: int | None = None) -> tuple[list[Segment], int]:
        """The live playlist's segments (the last `window`, of the first `upto` when given) and
        the discontinuities before them."""
        shown = self.segments if upto is None else self.segments[:upto]
        window = shown[-self.window :]
        return window, sum(1 for s in shown[: len(shown) - len(window)] if s.discontinuity)

    def live_text(self, ended: bool = False, upto: int | None = None) -> str:
        """The live playlist: the last `window` segments (of the first `upto` when given)."""
        window, disc_before = self.live_window(upto)
        first = window[0].seq if window else 0
        head = [
            "#EXTM3U",
            "#EXT-X-VERSION:7",
            f"#EXT-X-TARGETDURATION:{self.target_duration(self.segments)}",
            # Blocking playlist reload (live/blocking.py). No HOLD-BACK: its absence means three
            # target durations, the least the spec allows; our player sets its own distance.
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES",
            f"#EXT-X-MEDIA-SEQUENCE:{first}",
            f"#EXT-X-DISCONTINUITY-SEQUENCE:{disc_before}",
            "#EXT-X-INDEPENDENT-SEGMENTS",
        ]
        tail = ["#EXT-X-ENDLIST"] if ended else []
        return "\n".join(head + self._body(window) + tail) + "\n"

    def write_live(self, ended: bool = False, upto: int | None = None) -> None:
        atomic_write(self.dir / "live.m3u8", self.live_text(ended, upto).encode())

    def vod_text(self, segments: list[Segment]) -> str:
        """A VOD playlist of `segments` (a selection of this rendition's, in order): a cut
        between two of them (a gap in the numbering) is a discontinuity."""
        lines: list[str] = []
        current_init: int | None = None
        previous: Segment | None = None
        for seg in segments:
            if previous is not None and (seg.discontinuity or seg.seq != previous.seq + 1
                                         or seg.init != previous.init):
                lines.append("#EXT-X-DISCONTINUITY")
            if seg.init != current_init:
                lines.append(f'#EXT-X-MAP:URI="init-{seg.init}.mp4"')
                current_init = seg.init
            lines.append(f"#EXTINF:{seg.duration:.3f},")
            lines.append(seg.file)
            previous = seg
        head = [
            "#EXTM3U",
            "#EXT-X-VERSION:7",
            f"#EXT-X-TARGETDURATION:{self.target_duration(segments)}",
            "#EXT-X-MEDIA-SEQUENCE:0",
            "#EXT-X-PLAYLIST-TYPE:VOD",
            "#EXT-X-INDEPENDENT-SEGMENTS",
        ]
        return "\n".join([*head, *lines, "#EXT-X-ENDLIST"]) + "\n"

    def write_vod(self, segments: list[Segment]) -> None:
        atomic_write(self.dir / "vod.m3u8", self.vod_text(segments).encode())


def master_text(rungs: tuple[Rung, ...], codecs: dict[str, str], playlist: str,
                bandwidth: dict[str, tuple[int, int]] | None = None,
                subtitles: Sequence[str] = ()) -> str:
    """The multivariant playlist; `bandwidth`: (peak, average) bit/s per rung name where known
    (else the rung's nominal figures); `subtitles`: the EXT-X-MEDIA lines of the subtitle
    renditions (group "subs", subtitles.media_lines)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS", *subtitles]
    group = ',SUBTITLES="subs"' if subtitles else ""
    for rung in rungs:
        video = codecs.get(rung.name, "avc1.64001f")
        peak, average = (bandwidth or {}).get(
            rung.name, (rung.bandwidth, int((rung.video_kbps + rung.audio_kbps) * 1000)))
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={average},"
            f'RESOLUTION={rung.width}x{rung.height},FRAME-RATE={rung.fps:.3f},CODECS="{video},mp4a.40.2"'
            f"{group}"
        )
        lines.append(f"{rung.name}/{playlist}")
    return "\n".join(lines) + "\n"


class ProgramMedia:
    """Every rendition of one program, its master playlists, and the ladder it was started with."""

    def __init__(self, root: Path, program_id: str, segment_s: float, window: int) -> None:
        if not SAFE_ID.match(program_id):
            raise ValueError("unsafe program id")
        self.dir = root / program_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.segment_s = segment_s
        self.window = window
        self.rungs: tuple[Rung, ...] = ()
        self.codecs: dict[str, str] = {}
        self.publish_live = True
        self.logs: dict[str, RenditionLog] = {}
        self.peaks: dict[str, int] = {}  # the peak segment bit rate written so far, per rung
        self.subtitles: LiveSubtitles | None = None  # the captions' renditions (worker_main sets it)
        self._inits = self._count_inits()
        self.write_seconds = BucketCounts(SEGMENT_WRITE_BUCKETS)
        self.delay_seconds = BucketCounts(SEGMENT_DELAY_BUCKETS)

    def _count_inits(self) -> int:
        indexes = [int(p.stem.split("-")[1]) for p in self.dir.glob("*/init-*.mp4")]
        return max(indexes, default=-1) + 1

    def load(self) -> bool:
        """Pick up the ladder of an earlier run (after a restart); False when there was none."""
        try:
            raw = json.loads((self.dir / "ladder.json").read_text())
            rungs = tuple(Rung(**r) for r in raw["rungs"])
            codecs = {str(k): str(v) for k, v in raw["codecs"].items()}
        except (OSError, ValueError, KeyError, TypeError):
            return False
        self.codecs = codecs
        self.set_rungs(rungs)
        return True

    def set_rungs(self, rungs: tuple[Rung, ...]) -> None:
        self.rungs = rungs
        for rung in rungs:
            if rung.name not in self.logs:
                log = RenditionLog(self.dir / rung.name, self.segment_s, self.window)
                log.publish_live = self.publish_live
                self.logs[rung.name] = log
                self.peaks[rung.name] = peak_bitrate(log.segments, self.segment_s)

    def add_segment(self, rung: str, init: int, data: bytes, duration: float, discontinuity: bool,
                    at: int | None = None, slate: bool = False) -> Segment:
        """Write one media segment of `rung`; the master playlist is rewritten when the segment
        takes the rung above the BANDWIDTH it announces."""
        from .subtitles import tfdt

        started = time.perf_counter()
        log = self.logs[rung]
        seg = log.add(init, data, duration, discontinuity, at, slate, tfdt(data))
        if self.subtitles is not None and self.rungs and rung == self.rungs[0].name and log.publish_live:
            window, disc_before = log.live_window()
            self.subtitles.segment_written(seg, window, log.target_duration(log.segments), disc_before)
        peak = peak_bitrate(log.segments, self.segment_s, last_only=True)
        if peak > self.peaks.get(rung, 0):
            announced = self._bandwidth(rung)
            self.peaks[rung] = peak
            if peak > announced and len(self.codecs) >= len(self.rungs):
                self.write_master()
        self.write_seconds.observe(time.perf_counter() - started)
        if at is not None:
            self.delay_seconds.observe(max(0.0, time.time() - at / 1000 - duration))
        return seg

    def _bandwidth(self, name: str) -> int:
        nominal = next((r.bandwidth for r in self.rungs if r.name == name), 0)
        return max(nominal, self.peaks.get(name, 0))

    def new_init_index(self) -> int:
        index = self._inits
        self._inits += 1
        return index

    def write_master(self) -> None:
        ladder = {"rungs": [dataclasses.asdict(r) for r in self.rungs], "codecs": self.codecs}
        atomic_write(self.dir / "ladder.json", json.dumps(ladder).encode())
        if self.publish_live:
            self.write_live_master()

    def write_live_master(self) -> None:
        bandwidth = {r.name: (self._bandwidth(r.name), int((r.video_kbps + r.audio_kbps) * 1000))
                     for r in self.rungs}
        subtitles: list[str] = []
        if self.subtitles is not None:
            from .subtitles import media_lines

            subtitles = media_lines(self.subtitles.languages)
        text = master_text(self.rungs, self.codecs, "live.m3u8", bandwidth, subtitles)
        atomic_write(self.dir / "master.m3u8", text.encode())

    def end_live(self) -> bool:
        """The broadcast is over: the live playlists get EXT-X-ENDLIST (players stop waiting);
        False when nothing was recorded. The replay is chosen and written by replay.py."""
        if not self.rungs or not any(log.segments for log in self.logs.values()):
            return False
        for log in self.logs.values():
            log.write_live(ended=True)
        top = self.logs.get(self.rungs[0].name)
        if self.subtitles is not None and top is not None:
            window, disc_before = top.live_window()
            for lang in self.subtitles.languages:
                self.subtitles.write_live(lang, window, top.target_duration(top.segments), disc_before, True)
        return True
