"""WebVTT subtitles: one HLS rendition per captioned language, its segments beside the video's.

Live (in the media worker): each caption line arrives with the wall-clock time its words were
spoken (`at`, ms). Every video segment of the top rung has a wall-clock start (`Segment.at`) and
its media timestamp (`Segment.pts`, the fragment's tfdt on the 90 kHz clock), so when segment N is
written, `subs/<lang>/seg-N.vtt` is written with the lines on screen during it, and
`subs/<lang>/live.m3u8` lists the same segment numbers, durations and discontinuities as the
video's playlist. A line whose time falls in a segment already written (the captioner's delay
reaches back past it) starts at the first segment not yet written: players never reload a
published segment, so it would be lost. The replay (replay_files.py) uses the exact times.

Timing in a segment: cue times are OFFSET plus the cue's distance from the segment's start (so a
cue that began in an earlier segment keeps a positive time), and
`X-TIMESTAMP-MAP=MPEGTS:<pts + OFFSET>,LOCAL:<2 × OFFSET>`: a cue time maps to MPEGTS plus its
distance from LOCAL (RFC 8216 3.5), so cue time OFFSET is the segment's `pts`. MPEGTS is not
`pts` itself so that no segment maps MPEGTS to exactly the player's first timestamp, which
hls.js reads as "no mapping". Every cue has the identifier `c<line>-<rev>`: a line repeated
in several segments is one cue for the player (hls.js de-duplicates by identifier), and a
correction is a new cue. Text is escaped (&, <, >): a line is shown as text, never as markup.
WebVTT is written (and read back, in tests) with webvtt-py.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import webvtt

from .media import Segment, atomic_write

OFFSET_S = 20  # LOCAL of every segment's timestamp map; above the longest time a line stays
MAX_HOLD_MS = 15_000
MPEGTS_WRAP = 2**33
NAMES = {"ko": "한국어", "en": "English", "ja": "日本語", "zh": "中文"}
CHARACTERISTICS = "public.accessibility.transcribes-spoken-dialog"


@dataclass(frozen=True)
class Cue:
    id: int
    rev: int
    lang: str
    at: int  # ms since the epoch (wall clock)
    end: int  # ms since the epoch
    text: str

    @property
    def ident(self) -> str:
        return f"c{self.id}-{self.rev}"


def language_name(lang: str) -> str:
    return NAMES.get(lang.split("-")[0], lang)


def media_lines(languages: Sequence[str], group: str = "subs", playlist: str = "live.m3u8") -> list[str]:
    """The multivariant playlist's EXT-X-MEDIA lines of the subtitle renditions."""
    return [
        f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="{group}",NAME="{language_name(lang)}",LANGUAGE="{lang}",'
        f'DEFAULT={"YES" if i == 0 else "NO"},AUTOSELECT=YES,FORCED=NO,'
        f'CHARACTERISTICS="{CHARACTERISTICS}",URI="subs/{lang}/{playlist}"'
        for i, lang in enumerate(languages)
    ]


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _stamp(seconds: float) -> str:
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"


def segment_vtt(cues: Iterable[Cue], at: int, duration_s: float, pts: int | None) -> str:
    """One WebVTT segment: the cues on screen between `at` and `at + duration` (wall ms)."""
    end = at + round(duration_s * 1000)
    captions = []
    for cue in sorted(cues, key=lambda c: (c.at, c.id)):
        if cue.end <= at or cue.at >= end:
            continue
        start_s = OFFSET_S + max(cue.at - at, -OFFSET_S * 1000 + 1) / 1000
        end_s = max(start_s + 0.001, OFFSET_S + (cue.end - at) / 1000)
        captions.append(webvtt.Caption(_stamp(start_s), _stamp(end_s), escape(cue.text),
                                       identifier=cue.ident))
    metadata = []
    if pts is not None:
        metadata.append(f"X-TIMESTAMP-MAP=MPEGTS:{(pts + OFFSET_S * 90_000) % MPEGTS_WRAP},"
                        f"LOCAL:{_stamp(2 * OFFSET_S)}")
    return str(webvtt.WebVTT(captions=captions, metadata=metadata).content)


