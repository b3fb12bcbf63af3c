"""The media worker process: `python -m live.worker_main <fd>`, started by the server per program.

It owns one program's `MediaWorker` (decoding, the ladder's encoders, segments, playlists,
simulcast pushers), so encoding never competes with the server's event loop for the interpreter
lock, and a crash in a codec takes down this program's process, not the server or the chat.

The worker holds an exclusive lock on `<program dir>/.lock` while it runs, so two workers (of two
innotv processes sharing a data directory) never write one program at once: the second answers
["locked"] and exits. Otherwise it answers ["ready"].

The server talks to it over the socket pair whose end is `<fd>` (see ipc.py). The first message
is ["init", {...}]; then (headers; "+ data" is the binary payload):
  ["publisher", epoch, limits]                       what that publisher can send (ladder.PublisherLimits)
  ["video", epoch, codec, pts_90k, keyframe(, dts_90k)] + data   a received H.264/VP8 access unit
                                                      (dts when it differs: B-frames, from RTMP)
  ["audio", epoch, pts_48k(, codec)] + data           a received Opus packet, or "aac" in ADTS form
  ["generate", epoch, width, height, fps]             play the test pattern and tone (the demo)
  ["destinations", urls]                              the simulcast destinations wanted now
  ["gone", epoch]                                     that publisher left: show the slate
  ["slate"]                                           nobody publishes yet: show the slate
  ["caption", {id, rev, lang, at, text}]               a stored caption line, for the subtitles
  ["status"]                                          send the status now
  ["stop", finalise]                                  end the broadcast (and end the live playlists)
It answers with ["status", {...}] twice a second and on request, and ["done", recorded] last.
The end of the stream (the server died) stops the worker without writing the replay.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from kernel.logs import setup_logging

from .aiortc_internals import VIDEO_TIME_BASE
from .ipc import pack, read_message
from .ladder import PublisherLimits
from .media import ProgramMedia, lock_media
from .source import AUDIO_SAMPLES, TestPattern, Tone
from .subtitles import LiveSubtitles
from .worker import MediaWorker, WorkerSettings

log = logging.getLogger("innotv.live")

OPUS_TIME_BASE = Fraction(1, 48_000)
STATUS_EVERY_S = 0.5


class ServerSocket:
    """The child's end of the socket pair: reading in the main thread, writing from several."""

    def __init__(self, fd: int) -> None:
        self.sock = socket.socket(fileno=fd)
        self.rfile = self.sock.makefile("rb")
        self._lock = threading.Lock()

    def send(self, header: list[Any]) -> None:
        data = pack(header)
        with self._lock:
            try:
                self.sock.sendall(data)
            except OSError:
                pass  # the server is gone; the reader sees the end of the stream

    def close(self) -> None:
        self.rfile.close()
        self.sock.close()


def status_of(worker: MediaWorker) -> dict[str, Any]:
    return {
        "mode": worker.mode,
        "session_kind": worker.session_kind,
        "dropped": worker.dropped,
        "errors": worker.errors,
        "decode_errors": worker.decode_errors,
        "packets": worker.packets,
        "pushers": {url: str(p.state) for url, p in list(worker.pushers.items())},
        "input": worker.input.status() if worker.mode == "live" else None,
        "queued": worker.queued,
        "segment_write_seconds": worker.media.write_seconds.snapshot(),
        "segment_delay_seconds": worker.media.delay_seconds.snapshot(),
    }


def _generate(worker: MediaWorker, epoch: str, width: int, height: int, fps: int,
              stop: threading.Event) -> None:
    pattern, tone = TestPattern(width, height, fps), Tone()
    worker.publisher(epoch, PublisherLimits(size=(width, height)))
    start = time.monotonic()
    try:
        while not stop.is_set():
            worker.offer("video", epoch, pattern.next_frame())
            while tone.index * AUDIO_SAMPLES * fps < pattern.index * 48_000:
                worker.offer("audio", epoch, tone.next_frame())
            delay = start + pattern.index / fps - time.monotonic()
            if delay > 0:
                stop.wait(delay)
    finally:
        pattern.close()


