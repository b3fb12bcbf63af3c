"""Offer checks (`live/sdp.py`) before aiortc sees an offer: every refusal, by its code and what
its message names, and which codec an answer chose. Pure: no server, no WebRTC."""

from __future__ import annotations

import pytest

from kernel.errors import ApiError
from live.sdp import chosen_video_codec, max_macroblocks, validate_offer

from .test_units import CHROME_LIKE

REFUSED: list[tuple[str, bytes, str, str]] = [
    ("not utf-8", b"v=0\r\n\xff\xfe", "invalid_sdp", "UTF-8"),
    ("empty", b"", "invalid_sdp", "v=0"),
    ("html", b"<html>hello</html>", "invalid_sdp", "v=0"),
    ("a malformed line", b"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nbad line\r\n", "invalid_sdp", "line 4"),
    ("a NUL byte", CHROME_LIKE.replace("s=-", "s=-\x00").encode(), "invalid_sdp", "line 3"),
    ("no o= line", CHROME_LIKE.replace("o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n", "").encode(),
     "invalid_sdp", "o="),
    ("no media", b"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "invalid_sdp", "no media"),
    ("a short m= line", CHROME_LIKE.replace("m=audio 9 UDP/TLS/RTP/SAVPF 111 63", "m=audio 9").encode(),
     "invalid_sdp", "m= line"),
    ("no ICE credentials", CHROME_LIKE.replace("a=ice-ufrag:abcd\r\n", "").encode(), "invalid_sdp",
     "ice-ufrag"),
    ("no DTLS fingerprint", "\r\n".join(
        line for line in CHROME_LIKE.split("\r\n") if not line.startswith("a=fingerprint")).encode(),
     "invalid_sdp", "fingerprint"),
    ("simulcast", CHROME_LIKE.replace("a=mid:1", "a=mid:1\r\na=simulcast:send h;l").encode(),
     "unsupported_offer", "Simulcast"),
    ("High-profile H.264 only", CHROME_LIKE.replace("profile-level-id=42e01f", "profile-level-id=640c1f")
     .encode(), "unsupported_offer", "Constrained Baseline"),
    ("no Opus", CHROME_LIKE.replace("a=rtpmap:111 opus/48000/2", "a=rtpmap:111 PCMU/8000").encode(),
     "unsupported_offer", "Opus"),
    ("two video tracks", (CHROME_LIKE + CHROME_LIKE[CHROME_LIKE.index("m=video"):]).encode(),
     "unsupported_offer", "exactly one sending video"),
    ("sound without a picture", CHROME_LIKE[: CHROME_LIKE.index("m=video")].encode(),
     "unsupported_offer", "no video track is sent"),
    ("two audio tracks", (CHROME_LIKE[: CHROME_LIKE.index("m=video")] + CHROME_LIKE[
        CHROME_LIKE.index("m=audio"):]).encode(), "unsupported_offer", "at most one sending audio"),
]


@pytest.mark.parametrize(("case", "offer", "code", "named"), REFUSED, ids=[c[0] for c in REFUSED])
def test_a_bad_offer_is_refused_with_a_reason(case: str, offer: bytes, code: str, named: str) -> None:
    with pytest.raises(ApiError) as err:
        validate_offer(offer)
    assert (err.value.status, err.value.code) == (400, code), case
    assert named in err.value.message, (case, err.value.message)


def test_a_vp8_offer_and_a_preview_offer_pass() -> None:
    vp8 = CHROME_LIKE.replace("a=rtpmap:96 VP9/90000", "a=rtpmap:96 VP8/90000")
    assert validate_offer(vp8.encode()).video_codecs == ("H264", "VP8")
    preview = CHROME_LIKE.replace("a=sendonly", "a=recvonly")
    assert validate_offer(preview.encode(), publishing=False).audio_codecs == ()
    with pytest.raises(ApiError) as err:
        validate_offer(CHROME_LIKE.replace("a=sendonly", "a=inactive").encode(), publishing=False)
    assert err.value.code == "unsupported_offer"


def test_the_answer_tells_which_video_codec_was_chosen() -> None:
    answer = "\r\n".join(["v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=rtpmap:111 opus/48000/2",
                          "m=video 9 UDP/TLS/RTP/SAVPF 102 96", "a=rtpmap:96 VP8/90000",
                          "a=rtpmap:102 H264/90000", ""])
    assert chosen_video_codec(answer) == "h264"
    assert chosen_video_codec(answer.replace("SAVPF 102 96", "SAVPF 96 102")) == "vp8"
    assert chosen_video_codec(answer.replace("VP8", "VP9").replace("SAVPF 102 96", "SAVPF 96")) is None
    assert chosen_video_codec("v=0\r\n") is None


def test_a_camera_without_a_microphone_may_publish() -> None:
    video_only = CHROME_LIKE[CHROME_LIKE.index("m=video"):]
    # (the bundle then names the video section only, as a browser's offer does)
    head = CHROME_LIKE[: CHROME_LIKE.index("m=audio")].replace("BUNDLE 0 1", "BUNDLE 1")
    no_audio_section = head + video_only
    summary = validate_offer(no_audio_section.encode())
    assert summary.video_codecs == ("H264",) and not summary.has_audio
    # a browser that added an audio transceiver but has no track sends nothing on it
    inactive = CHROME_LIKE.replace("a=mid:0\r\na=sendonly", "a=mid:0\r\na=inactive")
    assert not validate_offer(inactive.encode()).has_audio
    assert validate_offer(CHROME_LIKE.encode()).has_audio


def test_the_answer_tells_the_largest_frame_the_publisher_may_send() -> None:
    answer = "\r\n".join(["v=0", "m=video 9 UDP/TLS/RTP/SAVPF 102", "a=rtpmap:102 H264/90000",
                          "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
                          ""])
    assert max_macroblocks(answer) == 3600  # level 3.1: 1280x720
    assert max_macroblocks(answer.replace("42e01f", "42e028")) == 8192  # level 4: 1920x1080
    vp8 = "\r\n".join(["v=0", "m=video 9 UDP/TLS/RTP/SAVPF 96", "a=rtpmap:96 VP8/90000", ""])
    assert max_macroblocks(vp8) is None
    assert max_macroblocks(vp8 + "a=fmtp:96 max-fs=1200\r\n") == 1200
