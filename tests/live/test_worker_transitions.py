"""The media worker's state machine (`WorkerLoop`) driven directly, one transition at a time:
real PyAV frames and packets (160x90, 15 fps), real encoders, a real ProgramMedia in tmp_path,
and a fake monotonic clock, so silence, the slate and the retry delay need no sleeping."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest

from live.ladder import PublisherLimits, parse_ladder
from live.media import ProgramMedia
from live.source import AUDIO_SAMPLES, TestPattern, Tone
from live.worker import WorkerLoop, WorkerSettings

FPS = 15
# 180p is taller than the 160x90 source a publisher announces, so its ladder is 90p only
LADDER = parse_ladder("180p15:200,90p15:100")
WALL = 1_800_000_000.0  # the fake wall clock's offset from the fake monotonic one
SLATE_AFTER_S = 0.5


class Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Source:
    """A publisher: test pattern pictures and tone sounds in real-time proportion."""

    def __init__(self) -> None:
        self.pattern = TestPattern(160, 90, FPS)
        self.tone = Tone()

    def picture(self) -> av.VideoFrame:
        return self.pattern.next_frame(stamp_ms=0)

    def sounds(self) -> list[av.AudioFrame]:
        """The sound due up to the pictures taken so far."""
        out = []
        while self.tone.index * AUDIO_SAMPLES * FPS < self.pattern.index * 48_000:
            out.append(self.tone.next_frame())
        return out


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def source() -> Iterator[Source]:
    src = Source()
    yield src
    src.pattern.close()


ANNOUNCED = PublisherLimits(size=(160, 90))


def make_loop(tmp_path: Path, clock: Clock, passthrough: bool = True,
              announce: PublisherLimits | None = ANNOUNCED) -> WorkerLoop:
    """A loop whose publishers "a", "b" and "c" announce `announce` (None: say nothing)."""
    media = ProgramMedia(tmp_path, "p", 1.0, 6)
    settings = WorkerSettings(LADDER, 1.0, "ultrafast", SLATE_AFTER_S, 60, passthrough=passthrough, threads=1)
    loop = WorkerLoop(media, settings, clock=clock, wall=lambda: clock.now + WALL)
    if announce is not None:
        for epoch in "abc":
            loop.handle("publisher", epoch, announce)
    return loop


def feed(loop: WorkerLoop, clock: Clock, source: Source, epoch: str, seconds: float) -> None:
    """`seconds` of the publisher's pictures and sound, as the queue would hand them over."""
    for _ in range(round(seconds * FPS)):
        clock.advance(1 / FPS)
        loop.handle("video", epoch, source.picture())
        for sound in source.sounds():
            loop.handle("audio", epoch, sound)


def test_first_picture_starts_a_live_session_with_the_rungs_the_publisher_announced(
        tmp_path: Path, clock: Clock, source: Source) -> None:
    loop = make_loop(tmp_path, clock)
    assert (loop.mode, loop.session, loop.timeout()) == ("idle", None, None)
    small = source.picture().reformat(width=96, height=54)  # WebRTC starts small
    loop.handle("video", "a", small)
    assert (loop.mode, loop.session_kind, loop.epoch) == ("live", "encode", "a")
    assert [(r.name, r.width, r.height) for r in loop.media.rungs] == [("90p", 160, 90)]
    assert loop.session is not None and loop.session.last_video_t == loop.session.t0
    assert loop.timeout() == pytest.approx(SLATE_AFTER_S)
    assert loop.errors == 0


def test_without_an_announcement_the_ladder_is_the_configured_one(
        tmp_path: Path, clock: Clock, source: Source) -> None:
    loop = make_loop(tmp_path, clock, announce=None)
    loop.handle("video", "a", source.picture().reformat(width=96, height=54))
    assert [(r.name, r.width, r.height) for r in loop.media.rungs] == [("180p", 320, 180), ("90p", 160, 90)]
    # H.264 level 1.1 allows 396 macroblocks (352x288): 180p (20x12 = 240) fits, a 240p rung would not
    capped = make_loop(tmp_path / "capped", clock, announce=PublisherLimits(max_macroblocks=99))
    capped.handle("video", "a", source.picture())
    assert [r.name for r in capped.media.rungs] == ["90p"]


def test_every_picture_leaves_at_its_rungs_size_whatever_comes_in(
        tmp_path: Path, clock: Clock, source: Source) -> None:
    loop = make_loop(tmp_path, clock, announce=None)
    for width, height in ((96, 54), (160, 90), (120, 90), (320, 180)):  # growing, another shape
        for _ in range(FPS):
            clock.advance(1 / FPS)
            loop.handle("video", "a", source.picture().reformat(width=width, height=height))
            for sound in source.sounds():
                loop.handle("audio", "a", sound)
    loop.handle("stop", True, None)
    for rung in loop.media.rungs:
        log = loop.media.logs[rung.name]
        assert len(log.segments) >= 4
        for seg in log.segments:
            data = (log.dir / f"init-{seg.init}.mp4").read_bytes() + (log.dir / seg.file).read_bytes()
            with av.open(io.BytesIO(data), "r", format="mp4") as container:
                sizes = {(f.width, f.height) for f in container.decode(video=0)}
            assert sizes == {(rung.width, rung.height)}, (rung.name, seg.file, sizes)


