"""A replay on disk: which recorded segments are the show, its VOD playlists, its thumbnail and
`replay.json` (blocking file work: the server runs these in a thread, holding the program's
media lock).

The show is every segment of the program's window (`starts_at` to `ends_at`, as the lineup says
once the program is over) that is not the slate: the camera test in the lobby comes before the
window, the slate after the host stopped is slate, and so is the slate of a break, which is cut
(a discontinuity where it was): a replay viewer gains nothing from watching a still card, and
in/out points could not remove it from the middle. Premiere files and recordings made before
segments carried their wall-clock time count whole.

A producer's in and out points are kept in seconds of the show and snapped to segment boundaries
(the start of the segment the in point falls in, the end of the one the out point falls in), so
nothing is re-encoded: the VOD playlists list a subset of the live segments. `BANDWIDTH` and
`AVERAGE-BANDWIDTH` of the VOD master are measured on the listed segments. A hidden replay has no
master playlist (nothing under /vod/ is served); its rendition playlists stay for when it is
shown again.

`replay.json`: {"status": "ready" | "none" | "deleted", "window": [start_ms, end_ms], "in",
"out", "hidden", "thumbnail" (file name), "thumbnail_at", "duration", "recorded"}.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from .media import ProgramMedia, RenditionLog, Segment, atomic_write, master_text, peak_bitrate
from .subtitles import ReplayCaptions, write_replay_subtitles

REPLAY_FILE = "replay.json"
THUMB_MAX = (640, 360)
DEFAULT_THUMB_AT = 5.0  # seconds into the show, or its middle when shorter


@dataclass(frozen=True)
class ReplayEdit:
    """What the replay is: its window, the producer's cut, visibility and thumbnail."""

    status: str = "ready"  # "ready", "none" (nothing aired) or "deleted"
    window: tuple[int, int] = (0, 0)  # the program's times, ms since the epoch
    in_s: float | None = None
    out_s: float | None = None
    hidden: bool = False
    thumbnail: str | None = None  # the JPEG's file name in the program's folder
    thumbnail_at: float | None = None  # seconds into the replay
    duration: float = 0.0  # seconds of the replay (after the cut)
    recorded: float = 0.0  # seconds of the show before the cut

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "window": list(self.window), "in": self.in_s, "out": self.out_s,
                "hidden": self.hidden, "thumbnail": self.thumbnail, "thumbnail_at": self.thumbnail_at,
                "duration": self.duration, "recorded": self.recorded}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ReplayEdit:
        window = raw.get("window") or [0, 0]

        def seconds(key: str) -> float | None:
            value = raw.get(key)
            return float(value) if isinstance(value, (int, float)) else None

        return cls(status=str(raw.get("status", "ready")), window=(int(window[0]), int(window[1])),
                   in_s=seconds("in"), out_s=seconds("out"), hidden=bool(raw.get("hidden")),
                   thumbnail=str(raw["thumbnail"]) if raw.get("thumbnail") else None,
                   thumbnail_at=seconds("thumbnail_at"), duration=seconds("duration") or 0.0,
                   recorded=seconds("recorded") or 0.0)


def read_edit(directory: Path) -> ReplayEdit | None:
    try:
        raw = json.loads((directory / REPLAY_FILE).read_text())
    except (OSError, ValueError):
        return None
    try:
        return ReplayEdit.from_json(raw) if isinstance(raw, dict) else None
    except (ValueError, TypeError, IndexError, KeyError):
        return None


def write_edit(directory: Path, edit: ReplayEdit) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write(directory / REPLAY_FILE, json.dumps(edit.to_json()).encode())


def has_recording(directory: Path) -> bool:
    """Whether a broadcast (or premiere) left media in this folder."""
    return (directory / "ladder.json").is_file()


# ---- choosing the segments ----

def show_segments(log: RenditionLog, window: tuple[int, int]) -> list[Segment]:
    """The rendition's segments that are the show: not slate, overlapping the window; with
    their sizes (read from disk where the journal has none)."""
    start, end = window
    shown = []
    for seg in log.segments:
        if seg.slate:
            continue
        if seg.at is not None and not (seg.at + seg.duration * 1000 > start and seg.at < end):
            continue
        if seg.size is None:
            try:
                seg = dataclasses.replace(seg, size=(log.dir / seg.file).stat().st_size)
            except OSError:
                continue
        shown.append(seg)
    return shown


def snap(segments: list[Segment], in_s: float | None, out_s: float | None) -> tuple[float, float]:
    """The cut on segment boundaries: the start of the segment `in_s` falls in, the end of the
    one `out_s` falls in (defaults: the whole show)."""
    starts = _starts(segments)
    total = starts[-1]
    lo = 0.0 if in_s is None else max(0.0, min(in_s, total))
    hi = total if out_s is None else max(0.0, min(out_s, total))
    snapped_in = max((t for t in starts[:-1] if t <= lo + 1e-6), default=0.0)
    snapped_out = min((t for t in starts[1:] if t >= hi - 1e-6), default=total)
    return round(snapped_in, 3), round(snapped_out, 3)


def cut(segments: list[Segment], in_s: float, out_s: float) -> list[Segment]:
    """The segments between two boundaries that `snap` gave."""
    starts = _starts(segments)
    return [seg for seg, t in zip(segments, starts, strict=False)
            if t >= in_s - 1e-3 and t + seg.duration <= out_s + 1e-3]


def _starts(segments: list[Segment]) -> list[float]:
    """Each segment's start on the show's timeline, and the end of the last."""
    out = [0.0]
    for seg in segments:
        out.append(out[-1] + seg.duration)
    return out


