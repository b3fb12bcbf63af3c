"""What a publisher sends, measured over the last seconds: pictures per second, kbit/s and the
picture size, for the stream health hosts and producers read (`GET /api/programs/{id}/health`).

The media thread notes each encoded video packet (one per picture: H.264 access units, VP8
frames) and each picture, with its media time (pts); the status thread reads the rates. Rates
are taken over the media times of what arrived in the last `window_s` seconds, so a burst of
late frames (a busy machine catching up) does not read as a higher frame rate; when media times
are missing or implausible, arrival times are used.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

WINDOW_S = 5.0
MIN_SPAN_S = 0.5

# (arrival time, media time or None, bytes)
_Entry = tuple[float, float | None, int]


def _rate(entries: deque[_Entry], arrival_span: float, *, count: bool = False) -> float:
    """Bytes (or, with `count`, items) per second over the entries' media times, else over
    their arrival."""
    times = [m for _, m, _ in entries if m is not None]
    amounts = [1 if count else size for _, _, size in entries]
    total = sum(amounts)
    if len(times) == len(entries) >= 2:
        span = max(times) - min(times)
        if MIN_SPAN_S <= span <= 4 * WINDOW_S:
            # n items cover n-1 intervals: the first one's amount is before the span starts
            return (total - amounts[0]) / span
    return total / arrival_span


class InputMeter:
    """Pictures and bytes of the last `window_s` seconds (thread-safe)."""

    def __init__(self, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self.clock = clock
        self.width = 0
        self.height = 0
        self._pictures: deque[_Entry] = deque()
        self._bytes: deque[_Entry] = deque()
        self._started: float | None = None
        self._lock = threading.Lock()

    def packet(self, size: int, media_t: float | None = None) -> None:
        """An encoded packet of `size` bytes arrived (a publisher's; the demo source has none)."""
        now = self.clock()
        with self._lock:
            self._begin(now)
            self._bytes.append((now, media_t, size))
            self._prune(now)

    def picture(self, width: int, height: int, media_t: float | None = None) -> None:
        now = self.clock()
        with self._lock:
            self._begin(now)
            self.width, self.height = width, height
            self._pictures.append((now, media_t, 1))
            self._prune(now)

    def reset(self) -> None:
        """A new source: what the previous one sent says nothing about this one."""
        with self._lock:
            self._pictures.clear()
            self._bytes.clear()
            self._started = None
            self.width = self.height = 0

    def status(self) -> dict[str, Any] | None:
        """`{width, height, fps, kbps}` over the window (kbps None without encoded packets), or
        None when nothing arrived in the window."""
        now = self.clock()
        with self._lock:
            self._prune(now)
            if self._started is None or not (self._pictures or self._bytes):
                return None
            span = max(1e-3, min(self.window_s, now - self._started))
            # A publisher's rate is its packets' (one per picture, with the sender's timestamps);
            # the demo source has pictures only.
            if self._bytes:
                fps = _rate(self._bytes, span, count=True)
                kbps: float | None = round(_rate(self._bytes, span) * 8 / 1000, 1)
            else:
                fps = _rate(self._pictures, span, count=True) if self._pictures else 0.0
                kbps = None
            return {"width": self.width, "height": self.height, "fps": round(fps, 1), "kbps": kbps}

    def _begin(self, now: float) -> None:
        if self._started is None:
            self._started = now

    def _prune(self, now: float) -> None:
        edge = now - self.window_s
        while self._pictures and self._pictures[0][0] < edge:
            self._pictures.popleft()
        while self._bytes and self._bytes[0][0] < edge:
            self._bytes.popleft()
        if not self._pictures and not self._bytes:
            self._started = None  # after a silence the rates are measured from the next arrival
