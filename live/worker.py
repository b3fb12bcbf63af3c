"""The media worker: one thread per broadcasting program, fed through a bounded queue.

It runs in the program's worker process (worker_main.py; the benchmark also runs it on its own).
`offer` only enqueues frames or encoded packets; this thread decodes, scales, encodes and writes
segments and playlists. When the publisher drops, the thread switches to the generated slate
until a publisher returns (a new epoch) or the broadcast is stopped, after which the live
playlists end (the server then writes the replay, replay.py). A frame that fails to encode is
skipped and logged; the thread itself never dies of it.

The program's ladder is set by its first publisher's limits (`publisher`: the picture size it
announced, its codec level), never by its first picture. Pictures of any size are scaled to the
rungs; the top rung is the publisher's own H.264 (pass-through) only while its pictures have that
rung's exact size: a change of size switches between passing through and encoding, each switch a
new session (a discontinuity). A publisher without sound gets silence.

`MediaWorker` owns the queue and the thread; `WorkerLoop` is what the thread does: its state
(mode, session, current epoch, slate clock, retry time) and one method per transition, driven
one message (or timeout tick) at a time, so it can also be driven directly with a fake clock.
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
from typing import Any, Literal

import av

from .ladder import PublisherLimits, Rung, publisher_ladder
from .media import ProgramMedia
from .meter import InputMeter
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
    part_s: float = 0.0  # low-latency HLS part duration; 0: whole segments only
    subtitles: tuple[str, ...] = ()  # the captioned languages: a WebVTT rendition each (subtitles.py)
    caption_hold_ms: int = 5000  # how long a caption line stays on screen

    def __post_init__(self) -> None:
        object.__setattr__(self, "subtitles", tuple(self.subtitles))  # a list after JSON

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> WorkerSettings:
        return cls(**{**raw, "ladder": tuple(Rung(**r) for r in raw["ladder"])})


Mode = Literal["idle", "live", "slate", "stopped"]


class WorkerLoop:
    """The media thread's state and its transitions, one method each:

    idle/slate --a picture--> live   (`on_picture` -> `start_live_session`; the program's first
                                      sets the rungs from its publisher's limits; a silent
                                      publisher's own picture resumes it)
    live --a new epoch's picture--> live   (a new session; the previous epoch is finished)
    live --a picture of another size--> live   (a new session: pass-through only at the top
                                      rung's exact size, encoding otherwise)
    live --`on_gone`--> slate        (the publisher left: its epoch is finished)
    live --`on_silence`--> slate     (nothing from the publisher for `slate_after_s`)
    idle --`on_slate`--> slate       (nobody publishes: a restarted worker of a program on the air)
    any --`on_failure`--> idle       (something raised: frames dropped until the retry time)
    any --`on_stop`--> stopped       (the replay playlists written or not; also when writing fails)

    Sound never starts a session, and media of a finished epoch is ignored.

    `on_tick` is what time alone brings (silence, the slate frames due); `handle` applies one
    message of MediaWorker's queue. Not thread-safe: one thread drives it (the others only read
    the mode and counters). `clock` is the monotonic clock (injectable for tests).
    """

    RETRY_S = 1.0  # after a failure, frames are dropped for this long (no restart storm)

    def __init__(self, media: ProgramMedia, settings: WorkerSettings,
                 destinations: Callable[[], tuple[str, ...]] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.media = media
        self.settings = settings
        self.destinations = destinations
        self.clock = clock
        self.wall = wall  # wall-clock seconds: when each segment started (the replay's cut)
        self.publishers: dict[Any, PublisherLimits] = {}  # what each epoch's publisher can send
        self.no_passthrough: Any = None  # an epoch whose H.264 could not be repackaged
        self.mode: Mode = "idle"
        self.session_kind = ""  # "encode", "passthrough" (top rung repackaged) or "slate"
        self.pushers: dict[str, Any] = {}  # the current session's simulcast pushers, for status
        self.errors = 0
        self.decode_errors = 0
        self.packets = 0  # encoded video packets received (decoded here)
        self.session: Session | None = None
        self.epoch: Any = None  # the publisher of the live session (None: none since the last failure)
        self.finished_epochs: set[Any] = set()  # publishers gone or replaced: their frames are ignored
        self.decoders: dict[Any, Any] = {}  # (epoch, codec) -> decoder, the last few kept
        self.first_pts: int | None = None  # the live session's first picture's pts
        logs = list(media.logs.values())
        # where the next session starts on the program's timeline (after an earlier run's segments)
        self.t_end = sum(s.duration for s in logs[0].segments) if logs else 0.0
        self.last_input = clock()
        self.slate: Slate | None = None
        self.silence: Tone | None = None
        self.slate_started = 0.0
        self.slate_frames = 0
        self.retry_at = 0.0
        self.recorded = False  # what `on_stop` returned
        self.input = InputMeter(clock=clock)  # what the live source sends (stream health)

    # ---- the queue's side ----
    def timeout(self) -> float | None:
        """How long the thread may wait for the next message before `on_tick` is due."""
        if self.mode == "live":
            return max(0.0, self.last_input + self.settings.slate_after_s - self.clock())
        if self.mode == "slate":
            fps = self.session.fps if self.session else 30
            return max(0.0, self.slate_started + self.slate_frames / fps - self.clock())
        return None

    def handle(self, kind: str, ep: Any, payload: Any) -> None:
        """One message from MediaWorker's queue ("tick": the wait timed out). A failure is
        counted and logged, never raised."""
        if kind == "stop":
            try:
                self.on_stop(bool(ep))
            except Exception:
                # the live playlists could not be ended (a full or broken disk): the worker still
                # ends, so whoever waits for it goes on; the replay is written from the journal
                self.errors += 1
                log.exception("media worker: ending the live playlists failed")
                self.mode = "stopped"
                self.recorded = False
            return
        try:
            if kind == "slate":
                self.on_slate()
            elif kind == "caption":
                self.on_caption(payload)
            elif kind == "publisher":
                self.on_publisher(ep, payload)
            elif kind == "gone":
                self.on_gone(ep)
            elif kind == "packet":
                self.on_packet(ep, payload)
            elif kind == "video":
                self.on_picture(ep, payload)
            elif kind == "audio":
                self.on_sound(ep, payload)
            self.on_tick()
        except Exception:
            self.on_failure()

    # ---- transitions ----
    def on_publisher(self, ep: Any, limits: PublisherLimits) -> None:
        """What publisher `ep` can send (before its first picture): the rungs it gets, silence
        when it sends no sound."""
        self.publishers[ep] = limits
        for old in list(self.publishers)[:-8]:
            if old != self.epoch:
                self.publishers.pop(old, None)

    def on_caption(self, line: dict[str, Any]) -> None:
        """A stored caption line (or its correction): into the subtitle segments written from now."""
        subtitles = self.media.subtitles
        if subtitles is not None:
            subtitles.add(int(line["id"]), int(line["rev"]), str(line["lang"]), int(line["at"]),
                          str(line["text"]))

    def on_picture(self, ep: Any, picture: av.VideoFrame, source: tuple[str, Any] | None = None) -> None:
        """A decoded picture from publisher `ep` (`source`: the codec and packet it was decoded
        from, when the publisher's video arrives encoded). The first one of an epoch, or the
        first after the slate or a failure, starts a live session; so does one that switches
        the top rung between pass-through and encoding."""
        if not self._accepts(ep):
            return
        if ep != self.epoch or self.mode != "live" or self._switches(picture, source):
            if ep != self.epoch:
                self.input.reset()
            self.start_live_session(ep, picture, source)
        self.last_input = self.clock()
        self.input.picture(picture.width, picture.height, _seconds(picture.pts, picture.time_base))
        session = self.session
        assert session is not None
        base = self.first_pts
        if base is None:
            base = self.first_pts = picture.pts if picture.pts is not None else 0
        rel = float(((picture.pts or 0) - base) * picture.time_base) if picture.time_base else 0.0
        if session.passthrough:
            session.video(picture, session.t0 + rel, source[1] if source else None)
        else:
            session.video(picture, session.t0 + rel)
        if not self.publishers.get(ep, PublisherLimits()).audio:
            self._fill_silence(session)

    def on_sound(self, ep: Any, sound: av.AudioFrame) -> None:
        """Decoded sound from publisher `ep`; ignored until its first picture started a session."""
        if not self._accepts(ep):
            return
        if ep != self.epoch or self.mode != "live":
            return  # wait for the new publisher's first picture
        self.last_input = self.clock()
        assert self.session is not None
        self.session.audio(sound)

    def on_packet(self, ep: Any, payload: tuple[str, Any]) -> None:
        """An encoded packet from publisher `ep`: ("opus" | "aac" | "h264" | "vp8", av.Packet). A
        video packet whose decode and presentation times differ (B-frames, from RTMP) means that
        publisher's H.264 is encoded, not passed through (repackaging keeps decode order only)."""
        if payload[0] in ("opus", "aac"):
            if ep not in self.finished_epochs and ep == self.epoch:
                for sound in self._decode(ep, payload):
                    self.on_sound(ep, sound)
            return
        self.packets += 1
        if ep not in self.finished_epochs:
            packet = payload[1]
            if packet.dts is not None and packet.pts != packet.dts:
                self.no_passthrough = ep
            self.input.packet(packet.size, _seconds(packet.pts, packet.time_base))
            for i, picture in enumerate(self._decode(ep, payload)):
                self.on_picture(ep, picture, payload if i == 0 else None)

    def start_live_session(self, ep: Any, picture: av.VideoFrame, source: tuple[str, Any] | None) -> None:
        """Publisher `ep`'s session (a new epoch replaces the previous publisher for good); the
        program's ladder, unless it has one, comes from the publisher's limits."""
        st = self.settings
        self._end_session()
        if self.epoch is not None and ep != self.epoch:
            self.finished_epochs.add(self.epoch)
        self.epoch = ep
        if not self.media.rungs:
            limits = self.publishers.get(ep, PublisherLimits())
            if limits.size is None and limits.sized_by_picture:
                limits = dataclasses.replace(limits, size=(picture.width, picture.height))
            self.media.set_rungs(publisher_ladder(st.ladder, limits))
        template = self._template(source, picture) if st.passthrough and ep != self.no_passthrough else None
        if template is None and self._passes_through(picture, source):
            self.no_passthrough = ep  # its H.264 could not be read: encode it, do not keep retrying
        session = Session(self.media, st.segment_s, st.preset, self.t_end, self.destinations,
                          template.streams.video[0] if template is not None else None,
                          threads=st.threads, wall0=self.wall())
        session.keep = template
        self.session = session
        self.session_kind = "passthrough" if template is not None else "encode"
        self.pushers = session.pushers
        self.first_pts = None
        self.mode = "live"

    def on_gone(self, ep: Any) -> None:
        """The live publisher `ep` left: its epoch is over; the slate."""
        if ep == self.epoch and self.mode == "live":
            self.finished_epochs.add(ep)
            self._start_slate()

    def on_slate(self) -> None:
        """Nobody publishes yet (a worker started after a crash or a restart of the server while
        the program is on): the slate, if the program's ladder is known; a picture still wins."""
        if self.mode == "idle":
            self._start_slate()

    def on_silence(self) -> None:
        """The live publisher sent nothing for `slate_after_s`: the slate (its epoch stays open:
        its next picture switches back)."""
        self._start_slate()

    def on_tick(self) -> None:
        """What time alone brings: the slate for a silent publisher, then the slate frames due."""
        if self.mode == "live" and self.clock() - self.last_input >= self.settings.slate_after_s:
            self.on_silence()
        if self.mode == "slate":
            self._emit_slate()

    def on_stop(self, finalise: bool) -> bool:
        """End the broadcast: close the session, and end the live playlists when `finalise`;
        whether anything was recorded (the server writes the replay from the journal)."""
        self._end_session()
        self.mode = "stopped"
        self.recorded = self.media.end_live() if finalise else False
        return self.recorded

    def on_failure(self) -> None:
        """Something raised while handling a message: count and log it, drop the session, and
        ignore frames for RETRY_S; the next picture after that starts a new session."""
        self.errors += 1
        log.exception("media worker: a frame failed; starting a new session")
        try:
            self._end_session()
        except Exception:
            log.exception("media worker: ending the failed session failed too")
        self.epoch = None
        self.mode = "idle"
        self.retry_at = self.clock() + self.RETRY_S

    # ---- helpers ----
    def _accepts(self, ep: Any) -> bool:
        """Whether media of `ep` is wanted now: not a finished epoch, not before the retry time."""
        return ep not in self.finished_epochs and self.retry_at < self.clock()

    def _end_session(self) -> None:
        session = self.session
        if session is not None:
            try:
                session.close()
            except Exception:
                self.errors += 1
                log.exception("closing a session failed")
            self.t_end = max(self.t_end, session.end_t)
            self.session = None

    def _start_slate(self) -> None:
        st = self.settings
        self._end_session()
        if not self.media.rungs:
            self.mode = "idle"
            return
        top = self.media.rungs[0]
        if self.slate is None:
            self.slate = Slate(top.width, top.height)
        if self.silence is None:
            self.silence = Tone(silent=True)
        session = Session(self.media, st.segment_s, st.preset, self.t_end, self.destinations,
                          threads=st.threads, wall0=self.wall(), slate=True)
        self.session = session
        self.session_kind = "slate"
        self.pushers = session.pushers
        self.slate_started = self.clock()
        self.slate_frames = 0
        self.mode = "slate"

    def _emit_slate(self) -> None:
        """The slate frames (and silence) due by now."""
        session, slate, silence = self.session, self.slate, self.silence
        assert session is not None and slate is not None and silence is not None
        fps = session.fps
        now = self.clock()
        while self.slate_started + self.slate_frames / fps <= now:
            session.video(slate.frame(), session.t0 + self.slate_frames / fps)
            self.slate_frames += 1
            while session.audio_samples < (self.slate_frames / fps) * 48_000:
                session.audio(silence.next_frame())

    def _switches(self, picture: av.VideoFrame, source: tuple[str, Any] | None) -> bool:
        """Whether this picture ends the live session: a pass-through session takes only pictures
        of the top rung's exact size; an encoding session of an H.264 publisher gives way to
        pass-through at a keyframe of that size."""
        if not self.media.rungs:
            return False
        if self.session_kind == "passthrough":
            top = self.media.rungs[0]
            return ((picture.width, picture.height) != (top.width, top.height)
                    or self.epoch == self.no_passthrough)
        return self._passes_through(picture, source)

    def _passes_through(self, picture: av.VideoFrame, source: tuple[str, Any] | None) -> bool:
        """Whether this picture may start a pass-through session: an H.264 keyframe of exactly
        the top rung's size (and pass-through on)."""
        top = self.media.rungs[0]
        return (self.settings.passthrough and (picture.width, picture.height) == (top.width, top.height)
                and source is not None and source[0] == "h264" and bool(source[1].is_keyframe)
                and self.epoch != self.no_passthrough)

    def _fill_silence(self, session: Session) -> None:
        """Silence up to the latest picture, for a publisher that sends no sound."""
        if self.silence is None:
            self.silence = Tone(silent=True)
        if session.last_video_t is None:
            return
        due = (session.last_video_t - session.t0 + 1 / session.fps) * 48_000
        while session.audio_samples < due:
            session.audio(self.silence.next_frame())

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

    def _decode(self, epoch: Any, payload: tuple[str, Any]) -> list[Any]:
        """Decode a publisher's encoded packet (see aiortc_internals.py: H.264/VP8 video, Opus sound)."""
        codec, packet = payload
        decoders = self.decoders
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


def _seconds(pts: int | None, time_base: Any) -> float | None:
    """A media timestamp in seconds (None when it has none)."""
    if pts is None or time_base is None:
        return None
    return float(pts * time_base)


class MediaWorker:
    def __init__(self, media: ProgramMedia, settings: WorkerSettings, name: str,
                 destinations: Callable[[], tuple[str, ...]] | None = None) -> None:
        self.media = media
        self.destinations = destinations
        self.settings = settings
        self.state = WorkerLoop(media, settings, destinations)
        self._q: queue.Queue[tuple[str, Any, Any]] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=f"media-{name}", daemon=True)
        self.done: concurrent.futures.Future[bool] = concurrent.futures.Future()
        self.dropped = 0  # frames refused because the queue was full
        self._frames_in_queue = 0
        self._lock = threading.Lock()

    # what the thread's state says (read from other threads: status reports, tests, benchmark)
    @property
    def mode(self) -> Mode:
        return self.state.mode

    @property
    def session_kind(self) -> str:
        return self.state.session_kind

    @property
    def pushers(self) -> dict[str, Any]:
        return self.state.pushers

    @property
    def errors(self) -> int:
        return self.state.errors

    @property
    def decode_errors(self) -> int:
        return self.state.decode_errors

    @property
    def packets(self) -> int:
        return self.state.packets

    @property
    def input(self) -> InputMeter:
        return self.state.input

    @property
    def queued(self) -> int:
        """Frames waiting for the media thread now (at most `queue_frames`)."""
        return self._frames_in_queue

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

    def publisher(self, epoch: Any, limits: PublisherLimits) -> None:
        """What the publisher of `epoch` can send; before its first frame."""
        self._q.put_nowait(("publisher", epoch, limits))

    def gone(self, epoch: Any) -> None:
        """The publisher of `epoch` is gone without stopping: show the slate."""
        self._q.put_nowait(("gone", epoch, None))

    def show_slate(self) -> None:
        """Nobody publishes: show the slate (when idle) until a publisher comes."""
        self._q.put_nowait(("slate", None, None))

    def caption(self, line: dict[str, Any]) -> None:
        """A caption line {id, rev, lang, at, text} for the subtitle renditions (never dropped)."""
        self._q.put_nowait(("caption", None, line))

    def stop(self, finalise: bool = True) -> None:
        """End the broadcast: close the current session and (by default) end the live playlists."""
        self._q.put_nowait(("stop", finalise, None))

    # ---- the thread ----
    def _run(self) -> None:
        try:
            self.done.set_result(self._loop())
        except Exception as exc:  # pragma: no cover - last resort, logged
            log.exception("media worker crashed")
            self.done.set_exception(exc)

    def _loop(self) -> bool:
        state = self.state
        while True:
            try:
                kind, ep, payload = self._q.get(timeout=state.timeout())
            except queue.Empty:
                kind, ep, payload = "tick", None, None
            if kind in ("video", "audio", "packet"):
                with self._lock:
                    self._frames_in_queue -= 1
            state.handle(kind, ep, payload)
            if state.mode == "stopped":
                return state.recorded