def document(cues: Sequence[tuple[Cue, float, float]], fmt: str) -> str:
    """A whole subtitle file ("vtt" or "srt") of (cue, start s, end s) on one timeline."""
    if fmt == "vtt":
        captions = [webvtt.Caption(_stamp(s), _stamp(e), escape(c.text), identifier=c.ident)
                    for c, s, e in cues]
        return str(webvtt.WebVTT(captions=captions).content)
    # SubRip has no escapes: the text as typed (kept as it is: webvtt-py would strip what looks
    # like a tag), except the cue-timing arrow.
    captions = [webvtt.Caption(_stamp(s), _stamp(e), c.text.replace("-->", "->")) for c, s, e in cues]
    out = io.StringIO()
    webvtt.WebVTT(captions=captions).write(out, format="srt", keep_formatting=True)
    return out.getvalue() + "\n"


def tfdt(fragment: bytes) -> int | None:
    """The base media decode time of a fragment's first track (our video, 90 kHz): `tfdt` in the
    first `traf` of its `moof`."""
    at = fragment.find(b"tfdt")
    if at < 4 or len(fragment) < at + 12:
        return None
    version = fragment[at + 4]
    if version == 1:
        return int.from_bytes(fragment[at + 8:at + 16], "big") if len(fragment) >= at + 16 else None
    return int.from_bytes(fragment[at + 8:at + 12], "big")


def playlist_body(segments: Sequence[Segment], name: str, vod: bool) -> list[str]:
    """EXTINF lines of the subtitle segments mirroring `segments` (the top rung's), with the
    same discontinuities (live: as flagged; VOD: also at cuts, as RenditionLog.vod_text)."""
    lines: list[str] = []
    previous: Segment | None = None
    for seg in segments:
        cut = previous is not None and (seg.seq != previous.seq + 1 or seg.init != previous.init)
        if (seg.discontinuity and (previous is not None or not vod)) or (vod and cut):
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXTINF:{seg.duration:.3f},")
        lines.append(name.format(seq=seg.seq))
        previous = seg
    return lines


class LiveSubtitles:
    """The subtitle renditions of one program while it is produced (used by its media thread)."""

    def __init__(self, program_dir: Path, languages: Sequence[str], hold_ms: int) -> None:
        self.dir = program_dir / "subs"
        self.languages = tuple(languages)
        self.hold_ms = min(hold_ms, MAX_HOLD_MS)
        self.cues: dict[int, Cue] = {}
        self.written_until = 0  # wall ms: the end of the last segment written
        for lang in self.languages:
            (self.dir / lang).mkdir(parents=True, exist_ok=True)

    def resume(self, segments: Sequence[Segment]) -> None:
        """An earlier run wrote these segments: lines never go into them."""
        for seg in reversed(segments):
            if seg.at is not None:
                self.written_until = max(self.written_until, seg.at + round(seg.duration * 1000))
                return

    def add(self, line_id: int, rev: int, lang: str, at: int, text: str) -> None:
        """A stored line (or a correction: a higher rev keeps the line's place and takes its text)."""
        if lang not in self.languages:
            return
        known = self.cues.get(line_id)
        if known is not None:
            if rev > known.rev:
                self.cues[line_id] = dataclasses.replace(known, rev=rev, text=text)
            return
        start = max(at, self.written_until)
        self.cues[line_id] = Cue(line_id, rev, lang, start, start + self.hold_ms, text)

    def segment_written(self, seg: Segment, window: Sequence[Segment], target: int, disc_before: int,
                        ended: bool = False) -> None:
        """Video segment `seg` of the top rung is out: its subtitle segments and playlists."""
        if seg.at is not None:
            self.written_until = max(self.written_until, seg.at + round(seg.duration * 1000))
        for lang in self.languages:
            cues = [c for c in self.cues.values() if c.lang == lang]
            text = segment_vtt(cues, seg.at, seg.duration, seg.pts) if seg.at is not None else "WEBVTT\n"
            atomic_write(self.dir / lang / f"seg-{seg.seq}.vtt", text.encode())
            self.write_live(lang, window, target, disc_before, ended)
        horizon = self.written_until - 60_000
        for line_id in [i for i, c in self.cues.items() if c.end < horizon]:
            del self.cues[line_id]

    def write_live(self, lang: str, window: Sequence[Segment], target: int, disc_before: int,
                   ended: bool = False) -> None:
        directory = self.dir / lang
        for seg in window:  # segments from before subtitles existed (an older run): empty ones
            path = directory / f"seg-{seg.seq}.vtt"
            if not path.exists():
                atomic_write(path, b"WEBVTT\n")
        first = window[0].seq if window else 0
        head = ["#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{target}",
                "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES", f"#EXT-X-MEDIA-SEQUENCE:{first}",
                f"#EXT-X-DISCONTINUITY-SEQUENCE:{disc_before}"]
        tail = ["#EXT-X-ENDLIST"] if ended else []
        body = playlist_body(window, "seg-{seq}.vtt", vod=False)
        atomic_write(directory / "live.m3u8", ("\n".join(head + body + tail) + "\n").encode())


