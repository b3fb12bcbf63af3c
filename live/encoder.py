"""One rendition's encoders and fMP4 output: frames in, HLS init segment and media pieces out.

x264 (PyAV's bundled libx264) with a keyframe forced at every segment start and x264's own
keyframe decisions off (`keyint`, `scenecut=0`, `open_gop=0`); AAC with `aac_coder=fast`, encoded
once and shared by the renditions with the same audio bitrate. PyAV's mp4 muxer writes the init
segment; the encoded samples are cut into fragments by fragments.py, at every segment start and,
for low-latency HLS, at every part start the session marks (`encode_video(..., part=True)`).
Each cut is a `Piece`: one part, the last of its segment when the next frame starts a segment.
Runs only in a media worker, never on the event loop.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
from av.video.frame import PictureType

from .fmp4 import BoxSink, init_tracks
from .fragments import Fragment, FragmentWriter, length_prefixed
from .ladder import Rung
from .rtmp import copy_packet
from .scaler import Scaler
from .source import AUDIO_RATE, VIDEO_TIME_BASE

MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"


@dataclass(frozen=True)
class Piece:
    """A fragment of the output: one part; `ends_segment` when it is its segment's last."""

    fragment: Fragment
    ends_segment: bool


def _ticks(value: int | None, time_base: Any, timescale: int) -> int:
    return round(float((value or 0) * time_base) * timescale) if time_base is not None else int(value or 0)


class RenditionEncoder:
    """`video_template`: a stream whose H.264 parameters the received packets carry; then this
    rendition is the publisher's video repackaged (`mux_video_packet`), not encoded.
    `audio_template`: another rendition's (opened) AAC stream; then this rendition's sound is that
    encoder's packets (`mux_audio_packets`), not encoded again."""

    def __init__(self, rung: Rung, segment_s: float, preset: str, video_template: Any = None,
                 threads: int = 0, audio_template: Any = None, start: float = 0.0) -> None:
        self.rung = rung
        self.start = start  # seconds on the program's timeline: where this session's sound begins
        self.pieces: list[Piece] = []  # cut and not yet taken (`take`)
        self._cuts: deque[tuple[int, bool]] = deque()  # (pts, starts a segment) of the marked frames
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
            self._open_writer()
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
        self._open_writer()

    def _open_writer(self) -> None:
        """Write the init segment now (`BoxSink.init`) and cut the media ourselves."""
        self.container.start_encoding()
        tracks = init_tracks(self.sink.init or b"")
        video = next(t for t in tracks if t.kind == "vide")
        audio = next((t for t in tracks if t.kind == "soun"), None)
        self.writer = FragmentWriter(video, audio)
        # Samples are stored with NAL lengths; x264 (here) and publishers' units come with start
        # codes, which the init's configuration record tells (avcC starts with 1, Annex B with 0).
        extradata = self.video.codec_context.extradata or b""
        self._annex_b = not extradata.startswith(b"\x01")
        self._audio_dts = round(self.start * audio.timescale) if audio is not None else 0

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

    def mark(self, pts: int, key: bool, part: bool) -> None:
        """The frame at `pts` starts a segment (`key`) or a part (`part`): the output is cut
        before the first packet at or after it."""
        if key or part:
            self._cuts.append((pts, key))

    def mux_video_packet(self, packet: av.Packet[Any], pts: int, key: bool, part: bool = False) -> None:
        """Repackage a received H.264 access unit; only `key` packets may start a segment."""
        self.mark(pts, key, part)
        clone = av.Packet(bytes(packet))
        clone.pts = clone.dts = pts
        clone.time_base = VIDEO_TIME_BASE
        clone.is_keyframe = key  # a keyframe that is not a segment start is not flagged as one
        clone.stream = self.video
        if self.tap is not None:
            self.tap("video", copy_packet(clone))
        self._write_video(clone)

    def _write_video(self, packet: av.Packet[Any]) -> None:
        """Cut where a marked frame begins, then add the packet to the fragment being built."""
        timescale = self.writer.video.info.timescale
        pts = packet.pts if packet.pts is not None else packet.dts
        ends_segment = False
        cut = False
        while self._cuts and self._cuts[0][0] <= _ticks(pts, packet.time_base, 90_000):
            ends_segment = self._cuts.popleft()[1] or ends_segment
            cut = True
        dts = packet.dts if packet.dts is not None else pts
        data = length_prefixed(bytes(packet)) if self._annex_b else bytes(packet)
        fragment = self.writer.add_video(data, _ticks(dts, packet.time_base, timescale),
                                         _ticks(pts, packet.time_base, timescale),
                                         bool(packet.is_keyframe), cut_before=cut)
        if fragment is not None:
            self.pieces.append(Piece(fragment, ends_segment))

    def _write_audio(self, packet: av.Packet[Any]) -> None:
        audio = self.writer.audio
        if audio is None:
            return
        duration = _ticks(packet.duration, packet.time_base, audio.info.timescale) or 1024
        self.writer.add_audio(bytes(packet), self._audio_dts, duration)
        self._audio_dts += duration

    def take(self) -> list[Piece]:
        """The pieces cut since the last call."""
        done, self.pieces = self.pieces, []
        return done

    def encode_video(self, frame: av.VideoFrame, pts: int, key: bool, part: bool = False) -> None:
        """`frame` at any size; `pts` in 1/90000 on the program timeline; `key`: a segment
        starts here (a keyframe), `part`: a part starts here."""
        self.mark(pts, key, part)
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
            self._write_video(packet)

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
            shared.append(copy_packet(packet))
            if self.tap is not None:
                self.tap("audio", copy_packet(packet))
            self._write_audio(packet)
        return shared

    def mux_audio_packets(self, packets: list[av.Packet[Any]]) -> None:
        """Another rendition's AAC packets (see `audio_template`)."""
        for packet in packets:
            clone = copy_packet(packet)
            clone.stream = self.audio
            if self.tap is not None:
                self.tap("audio", copy_packet(clone))
            self._write_audio(clone)

    def close(self, frame_s: float) -> None:
        """Flush the encoders and cut the last piece (its last frame lasts `frame_s`)."""
        if self.closed:
            return
        self.closed = True
        try:
            if not self.passthrough:
                for packet in self.video.encode(None):
                    self._write_video(packet)
            if not self.shared_audio:
                self.encode_audio(None)
            fragment = self.writer.finish(round(frame_s * self.writer.video.info.timescale))
            if fragment is not None:
                self.pieces.append(Piece(fragment, True))
        finally:
            self.container.close()
