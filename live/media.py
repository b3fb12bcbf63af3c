"""A program's media on disk: init and media segments per rendition, live/VOD/master playlists.

Layout under `<data_dir>/live/<program>/` (see docs/operations.md):
`master.m3u8` (live), `vod.m3u8` (replay master, once finalised), and per rendition
`<rung>/init-<k>.mp4`, `<rung>/seg-<n>.m4s`, `<rung>/live.m3u8` (sliding window),
`<rung>/vod.m3u8` (every segment, ENDLIST) and `<rung>/segments.log` (the journal the VOD playlist
is rebuilt from). Every file is written to a temporary name and renamed, so a reader sees either
the old or the new version, never half of one. Used from one media thread at a time.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .ladder import Rung

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")


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
                self.segments.append(
                    Segment(int(raw["seq"]), int(raw["init"]), float(raw["duration"]),
                            bool(raw["disc"]), str(raw["file"]))
                )
            except (ValueError, KeyError, TypeError):
                continue

    @property
    def next_seq(self) -> int:
        return self.segments[-1].seq + 1 if self.segments else 0

    def write_init(self, index: int, data: bytes) -> None:
        atomic_write(self.dir / f"init-{index}.mp4", data)

    def add(self, init: int, data: bytes, duration: float, discontinuity: bool) -> Segment:
        seq = self.next_seq
        seg = Segment(seq, init, duration, discontinuity and bool(self.segments), f"seg-{seq}.m4s")
        atomic_write(self.dir / seg.file, data)
        self.segments.append(seg)
        with open(self.dir / "segments.log", "a") as fh:
            fh.write(json.dumps({"seq": seg.seq, "init": seg.init, "duration": round(seg.duration, 4),
                                 "disc": seg.discontinuity, "file": seg.file}) + "\n")
        if self.publish_live:
            self.write_live()
        return seg

    def _target(self, segments: list[Segment]) -> int:
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
            lines.append(f"#EXTINF:{seg.duration:.3f},")
            lines.append(seg.file)
        return lines

    def live_text(self, ended: bool = False, upto: int | None = None) -> str:
        """The live playlist: the last `window` segments (of the first `upto` when given)."""
        shown = self.segments if upto is None else self.segments[:upto]
        window = shown[-self.window :]
        first = window[0].seq if window else 0
        disc_before = sum(1 for s in shown[: len(shown) - len(window)] if s.discontinuity)
        head = [
            "#EXTM3U",
            "#EXT-X-VERSION:7",
            f"#EXT-X-TARGETDURATION:{self._target(self.segments)}",
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

    def vod_text(self) -> str:
        head = [
            "#EXTM3U",
            "#EXT-X-VERSION:7",
            f"#EXT-X-TARGETDURATION:{self._target(self.segments)}",
            "#EXT-X-MEDIA-SEQUENCE:0",
            "#EXT-X-PLAYLIST-TYPE:VOD",
            "#EXT-X-INDEPENDENT-SEGMENTS",
        ]
        return "\n".join([*head, *self._body(self.segments), "#EXT-X-ENDLIST"]) + "\n"

    def write_vod(self) -> None:
        atomic_write(self.dir / "vod.m3u8", self.vod_text().encode())


def master_text(rungs: tuple[Rung, ...], codecs: dict[str, str], playlist: str) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for rung in rungs:
        video = codecs.get(rung.name, "avc1.64001f")
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={rung.bandwidth},"
            f"AVERAGE-BANDWIDTH={int((rung.video_kbps + rung.audio_kbps) * 1000)},"
            f'RESOLUTION={rung.width}x{rung.height},FRAME-RATE={rung.fps:.3f},CODECS="{video},mp4a.40.2"'
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
        self._inits = self._count_inits()

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
                self.logs[rung.name] = RenditionLog(self.dir / rung.name, self.segment_s, self.window)
                self.logs[rung.name].publish_live = self.publish_live

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
        atomic_write(self.dir / "master.m3u8", master_text(self.rungs, self.codecs, "live.m3u8").encode())

    def finalise(self) -> bool:
        """Write the replay playlists; False when nothing was recorded."""
        if not self.rungs or not any(log.segments for log in self.logs.values()):
            return False
        for log in self.logs.values():
            log.write_vod()
            log.write_live(ended=True)
        atomic_write(self.dir / "vod.m3u8", master_text(self.rungs, self.codecs, "vod.m3u8").encode())
        return True
