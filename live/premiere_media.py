"""Premieres: a producer's file, transcoded to the ladder ahead of time, played "as live".

The upload is streamed to disk (never through `request.post()`), probed with PyAV and transcoded
in a thread into the program's media directory with its live playlists held back. At the
program's start time, by `deps.clock`, the live playlists reveal the segments whose end time has
passed, so nothing is encoded when the audience arrives; the last segment ends the playlist.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from kernel.errors import ApiError

from .ladder import Rung, fit_ladder
from .media import ProgramMedia, atomic_write
from .session import Session
from .source import AUDIO_RATE, Tone

log = logging.getLogger("innotv.live.premiere")

# Container formats (as FFmpeg names them) a premiere may arrive in; FFmpeg also "reads" text
# files (as tty art) and single images, which are not programs.
CONTAINERS = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "flv", "mpegts", "avi", "mpeg",
                        "asf", "ogg"})
STATUS_FILE = "premiere.json"
# While this file exists in a program's media folder, its files are not served (a premiere
# before its start time).
HIDDEN_FILE = ".hidden"
SOURCE_FILE = "source.media"


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    width: int
    height: int
    has_audio: bool
    video_codec: str

    def public(self) -> dict[str, Any]:
        return {"duration": round(self.duration, 3), "width": self.width, "height": self.height,
                "has_audio": self.has_audio, "video_codec": self.video_codec}


def probe(path: Path) -> MediaInfo:
    """What the file holds; ApiError(400) unless it is a video (with or without audio) PyAV can read."""
    try:
        with av.open(str(path)) as container:
            if container.format.name not in CONTAINERS:
                raise ApiError(400, "not_media", "The file is not a video file (MP4, MOV, MKV, WebM, "
                               f"FLV, TS, AVI, MPEG); it looks like {container.format.name}.")
            if not container.streams.video:
                kinds: list[str] = sorted({str(s.type) for s in container.streams}) or ["nothing"]
                raise ApiError(400, "not_video",
                               f"The file has no video stream (it holds {', '.join(kinds)}).")
            video = container.streams.video[0]
            width, height = video.codec_context.width, video.codec_context.height
            if not width or not height:
                raise ApiError(400, "not_video", "The video stream has no picture size.")
            duration = 0.0
            if container.duration:
                duration = container.duration / 1_000_000
            elif video.duration and video.time_base:
                duration = float(video.duration * video.time_base)
            codec = video.codec_context.name
            # decode one picture: a header alone is not proof
            for _frame in container.decode(video=0):
                break
            else:
                raise ApiError(400, "not_video", "The video stream has no decodable picture.")
            return MediaInfo(duration, width, height, bool(container.streams.audio), codec)
    except ApiError:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, IndexError) as exc:
        raise ApiError(400, "not_media", f"The file is not audio/video that can be read: {exc}") from None


def write_status(directory: Path, **status: Any) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write(directory / STATUS_FILE, json.dumps(status).encode())


def read_status(directory: Path) -> dict[str, Any] | None:
    try:
        raw = json.loads((directory / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None


def clear_media(directory: Path) -> None:
    """Remove an earlier (not yet shown) transcode: rendition folders and playlists."""
    if not directory.exists():
        return
    for child in directory.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        elif child.name not in (SOURCE_FILE, STATUS_FILE, HIDDEN_FILE):
            child.unlink(missing_ok=True)


def transcode(source: Path, media: ProgramMedia, ladder: tuple[Rung, ...], segment_s: float,
              preset: str) -> float:
    """Encode the whole file into hidden segments; returns the duration encoded (seconds)."""
    media.publish_live = False
    (media.dir / HIDDEN_FILE).touch()
    with av.open(str(source)) as container:
        vstream = container.streams.video[0]
        astream = container.streams.audio[0] if container.streams.audio else None
        vstream.thread_type = "AUTO"
        media.set_rungs(fit_ladder(ladder, vstream.codec_context.width, vstream.codec_context.height))
        session = Session(media, segment_s, preset, 0.0)
        silence = Tone(silent=True) if astream is None else None
        first: float | None = None
        streams = [vstream] if astream is None else [vstream, astream]
        for packet in container.demux(*streams):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                continue  # one bad packet is skipped, not fatal
            for frame in frames:
                if isinstance(frame, av.VideoFrame):
                    if frame.pts is None or frame.time_base is None:
                        continue
                    t = float(frame.pts * frame.time_base)
                    first = t if first is None else first
                    if t - first < 0:
                        continue
                    session.video(frame, t - first)
                    if silence is not None:
                        while session.audio_samples < (t - first + 1 / session.fps) * AUDIO_RATE:
                            session.audio(silence.next_frame())
                elif isinstance(frame, av.AudioFrame):
                    session.audio(frame)
        session.close()
        return session.end_t


def reveal_count(durations: list[float], elapsed: float) -> tuple[int, float | None]:
    """How many segments have fully played after `elapsed` seconds, and when the next one has."""
    end = 0.0
    for index, duration in enumerate(durations):
        end += duration
        if end > elapsed + 1e-6:
            return index, end
    return len(durations), None


def segment_durations(media: ProgramMedia) -> list[float]:
    first = media.logs[media.rungs[0].name]
    return [s.duration for s in first.segments]


def reveal(media: ProgramMedia, count: int, ended: bool) -> None:
    """Write the live playlists showing the first `count` segments (and the master once)."""
    if count == 0:
        return
    for log_ in media.logs.values():
        log_.write_live(ended=ended, upto=count)
    if not (media.dir / "master.m3u8").exists():
        media.write_live_master()
    (media.dir / HIDDEN_FILE).unlink(missing_ok=True)


def total_seconds(durations: list[float]) -> float:
    return math.fsum(durations)
