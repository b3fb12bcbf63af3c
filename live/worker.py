"""The media worker: one thread per broadcasting program, fed through a bounded queue.

It runs in the program's worker process (worker_main.py; the benchmark also runs it on its own).
`offer` only enqueues frames or encoded packets; this thread decodes, scales, encodes and writes
segments and playlists. When the publisher drops, the thread switches to the generated slate
until a publisher returns (a new epoch) or the broadcast is stopped, after which the replay is
finalised. A frame that fails to encode is skipped and logged; the thread itself never dies of it.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import io
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av

from .ladder import Rung, fit_ladder
from .media import ProgramMedia
from .session import Session
from .source import Slate, Tone

log = logging.getLogger("innotv.live")


@dataclass(frozen=True)
class WorkerSettings:
    ladder: tuple[Rung, ...]
    segment_s: float
    preset: str
    slate_after_s: float
    queue_frames: int
    passthrough: bool = True  # an H.264 publisher at the top rung's size is repackaged, not encoded
    threads: int = 0  # per encoder and decoder; 0: FFmpeg's choice (one per core)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> WorkerSettings:
        return cls(**{**raw, "ladder": tuple(Rung(**r) for r in raw["ladder"])})


class MediaWorker:
    def __init__(self, media: ProgramMedia, settings: WorkerSettings, name: str,
                 destinations: Callable[[], tuple[str, ...]] | None = None) -> None:
        self.media = media
        self.destinations = destinations
        self.pushers: dict[str, Any] = {}  # the current session's simulcast pushers, for status
        self.settings = settings
        self._q: queue.Queue[tuple[str, Any, Any]] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=f"media-{name}", daemon=True)
        self.done: concurrent.futures.Future[bool] = concurrent.futures.Future()
        self.dropped = 0
        self.errors = 0
        self.decode_errors = 0
        self.packets = 0  # encoded video packets received (decoded here)
        self.session_kind = ""  # "encode", "passthrough" (top rung repackaged) or "slate"
        self.mode = "idle"
        self._frames_in_queue = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        self._thread.start()

    # ---- called from the event loop (cheap, never blocks) ----
    def offer(self, kind: str, epoch: Any, frame: Any) -> bool:
        with self._lock:
            if self._frames_in_queue >= self.settings.queue_frames:
                self.dropped += 1
                return False
            self._frames_in_queue += 1
        self._q.put_nowait((kind, epoch, frame))
        return True

    def gone(self, epoch: Any) -> None:
        """The publisher of `epoch` is gone without stopping: show the slate."""
        self._q.put_nowait(("gone", epoch, None))

    def stop(self, finalise: bool = True) -> None:
        """End the broadcast: close the current session and (by default) write the replay playlists."""
        self._q.put_nowait(("stop", finalise, None))

    # ---- the thread ----
    def _run(self) -> None:
        try:
            self.done.set_result(self._loop())
        except Exception as exc:  # pragma: no cover - last resort, logged
            log.exception("media worker crashed")
            self.done.set_exception(exc)

    def _template(self, source: tuple[str, Any] | None, frame: Any) -> Any:
        """A demuxed copy of the publisher's first H.264 keyframe, whose parameters (SPS/PPS)
        the repackaged top rung's init segment carries; None unless pass-through fits."""
        rungs = self.media.rungs
        if source is None or source[0] != "h264" or not source[1].is_keyframe or not rungs:
            return None
        if (frame.width, frame.height) != (rungs[0].width, rungs[0].height):
            return None  # larger (or other) than the top rung: encode it
        try:
            return av.open(io.BytesIO(bytes(source[1])), format="h264")
        except av.FFmpegError:
            return None

    def _decode(self, decoders: dict[Any, Any], epoch: Any, payload: tuple[str, Any]) -> list[Any]:
        """Decode a publisher's encoded packet (see aiortc_internals.py: H.264/VP8 video, Opus sound)."""
        codec, packet = payload
        ctx: Any = decoders.get((epoch, codec))
        if ctx is None:
            for old in list(decoders)[:-4]:
                decoders.pop(old, None)
            ctx = decoders[(epoch, codec)] = av.CodecContext.create(codec, "r")
            ctx.thread_count = self.settings.threads
        try:
            frames = list(ctx.decode(packet))
        except av.FFmpegError:
            self.decode_errors += 1
            return []  # a bad packet is skipped; the next keyframe (a PLI each segment) heals it
        for frame in frames:
            if frame.time_base is None:
                frame.time_base = packet.time_base
        return frames

    def _loop(self) -> bool:
        st = self.settings
        session: Session | None = None
        epoch: Any = None
        finished_epochs: set[Any] = set()
        decoders: dict[Any, Any] = {}
        first: dict[str, int] = {}
        logs = list(self.media.logs.values())
        t_end = sum(s.duration for s in logs[0].segments) if logs else 0.0
        last_input = time.monotonic()
        slate: Slate | None = None
        silence = Tone(silent=True)
        slate_started = 0.0
        slate_frames = 0
        retry_at = 0.0  # after a failure, frames are dropped until then (no restart storm)

        def end_session() -> None:
            nonlocal session, t_end
            if session is not None:
                try:
                    session.close()
                except Exception:
                    self.errors += 1
                    log.exception("closing a session failed")
                t_end = max(t_end, session.end_t)
                session = None

        def start_slate() -> None:
            nonlocal session, slate, slate_started, slate_frames
            end_session()
            if not self.media.rungs:
                self.mode = "idle"
                return
            top = self.media.rungs[0]
            if slate is None:
                slate = Slate(top.width, top.height)
            session = Session(self.media, st.segment_s, st.preset, t_end, self.destinations,
                              threads=st.threads)
            self.session_kind = "slate"
            self.pushers = session.pushers
            slate_started = time.monotonic()
            slate_frames = 0
            self.mode = "slate"

        def emit_slate() -> None:
            """The slate frames (and silence) due by now."""
            nonlocal slate_frames
            assert session is not None and slate is not None
            fps = session.fps
            now = time.monotonic()
            while slate_started + slate_frames / fps <= now:
                session.video(slate.frame(), session.t0 + slate_frames / fps)
                slate_frames += 1
                while session.audio_samples < (slate_frames / fps) * 48_000:
                    session.audio(silence.next_frame())

        def media(kind: str, ep: Any, payload: Any, source: tuple[str, Any] | None = None) -> None:
            """One decoded picture or sound from publisher `ep` (`source`: the codec and packet the
            picture was decoded from, when the publisher's video arrives encoded)."""
            nonlocal session, epoch, first, last_input
            if ep in finished_epochs or retry_at >= time.monotonic():
                return
            if ep != epoch or self.mode != "live":
                if kind == "audio":
                    return  # wait for the new publisher's first picture
                end_session()
                if epoch is not None and ep != epoch:
                    finished_epochs.add(epoch)
                epoch = ep
                if not self.media.rungs:
                    self.media.set_rungs(fit_ladder(st.ladder, payload.width, payload.height))
                template = self._template(source, payload) if st.passthrough else None
                session = Session(self.media, st.segment_s, st.preset, t_end, self.destinations,
                                  template.streams.video[0] if template is not None else None,
                                  threads=st.threads)
                session.keep = template
                self.session_kind = "passthrough" if template is not None else "encode"
                self.pushers = session.pushers
                first = {}
                self.mode = "live"
            last_input = time.monotonic()
            assert session is not None
            if kind == "video":
                frame: av.VideoFrame = payload
                base = first.setdefault("video", frame.pts if frame.pts is not None else 0)
                rel = float(((frame.pts or 0) - base) * frame.time_base) if frame.time_base else 0.0
                if session.passthrough:
                    session.video(frame, session.t0 + rel, source[1] if source else None)
                else:
                    session.video(frame, session.t0 + rel)
            else:
                session.audio(payload)

        while True:
            timeout: float | None = None
            if self.mode == "live":
                timeout = max(0.0, last_input + st.slate_after_s - time.monotonic())
            elif self.mode == "slate":
                fps = session.fps if session else 30
                timeout = max(0.0, slate_started + slate_frames / fps - time.monotonic())
            try:
                kind, ep, payload = self._q.get(timeout=timeout)
            except queue.Empty:
                kind, ep, payload = "tick", None, None
            if kind in ("video", "audio", "packet"):
                with self._lock:
                    self._frames_in_queue -= 1
            try:
                if kind == "stop":
                    end_session()
                    self.mode = "stopped"
                    return self.media.finalise() if ep else False
                if kind == "gone":
                    if ep == epoch and self.mode == "live":
                        finished_epochs.add(ep)
                        start_slate()
                elif kind == "packet" and payload[0] == "opus":
                    if ep not in finished_epochs and ep == epoch:
                        for sound in self._decode(decoders, ep, payload):
                            media("audio", ep, sound)
                elif kind == "packet":
                    self.packets += 1
                    if ep not in finished_epochs:
                        for i, picture in enumerate(self._decode(decoders, ep, payload)):
                            media("video", ep, picture, payload if i == 0 else None)
                elif kind in ("video", "audio"):
                    media(kind, ep, payload)
                if self.mode == "live" and time.monotonic() - last_input >= st.slate_after_s:
                    start_slate()  # silent publisher: slate; its frames switch back if they resume
                if self.mode == "slate":
                    emit_slate()
            except Exception:
                self.errors += 1
                log.exception("media worker: a frame failed; starting a new session")
                try:
                    end_session()
                except Exception:
                    log.exception("media worker: ending the failed session failed too")
                epoch = None
                self.mode = "idle"
                retry_at = time.monotonic() + 1.0
