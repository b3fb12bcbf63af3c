"""One rendition's encoders and fMP4 muxer: frames in, HLS init + media segments out.

x264 (PyAV's bundled libx264) with a keyframe forced at every segment start and x264's own
keyframe decisions off (`keyint`, `scenecut=0`, `open_gop=0`); AAC with `aac_coder=fast`, encoded
once and shared by the renditions with the same audio bitrate. Runs only in a media worker,
never on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import av
from av.video.frame import PictureType

from .fmp4 import BoxSink
from .ladder import Rung
from .rtmp import copy_packet
from .scaler import Scaler
from .source import AUDIO_RATE, VIDEO_TIME_BASE

MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"


class RenditionEncoder:
    """`video_template`: a stream whose H.264 parameters the received packets carry; then this
    rendition is the publisher's video repackaged (`mux_video_packet`), not encoded.
    `audio_template`: another rendition's (opened) AAC stream; then this rendition's sound is that
    encoder's packets (`mux_audio_packets`), not encoded again."""

    def __init__(self, rung: Rung, segment_s: float, preset: str, video_template: Any = None,
                 threads: int = 0, audio_template: Any = None) -> None:
        self.rung = rung
        self.sink = BoxSink()
        self.container = av.open(self.sink, "w", format="mp4", options={"movflags": MOVFLAGS})
        self.passthrough = video_template is not None
        self.closed = False
        # Called with a copy of every encoded packet (the simulcast pushers of the top rung).
        self.tap: Callable[[str, av.Packet[Any]], None] | None = None
        if video_template is not None:
            video = self.container.add_stream_from_template(video_template)
            video.time_base = VIDEO_TIME_BASE
            self._add_audio(rung, audio_template)
            self.video = video
            return
        self.scaler = Scaler(rung.width, rung.height)
        keyint = max(1, round(rung.fps * segment_s))
        video = self.container.add_stream("libx264", rate=rung.fps)
        video.width = rung.width
        video.height = rung.height
        video.pix_fmt = "yuv420p"
        video.time_base = VIDEO_TIME_BASE
        video.codec_context.time_base = VIDEO_TIME_BASE  # variable frame timing, exact pts
        video.bit_rate = rung.video_kbps * 1000
        video.codec_context.thread_count = threads
        video.codec_context.options = {
            "preset": preset,
            "tune": "zerolatency",
            "forced-idr": "1",
            "x264-params": (
                f"keyint={keyint * 4}:min-keyint={keyint}:scenecut=0:open_gop=0"
                f":vbv-maxrate={int(rung.video_kbps * 1.2)}:vbv-bufsize={rung.video_kbps * 2}"
            ),
        }
        self._add_audio(rung, audio_template)
        self.video = video

    def _add_audio(self, rung: Rung, template: Any) -> None:
        self.shared_audio = template is not None
        self.audio_flushed = False
        if template is not None:
            audio = self.container.add_stream_from_template(template)
            audio.codec_context.extradata = template.codec_context.extradata  # not copied (PyAV 18)
            audio.time_base = Fraction(1, AUDIO_RATE)
            self.audio = audio
            return
        audio = self.container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        audio.bit_rate = rung.audio_kbps * 1000
        audio.codec_context.options = {"aac_coder": "fast"}
        audio.codec_context.open()  # now, so that other renditions can share it (extradata)
        self.audio = audio

    def mux_video_packet(self, packet: av.Packet[Any], pts: int, key: bool) -> None:
        """Repackage a received H.264 access unit; only `key` packets may start a segment."""
        clone = av.Packet(bytes(packet))
        clone.pts = clone.dts = pts
        clone.time_base = VIDEO_TIME_BASE
        clone.is_keyframe = key  # a keyframe that is not a segment start must not cut a fragment
        clone.stream = self.video
        if self.tap is not None:
            self.tap("video", copy_packet(clone))
        self.container.mux(clone)

    def encode_video(self, frame: av.VideoFrame, pts: int, key: bool) -> None:
        """`frame` at any size; `pts` in 1/90000 on the program timeline."""
        rung = self.rung
        if frame.width != rung.width or frame.height != rung.height or frame.format.name != "yuv420p":
            frame = self.scaler(frame, pts)
        # else the caller's picture itself: every rung sets the same pts and picture type on it
        frame.pts = pts
        frame.time_base = VIDEO_TIME_BASE
        frame.pict_type = PictureType.I if key else PictureType.NONE
        for packet in self.video.encode(frame):
            if self.tap is not None:
                self.tap("video", copy_packet(packet))
            self.container.mux(packet)

    def encode_audio(self, frame: av.AudioFrame | None) -> list[av.Packet[Any]]:
        """`frame`: fltp stereo 48 kHz, pts in samples on the program timeline (None: flush).
        Returns copies of the packets (muxed here) for renditions sharing this encoder."""
        if frame is not None:
            frame.time_base = Fraction(1, AUDIO_RATE)
        elif self.audio_flushed:
            return []
        else:
            self.audio_flushed = True
        shared = []
        for packet in self.audio.encode(frame):
            shared.append(copy_packet(packet))  # muxing consumes the packet
            if self.tap is not None:
                self.tap("audio", copy_packet(packet))
            self.container.mux(packet)
        return shared

    def mux_audio_packets(self, packets: list[av.Packet[Any]]) -> None:
        """Another rendition's AAC packets (see `audio_template`)."""
        for packet in packets:
            clone = copy_packet(packet)
            clone.stream = self.audio
            if self.tap is not None:
                self.tap("audio", copy_packet(clone))
            self.container.mux(clone)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if not self.passthrough:
                for packet in self.video.encode(None):
                    self.container.mux(packet)
            if not self.shared_audio:
                self.encode_audio(None)
        finally:
            self.container.close()