def test_sound_before_any_picture_is_ignored(tmp_path: Path, clock: Clock, source: Source) -> None:
    loop = make_loop(tmp_path, clock)
    for _ in range(5):
        loop.handle("audio", "a", source.tone.next_frame())
    assert (loop.mode, loop.session, loop.media.rungs, loop.epoch) == ("idle", None, (), None)
    loop.handle("video", "a", source.picture())
    for _ in range(2):  # 2 x 960 samples: one 1024-sample AAC frame out of the resampler
        loop.handle("audio", "a", source.tone.next_frame())
    assert loop.mode == "live" and loop.session is not None and loop.session.audio_samples == 1024


def _to_slate_after_gone(tmp_path: Path, clock: Clock, source: Source) -> WorkerLoop:
    loop = make_loop(tmp_path, clock)
    feed(loop, clock, source, "a", 1.4)
    live_session = loop.session
    loop.handle("gone", "a", None)
    assert (loop.mode, loop.session_kind) == ("slate", "slate")
    assert loop.session is not live_session and "a" in loop.finished_epochs
    return loop


def test_publisher_gone_gets_the_slate_after_a_discontinuity(
        tmp_path: Path, clock: Clock, source: Source) -> None:
    loop = _to_slate_after_gone(tmp_path, clock, source)
    assert loop.slate_frames == 1  # the first slate picture at once
    assert loop.timeout() == pytest.approx(1 / FPS)
    clock.advance(1.5)
    loop.handle("tick", None, None)
    assert loop.slate_frames == 1 + round(1.5 * FPS)
    assert loop.session is not None and loop.session.audio_samples >= 1.5 * 48_000
    segments = loop.media.logs["90p"].segments
    live = [s for s in segments if s.init == 0]
    slate = [s for s in segments if s.init == 1]
    assert live and not any(s.discontinuity for s in live)
    assert slate and slate[0].discontinuity  # the slate's first segment
    assert slate[0].seq == live[-1].seq + 1


def test_a_new_epoch_after_the_slate_starts_a_new_live_session(
        tmp_path: Path, clock: Clock, source: Source) -> None:
    loop = _to_slate_after_gone(tmp_path, clock, source)
    slate_session = loop.session
    assert slate_session is not None
    clock.advance(0.5)
    loop.on_tick()
    loop.handle("video", "b", source.picture())
    assert (loop.mode, loop.session_kind, loop.epoch) == ("live", "encode", "b")
    assert loop.session is not slate_session and loop.session is not None
    assert loop.session.t0 == pytest.approx(slate_session.end_t)  # the timeline only moves forward
    assert loop.session.last_video_t == loop.session.t0  # its first picture starts it
    feed(loop, clock, source, "b", 0.5)
    loop.handle("stop", True, None)
    assert loop.recorded is True
    segments = loop.media.logs["90p"].segments
    assert [s.seq for s in segments if s.discontinuity] == [  # live -> slate -> live
        next(s.seq for s in segments if s.slate), next(s.seq for s in segments if s.init == 2)]


def test_frames_of_a_finished_epoch_are_ignored(tmp_path: Path, clock: Clock, source: Source) -> None:
    loop = _to_slate_after_gone(tmp_path, clock, source)
    slate_session = loop.session
    loop.handle("video", "a", source.picture())  # the publisher that left
    loop.handle("audio", "a", source.tone.next_frame())
    assert (loop.mode, loop.session) == ("slate", slate_session)
    # a publisher replaced by a new one without a "gone" is finished too
    feed(loop, clock, source, "b", 0.2)
    b_session = loop.session
    loop.handle("video", "c", source.picture())
    assert loop.epoch == "c" and "b" in loop.finished_epochs
    c_session = loop.session
    assert c_session is not b_session and c_session is not None
    pictures = c_session.last_video_t
    loop.handle("video", "b", source.picture())
    loop.handle("audio", "b", source.tone.next_frame())
    loop.handle("gone", "b", None)  # not the live publisher: nothing happens
    assert (loop.mode, loop.epoch, loop.session, c_session.last_video_t) == ("live", "c", c_session, pictures)


