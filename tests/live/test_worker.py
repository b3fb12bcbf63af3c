"""The media worker on its own (real encoders, real files): a publisher that goes silent gets the
slate and comes back on its own connection; a frame that cannot be encoded is skipped."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from live.ladder import parse_ladder
from live.media import ProgramMedia
from live.source import AUDIO_SAMPLES, TestPattern, Tone
from live.worker import MediaWorker, WorkerSettings


def _feed(worker: MediaWorker, epoch: str, pattern: TestPattern, tone: Tone, seconds: float) -> None:
    start = time.monotonic()
    first = pattern.index
    while pattern.index - first < seconds * pattern.fps:
        worker.offer("video", epoch, pattern.next_frame())
        while tone.index * AUDIO_SAMPLES * pattern.fps < pattern.index * 48_000:
            worker.offer("audio", epoch, tone.next_frame())
        delay = start + (pattern.index - first) / pattern.fps - time.monotonic()
        if delay > 0:
            time.sleep(delay)  # the source's own real-time pace


def _wait_until(done: Callable[[], bool], what: str, within: float = 10.0) -> None:
    """Poll the worker's state with a deadline: its thread signals nothing but the end (`done`)."""
    deadline = time.monotonic() + within
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_silent_publisher_gets_the_slate_then_resumes(tmp_path: Path) -> None:
    media = ProgramMedia(tmp_path, "p", 1.0, 6)
    worker = MediaWorker(media, WorkerSettings(parse_ladder("120p15:100"), 1.0, "ultrafast", 0.5, 60), "p")
    worker.start()
    pattern, tone = TestPattern(160, 120, 15), Tone()
    _feed(worker, "a", pattern, tone, 1.5)
    _wait_until(lambda: worker.mode == "slate", "the slate")
    # the slate plays for a segment: the slate is the second session (init-1.mp4)
    _wait_until(lambda: any(s.init == 1 for s in list(media.logs["120p"].segments)), "a slate segment")
    # a bad frame (an audio frame offered as video) is skipped, not fatal
    worker.offer("video", "a", tone.next_frame())
    _feed(worker, "a", pattern, tone, 1.5)  # the same connection speaks again
    assert worker.mode == "live"
    worker.stop()
    assert worker.done.result(timeout=30) is True
    segments = media.logs["120p"].segments
    assert sum(s.discontinuity for s in segments) >= 2 and any(s.slate for s in segments)
    live = (media.dir / "120p" / "live.m3u8").read_text()
    assert live.rstrip().endswith("#EXT-X-ENDLIST")
    assert worker.dropped == 0 and worker.errors == 1