# ---- the replay ----

@dataclass(frozen=True)
class ReplayCaptions:
    """What the replay's subtitles are made of: the languages and every line (corrected)."""

    languages: tuple[str, ...]
    hold_ms: int
    lines: tuple[Cue, ...]  # `end` not yet known: set by `replay_cues`


def replay_cues(captions: ReplayCaptions, lang: str) -> list[Cue]:
    """The language's lines in order, each on screen until `hold_ms` passed or the line after
    the next one starts (two lines at most)."""
    lines = sorted((c for c in captions.lines if c.lang == lang), key=lambda c: (c.at, c.id))
    out = []
    for i, cue in enumerate(lines):
        end = cue.at + min(captions.hold_ms, MAX_HOLD_MS)
        if i + 2 < len(lines):
            end = min(end, max(cue.at + 1, lines[i + 2].at))
        out.append(dataclasses.replace(cue, end=end))
    return out


def on_replay(cues: Sequence[Cue], segments: Sequence[Segment],
              hold_ms: int) -> list[tuple[Cue, float, float]]:
    """Each cue's (start, end) in seconds of the replay made of `segments` (wall-clock starts
    known): a cue spoken in a part that was cut starts with the next kept segment if that comes
    within `hold_ms`, else it is left out."""
    spans: list[tuple[int, int, float]] = []  # (wall start, wall end, replay start)
    offset = 0.0
    for seg in segments:
        if seg.at is None:
            return []
        spans.append((seg.at, seg.at + round(seg.duration * 1000), offset))
        offset += seg.duration
    total = offset
    out = []
    for cue in cues:
        start: float | None = None
        for wall_start, wall_end, replay_start in spans:
            if wall_start <= cue.at < wall_end:
                start = replay_start + (cue.at - wall_start) / 1000
                break
            if wall_start > cue.at:
                if wall_start - cue.at < hold_ms:
                    start = replay_start
                break
        if start is None or start >= total:
            continue
        end = min(total, start + (cue.end - cue.at) / 1000)
        out.append((cue, round(start, 3), round(max(end, start + 0.001), 3)))
    return out


def write_replay_subtitles(program_dir: Path, segments: Sequence[Segment], target: int,
                           captions: ReplayCaptions) -> list[str]:
    """The replay's subtitle renditions for the chosen top-rung `segments` (blocking file work):
    per language `subs/<lang>/r<k>-<n>.vtt` (a new edition `k` each time, so what a cache keeps
    is never stale), `subs/<lang>/vod.m3u8`, and the whole track as `captions-<lang>.vtt` and
    `captions-<lang>.srt` on the replay's timeline. Returns the VOD master's EXT-X-MEDIA lines."""
    if not segments or any(seg.at is None for seg in segments):
        return []  # a premiere's file: no wall-clock times to place lines by
    for lang in captions.languages:
        directory = program_dir / "subs" / lang
        directory.mkdir(parents=True, exist_ok=True)
        editions = [int(p.name[1:].split("-")[0]) for p in directory.glob("r*-*.vtt")
                    if p.name[1:].split("-")[0].isdigit()]
        edition = max(editions, default=0) + 1
        cues = replay_cues(captions, lang)
        for seg in segments:
            assert seg.at is not None
            atomic_write(directory / f"r{edition}-{seg.seq}.vtt",
                         segment_vtt(cues, seg.at, seg.duration, seg.pts).encode())
        head = ["#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{target}", "#EXT-X-MEDIA-SEQUENCE:0",
                "#EXT-X-PLAYLIST-TYPE:VOD"]
        body = playlist_body(segments, f"r{edition}-{{seq}}.vtt", vod=True)
        atomic_write(directory / "vod.m3u8", ("\n".join([*head, *body, "#EXT-X-ENDLIST"]) + "\n").encode())
        timed = on_replay(cues, segments, captions.hold_ms)
        for fmt in ("vtt", "srt"):
            atomic_write(program_dir / f"captions-{lang}.{fmt}", document(timed, fmt).encode())
        for old in directory.glob("r*-*.vtt"):  # editions before the previous one
            number = old.name[1:].split("-")[0]
            if number.isdigit() and int(number) < edition - 1:
                old.unlink(missing_ok=True)
    return media_lines(captions.languages, playlist="vod.m3u8")
