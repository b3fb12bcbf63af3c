"""Generated media: a test pattern with a burnt-in clock, a tone, and the "be right back" slate.

Used by `innotv serve --demo`, by the tests (published over WHIP by an aiortc client) and by the
benchmark. Frames are PyAV frames with exact timestamps: video in 1/90000, audio 48 kHz s16 stereo
in 20 ms frames (what aiortc hands over after decoding Opus).
"""

from __future__ import annotations

import math
import time
from fractions import Fraction

import av

from .font import draw_bits, draw_text, text_size

VIDEO_TIME_BASE = Fraction(1, 90_000)
AUDIO_RATE = 48_000
AUDIO_SAMPLES = 960  # 20 ms
AUDIO_TIME_BASE = Fraction(1, AUDIO_RATE)

SLATE_TEXT_KO = "잠시 후 다시 시작합니다"
SLATE_TEXT_EN = "WE'LL BE RIGHT BACK"


def wall_ms() -> int:
    return int(time.time() * 1000)


class TestPattern:
    """Moving colour bars (FFmpeg's testsrc2) with the wall clock burnt in twice.

    Once as digits for people (HH:MM:SS.mmm UTC) and once as a row of blocks for machines
    (`font.read_bits` gives the milliseconds back, modulo 2^40).
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, width: int, height: int, fps: int, label: str = "INNOTV TEST") -> None:
        self.width, self.height, self.fps = width, height, fps
        self.label = label
        self._src = av.open(f"testsrc2=size={width}x{height}:rate={fps}", format="lavfi")
        self._frames = self._src.decode(video=0)
        self.index = 0

    def next_frame(self, stamp_ms: int | None = None) -> av.VideoFrame:
        frame: av.VideoFrame = next(self._frames)
        if frame.format.name != "yuv420p":
            frame = frame.reformat(format="yuv420p")
        ms = wall_ms() if stamp_ms is None else stamp_ms
        draw_bits(frame, ms)
        scale = max(1, self.height // 90)
        clock = time.strftime("%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}"
        _w, h = text_size(clock, scale)
        draw_text(frame, clock, scale * 2, self.height - h - scale * 4, scale)
        draw_text(frame, self.label, self.width // 2, self.height - h - scale * 4, max(1, scale // 2))
        frame.pts = round(self.index / self.fps / VIDEO_TIME_BASE)
        frame.time_base = VIDEO_TIME_BASE
        self.index += 1
        return frame

    def close(self) -> None:
        self._src.close()


class Slate:
    """A still card "잠시 후 다시 시작합니다 / We'll be right back", rendered once and reused."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        frame = av.VideoFrame(width, height, "yuv420p")
        for index, value in ((0, 40), (1, 150), (2, 110)):
            plane = frame.planes[index]
            memoryview(plane)[:] = bytes([value]) * plane.buffer_size
        widest = max(text_size(t, 1)[0] for t in (SLATE_TEXT_KO, SLATE_TEXT_EN))
        scale = max(1, min(height // 40, int(width * 0.9) // widest))
        for row, text in enumerate((SLATE_TEXT_KO, SLATE_TEXT_EN)):
            w, h = text_size(text, scale)
            y = height // 2 - h - scale * 2 if row == 0 else height // 2 + scale * 2
            draw_text(frame, text, max(0, (width - w) // 2), y, scale)
        self._planes = [bytes(memoryview(p)) for p in frame.planes]

    def frame(self, stamp_ms: int | None = None) -> av.VideoFrame:
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        for plane, data in zip(frame.planes, self._planes, strict=True):
            memoryview(plane)[:] = data
        draw_bits(frame, wall_ms() if stamp_ms is None else stamp_ms)
        return frame


class Tone:
    """A 440 Hz sine (1 kHz beep at every full second) in 20 ms s16 stereo frames; or silence."""

    def __init__(self, silent: bool = False, volume: float = 0.2) -> None:
        samples = bytearray()
        for i in range(AUDIO_RATE):
            freq = 1000 if i < AUDIO_RATE // 20 else 440
            value = 0 if silent else int(32767 * volume * math.sin(2 * math.pi * freq * i / AUDIO_RATE))
            pair = value.to_bytes(2, "little", signed=True)
            samples += pair + pair
        self._second = bytes(samples)
        self.index = 0

    def next_frame(self) -> av.AudioFrame:
        frame = av.AudioFrame(format="s16", layout="stereo", samples=AUDIO_SAMPLES)
        per_frame = AUDIO_SAMPLES * 4
        offset = (self.index * per_frame) % len(self._second)
        frame.planes[0].update(self._second[offset : offset + per_frame])
        frame.sample_rate = AUDIO_RATE
        frame.pts = self.index * AUDIO_SAMPLES
        frame.time_base = AUDIO_TIME_BASE
        self.index += 1
        return frame
