"""The output ladder: which renditions a broadcast is encoded into, and fitting it to a source.

Written as `"720p30:2800,360p30:800"` (height, frame rate, video kbit/s) in `Config.live_ladder`.
A rung taller than the source is dropped (never upscale); when every rung is taller, the lowest
one is kept at the source's own size.

A live program's ladder comes from the configuration, capped by what its publisher can send: the
largest picture it announced (`POST /whip/{id}?size=1280x720`, what the host page reads from the
camera) and what its H.264 level allows. Never from the first picture: WebRTC starts small while
it estimates the bandwidth, so the first picture says nothing about the camera.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

_RUNG = re.compile(r"^(\d{2,4})p(\d{1,2})(?::(\d{2,5}))?$", re.ASCII)


@dataclass(frozen=True)
class Rung:
    name: str
    width: int
    height: int
    fps: int
    video_kbps: int
    audio_kbps: int = 96

    @property
    def bandwidth(self) -> int:
        """Peak bits per second for the master playlist (video + audio + container overhead)."""
        return int((self.video_kbps * 1.2 + self.audio_kbps) * 1000 * 1.05)


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def parse_ladder(text: str) -> tuple[Rung, ...]:
    """Parse `"720p30:2800,360p30:800"`; raises ValueError naming the bad part."""
    rungs: list[Rung] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        match = _RUNG.match(part)
        if match is None:
            raise ValueError(f"ladder rung {part!r} is not like 720p30 or 720p30:2800")
        height, fps = int(match.group(1)), int(match.group(2))
        if not 90 <= height <= 1080 or not 1 <= fps <= 60:
            raise ValueError(f"ladder rung {part!r}: height 90-1080, fps 1-60")
        kbps = int(match.group(3)) if match.group(3) else _default_kbps(height)
        rungs.append(Rung(f"{height}p", _even(height * 16 / 9), height, fps, kbps))
    if not rungs:
        raise ValueError("the ladder needs at least one rung")
    names = [r.name for r in rungs]
    if len(set(names)) != len(names):
        raise ValueError("ladder rungs must have different heights")
    return tuple(sorted(rungs, key=lambda r: -r.height))


def _default_kbps(height: int) -> int:
    return max(200, int(height * height * 16 / 9 * 30 * 0.1 / 1000))


def fit_ladder(rungs: tuple[Rung, ...], width: int, height: int) -> tuple[Rung, ...]:
    """The rungs to encode for a `width`x`height` source: never taller than the source."""
    kept = tuple(r for r in rungs if r.height <= height)
    if kept:
        return tuple(replace(r, width=_even(r.height * width / height)) for r in kept)
    lowest = rungs[-1]
    return (replace(lowest, name=f"{_even(height)}p", width=_even(width), height=_even(height)),)


def macroblocks(width: int, height: int) -> int:
    """16x16 macroblocks of a picture: what codec levels and `max-fs` limit."""
    return ((width + 15) // 16) * ((height + 15) // 16)


@dataclass(frozen=True)
class PublisherLimits:
    """What a publisher can send, as far as it told us: the largest picture it announced, the
    largest frame its codec level allows (in macroblocks), and whether it sends sound at all.
    `sized_by_picture`: its first picture has its real size (RTMP encoders, unlike WebRTC, do
    not start small), so that one caps the ladder when nothing was announced."""

    size: tuple[int, int] | None = None
    max_macroblocks: int | None = None
    audio: bool = True
    sized_by_picture: bool = False

    def to_json(self) -> dict[str, object]:
        return {"size": list(self.size) if self.size else None, "max_macroblocks": self.max_macroblocks,
                "audio": self.audio, "sized_by_picture": self.sized_by_picture}

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> PublisherLimits:
        size = raw.get("size")
        limit = raw.get("max_macroblocks")
        return cls(
            size=(int(size[0]), int(size[1])) if isinstance(size, list) and len(size) == 2 else None,
            max_macroblocks=int(limit) if isinstance(limit, int) else None,
            audio=bool(raw.get("audio", True)),
            sized_by_picture=bool(raw.get("sized_by_picture", False)),
        )


def publisher_ladder(rungs: tuple[Rung, ...], limits: PublisherLimits) -> tuple[Rung, ...]:
    """The configured rungs a publisher gets: none taller than the picture it announced (widths
    follow its shape), none larger than its codec level allows; at least the lowest one."""
    fitted = fit_ladder(rungs, *limits.size) if limits.size else rungs
    if limits.max_macroblocks is None:
        return fitted
    kept = tuple(r for r in fitted if macroblocks(r.width, r.height) <= limits.max_macroblocks)
    return kept or fitted[-1:]