def test_silence_longer_than_slate_after_s_gets_the_slate_then_the_publisher_resumes(
        tmp_path: Path, clock: Clock, source: Source) -> None:
    loop = make_loop(tmp_path, clock)
    feed(loop, clock, source, "a", 0.5)
    clock.advance(SLATE_AFTER_S - 0.01)
    loop.handle("tick", None, None)
    assert loop.mode == "live"
    assert loop.timeout() == pytest.approx(0.01)
    clock.advance(0.01)
    loop.handle("tick", None, None)
    assert (loop.mode, loop.session_kind) == ("slate", "slate")
    assert "a" not in loop.finished_epochs  # silent, not gone
    clock.advance(0.3)
    loop.on_tick()
    loop.handle("video", "a", source.picture())  # the same publisher speaks again
    assert (loop.mode, loop.session_kind, loop.epoch) == ("live", "encode", "a")
    assert loop.session is not None and loop.session.last_video_t == loop.session.t0


def test_stop_with_finalise_ends_the_live_playlists(tmp_path: Path, clock: Clock, source: Source) -> None:
    loop = make_loop(tmp_path, clock)
    feed(loop, clock, source, "a", 1.5)
    loop.handle("stop", True, None)
    assert (loop.mode, loop.recorded, loop.session) == ("stopped", True, None)
    assert (loop.media.dir / "90p" / "live.m3u8").read_text().rstrip().endswith("#EXT-X-ENDLIST")
    assert not list(loop.media.dir.glob("**/vod.m3u8")), "the server writes the replay (replay.py)"


def test_segments_carry_their_wall_clock_start_and_slate_segments_say_so(
        tmp_path: Path, clock: Clock, source: Source) -> None:
    started = clock.now + 1 / FPS  # the first picture
    loop = _to_slate_after_gone(tmp_path, clock, source)
    clock.advance(1.5)
    loop.handle("tick", None, None)
    loop.handle("stop", True, None)
    segments = loop.media.logs["90p"].segments
    live, slate = [s for s in segments if not s.slate], [s for s in segments if s.slate]
    assert live and slate and all(s.init == 0 for s in live) and all(s.init == 1 for s in slate)
    assert live[0].at == round((started + WALL) * 1000)
    assert live[1].at == live[0].at + round(live[0].duration * 1000)
    assert slate[0].at is not None and slate[0].at >= live[-1].at
    assert all(s.size and s.size > 0 for s in segments)


def test_stop_without_finalise_writes_no_replay(tmp_path: Path, clock: Clock, source: Source) -> None:
    loop = make_loop(tmp_path, clock)
    feed(loop, clock, source, "a", 1.5)
    loop.handle("stop", False, None)
    assert (loop.mode, loop.recorded, loop.session) == ("stopped", False, None)
    assert len(loop.media.logs["90p"].segments) == 2  # the session was closed: its tail written
    assert not list(loop.media.dir.glob("**/vod.m3u8"))
    assert "#EXT-X-ENDLIST" not in (loop.media.dir / "90p" / "live.m3u8").read_text()


def test_stop_before_anything_records_nothing(tmp_path: Path, clock: Clock) -> None:
    loop = make_loop(tmp_path, clock)
    assert loop.on_stop(True) is False and loop.mode == "stopped"


def test_a_frame_that_raises_is_counted_and_frames_wait_for_the_retry_time(
        tmp_path: Path, clock: Clock, source: Source, caplog: pytest.LogCaptureFixture) -> None:
    loop = make_loop(tmp_path, clock)
    feed(loop, clock, source, "a", 0.5)
    loop.handle("video", "a", source.tone.next_frame())  # sound offered as a picture: the encoder raises
    assert (loop.errors, loop.mode, loop.session, loop.epoch) == (1, "idle", None, None)
    assert "a frame failed" in caplog.text
    assert loop.retry_at == clock.now + WorkerLoop.RETRY_S and loop.timeout() is None
    clock.advance(WorkerLoop.RETRY_S)  # up to and including the retry time: dropped
    loop.handle("video", "a", source.picture())
    loop.handle("video", "b", source.picture())
    assert (loop.mode, loop.session) == ("idle", None)
    clock.advance(0.001)
    loop.handle("video", "a", source.picture())  # the same publisher: a new session
    assert (loop.mode, loop.epoch, loop.errors) == ("live", "a", 1)


# ---- encoded packets (what the WHIP ingest hands over) ----

def _h264_packets(source: Source, count: int, size: tuple[int, int] = (160, 90),
                  first_pts: int = 0) -> list[av.Packet[Any]]:
    """`count` pictures as a publisher's H.264 (a keyframe first, then every second)."""
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = size[0], size[1], "yuv420p"
    enc.time_base, enc.framerate = Fraction(1, 90_000), Fraction(FPS)
    enc.options = {"preset": "ultrafast", "tune": "zerolatency", "x264-params": f"keyint={FPS}"}
    packets = []
    for i in range(count):
        picture = source.picture()
        if (picture.width, picture.height) != size:
            picture = picture.reformat(width=size[0], height=size[1])
        picture.pts = first_pts + i * 90_000 // FPS
        packets += enc.encode(picture)
    packets += enc.encode(None)
    return [_received(bytes(p), p.pts, Fraction(1, 90_000), bool(p.is_keyframe)) for p in packets]


