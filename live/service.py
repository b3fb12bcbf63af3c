"""The broadcasts of this process: publishers (WHIP), media workers, replays, the demo source.

`LiveService` is what the routes call. It keeps one `Broadcast` per program that has media in
this process. All media work (decoding, the ladder, segments, simulcast) happens in each
broadcast's worker process (worker_process.py): the event loop only receives WebRTC and passes the
encoded packets on, and a worker that crashes is restarted without the publisher noticing more
than a discontinuity. Blocking file work runs in a thread.

A publisher who stops (WHIP DELETE) while the program is live takes a break: the slate plays until
a publisher returns or the program ends. Before the program is live (the lobby's camera test),
stopping ends the output. When the program ends, the broadcast stops and its replay is written
(replays.py); when it is deleted, its media goes too.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from kernel.bus import Bus
from kernel.errors import ApiError
from kernel.metrics import Metrics
from kernel.settings import CoreSettings
from kernel.tasks import cancel_and_wait
from kernel.topics import CaptionCommitted, LineupChanged, ProgramChanged

from .aiortc_internals import end_remote_track, keep_only_codec, receive_packets, request_keyframe
from .ladder import PublisherLimits
from .ports import Captions, Programs
from .replays import Replays
from .sdp import chosen_video_codec, max_macroblocks
from .settings import LiveSettings
from .simulcast import Simulcast
from .topics import MEDIA_WANTED, MediaWanted, SimulcastChanged
from .worker import WorkerSettings
from .worker_metrics import WorkerFigures
from .worker_process import WorkerLocked, WorkerProcess, WorkerUnavailable

log = logging.getLogger("innotv.live")

_CLOSED_STATES = ("ended", "replay")
CAPTIONS_BACK_MS = 60_000  # a worker that starts mid-show gets the caption lines of the last minute
RESTART_EVERY_S = 2.0  # a worker that keeps crashing is restarted at most this often
RESTART_MAX_S = 30.0  # the longest wait between two tries to start a worker that does not start
STOP_WAIT_S = 10.0  # a worker told to stop that has not ended by then is killed
RESTARTS_TOTAL = "innotv_live_worker_restarts_total"
START_FAILURES_TOTAL = "innotv_live_worker_start_failures_total"
CONNECT_S = 10.0  # a publisher still connecting (ICE, DTLS) is not taken for a dead one before this


@dataclass
class Publisher:
    session_id: str
    pc: RTCPeerConnection | None  # a WHIP publisher's connection (None for RTMP)
    epoch: str
    protocol: str = "whip"  # or "rtmp"
    close_link: Callable[[], None] | None = None  # an RTMP publisher's: closes its connection
    last_frame: float = field(default_factory=time.monotonic)
    receiving: bool = False  # a packet has arrived (before that it is still connecting)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    tracks: list[MediaStreamTrack] = field(default_factory=list)
    relay: MediaRelay = field(default_factory=MediaRelay)
    video_codec: str | None = None  # "h264" or "vp8": what the packets are (see aiortc_internals.py)
    limits: PublisherLimits = field(default_factory=PublisherLimits)  # announced size, level, sound
    video_receiver: Any = None
    audio_packets: bool = False  # the audio track carries the Opus packets (see aiortc_internals.py)
    previews: dict[str, RTCPeerConnection] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)  # wall clock, for "publishing since"


@dataclass
class Broadcast:
    program_id: str
    worker: WorkerProcess | None = None
    publisher: Publisher | None = None
    generator: tuple[str, int, int, int] | None = None  # the demo source (epoch, w, h, fps) playing
    started_at: float = 0.0  # when the current worker was started (monotonic)
    restarts: int = 0  # workers started again after a crash
    start_failures: int = 0  # worker processes that did not start (retried with backoff)
    # Finished (replay written), handed over to another process: a crashed worker is not replaced.
    retired: bool = False


class LiveService:
    def __init__(self, settings: LiveSettings, core: CoreSettings, bus: Bus, metrics: Metrics,
                 programs: Programs, simulcast: Simulcast, captions: Captions) -> None:
        self.simulcast = simulcast
        self.captions = captions
        self.settings = settings
        self.core = core
        self.bus = bus
        self.metrics = metrics
        self.programs = programs
        self.root = Path(core.data_dir) / "live"
        self.worker_settings = WorkerSettings(
            ladder=settings.rungs(),
            segment_s=settings.segment_s,
            preset=settings.x264_preset,
            slate_after_s=settings.slate_after_s,
            queue_frames=settings.queue_frames,
            passthrough=settings.passthrough,
            threads=settings.codec_threads,
            part_s=settings.part_s,
            subtitles=captions.languages,
            caption_hold_ms=captions.hold_ms,
        )
        self.ice_servers = [RTCIceServer(urls=url) for url in settings.ice_servers]
        self.replays = Replays(self.root, programs, settings.segment_s, settings.window_segments, captions)
        self.broadcasts: dict[str, Broadcast] = {}
        self._locks: dict[str, asyncio.Lock] = {}  # one per program: publishers never wait on another
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()  # the worker supervisors
        self.worker_figures = WorkerFigures()

    def register_metrics(self) -> None:
        m = self.metrics
        casts = self.broadcasts

        def workers() -> list[WorkerProcess]:
            return [bc.worker for bc in list(casts.values()) if bc.worker is not None]

        m.gauge("innotv_live_publishers", "WHIP and RTMP publishers connected to this process",
                lambda: float(sum(1 for bc in list(casts.values()) if bc.publisher is not None)))
        m.gauge("innotv_live_media_workers", "media worker processes started by this process, running",
                lambda: float(sum(1 for w in workers() if not w.done.done())))
        m.counter(RESTARTS_TOTAL, "media worker processes restarted after a crash", labels=())
        m.counter(START_FAILURES_TOTAL, "media worker processes that did not start (retried with backoff)",
                  labels=())
        m.collector(self.worker_figures.collect)  # dropped frames, errors, segment writes, input

    # ---- lookups ----
    def media_dir(self, program_id: str) -> Path:
        return self.root / program_id

    def rtc_config(self) -> RTCConfiguration:
        return RTCConfiguration(iceServers=list(self.ice_servers))

    def _broadcast(self, program_id: str) -> Broadcast:
        return self.broadcasts.setdefault(program_id, Broadcast(program_id))

    async def _ensure_worker(self, bc: Broadcast) -> WorkerProcess:
        """The broadcast's running worker process, started when there is none (or it died)."""
        if bc.worker is None or bc.worker.done.done():
            worker = WorkerProcess(bc.program_id, self.root, self.worker_settings,
                                   self.settings.window_segments, self.core.log_level,
                                   self.core.log_format, self.settings.worker_nice)
            bc.worker = worker
            bc.started_at = time.monotonic()
            urls = self.simulcast.urls_for(bc.program_id)
            try:
                await worker.start(urls)
            except BaseException:
                bc.worker = None
                raise
            self.worker_figures.track(worker)
            task = asyncio.create_task(self._supervise(bc, worker))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            await self._catch_up_captions(bc.program_id, worker)
            return worker
        worker = bc.worker
        await worker.started.wait()  # another caller is starting it right now
        return worker

    async def _supervise(self, bc: Broadcast, worker: WorkerProcess) -> None:
        """When `worker` dies without being stopped (a crash), start another (see `_restart`)."""
        if await asyncio.shield(worker.done) is not None:
            return  # it finished because it was told to
        await self._restart(bc, worker, bc.started_at + RESTART_EVERY_S - time.monotonic())

    async def _restart(self, bc: Broadcast, dead: WorkerProcess | None, wait: float) -> None:
        """Start a worker for `bc` in place of `dead` (None: one that never started) while the
        broadcast is on (not finished, handed over or shut down): the output carries on after a
        discontinuity (the publisher is asked for a keyframe so the new one can decode; with
        nobody publishing, the slate). A worker that does not start is tried again with backoff
        (RESTART_EVERY_S doubling up to RESTART_MAX_S) for as long as the broadcast is on."""
        backoff = RESTART_EVERY_S
        while True:
            if wait > 0:
                await asyncio.sleep(wait)
            if self._closing or bc.retired or bc.worker not in (dead, None):
                return  # finished, handed over, shutting down, or someone else started one
            log.error("starting the media worker of %s again", bc.program_id)
            try:
                revived = await self._ensure_worker(bc)
            except WorkerLocked:
                log.warning("the media of %s is now produced by another process", bc.program_id)
                return
            except WorkerUnavailable as exc:
                bc.start_failures += 1
                self.metrics.inc(START_FAILURES_TOTAL)
                log.error("%s; trying again in %.0f s", exc, backoff)
                wait, backoff = backoff, min(backoff * 2, RESTART_MAX_S)
                continue
            if dead is not None:
                bc.restarts += 1
                self.metrics.inc(RESTARTS_TOTAL)
            await self._resume(bc, revived)
            return

    def _restart_later(self, bc: Broadcast) -> None:
        """A first start failed: keep trying in the background (see `_restart`)."""
        bc.start_failures += 1
        self.metrics.inc(START_FAILURES_TOTAL)
        task = asyncio.create_task(self._restart(bc, None, RESTART_EVERY_S))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resume(self, bc: Broadcast, worker: WorkerProcess) -> None:
        """A fresh worker picks up what the broadcast is doing: the demo source, the publisher
        (its next keyframe), or nobody (the slate)."""
        if bc.generator is not None:
            worker.generate(*bc.generator)
        if bc.publisher is not None:
            worker.publisher(bc.publisher.epoch, bc.publisher.limits)
            if bc.publisher.video_receiver is not None:
                await request_keyframe(bc.publisher.video_receiver)
        if bc.generator is None and bc.publisher is None:
            worker.show_slate()

    async def _catch_up_captions(self, program_id: str, worker: WorkerProcess) -> None:
        """A worker that starts mid-show gets the lines still on screen (or about to be)."""
        try:
            lines = await self.captions.recent(program_id, int(time.time() * 1000) - CAPTIONS_BACK_MS)
        except Exception:
            log.warning("caption lines could not be read for %s", program_id, exc_info=True)
            return
        for line in lines:
            worker.caption({"id": line.id, "rev": line.rev, "lang": line.lang, "at": line.at,
                            "text": line.text})

    async def on_caption(self, event: CaptionCommitted) -> None:
        """A stored caption line: to the program's worker, when this process runs it."""
        bc = self.broadcasts.get(event.program_id)
        if bc is not None and bc.worker is not None and not bc.worker.done.done():
            bc.worker.caption({"id": event.id, "rev": event.rev, "lang": event.lang, "at": event.at,
                               "text": event.text})

    # ---- publishing (WHIP and RTMP) ----
    async def _ready_to_publish(self, program_id: str) -> Broadcast:
        """The program's broadcast, ready for a new publisher: its simulcast destinations read again;
        409 unless it can take one (_make_room), 503 while the server shuts down. Call it holding
        the program's lock."""
        if self._closing:
            raise ApiError(503, "shutting_down", "The server is shutting down.")
        bc = self._broadcast(program_id)
        await self.simulcast.refresh(program_id)
        await self._make_room(bc)
        return bc

    # ---- publishing (WHIP) ----
    async def publish(self, program_id: str, offer: str, size: tuple[int, int] | None = None,
                      audio: bool = True) -> tuple[str, str]:
        """Start receiving; returns (session id, SDP answer). Raises ApiError 409 when busy.
        `size`: the largest picture the publisher announced; `audio`: whether it sends sound.

        An offer that fails (or whose request is cancelled) at any step leaves nothing behind:
        its peer connection and tasks are closed, and a worker started for it is stopped."""
        async with self._locks.setdefault(program_id, asyncio.Lock()):
            bc = await self._ready_to_publish(program_id)
            pc = RTCPeerConnection(self.rtc_config())
            pub = Publisher(secrets.token_urlsafe(18), pc, secrets.token_hex(8),
                            limits=PublisherLimits(size=size, audio=audio))
            bc.publisher = pub
            had_worker = bc.worker is not None and not bc.worker.done.done()
            try:
                answer = await self._negotiate(bc, pub, offer)
            except BaseException:
                cleanup = asyncio.ensure_future(self._abandon(bc, pub, had_worker))
                self._tasks.add(cleanup)
                cleanup.add_done_callback(self._tasks.discard)
                await asyncio.shield(cleanup)  # finishes even if this request is cancelled again
                raise
            return pub.session_id, answer

    async def _make_room(self, bc: Broadcast) -> None:
        """409 unless the program can take a new publisher (WHIP or RTMP): one publishes already,
        or the demo plays. A publisher silent for longer than the slate delay (one still
        connecting: CONNECT_S) counts as gone and is dropped."""
        if bc.publisher is not None:
            idle = time.monotonic() - bc.publisher.last_frame
            allowed = self.worker_settings.slate_after_s if bc.publisher.receiving else CONNECT_S
            if idle < allowed:
                raise ApiError(409, "already_publishing",
                               "Someone is already publishing to this program; stop that first.")
            await self._drop_publisher(bc, bc.publisher)  # silent for long: a dead connection
        if bc.generator is not None:
            raise ApiError(409, "already_publishing", "The demo source is playing in this program.")
        bc.retired = False

    async def _start_worker_for(self, bc: Broadcast) -> WorkerProcess:
        """The program's worker, started if need be; 409 while another process holds the
        program's media, 503 when no worker can start."""
        try:
            return await self._ensure_worker(bc)
        except WorkerLocked:
            # another innotv process on this data directory has the program: ask it to let go
            # (it does only if its publisher has gone and it is showing the slate)
            await self.bus.publish(MEDIA_WANTED, MediaWanted(bc.program_id))
            raise ApiError(409, "already_publishing",
                           "Another server is producing this program's media. If its publisher has "
                           "gone, it hands the program over now: try again in a few seconds.") from None
        except WorkerUnavailable as exc:
            raise ApiError(503, "media_unavailable", str(exc), headers={"Retry-After": "2"}) from None

    async def _abandon(self, bc: Broadcast, pub: Publisher, had_worker: bool) -> None:
        """Undo a publish that failed: close its connection, and stop a worker started for it."""
        if bc.publisher is pub:
            bc.publisher = None
        await self._close_publisher(pub)
        worker = bc.worker
        if had_worker or worker is None or bc.publisher is not None or bc.generator is not None:
            return
        bc.worker = None
        worker.stop(finalise=False)
        try:
            await asyncio.wait_for(asyncio.shield(worker.done), STOP_WAIT_S)
        except TimeoutError:
            await worker.kill()

    async def _negotiate(self, bc: Broadcast, pub: Publisher, offer: str) -> str:
        pc = pub.pc
        assert pc is not None

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            # encoded packets: relayed as they are to previews, decoded by the worker process
            if track.kind == "video":
                receive_packets(track)
            elif track.kind == "audio":
                pub.audio_packets = receive_packets(track)
            pub.tracks.append(track)
            # the worker's copy is buffered (nothing dropped); so are previews' (see preview)
            source = pub.relay.subscribe(track, buffered=True)
            pub.tasks.append(asyncio.create_task(self._pump(bc, pub, source)))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed") and bc.publisher is pub:
                log.info("publisher of %s dropped (%s)", bc.program_id, pc.connectionState)
                await self._drop_publisher(bc, pub)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
            for transceiver in pc.getTransceivers():
                transceiver.direction = "recvonly"
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            # Our own check (sdp.validate_offer) let it through, yet aiortc could not negotiate
            # it; aiortc 1.16 then raises anything from AssertionError to AttributeError or
            # StopIteration (as RuntimeError). It is the offer's fault either way: a 400.
            log.info("WHIP offer not negotiated: %s", type(exc).__name__,
                     extra={"program": bc.program_id})
            raise ApiError(400, "invalid_sdp", "The offer could not be negotiated "
                           f"({type(exc).__name__}): check its media sections.") from None
        local = pc.localDescription
        if local is None:  # pragma: no cover - set just above
            raise ApiError(400, "invalid_sdp", "The offer could not be negotiated.")
        pub.video_codec = chosen_video_codec(str(local.sdp))
        if pub.video_codec is None:
            raise ApiError(400, "unsupported_offer", "No video codec both sides support (VP8, H.264).")
        # what this publisher can send decides the program's ladder (and silence without sound);
        # told to the worker before any packet (none flows before the answer is back)
        pub.limits = dataclasses.replace(pub.limits, max_macroblocks=max_macroblocks(str(local.sdp)))
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "video":
                pub.video_receiver = transceiver.receiver
        # the worker starts only for an offer that negotiated (a refused one starts nothing)
        worker = await self._start_worker_for(bc)
        worker.publisher(pub.epoch, pub.limits)
        pub.tasks.append(asyncio.create_task(self._keyframes(pub)))
        return str(local.sdp)

    async def _keyframes(self, pub: Publisher) -> None:
        """Ask the publisher for a keyframe at every segment boundary (RTCP PLI): segments and
        previews then never wait long for a decodable picture. OBS ignores PLIs (keyframe
        interval = segment length there)."""
        while True:
            await asyncio.sleep(self.worker_settings.segment_s)
            if pub.video_receiver is not None:
                await request_keyframe(pub.video_receiver)

    async def _pump(self, bc: Broadcast, pub: Publisher, track: MediaStreamTrack) -> None:
        """Hand the publisher's packets of one track to the broadcast's worker process."""
        kind = track.kind
        while True:
            try:
                packet = await track.recv()
            except MediaStreamError:
                return
            except Exception:
                log.exception("receiving a frame failed")
                continue
            pub.last_frame = time.monotonic()
            pub.receiving = True
            if not isinstance(packet, av.Packet) or packet.pts is None:
                continue  # not from our packet receiver (aiortc changed inside): nothing to send
            worker = bc.worker
            if worker is None or worker.done.done():
                continue  # between a crash and the restart (see _supervise)
            if kind == "video":
                codec = pub.video_codec or "h264"  # known once negotiated, after the track appeared
                worker.offer_video(pub.epoch, codec, bytes(packet), packet.pts, packet.is_keyframe)
            else:
                worker.offer_audio(pub.epoch, bytes(packet), packet.pts)

    async def _drop_publisher(self, bc: Broadcast, pub: Publisher) -> None:
        """The publisher is gone without stopping: the slate takes over."""
        if bc.publisher is pub:
            bc.publisher = None
        if bc.worker is not None:
            bc.worker.gone(pub.epoch)
        await self._close_publisher(pub)

    async def _close_publisher(self, pub: Publisher) -> None:
        for preview in list(pub.previews.values()):
            with contextlib.suppress(Exception):
                await preview.close()
        pub.previews.clear()
        for task in pub.tasks:
            task.cancel()
        if pub.close_link is not None:
            pub.close_link()
        if pub.pc is not None:
            await _close_quietly(pub.pc)
        for track in pub.tracks:
            end_remote_track(track)  # the relay's reading tasks end with them
        for task in pub.tasks:
            await cancel_and_wait(task)

    # ---- publishing (RTMP, rtmp_ingest.py) ----
    async def publish_rtmp(self, program_id: str, close: Callable[[], None]) -> Publisher:
        """Take an RTMP publisher whose stream key named `program_id` (the worker is started and
        waits for its media). Raises ApiError as `publish` does; `close` ends its connection."""
        async with self._locks.setdefault(program_id, asyncio.Lock()):
            bc = await self._ready_to_publish(program_id)
            pub = Publisher(secrets.token_urlsafe(18), None, secrets.token_hex(8), protocol="rtmp",
                            close_link=close, video_codec="h264")
            bc.publisher = pub
            try:
                await self._start_worker_for(bc)
            except BaseException:
                bc.publisher = None
                raise
            return pub

    def rtmp_limits(self, program_id: str, pub: Publisher, limits: PublisherLimits) -> None:
        """What the RTMP publisher sends (before its first picture, and when it turns out to send
        no sound)."""
        bc = self.broadcasts.get(program_id)
        pub.limits = limits
        if bc is not None and bc.publisher is pub and bc.worker is not None:
            bc.worker.publisher(pub.epoch, limits)

    def rtmp_video(self, program_id: str, pub: Publisher, data: bytes, pts: int, keyframe: bool,
                   dts: int) -> None:
        """An H.264 access unit (Annex B) of the RTMP publisher, times in 1/90000."""
        worker = self._rtmp_worker(program_id, pub)
        if worker is not None:
            worker.offer_video(pub.epoch, "h264", data, pts, keyframe, dts)

    def rtmp_audio(self, program_id: str, pub: Publisher, data: bytes, pts: int) -> None:
        """An AAC frame (ADTS) of the RTMP publisher, pts in 1/48000."""
        worker = self._rtmp_worker(program_id, pub)
        if worker is not None:
            worker.offer_audio(pub.epoch, data, pts, "aac")

    def _rtmp_worker(self, program_id: str, pub: Publisher) -> WorkerProcess | None:
        pub.last_frame = time.monotonic()
        pub.receiving = True
        bc = self.broadcasts.get(program_id)
        if bc is None or bc.publisher is not pub or bc.worker is None or bc.worker.done.done():
            return None
        return bc.worker

    async def rtmp_stopped(self, program_id: str, pub: Publisher, deliberate: bool) -> None:
        """The RTMP publisher's connection ended: `deliberate` (it unpublished) is a WHIP DELETE
        (a break while the program is live, else the output stops); otherwise the slate."""
        bc = self.broadcasts.get(program_id)
        if bc is None or bc.publisher is not pub:
            return
        if deliberate:
            await self.unpublish(program_id, pub.session_id)
        else:
            log.info("RTMP publisher of %s dropped", program_id)
            await self._drop_publisher(bc, pub)

    # ---- preview (WHEP) ----
    async def preview(self, program_id: str, offer: str) -> tuple[str, str]:
        """A receive-only peer connection fed with what the publisher sends; (session id, answer)."""
        bc = self.broadcasts.get(program_id)
        pub = bc.publisher if bc is not None else None
        if pub is not None and pub.protocol == "rtmp":
            raise ApiError(409, "preview_unavailable",
                           "The publisher sends RTMP; the preview works for WHIP publishers only.")
        if pub is None or not pub.tracks:
            raise ApiError(404, "not_publishing", "Nobody is publishing to this program right now.")
        if len(pub.previews) >= 8:
            raise ApiError(429, "too_many_previews", "Too many previews of this program are open.")
        pc = RTCPeerConnection(self.rtc_config())
        session_id = secrets.token_urlsafe(18)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
            codec = pub.video_codec or "h264"
            mimes = {"video": f"video/{codec}"}
            if pub.audio_packets:
                mimes["audio"] = "audio/opus"
            for transceiver in pc.getTransceivers():
                mime = mimes.get(transceiver.kind)
                # packets go out as they came in: only the publisher's codec will do (aiortc
                # fixes the common codecs in setRemoteDescription; narrowed here)
                if mime is not None and not keep_only_codec(transceiver, mime):
                    name = mime.split("/")[1].upper() if transceiver.kind == "video" else "Opus"
                    raise ApiError(400, "unsupported_offer",
                                   f"The preview must accept {name} {transceiver.kind}.")
            for track in pub.tracks:
                # the publisher's packets, forwarded without re-encoding (buffered: a gap would
                # break the picture until the next keyframe; the audio track mixes packets and
                # decoded samples, and only the latest of those is kept unbuffered)
                pc.addTrack(pub.relay.subscribe(track, buffered=True))
            await pc.setLocalDescription(await pc.createAnswer())
        except ApiError:
            await _close_quietly(pc)
            raise
        except Exception as exc:  # aiortc's many ways of refusing an offer, as in _negotiate
            await _close_quietly(pc)
            raise ApiError(400, "invalid_sdp", "The offer could not be negotiated "
                           f"({type(exc).__name__}): check its media sections.") from None
        except BaseException:
            await asyncio.shield(_close_quietly(pc))
            raise
        pub.previews[session_id] = pc

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                pub.previews.pop(session_id, None)
                await pc.close()

        local = pc.localDescription
        assert local is not None
        return session_id, str(local.sdp)

    async def stop_preview(self, program_id: str, session_id: str) -> bool:
        bc = self.broadcasts.get(program_id)
        pub = bc.publisher if bc is not None else None
        pc = pub.previews.pop(session_id, None) if pub is not None else None
        if pc is None:
            return False
        await pc.close()
        return True

    def publisher_session(self, program_id: str, session_id: str) -> bool:
        bc = self.broadcasts.get(program_id)
        return bool(bc and bc.publisher and secrets.compare_digest(bc.publisher.session_id, session_id))

    async def unpublish(self, program_id: str, session_id: str) -> bool:
        """The publisher stops (WHIP DELETE). While the program is live this is a break: the
        slate plays until a publisher returns or the program ends. Before (a camera test in the
        lobby) the output stops. Either way the program's state is left as it is."""
        bc = self.broadcasts.get(program_id)
        if bc is None or not self.publisher_session(program_id, session_id):
            return False
        pub = bc.publisher
        assert pub is not None
        bc.publisher = None
        await self._close_publisher(pub)
        program = await self.programs.get(program_id)
        if program is not None and program.state == "live" and bc.worker is not None:
            bc.worker.gone(pub.epoch)
        else:
            await self._stop_worker(bc, finalise=False)
        return True

    async def _stop_worker(self, bc: Broadcast, finalise: bool) -> None:
        """Stop the broadcast's worker (and the demo source); `finalise` ends the live playlists.
        The broadcast is retired: a crashed worker's restart no longer replaces it."""
        bc.retired = True
        bc.generator = None
        worker, bc.worker = bc.worker, None
        if worker is not None:
            worker.stop(finalise)  # the worker stops the demo source too
            await worker.done

    async def _finish(self, bc: Broadcast) -> None:
        """The program is over: stop the worker, then write the replay from the journal (also
        after a crashed worker: what is on disk is the recording)."""
        await self._stop_worker(bc, finalise=True)
        await self.replays.publish(bc.program_id)

    async def on_program(self, event: ProgramChanged) -> None:
        """When a program ends, stop its broadcast and write the replay."""
        program_id = event.id
        if event.state != "ended":
            return
        bc = self.broadcasts.get(program_id)
        if bc is None:
            await self.replays.publish(program_id)
            return
        if bc.publisher is not None:
            pub, bc.publisher = bc.publisher, None
            await self._close_publisher(pub)
        await self._finish(bc)

    async def on_lineup(self, event: LineupChanged) -> None:
        """A deleted program: its broadcast stops and its media is no longer served (removed)."""
        if event.action != "deleted":
            return
        async with self._locks.setdefault(event.id, asyncio.Lock()):
            bc = self.broadcasts.pop(event.id, None)
            if bc is not None:
                if bc.publisher is not None:
                    pub, bc.publisher = bc.publisher, None
                    await self._close_publisher(pub)
                await self._stop_worker(bc, finalise=False)
            await self.replays.remove_media(event.id)

    async def ensure_open(self, program_id: str) -> None:
        """Raise 409 when the program is over (ended or replay): nothing more is recorded."""
        program = await self.programs.require(program_id)
        if program.state in _CLOSED_STATES:
            raise ApiError(409, "program_over", "This program has ended; it can no longer be published to.")
        if program.kind == "premiere":
            raise ApiError(409, "premiere_program",
                           "This program is a premiere: it plays its uploaded file, not a live source.")

    # ---- the generated source (demo) ----
    async def play_generated(self, program_id: str, width: int = 1280, height: int = 720,
                             fps: int = 30) -> None:
        """Broadcast the test pattern and tone into `program_id` until the broadcast ends."""
        bc = self._broadcast(program_id)
        if bc.generator is not None or bc.publisher is not None:
            return
        await self.simulcast.refresh(program_id)
        bc.retired = False
        bc.generator = ("generated-" + secrets.token_hex(4), width, height, fps)
        try:
            worker = await self._ensure_worker(bc)
        except WorkerLocked:
            log.warning("demo: another process produces %s", program_id)
            bc.generator = None
            return
        except WorkerUnavailable as exc:
            log.error("demo: %s; trying again", exc)
            self._restart_later(bc)
            return
        worker.generate(*bc.generator)

    async def resume_broadcasts(self) -> None:
        """At startup: every live program on the air whose media is on disk (the server stopped
        or crashed while it was broadcasting) shows the slate until a publisher comes back or the
        program ends, when its replay is written. Without this its playlist would stay frozen on
        the last picture, without an end."""
        for program in await self.programs.list_programs():
            if program.kind != "live" or program.state != "live":
                continue
            if await asyncio.to_thread((self.media_dir(program.id) / "ladder.json").exists):
                await self.resume_slate(program.id)

    async def resume_slate(self, program_id: str) -> None:
        """Show the slate in `program_id` (whose ladder is on disk) while nobody publishes."""
        bc = self._broadcast(program_id)
        if bc.worker is not None or bc.publisher is not None or bc.generator is not None:
            return
        bc.retired = False
        try:
            worker = await self._ensure_worker(bc)
        except WorkerLocked:
            return  # another process on this data directory produces it
        except WorkerUnavailable as exc:
            log.error("%s; trying again", exc)
            self._restart_later(bc)
            return
        log.info("program %s is on the air with nobody publishing: the slate", program_id)
        await self._resume(bc, worker)

    async def on_media_wanted(self, event: MediaWanted) -> None:
        """Another process wants a program this one produces. Let go only of a program whose
        publisher has gone (the slate is playing): its output continues there after a
        discontinuity. A connected publisher or the demo keeps it here."""
        bc = self.broadcasts.get(event.program_id)
        if bc is None or bc.worker is None or bc.publisher is not None or bc.generator is not None:
            return
        async with self._locks.setdefault(bc.program_id, asyncio.Lock()):
            worker = bc.worker
            if worker is None or bc.publisher is not None or bc.generator is not None:
                return  # a publisher arrived meanwhile
            bc.worker = None
            bc.retired = True
            log.info("handing %s over to another process", bc.program_id)
            worker.stop(finalise=False)
            await worker.done

    async def on_simulcast(self, event: SimulcastChanged) -> None:
        """A program's destinations changed; tell its worker."""
        program_id = event.program_id
        await self.simulcast.refresh(program_id)
        bc = self.broadcasts.get(program_id)
        if bc is not None and bc.worker is not None:
            bc.worker.set_destinations(self.simulcast.urls_for(program_id))

    def push_state(self, program_id: str, url: str) -> str:
        """"connecting", "connected", "retrying" while pushing; "idle" when not broadcasting."""
        bc = self.broadcasts.get(program_id)
        worker = bc.worker if bc is not None else None
        pushers = worker.status.get("pushers", {}) if worker is not None else {}
        return str(pushers.get(url, "idle"))

    # ---- shutdown ----
    async def close(self) -> None:
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        for bc in list(self.broadcasts.values()):
            if bc.publisher is not None:
                pub, bc.publisher = bc.publisher, None
                await self._close_publisher(pub)
            bc.generator = None
            if bc.worker is not None:
                bc.worker.stop(finalise=False)
                try:
                    await asyncio.wait_for(asyncio.shield(bc.worker.done), timeout=10)
                except (TimeoutError, asyncio.CancelledError):
                    await bc.worker.kill()


async def _close_quietly(pc: RTCPeerConnection) -> None:
    """Close a peer connection; aiortc may fail to close a half-negotiated one (logged)."""
    try:
        await pc.close()
    except Exception:
        log.info("closing a peer connection failed", exc_info=True)
