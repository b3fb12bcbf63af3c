"""Pure pieces of the live domain: the ladder, offer validation on real-world offers, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from innotv.app import create_app
from innotv.config import ConfigError
from kernel.errors import ApiError
from live.fmp4 import BoxSink
from live.ladder import PublisherLimits, fit_ladder, parse_ladder, publisher_ladder
from live.media import RenditionLog, Segment, peak_bitrate
from live.sdp import validate_offer
from tests.helpers import make_config

FINGERPRINT = "a=fingerprint:sha-256 " + ":".join(["AB"] * 32)
CHROME_LIKE = "\r\n".join([
    "v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0 1",
    "a=msid-semantic: WMS",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63", "c=IN IP4 0.0.0.0", "a=ice-ufrag:abcd",
    "a=ice-pwd:abcdefghijklmnopqrstuvwx", "a=ice-options:trickle",
    FINGERPRINT,
    "a=setup:actpass", "a=mid:0", "a=sendonly", "a=rtcp-mux", "a=rtpmap:111 opus/48000/2",
    "a=fmtp:111 minptime=10;useinbandfec=1", "a=rtpmap:63 red/48000/2",
    "m=video 9 UDP/TLS/RTP/SAVPF 96 102 103 108", "c=IN IP4 0.0.0.0", "a=ice-ufrag:abcd",
    "a=ice-pwd:abcdefghijklmnopqrstuvwx",
    FINGERPRINT,
    "a=setup:actpass", "a=mid:1", "a=sendonly", "a=rtcp-mux", "a=rtpmap:96 VP9/90000",
    "a=rtpmap:102 H264/90000",
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f",
    "a=rtpmap:103 H264/90000",
    "a=fmtp:103 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
    "a=rtpmap:108 AV1/90000", "",
])


def test_ladder_parsing_and_fitting() -> None:
    ladder = parse_ladder("360p30:800, 720p30:2800")
    assert [(r.name, r.width, r.height, r.fps, r.video_kbps) for r in ladder] == [
        ("720p", 1280, 720, 30, 2800), ("360p", 640, 360, 30, 800)]
    assert [r.name for r in fit_ladder(ladder, 1920, 1080)] == ["720p", "360p"]
    assert [(r.width, r.height) for r in fit_ladder(ladder, 640, 480)] == [(480, 360)]  # 4:3, no upscale
    assert [(r.name, r.width, r.height) for r in fit_ladder(ladder, 320, 240)] == [("240p", 320, 240)]
    for bad in ("", "720", "720p", "720p30:abc", "5000p30", "720p99", "720p30,720p25"):
        with pytest.raises(ValueError):
            parse_ladder(bad)


def test_a_publishers_ladder_is_the_configured_one_capped_by_what_it_can_send() -> None:
    ladder = parse_ladder("1080p30:5000,720p30:2800,360p30:800")

    def names(limits: PublisherLimits) -> list[tuple[str, int, int]]:
        return [(r.name, r.width, r.height) for r in publisher_ladder(ladder, limits)]

    assert names(PublisherLimits()) == [("1080p", 1920, 1080), ("720p", 1280, 720), ("360p", 640, 360)]
    assert names(PublisherLimits(size=(1280, 720))) == [("720p", 1280, 720), ("360p", 640, 360)]
    assert names(PublisherLimits(size=(720, 1280))) == [  # a phone held upright
        ("1080p", 608, 1080), ("720p", 404, 720), ("360p", 202, 360)]
    assert names(PublisherLimits(max_macroblocks=3600)) == [("720p", 1280, 720), ("360p", 640, 360)]
    assert names(PublisherLimits(size=(320, 180), max_macroblocks=3600)) == [("180p", 320, 180)]
    assert names(PublisherLimits(max_macroblocks=99)) == [("360p", 640, 360)]  # the lowest, at least


def test_a_picture_of_another_shape_is_bordered_not_stretched() -> None:
    import av

    from live.scaler import Scaler

    white = av.VideoFrame(640, 480, "yuv420p")  # 4:3 into a 16:9 rung: pillarbox
    for index, value in ((0, 235), (1, 128), (2, 128)):
        white.planes[index].update(bytes([value]) * white.planes[index].buffer_size)
    out = Scaler(640, 360)(white, 0)
    assert (out.width, out.height) == (640, 360)
    luma, stride = bytes(out.planes[0]), out.planes[0].line_size
    row = luma[180 * stride : 180 * stride + 640]
    assert max(row[:75]) < 40 and max(row[-75:]) < 40, "black borders left and right"
    assert min(row[90:550]) > 200, "the picture itself, 480 wide, in the middle"
    same_shape = Scaler(320, 180)(av.VideoFrame(1280, 720, "yuv420p"), 0)
    assert (same_shape.width, same_shape.height) == (320, 180)


def test_peak_segment_bit_rate_follows_rfc_8216() -> None:
    def seg(size: int | None, duration: float) -> Segment:
        return Segment(0, 0, duration, False, "seg-0.m4s", size)

    # 1 s segments: each one is a run of its own
    assert peak_bitrate([seg(100_000, 1.0), seg(300_000, 1.0)], 1.0) == 2_400_000
    # a 0.2 s tail is too short on its own (runs last 0.5-1.5 target durations): it joins the one before
    assert peak_bitrate([seg(100_000, 1.0), seg(50_000, 0.2)], 1.0) == 1_000_000
    assert peak_bitrate([seg(None, 1.0)], 1.0) == 0
    assert peak_bitrate([seg(300_000, 1.0), seg(100_000, 1.0)], 1.0, last_only=True) == 800_000


def test_browser_like_offers_are_judged_by_what_aiortc_can_take() -> None:
    summary = validate_offer(CHROME_LIKE.encode())
    assert summary.video_codecs == ("H264",) and summary.audio_codecs == ("OPUS",)
    only_high = CHROME_LIKE.replace("profile-level-id=42e01f", "profile-level-id=640c1f")
    with pytest.raises(ApiError) as err:
        validate_offer(only_high.encode())
    assert err.value.code == "unsupported_offer"
    assert "AV1" in err.value.message and "H264" in err.value.message and "VP9" in err.value.message
    receive_only = CHROME_LIKE.replace("a=sendonly", "a=recvonly")
    with pytest.raises(ApiError):
        validate_offer(receive_only.encode())
    assert validate_offer(receive_only.encode(), publishing=False).video_codecs == ()


def test_box_sink_splits_init_and_fragments_across_writes() -> None:
    def box(kind: bytes, body: bytes) -> bytes:
        return (8 + len(body)).to_bytes(4, "big") + kind + body

    stream = box(b"ftyp", b"isom") + box(b"moov", b"x" * 50) + box(b"moof", b"m") + box(b"mdat", b"d" * 99)
    sink = BoxSink()
    for i in range(0, len(stream), 7):  # arbitrary write boundaries
        sink.write(stream[i : i + 7])
    assert sink.init == stream[: 12 + 58]
    assert sink.take() == [box(b"moof", b"m") + box(b"mdat", b"d" * 99)]


@pytest.mark.parametrize("setting", [{"live_ladder": "720x"}, {"live_segment_s": 5.0},
                                     {"live_x264_preset": "placebo"}, {"live_window_segments": 1},
                                     {"live_worker_nice": 20}, {"live_worker_nice": -1},
                                     {"live_codec_threads": -1}, {"live_codec_threads": 65}])
def test_bad_live_settings_stop_the_start(tmp_path: Path, setting: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        create_app(make_config("sqlite", tmp_path / "data", None, **setting))


def test_target_duration_fits_rounded_segment_lengths(tmp_path: Path) -> None:
    """A segment a little over the segment length (a late keyframe) keeps the 1 s target, which
    players use for their distance from the live edge; one that rounds to 2 s raises it."""
    log = RenditionLog(tmp_path / "r", 1.0, 6)
    for duration in (1.0, 1.2, 1.49, 0.3):
        log.add(0, b"x", duration, False)
    assert "#EXT-X-TARGETDURATION:1\n" in log.live_text()
    log.add(0, b"x", 1.5, False)
    assert "#EXT-X-TARGETDURATION:2\n" in log.live_text()
    assert "#EXT-X-TARGETDURATION:2\n" in RenditionLog(tmp_path / "s", 1.5, 6).live_text()


def test_the_input_meter_measures_the_last_seconds() -> None:
    """What the stream health shows: pictures a second, kbit/s and size over a 5 s window."""
    from live.meter import InputMeter

    now = [100.0]
    meter = InputMeter(window_s=5.0, clock=lambda: now[0])
    assert meter.status() is None
    for _ in range(60):  # 30 pictures a second of 5,000 bytes each, for 2 s
        meter.packet(5_000)
        meter.picture(1280, 720)
        now[0] += 1 / 30
    assert meter.status() == {"width": 1280, "height": 720, "fps": 30.0, "kbps": 1200.0}
    now[0] += 10  # then nothing: the window is empty
    assert meter.status() is None
    for _ in range(25):  # the demo source: pictures, no encoded packets
        meter.picture(640, 360)
        now[0] += 0.2
    assert meter.status() == {"width": 640, "height": 360, "fps": pytest.approx(5.0, abs=0.25),
                              "kbps": None}
    meter.reset()
    assert meter.status() is None


def test_the_input_meter_reads_the_media_times_not_the_arrival() -> None:
    """A busy machine that handles 3 s of 15 fps video in a 1 s burst still reads 15 fps."""
    from live.meter import InputMeter

    now = [50.0]
    meter = InputMeter(window_s=5.0, clock=lambda: now[0])
    for i in range(45):
        meter.packet(2_000, media_t=i / 15)
        meter.picture(320, 240, media_t=i / 15)
        now[0] += 1 / 45
    status = meter.status()
    assert status is not None
    assert status["fps"] == pytest.approx(15.0, abs=0.1)
    assert status["kbps"] == pytest.approx(2_000 * 8 * 15 / 1000, rel=0.02)
