"""Low-latency HLS in live media playlists: partial segments and the tags that go with them.

A live session cuts its output every `part_s` (a whole number of frames, `part_plan`) as well as at
every segment start (encoder.py). Each cut is a partial segment, written as `<rung>/part-<n>.m4s`,
where `n` counts the rendition's parts over the program's life (a part's name never depends on the
segment it ends up in, so `EXT-X-PRELOAD-HINT` can name the next one before anyone knows whether
a keyframe will start a new segment with it). The live playlist lists the parts of the segments
within three target durations of its end and of the segment being written, then hints the next
part, then reports the other renditions (RFC 8216bis 4.4.4.9, 4.4.5.3, 4.4.5.4):

    #EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.660,CAN-SKIP-UNTIL=6.0
    #EXT-X-PART-INF:PART-TARGET=0.220
    ...
    #EXT-X-PART:DURATION=0.200,URI="part-120.m4s",INDEPENDENT=YES
    #EXT-X-PART:DURATION=0.200,URI="part-121.m4s"
    ...
    #EXTINF:1.000,
    seg-24.m4s
    #EXT-X-PART:DURATION=0.200,URI="part-125.m4s",INDEPENDENT=YES
    #EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-126.m4s"
    #EXT-X-RENDITION-REPORT:URI="../360p/live.m3u8",LAST-MSN=25,LAST-PART=0

The Part Target Duration is the nominal part length plus 10 % (a part of jittery camera frames may
run a little long; every part must fit under it, and all but a segment's last or independent ones
must reach 85 % of it), raised to the longest part listed should one run longer still.
PART-HOLD-BACK is three Part Target Durations (the spec's SHOULD); CAN-SKIP-UNTIL six target
durations (its minimum).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

PART_FILE = re.compile(r"^part-(\d{1,9})\.m4s$")
PART_TARGET_MARGIN = 1.1
HOLD_BACK_PARTS = 3  # PART-HOLD-BACK in Part Target Durations
SKIP_TARGETS = 6  # CAN-SKIP-UNTIL in target durations
PART_TARGETS_LISTED = 3  # parts are listed for the segments this many target durations from the end


@dataclass(frozen=True)
class Part:
    number: int  # counts the rendition's parts over the program's life: part-<number>.m4s
    msn: int  # the media sequence number of its segment
    index: int  # its place in that segment, from 0
    init: int  # the init segment it needs
    discontinuity: bool  # its segment follows a discontinuity
    duration: float
    independent: bool  # starts with a keyframe

    @property
    def file(self) -> str:
        return part_file(self.number)


def part_file(number: int) -> str:
    return f"part-{number}.m4s"


def part_plan(part_s: float, fps: int) -> tuple[int, float]:
    """(frames per part, the nominal part duration): a whole number of frames, at least one."""
    frames = max(1, round(part_s * fps))
    return frames, frames / fps


def _up_to_ms(seconds: float) -> float:
    return math.ceil(seconds * 1000 - 1e-6) / 1000


def part_target(nominal: float, parts: Iterable[Part] = ()) -> float:
    """EXT-X-PART-INF:PART-TARGET: the nominal part duration with a margin, or the longest part."""
    longest = max((p.duration for p in parts), default=0.0)
    return _up_to_ms(max(nominal * PART_TARGET_MARGIN, longest))


def server_control(target_duration: int, nominal_part: float) -> list[str]:
    """The EXT-X-SERVER-CONTROL line (and EXT-X-PART-INF's place is right after it)."""
    hold_back = HOLD_BACK_PARTS * part_target(nominal_part)
    return [f"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={hold_back:.3f},"
            f"CAN-SKIP-UNTIL={SKIP_TARGETS * target_duration:.1f}"]


def part_inf(nominal_part: float, parts: Iterable[Part]) -> str:
    return f"#EXT-X-PART-INF:PART-TARGET={part_target(nominal_part, parts):.3f}"


def part_lines(parts: Iterable[Part]) -> list[str]:
    lines = []
    for part in parts:
        line = f'#EXT-X-PART:DURATION={part.duration:.3f},URI="{part.file}"'
        lines.append(line + (",INDEPENDENT=YES" if part.independent else ""))
    return lines


def preload_hint(next_number: int) -> str:
    return f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{part_file(next_number)}"'


def rendition_report(rung: str, last_msn: int, last_part: int | None) -> str:
    line = f'#EXT-X-RENDITION-REPORT:URI="../{rung}/live.m3u8",LAST-MSN={last_msn}'
    return line + (f",LAST-PART={last_part}" if last_part is not None else "")


def listed_from(durations: list[float], target_duration: int) -> int:
    """The index of the first of these segments (oldest first) whose parts are listed: those
    within PART_TARGETS_LISTED target durations of the end."""
    total = 0.0
    for i in range(len(durations) - 1, -1, -1):
        total += durations[i]
        if total > PART_TARGETS_LISTED * target_duration:
            return i + 1
    return 0
