"""One continuous stretch of a program's output (a publisher's connection, the slate, a demo).

A session owns one `RenditionEncoder` per rung, all fed the same frames with keyframes forced on
the same grid (`t0 + k * segment_s`), so segments line up across renditions. Each session starts
a new init segment, and every session after the first is announced with EXT-X-DISCONTINUITY.
Times are seconds on the program's timeline, which only moves forward. A live session knows the
wall-clock time of its start (`wall0`), so each segment is journaled with its wall-clock start
(the replay is cut by the program's times), and a slate session marks its segments as slate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import av

from .encoder import RenditionEncoder
from .fmp4 import avc_codec_string
from .media import ProgramMedia
from .rtmp import RtmpPusher, StreamParams
from .source import AUDIO_RATE

log = logging.getLogger("innotv.live")


class Session:
    def __init__(self, media: ProgramMedia, segment_s: float, preset: str, t0: float,
                 destinations: Callable[[], tuple[str, ...]] | None = None,
                 video_template: Any = None, threads: int = 0, *, wall0: float | None = None,
                 slate: bool = False) -> None:
        self.media = media
        self.segment_s = segment_s
        self.t0 = t0
        self.wall0 = wall0  # wall-clock seconds at t0 (None: not a broadcast, e.g. a premiere file)
        self.slate = slate
        self.init_index = media.new_init_index()
        # with a template, the top rung is the publisher's H.264 repackaged (see aiortc_internals.py)
        self.passthrough = video_template is not None
        first = RenditionEncoder(media.rungs[0], segment_s, preset, video_template, threads)
        # one AAC encoder for every rung with the same audio bitrate (the usual case)
        self.encoders = [first] + [
            RenditionEncoder(r, segment_s, preset, None, threads,
                             first.audio if r.audio_kbps == first.rung.audio_kbps else None)
            for r in media.rungs[1:]
        ]
        self.fps = max(r.fps for r in media.rungs)
        self.next_key = t0
        self.boundaries: list[float] = []
        self.emitted = {r.name: 0 for r in media.rungs}
        self.inited: set[str] = set()
        self.last_video_t: float | None = None
        self.audio_samples = 0
        self.resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE, frame_size=1024)
        self.discontinuity = True
        self.destinations = destinations
        self.keep: Any = None  # what the pass-through template stream belongs to
        self.pushers: dict[str, RtmpPusher] = {}

    @property
    def end_t(self) -> float:
        video_end = self.t0 if self.last_video_t is None else self.last_video_t + 1 / self.fps
        return max(video_end, self.t0 + self.audio_samples / AUDIO_RATE)

    def video(self, frame: av.VideoFrame | None, t: float, packet: av.Packet[Any] | None = None) -> bool:
        """Encode `frame` at time `t`; False when it was dropped (too early: frame rate cap).
        In a pass-through session `packet` is the received access unit `frame` was decoded from:
        segments then start at the publisher's keyframes (asked for each segment by PLI)."""
        if self.passthrough:
            return self._video_passthrough(frame, t, packet)
        assert frame is not None
        if self.last_video_t is not None and t < self.last_video_t + 0.75 / self.fps:
            return False
        key = t >= self.next_key - 1e-6
        if key:
            self.boundaries.append(t)
            while self.next_key <= t + 1e-6:
                self.next_key += self.segment_s
        self.last_video_t = t
        pts = round(t * 90_000)
        for enc in self.encoders:
            enc.encode_video(frame, pts, key)
        self._video_done(key)
        return True

    def _video_passthrough(self, frame: av.VideoFrame | None, t: float,
                           packet: av.Packet[Any] | None) -> bool:
        if packet is None or (self.last_video_t is not None and t <= self.last_video_t):
            return False
        last = self.boundaries[-1] if self.boundaries else None
        key = bool(packet.is_keyframe) and (last is None or t - last >= self.segment_s * 0.5)
        if last is None and not key:
            return False  # a segment starts with a keyframe
        if key:
            self.boundaries.append(t)
        self.last_video_t = t
        pts = round(t * 90_000)
        self.encoders[0].mux_video_packet(packet, pts, key)
        if frame is not None:
            for enc in self.encoders[1:]:
                enc.encode_video(frame, pts, key)
        self._video_done(key)
        return True

    def _video_done(self, key: bool) -> None:
        """After a picture went into the rungs: write out what is ready; at a keyframe,
        bring the simulcast pushers in line with the wanted destinations."""
        self._drain()
        if key and self.destinations is not None:
            self._sync_pushers(self.destinations())

    def _sync_pushers(self, wanted: tuple[str, ...]) -> None:
        """Start/stop simulcast pushers of the top rung to match `wanted` (at a keyframe)."""
        top = self.encoders[0]
        for url in [u for u in self.pushers if u not in wanted]:
            self.pushers.pop(url).close()
        missing = [u for u in wanted if u not in self.pushers]
        if not missing:
            return
        if not top.video.codec_context.extradata or not top.audio.codec_context.extradata:
            return  # encoders not open yet: next keyframe
        params = StreamParams(top.video, top.audio)
        for url in missing:
            self.pushers[url] = RtmpPusher(url, params)
        pushers = self.pushers

        def tap(kind: str, packet: av.Packet[Any]) -> None:
            for pusher in pushers.values():
                pusher.offer(kind, packet)

        top.tap = tap

    def audio(self, frame: av.AudioFrame) -> None:
        if self.last_video_t is None:
            return  # a session's output starts with its first (key) frame
        for out in self.resampler.resample(frame):
            out.pts = round(self.t0 * AUDIO_RATE) + self.audio_samples
            self.audio_samples += out.samples
            self._share_audio(self.encoders[0].encode_audio(out))
            for enc in self.encoders[1:]:
                if not enc.shared_audio:
                    enc.encode_audio(out)
        self._drain()

    def _share_audio(self, packets: list[av.Packet[Any]]) -> None:
        for enc in self.encoders[1:]:
            if enc.shared_audio:
                enc.mux_audio_packets(packets)

    def close(self) -> None:
        for pusher in self.pushers.values():
            pusher.close()
        try:
            self._share_audio(self.encoders[0].encode_audio(None))  # the AAC encoder's tail
        except Exception:
            log.exception("flushing the audio encoder failed")
        for enc in self.encoders:
            try:
                enc.close()
            except Exception:
                log.exception("closing an encoder failed")
        self._drain(final=True)

    def _drain(self, final: bool = False) -> None:
        media = self.media
        for enc in self.encoders:
            name = enc.rung.name
            if name not in self.inited and enc.sink.init is not None:
                media.logs[name].write_init(self.init_index, enc.sink.init)
                codec = avc_codec_string(enc.sink.init)
                self.inited.add(name)
                if codec and media.codecs.get(name) != codec:
                    media.codecs[name] = codec
                    if len(media.codecs) >= len(media.rungs):
                        media.write_master()
            for data in enc.sink.take():
                index = self.emitted[name]
                self.emitted[name] = index + 1
                start = self.boundaries[min(index, len(self.boundaries) - 1)] if self.boundaries else self.t0
                if index + 1 < len(self.boundaries):
                    end = self.boundaries[index + 1]
                else:
                    end = self.end_t if final else start + self.segment_s
                at = None if self.wall0 is None else round((self.wall0 + start - self.t0) * 1000)
                media.add_segment(name, self.init_index, data, max(0.001, end - start),
                                  self.discontinuity and index == 0, at, self.slate)
