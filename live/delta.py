"""Playlist Delta Updates (`_HLS_skip=YES|v2`, RFC 8216bis 6.2.5.1 and 4.4.5.2).

A live playlist with partial segments says `CAN-SKIP-UNTIL=<seconds>` (the Skip Boundary, six
target durations: llhls.py). Asked for a delta update, the server leaves out the oldest segments,
those that end at least the Skip Boundary before the end of the playlist, and says how many with
`EXT-X-SKIP:SKIPPED-SEGMENTS=<n>` in their place; the client keeps them from its previous copy.
The Media Sequence and Discontinuity Sequence numbers stay those of the full playlist. The
`EXT-X-MAP` in force is repeated before the first segment shown when it was among the skipped
ones. EXT-X-SKIP needs protocol version 9. A playlist that has nothing old enough to skip (a
window shorter than the boundary, or no CAN-SKIP-UNTIL) is answered whole; we hold no
EXT-X-DATERANGE tags, so `v2` is the same as `YES`.

This is done on the text the media worker wrote, when the request is answered.
"""

from __future__ import annotations

import re

_SKIP_UNTIL = re.compile(r"CAN-SKIP-UNTIL=([0-9]+(?:\.[0-9]+)?)")
# Tags that belong to the segment after them (EXT-X-DISCONTINUITY is matched whole: the playlist's
# EXT-X-DISCONTINUITY-SEQUENCE shares its start and stays in the head).
_SEGMENT_TAGS = ("#EXTINF:", "#EXT-X-MAP:", "#EXT-X-PART:", "#EXT-X-PROGRAM-DATE-TIME:", "#EXT-X-BITRATE:",
                 "#EXT-X-KEY:")
_SEGMENT_FLAGS = ("#EXT-X-DISCONTINUITY", "#EXT-X-GAP")


def _is_segment_tag(line: str) -> bool:
    return line in _SEGMENT_FLAGS or line.startswith(_SEGMENT_TAGS)
SKIP_VERSION = 9


def _duration(line: str) -> float:
    try:
        return float(line.split(":", 1)[1].split(",", 1)[0])
    except ValueError:
        return 0.0


def delta_update(text: str) -> str:
    """The delta update of a live media playlist (the playlist itself when nothing is skipped)."""
    found = _SKIP_UNTIL.search(text)
    if found is None or "#EXT-X-ENDLIST" in text:
        return text
    boundary = float(found.group(1))
    lines = text.splitlines()
    head: list[str] = []
    blocks: list[list[str]] = []  # each segment: its tags and its URI
    pending: list[str] = []  # tags of the next segment (or, at the end, what follows the last)
    for line in lines:
        if not blocks and not pending and not _is_segment_tag(line) and (
                line.startswith("#") or not line):
            head.append(line)
        elif line.startswith("#") or not line:
            pending.append(line)
        else:
            blocks.append([*pending, line])
            pending = []
    durations = [sum(_duration(x) for x in b if x.startswith("#EXTINF:")) for b in blocks]
    after = sum(_duration(x) for x in pending if x.startswith("#EXT-X-PART:"))
    skipped = 0
    remaining = sum(durations) + after
    for duration in durations[:-1]:  # the last segment is always shown
        remaining -= duration
        if remaining < boundary:
            break
        skipped += 1
    if skipped == 0:
        return text
    map_line = next((x for b in reversed(blocks[:skipped]) for x in reversed(b)
                     if x.startswith("#EXT-X-MAP:")), None)
    kept = blocks[skipped:]
    first = kept[0]
    if map_line is not None and not any(x.startswith("#EXT-X-MAP:") for x in first):
        first = [map_line, *first]
    head = [f"#EXT-X-VERSION:{SKIP_VERSION}" if x.startswith("#EXT-X-VERSION:") else x for x in head]
    body = [f"#EXT-X-SKIP:SKIPPED-SEGMENTS={skipped}", *first, *(x for b in kept[1:] for x in b)]
    return "\n".join(head + body + pending) + "\n"