def replay_span(media: ProgramMedia, edit: ReplayEdit) -> tuple[float, float, float]:
    """(in, out) of `edit`'s cut snapped to boundaries, and the show's whole length."""
    if not media.rungs:
        media.load()
    top = show_segments(media.logs[media.rungs[0].name], edit.window) if media.rungs else []
    if not top:
        return 0.0, 0.0, 0.0
    in_s, out_s = snap(top, edit.in_s, edit.out_s)
    return in_s, out_s, round(_starts(top)[-1], 3)


# ---- writing ----

def write_replay(media: ProgramMedia, edit: ReplayEdit,
                 captions: ReplayCaptions | None = None) -> ReplayEdit:
    """Choose the show's segments by `edit` (window, cut, visibility), write the VOD playlists,
    the subtitle renditions and downloads of `captions` (subtitles.py), a thumbnail when the
    picture it shows moved (another time or in point), and `replay.json`; the edit as written
    (snapped cut, lengths, status "none" when nothing aired)."""
    if not media.rungs:
        media.load()
    previous = read_edit(media.dir)
    shows = {r.name: show_segments(media.logs[r.name], edit.window) for r in media.rungs}
    top = shows[media.rungs[0].name] if media.rungs else []
    if not top:
        (media.dir / "vod.m3u8").unlink(missing_ok=True)
        written = dataclasses.replace(edit, status="none", duration=0.0, recorded=0.0)
        write_edit(media.dir, written)
        return written
    in_s, out_s = snap(top, edit.in_s, edit.out_s)
    recorded = _starts(top)[-1]
    bandwidth: dict[str, tuple[int, int]] = {}
    for rung in media.rungs:
        log = media.logs[rung.name]
        chosen = cut(shows[rung.name], in_s, out_s)
        log.write_vod(chosen)
        seconds = math.fsum(s.duration for s in chosen) or 1.0
        average = int(sum(s.size or 0 for s in chosen) * 8 / seconds)
        target = float(log.target_duration(chosen))
        bandwidth[rung.name] = (max(1, peak_bitrate(chosen, target)), max(1, average))
    duration = round(out_s - in_s, 3)
    written = dataclasses.replace(edit, status="ready", in_s=in_s if in_s > 0 else None,
                                  out_s=out_s if out_s < recorded - 1e-3 else None,
                                  duration=duration, recorded=round(recorded, 3))
    at = edit.thumbnail_at if edit.thumbnail_at is not None else min(DEFAULT_THUMB_AT, duration / 2)
    at = max(0.0, min(at, duration))
    same_picture = (previous is not None and previous.thumbnail is not None
                    and (previous.in_s or 0.0) == in_s and previous.thumbnail_at == at
                    and (media.dir / previous.thumbnail).is_file())
    if same_picture and previous is not None:
        written = dataclasses.replace(written, thumbnail=previous.thumbnail, thumbnail_at=at)
    else:
        top_log = media.logs[media.rungs[0].name]
        name = write_thumbnail(top_log, cut(top, in_s, out_s), at, media.dir)
        written = dataclasses.replace(written, thumbnail=name, thumbnail_at=at)
    subtitles: list[str] = []
    if captions is not None:
        chosen_top = cut(top, in_s, out_s)
        target = media.logs[media.rungs[0].name].target_duration(chosen_top)
        subtitles = write_replay_subtitles(media.dir, chosen_top, target, captions)
    master = media.dir / "vod.m3u8"
    if edit.hidden:
        master.unlink(missing_ok=True)
    else:
        text = master_text(media.rungs, media.codecs, "vod.m3u8", bandwidth, subtitles)
        atomic_write(master, text.encode())
    write_edit(media.dir, written)
    return written


def write_thumbnail(log: RenditionLog, segments: list[Segment], at_s: float, directory: Path) -> str | None:
    """The picture `at_s` seconds into `segments` as a JPEG (at most 640x360) under a new name
    (`thumb-<n>.jpg`, so a cached older one is never mistaken for it); None when nothing decodes."""
    starts = _starts(segments)
    index = max(0, min(len(segments) - 1, next((i for i, t in enumerate(starts[1:]) if t > at_s),
                                                len(segments) - 1)))
    seg = segments[index]
    offset = at_s - starts[index]
    try:
        data = (log.dir / f"init-{seg.init}.mp4").read_bytes() + (log.dir / seg.file).read_bytes()
        picture = _picture_at(data, offset)
    except (OSError, av.FFmpegError):
        return None
    if picture is None:
        return None
    scale = min(1.0, THUMB_MAX[0] / picture.width, THUMB_MAX[1] / picture.height)
    width = max(2, round(picture.width * scale / 2) * 2)
    height = max(2, round(picture.height * scale / 2) * 2)
    small = picture.reformat(width=width, height=height, format="yuvj420p")
    small.pts = 0
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuvj420p"
    encoder.time_base = Fraction(1, 25)
    jpeg = b"".join(bytes(p) for p in [*encoder.encode(small), *encoder.encode(None)])
    number = 1 + max((int(p.stem[6:]) for p in directory.glob("thumb-*.jpg") if p.stem[6:].isdigit()),
                     default=0)
    name = f"thumb-{number}.jpg"
    atomic_write(directory / name, jpeg)
    return name


def _picture_at(data: bytes, offset_s: float) -> av.VideoFrame | None:
    """The first picture at or after `offset_s` into an fMP4 segment (init + media), else its last."""
    chosen: av.VideoFrame | None = None
    with av.open(io.BytesIO(data), "r", format="mp4") as container:
        first: float | None = None
        for frame in container.decode(video=0):
            t = float(frame.time) if frame.time is not None else 0.0
            first = t if first is None else first
            chosen = frame
            if t - first >= offset_s - 1e-3:
                break
    return chosen
