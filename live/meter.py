"""What a publisher sends, measured over the last seconds: pictures per second, kbit/s and the
picture size, for the stream health hosts and producers read (`GET /api/programs/{id}/health`).

The media thread notes each encoded packet and each picture; the status thread reads the rates.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

WINDOW_S = 5.0


class InputMeter:
    """Pictures and bytes of the last `window_s` seconds (thread-safe)."""

    def __init__(self, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self.clock = clock
        self.width = 0
        self.height = 0
        self._pictures: deque[float] = deque()
        self._bytes: deque[tuple[float, int]] = deque()
        self._started: float | None = None
        self._lock = threading.Lock()

    def packet(self, size: int) -> None:
        """An encoded packet of `size` bytes arrived (a publisher's; the demo source has none)."""
        now = self.clock()
        with self._lock:
            self._begin(now)
            self._bytes.append((now, size))
            self._prune(now)

    def picture(self, width: int, height: int) -> None:
        now = self.clock()
        with self._lock:
            self._begin(now)
            self.width, self.height = width, height
            self._pictures.append(now)
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
            fps = len(self._pictures) / span
            sent = sum(size for _, size in self._bytes)
            kbps = round(sent * 8 / 1000 / span, 1) if self._bytes else None
            return {"width": self.width, "height": self.height, "fps": round(fps, 1), "kbps": kbps}

    def _begin(self, now: float) -> None:
        if self._started is None:
            self._started = now

    def _prune(self, now: float) -> None:
        edge = now - self.window_s
        while self._pictures and self._pictures[0] < edge:
            self._pictures.popleft()
        while self._bytes and self._bytes[0][0] < edge:
            self._bytes.popleft()
        if not self._pictures and not self._bytes:
            self._started = None  # after a silence the rates are measured from the next arrival
