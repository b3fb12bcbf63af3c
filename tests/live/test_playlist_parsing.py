"""Reading our live playlists and the delivery directives of a blocking reload (`live/blocking.py`):
pure parsing, no server."""

from __future__ import annotations

import pytest

from live.blocking import DirectiveError, parse_directives, parse_playlist

LIVE = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:1
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES
#EXT-X-MEDIA-SEQUENCE:40
#EXT-X-DISCONTINUITY-SEQUENCE:2
#EXT-X-MAP:URI="init-3.mp4"
#EXTINF:1.000,
seg-40.m4s
#EXTINF:1.000,
seg-41.m4s
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="init-4.mp4"
#EXTINF:0.967,
seg-42.m4s
"""


def test_a_live_playlist_tells_its_last_segment_and_target() -> None:
    state = parse_playlist(LIVE)
    assert (state.last_msn, state.target_s, state.ended) == (42, 1, False)
    assert state.satisfies(42) and not state.satisfies(43)
    assert state.hold_s == 3.0
    ended = parse_playlist(LIVE + "#EXT-X-ENDLIST\n")
    assert ended.ended and ended.satisfies(10_000)


def test_an_empty_or_odd_playlist_is_read_without_failing() -> None:
    assert parse_playlist("#EXTM3U\n").last_msn == -1
    odd = parse_playlist("#EXTM3U\n#EXT-X-TARGETDURATION:x\n#EXT-X-MEDIA-SEQUENCE:\nseg-0.m4s\n")
    assert (odd.last_msn, odd.target_s) == (0, 1)


def test_delivery_directives() -> None:
    assert parse_directives({}).msn is None
    got = parse_directives({"_HLS_msn": ["41"], "_HLS_part": ["2"], "_HLS_skip": ["YES"]})
    assert (got.msn, got.part, got.skip) == (41, 2, "YES")


@pytest.mark.parametrize("given", [
    {"_HLS_msn": ["1", "2"]},
    {"_HLS_msn": ["-1"]},
    {"_HLS_msn": ["1e3"]},
    {"_HLS_msn": ["１２"]},  # full-width digits are not decimal ASCII
    {"_HLS_msn": ["9" * 13]},
    {"_HLS_part": ["1"]},
    {"_HLS_msn": ["1"], "_HLS_skip": ["yes"]},
])
def test_malformed_directives_are_refused(given: dict[str, list[str]]) -> None:
    with pytest.raises(DirectiveError) as err:
        parse_directives(given)
    assert err.value.code == "bad_delivery_directive"
