"""The live slice's settings: the ladder, segments, encoding, limits, ICE servers, workers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kernel.settings import ConfigError

from .ladder import Rung, parse_ladder

PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")


@dataclass(frozen=True)
class LiveSettings:
    PREFIX: ClassVar[str] = "live_"

    # The HLS ladder: height p fps : video kbit/s, tallest first; never upscaled.
    ladder: str = "720p30:2800,360p30:800"
    # Segment length in seconds (1-2); a keyframe is forced at every segment start.
    segment_s: float = 1.0
    # Segments listed in a live playlist (the sliding window).
    window_segments: int = 6
    # Low-latency HLS: the length of a partial segment (EXT-X-PART) in seconds, rounded to whole
    # frames of the ladder's frame rate; 0 turns partial segments off (whole segments only).
    part_s: float = 0.2
    # x264 preset for live encoding (ultrafast .. medium).
    x264_preset: str = "veryfast"
    # Seconds without frames from the publisher before the slate takes over.
    slate_after_s: float = 2.0
    # Decoded frames waiting for the media worker before new ones are dropped.
    queue_frames: int = 120
    # Largest WHIP/WHEP SDP offer accepted, in bytes.
    max_sdp_bytes: int = 32_768
    # Largest premiere upload, in megabytes.
    max_upload_mb: int = 4096
    # ICE servers for WHIP/WHEP (comma separated stun:/turn: URLs); none by default.
    ice_servers: tuple[str, ...] = ()
    # An H.264 publisher at the top rung's size is repackaged for that rung instead of re-encoded.
    passthrough: bool = True
    # Threads per live encoder and decoder; 0 lets FFmpeg use one per core. A 720p30 encode needs
    # well under one core, so a few threads keep up; on the 16-core machine 0, 1 and 2 measured
    # the same CPU per stream (bench/media.py), and 2 bounds the threads of many programs.
    codec_threads: int = 2
    # RTMP ingest (rtmp://<host>/live/<stream key>, rtmp_ingest.py): the TCP port, 0 to turn it
    # off; the address to listen on ("" = the server's own --host); several innotv processes on one
    # machine may all listen on the port when reuse_port is on (SO_REUSEPORT: the kernel spreads the
    # encoders among them); the server URL the host console shows ("" = rtmp://<the page's host
    # name>[:port]/live).
    rtmp_port: int = 1935
    rtmp_host: str = ""
    rtmp_reuse_port: bool = False
    rtmp_public_url: str = ""
    # Scheduling niceness of media worker and premiere transcode processes (0-19). When cores run
    # short, the server's event loop (chat, WebRTC receive, HLS requests) goes first and the
    # encoders fall behind (and drop frames) instead.
    worker_nice: int = 10

    def rungs(self) -> tuple[Rung, ...]:
        """The ladder, parsed (valid once `validate` passed)."""
        return parse_ladder(self.ladder)

    def validate(self) -> None:
        try:
            self.rungs()
        except ValueError as exc:
            raise ConfigError(f"live_ladder: {exc}") from None
        if not 1.0 <= self.segment_s <= 2.0:
            raise ConfigError("live_segment_s: must be between 1 and 2 seconds")
        if self.part_s != 0 and not 0.1 <= self.part_s <= self.segment_s / 2:
            raise ConfigError("live_part_s: 0 (off) or between 0.1 and half of live_segment_s")
        if not 3 <= self.window_segments <= 60:
            raise ConfigError("live_window_segments: must be between 3 and 60")
        if self.x264_preset not in PRESETS:
            raise ConfigError("live_x264_preset: " + ", ".join(PRESETS[:-1]) + " or medium")
        if not 0.5 <= self.slate_after_s <= 30:
            raise ConfigError("live_slate_after_s: must be between 0.5 and 30")
        if not 10 <= self.queue_frames <= 2000:
            raise ConfigError("live_queue_frames: must be between 10 and 2000")
        if not 0 <= self.worker_nice <= 19:
            raise ConfigError("live_worker_nice: must be between 0 and 19")
        if not 0 <= self.codec_threads <= 64:
            raise ConfigError("live_codec_threads: must be between 0 (one per core) and 64")
        if not 1024 <= self.max_sdp_bytes <= 1_000_000:
            raise ConfigError("live_max_sdp_bytes: must be between 1024 and 1000000")
        if not 0 <= self.rtmp_port < 65536:
            raise ConfigError("live_rtmp_port: 0 (off) or a TCP port (1-65535)")
        if self.rtmp_public_url and not self.rtmp_public_url.startswith(("rtmp://", "rtmps://")):
            raise ConfigError("live_rtmp_public_url: an rtmp:// or rtmps:// URL, e.g. rtmp://tv.example.go.kr/live")
        if not 1 <= self.max_upload_mb <= 1_000_000:
            raise ConfigError("live_max_upload_mb: must be between 1 and 1000000")
