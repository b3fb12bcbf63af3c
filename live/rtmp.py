"""Push one rendition's already-encoded packets to an RTMP destination as FLV (simulcast).

Each destination has its own thread and a bounded packet queue: a slow or dead destination drops
its own packets and reconnects with backoff (1 s doubling to 30 s), and never delays encoding or
another destination. After a (re)connect, packets are skipped until the next video keyframe.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av

log = logging.getLogger("innotv.live.rtmp")


@dataclass(frozen=True)
class StreamParams:
    """The encoder streams whose parameters (size, SPS/PPS, AAC config) the FLV streams copy."""

    video: Any
    audio: Any


def copy_packet(packet: av.Packet[Any]) -> av.Packet[Any]:
    """A private copy (muxing consumes the original)."""
    clone = av.Packet(bytes(packet))
    clone.pts, clone.dts, clone.time_base = packet.pts, packet.dts, packet.time_base
    clone.is_keyframe = packet.is_keyframe
    return clone


class RtmpPusher:
    def __init__(self, url: str, params: StreamParams, max_queue: int = 600) -> None:
        self.url = url
        self.params = params
        self._q: queue.Queue[tuple[str, av.Packet[Any]] | None] = queue.Queue(maxsize=max_queue)
        self._stop = threading.Event()
        self.connected = threading.Event()
        self.state = "connecting"
        self.dropped = 0
        self.sent = 0
        self._thread = threading.Thread(target=self._run, name="rtmp-push", daemon=True)
        self._thread.start()

    def offer(self, kind: str, packet: av.Packet[Any]) -> None:
        try:
            self._q.put_nowait((kind, packet))
        except queue.Full:
            self.dropped += 1

    def close(self) -> None:
        self._stop.set()
        try:
            self._q.put_nowait(None)
        except queue.Full:
            pass

    def join(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)

    def _open(self) -> tuple[Any, Any, Any]:
        out = av.open(self.url, "w", format="flv", timeout=(5.0, 5.0))
        video = out.add_stream_from_template(self.params.video)
        audio = out.add_stream_from_template(self.params.audio)
        video.time_base = audio.time_base = Fraction(1, 1000)
        return out, video, audio

    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            out = None
            sent_before = self.sent
            try:
                out, video, audio = self._open()
                self._pump(out, video, audio)
            except Exception as exc:
                self.state = "retrying"
                self.connected.clear()
                log.warning("simulcast push to %s failed (%s); retrying in %.0f s",
                            _redact(self.url), exc, backoff)
            finally:
                if out is not None:
                    try:
                        out.close()
                    except Exception:
                        log.debug("closing an RTMP output failed", exc_info=True)
            if self._stop.wait(backoff):
                break
            # a connection that carried packets starts the backoff again; one that never did doubles it
            backoff = 1.0 if self.sent > sent_before else min(backoff * 2, 30.0)
            self._drain()
        self.state = "stopped"

    def _drain(self) -> None:
        """Forget what queued up while disconnected (it is stale)."""
        while True:
            try:
                self._q.get_nowait()
            except queue.Empty:
                return

    def _pump(self, out: Any, video: Any, audio: Any) -> None:
        started = False
        base: int | None = None  # first dts, in ms, so the stream starts at 0
        last = {"video": -1, "audio": -1}
        while not self._stop.is_set():
            item = self._q.get()
            if item is None:
                return
            kind, packet = item
            if not started:
                if kind != "video" or not packet.is_keyframe:
                    continue
                started = True
            tb = packet.time_base
            if packet.dts is None or tb is None:
                continue
            dts_ms = int(packet.dts * tb * 1000)
            pts_ms = int((packet.pts if packet.pts is not None else packet.dts) * tb * 1000)
            if base is None:
                base = dts_ms
            if dts_ms - base <= last[kind]:
                self.dropped += 1  # out of order (or before the start): skipped, never fatal
                continue
            last[kind] = dts_ms - base
            clone = av.Packet(bytes(packet))
            clone.dts, clone.pts = dts_ms - base, max(pts_ms, dts_ms) - base
            clone.time_base = Fraction(1, 1000)
            clone.is_keyframe = packet.is_keyframe
            clone.stream = video if kind == "video" else audio
            out.mux(clone)
            self.sent += 1
            if not self.connected.is_set():
                # only now: FFmpeg may open an RTMP output without reaching anyone
                self.state = "connected"
                self.connected.set()


def _redact(url: str) -> str:
    """The URL without its last path part (usually the destination's secret stream key)."""
    head, _, tail = url.rpartition("/")
    return f"{head}/{tail[:2]}…" if head else url[:12] + "…"


def redact(url: str) -> str:
    return _redact(url)