def _opus_packets(source: Source, count: int) -> list[av.Packet[Any]]:
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate, enc.layout, enc.format = 48_000, "stereo", "s16"
    packets = [p for _ in range(count) for p in enc.encode(source.tone.next_frame())]
    return [_received(bytes(p), p.pts, Fraction(1, 48_000), True) for p in packets]


def _received(data: bytes, pts: int | None, time_base: Fraction, keyframe: bool) -> av.Packet[Any]:
    """A packet as worker_main builds it from the server's message."""
    packet = av.Packet(data)
    packet.pts = packet.dts = pts
    packet.time_base = time_base
    packet.is_keyframe = keyframe
    return packet


def test_h264_at_the_top_rungs_size_is_passed_through(tmp_path: Path, clock: Clock, source: Source) -> None:
    loop = make_loop(tmp_path, clock)
    opus = _opus_packets(source, 10)
    loop.handle("packet", "a", ("opus", opus[0]))  # sound before any picture: not even decoded
    assert (loop.mode, loop.decoders) == ("idle", {})
    video = _h264_packets(source, 5)
    for packet in video:
        loop.handle("packet", "a", ("h264", packet))
    assert (loop.mode, loop.session_kind, loop.packets) == ("live", "passthrough", len(video))
    for packet in opus[1:]:
        loop.handle("packet", "a", ("opus", packet))
    assert loop.session is not None and loop.session.audio_samples > 0
    assert loop.decode_errors == 0


def test_h264_is_encoded_when_pass_through_is_off(tmp_path: Path, clock: Clock, source: Source) -> None:
    loop = make_loop(tmp_path, clock, passthrough=False)
    loop.handle("packet", "a", ("h264", _h264_packets(source, 1)[0]))
    assert (loop.mode, loop.session_kind, loop.packets) == ("live", "encode", 1)


def test_a_packet_that_does_not_decode_is_counted_and_skipped(tmp_path: Path, clock: Clock) -> None:
    loop = make_loop(tmp_path, clock)
    loop.handle("packet", "a", ("h264", _received(bytes(100), 0, Fraction(1, 90_000), False)))
    assert (loop.decode_errors, loop.packets, loop.errors, loop.mode) == (1, 1, 0, "idle")


def test_pass_through_only_while_the_pictures_have_the_top_rungs_exact_size(
        tmp_path: Path, clock: Clock, source: Source) -> None:
    loop = make_loop(tmp_path, clock)
    kinds = []
    pts = 0
    for size in ((96, 54), (160, 90), (128, 72), (160, 90)):  # a browser ramping up, then down and up
        for packet in _h264_packets(source, FPS, size, pts):
            clock.advance(1 / FPS)
            loop.handle("packet", "a", ("h264", packet))
            kinds.append(loop.session_kind)
        pts += 90_000
    runs = [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]
    assert runs == ["encode", "passthrough", "encode", "passthrough"]
    loop.handle("stop", True, None)
    log = loop.media.logs["90p"]
    assert len({s.init for s in log.segments}) == 4 and sum(s.discontinuity for s in log.segments) == 3
    for seg in log.segments:  # every segment of the rung at its size, passed through or encoded
        data = (log.dir / f"init-{seg.init}.mp4").read_bytes() + (log.dir / seg.file).read_bytes()
        with av.open(io.BytesIO(data), "r", format="mp4") as container:
            assert {(f.width, f.height) for f in container.decode(video=0)} == {(160, 90)}


def test_a_publisher_without_sound_gets_silence(tmp_path: Path, clock: Clock, source: Source) -> None:
    loop = make_loop(tmp_path, clock, announce=PublisherLimits(size=(160, 90), audio=False))
    for _ in range(round(1.5 * FPS)):
        clock.advance(1 / FPS)
        loop.handle("video", "a", source.picture())  # pictures only
    session = loop.session
    assert session is not None and session.last_video_t is not None
    assert session.audio_samples >= (session.last_video_t - session.t0) * 48_000
    loop.handle("stop", True, None)
    log = loop.media.logs["90p"]
    seg = log.segments[0]
    data = (log.dir / f"init-{seg.init}.mp4").read_bytes() + (log.dir / seg.file).read_bytes()
    with av.open(io.BytesIO(data), "r", format="mp4") as container:
        sound = [f for f in container.decode(audio=0)]
    assert sound and sound[0].format.name == "fltp"
    samples = [v for f in sound for p in f.planes for (v,) in struct.iter_unpack("<f", bytes(p))]
    assert samples and max(abs(v) for v in samples) < 1e-3, "silence"