def _packet(data: bytes, pts: int, time_base: Fraction, keyframe: bool,
            dts: int | None = None) -> av.Packet[Any]:
    packet = av.Packet(data)
    packet.pts = pts
    packet.dts = pts if dts is None else dts
    packet.time_base = time_base
    packet.is_keyframe = keyframe
    return packet


def serve(link: ServerSocket) -> int:
    first = read_message(link.rfile)
    if first is None or first[0][0] != "init":
        return 2
    init: dict[str, Any] = first[0][1]
    setup_logging(init["log_level"], init["log_format"])
    os.nice(int(init.get("nice", 0)))  # the server's event loop goes first when cores run short
    try:
        lock = lock_media(Path(init["root"]) / init["program_id"])
    except OSError as exc:  # the program's directory cannot be written: the server retries later
        log.error("media worker: cannot lock %s: %s", init["program_id"], exc)
        return 4
    if lock is None:
        link.send(["locked"])
        return 3
    try:
        return _serve(link, init)
    finally:
        os.close(lock)  # before the server hears "done" (it waits for this process to end)


def _serve(link: ServerSocket, init: dict[str, Any]) -> int:
    link.send(["ready"])
    settings = WorkerSettings.from_json(init["settings"])
    media = ProgramMedia(Path(init["root"]), init["program_id"], settings.segment_s, init["window"],
                         settings.part_s)
    if settings.subtitles:
        media.subtitles = LiveSubtitles(media.dir, settings.subtitles, settings.caption_hold_ms)
    media.load()
    if media.subtitles is not None and media.rungs:
        media.subtitles.resume(media.logs[media.rungs[0].name].segments)  # after a restart
    destinations: list[tuple[str, ...]] = [tuple(init.get("destinations", ()))]
    worker = MediaWorker(media, settings, init["program_id"], lambda: destinations[0])
    worker.start()
    stopped = threading.Event()
    generator_stop = threading.Event()

    def report() -> None:
        while not stopped.wait(STATUS_EVERY_S):
            link.send(["status", status_of(worker)])

    threading.Thread(target=report, name="status", daemon=True).start()
    finalise = False
    while True:
        message = read_message(link.rfile)
        if message is None:
            break  # the server is gone
        header, data = message
        kind = header[0]
        if kind == "video":
            epoch, codec, pts, keyframe = header[1:5]
            dts = header[5] if len(header) > 5 else None
            worker.offer("packet", epoch, (codec, _packet(data, pts, VIDEO_TIME_BASE, keyframe, dts)))
        elif kind == "audio":
            epoch, pts = header[1:3]
            codec = header[3] if len(header) > 3 else "opus"
            worker.offer("packet", epoch, (codec, _packet(data, pts, OPUS_TIME_BASE, True)))
        elif kind == "publisher":
            _, epoch, limits = header
            worker.publisher(epoch, PublisherLimits.from_json(limits if isinstance(limits, dict) else {}))
        elif kind == "status":
            link.send(["status", status_of(worker)])
        elif kind == "destinations":
            destinations[0] = tuple(header[1])
        elif kind == "gone":
            worker.gone(header[1])
        elif kind == "slate":
            worker.show_slate()
        elif kind == "caption" and len(header) == 2 and isinstance(header[1], dict):
            worker.caption(header[1])
        elif kind == "generate":
            _, epoch, width, height, fps = header
            threading.Thread(target=_generate, args=(worker, epoch, width, height, fps, generator_stop),
                             name="generated", daemon=True).start()
        elif kind == "stop":
            finalise = bool(header[1])
            break
    generator_stop.set()
    worker.stop(finalise)
    try:
        recorded = bool(worker.done.result())
    except Exception:
        recorded = False
    stopped.set()
    link.send(["status", status_of(worker)])
    link.send(["done", recorded])
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: python -m live.worker_main <fd> (started by innotv serve)", file=sys.stderr)
        return 2
    try:
        link = ServerSocket(int(argv[1]))
    except OSError as exc:
        print(f"live.worker_main: descriptor {argv[1]} is not our socket ({exc})", file=sys.stderr)
        return 2
    try:
        return serve(link)
    finally:
        link.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
