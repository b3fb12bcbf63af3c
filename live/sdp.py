"""Our own check of a WHIP offer before aiortc sees it (aiortc accepts garbage silently).

An offer must be a well-formed SDP with ICE credentials and a DTLS fingerprint, one video section
offering VP8 or H.264 Constrained Baseline (profile-level-id 42e01f/42001f, packetization-mode 1:
what aiortc can receive; browsers and OBS offer it) and at most one audio section offering Opus
(none: a camera without a microphone; the media worker adds silence). Sound without a picture is
refused: the program is a video broadcast, and a host whose camera failed should hear so at once
rather than broadcast a still card. Simulcast (`a=simulcast`, `a=rid`) is refused. Every refusal
names what is wrong or unsupported.

`max_macroblocks(answer)` reads the largest frame the negotiated H.264 level (or VP8 `max-fs`)
allows, one of the caps on a publisher's ladder (ladder.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kernel.errors import ApiError

_LINE = re.compile(r"^[a-z]=.*$")
_RTPMAP = re.compile(r"^a=rtpmap:(\d+) ([A-Za-z0-9_.-]+)/(\d+)(?:/\d+)?$", re.ASCII)
_FMTP = re.compile(r"^a=fmtp:(\d+) (.*)$", re.ASCII)
_H264_PROFILES = ("42e01f", "42001f")
_MID = re.compile(r"^[A-Za-z0-9_.+-]{1,32}$")  # RFC 5888 identification-tag: a token


@dataclass
class _Section:
    kind: str
    direction: str = "sendrecv"
    codecs: dict[str, str] = field(default_factory=dict)  # payload type -> NAME/clock
    fmtp: dict[str, str] = field(default_factory=dict)
    simulcast: bool = False
    mids: list[str] = field(default_factory=list)  # a=mid values (a media section has one)
    bundle: list[str] | None = None  # a=group:BUNDLE mids (the session's)
    has_ufrag: bool = False
    has_fingerprint: bool = False


@dataclass(frozen=True)
class OfferSummary:
    video_codecs: tuple[str, ...]
    audio_codecs: tuple[str, ...]  # empty: the publisher sends no sound

    @property
    def has_audio(self) -> bool:
        return bool(self.audio_codecs)


def _bad(message: str) -> ApiError:
    return ApiError(400, "invalid_sdp", message)


def _unsupported(message: str) -> ApiError:
    return ApiError(400, "unsupported_offer", message)


def validate_offer(raw: bytes, publishing: bool = True) -> OfferSummary:
    """Raise ApiError(400) unless `raw` is an offer we can publish from (WHIP) or, with
    `publishing=False`, a well-formed offer to receive a preview (WHEP)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("The offer is not UTF-8 text.") from None
    lines = [line.rstrip("\r") for line in text.split("\n")]
    while lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0] != "v=0":
        raise _bad("The offer is not SDP: it must start with v=0.")
    for number, line in enumerate(lines, start=1):
        if not _LINE.match(line) or "\x00" in line:
            raise _bad(f"SDP line {number} is malformed.")
    if not any(line.startswith("o=") for line in lines) or not any(line.startswith("s=") for line in lines):
        raise _bad("The offer lacks its o= or s= line.")

    session = _Section("session")
    sections: list[_Section] = []
    current = session
    for line in lines:
        if line.startswith("m="):
            parts = line[2:].split()
            if len(parts) < 4 or not (parts[1].isascii() and parts[1].isdigit()):
                raise _bad("An m= line is malformed.")
            current = _Section(parts[0])
            sections.append(current)
            continue
        if line.startswith("a=ice-ufrag:"):
            current.has_ufrag = True
        elif line.startswith("a=fingerprint:"):
            current.has_fingerprint = True
        elif line.startswith(("a=simulcast", "a=rid:")):
            current.simulcast = True
        elif line.startswith("a=mid:"):
            current.mids.append(line[6:])
        elif line.startswith("a=group:BUNDLE"):
            current.bundle = line[len("a=group:BUNDLE"):].split()
        elif line in ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"):
            current.direction = line[2:]
        elif (m := _RTPMAP.match(line)) is not None:
            current.codecs[m.group(1)] = f"{m.group(2).upper()}/{m.group(3)}"
        elif (m := _FMTP.match(line)) is not None:
            current.fmtp[m.group(1)] = m.group(2).lower()

    if not sections:
        raise _bad("The offer has no media sections.")
    if any(s.simulcast for s in sections):
        raise _unsupported("Simulcast is not supported: send a single encoding (turn simulcast off).")
    for section in sections:
        if section.kind in ("audio", "video"):
            if not (section.has_ufrag or session.has_ufrag):
                raise _bad(f"The {section.kind} section has no a=ice-ufrag.")
            if not (section.has_fingerprint or session.has_fingerprint):
                raise _bad(f"The {section.kind} section has no a=fingerprint (DTLS is required).")
    if not publishing:
        receiving = [s for s in sections if s.kind in ("audio", "video")
                     and s.direction in ("sendrecv", "recvonly")]
        if not receiving:
            raise _unsupported("A preview offer must receive audio or video (recvonly).")
        _check_mids(session, sections)
        return OfferSummary((), ())
    videos = [s for s in sections if s.kind == "video" and s.direction in ("sendrecv", "sendonly")]
    audios = [s for s in sections if s.kind == "audio" and s.direction in ("sendrecv", "sendonly")]
    problems: list[str] = []
    if len(videos) != 1:
        problems.append("exactly one sending video track is needed" if videos else "no video track is sent")
    if len(audios) > 1:
        problems.append("at most one sending audio track is allowed")
    video_ok: list[str] = []
    audio_ok: list[str] = []
    if len(videos) == 1:
        offered = sorted({c.split("/")[0] for c in videos[0].codecs.values()})
        for pt, codec in videos[0].codecs.items():
            if codec == "VP8/90000":
                video_ok.append("VP8")
            elif codec == "H264/90000":
                fmtp = videos[0].fmtp.get(pt, "")
                baseline = any(f"profile-level-id={p}" in fmtp for p in _H264_PROFILES)
                if "packetization-mode=1" in fmtp and baseline:
                    video_ok.append("H264")
        if not video_ok:
            problems.append(
                "video must be VP8 or H.264 Constrained Baseline (profile-level-id 42e01f, "
                f"packetization-mode=1); offered: {', '.join(offered) or 'none'}"
            )
    if len(audios) == 1:
        offered = sorted({c.split("/")[0] for c in audios[0].codecs.values()})
        audio_ok = ["OPUS" for c in audios[0].codecs.values() if c == "OPUS/48000"]
        if not audio_ok:
            problems.append(f"audio must be Opus; offered: {', '.join(offered) or 'none'}")
    if problems:
        raise _unsupported("Unsupported offer: " + "; ".join(problems) + ".")
    _check_mids(session, sections)
    return OfferSummary(tuple(sorted(set(video_ok))), tuple(sorted(set(audio_ok))))


def _check_mids(session: _Section, sections: list[_Section]) -> None:
    """Media ids: at most one per section, not empty, unique; a BUNDLE group names media sections
    only, each once, and its first is there (aiortc 1.16 moves the other bundled sections onto the
    first one's transport: an absent first answers, then fails to connect with no error)."""
    mids: list[str] = []
    for section in sections:
        if len(section.mids) > 1 or (section.mids and not _MID.match(section.mids[0])):
            raise _bad(f"The {section.kind} section's a=mid is malformed.")
        mids.extend(section.mids)
    if len(set(mids)) != len(mids):
        raise _bad("Two media sections have the same a=mid.")
    bundle = session.bundle
    if bundle is not None and (not bundle or len(set(bundle)) != len(bundle) or not set(bundle) <= set(mids)):
        raise _bad("The a=group:BUNDLE line must name media sections' a=mid, each once.")


def chosen_video_codec(answer_sdp: str) -> str | None:
    """"h264" or "vp8": the first payload type of the answer's video section."""
    in_video = False
    first_pt: str | None = None
    for line in answer_sdp.splitlines():
        if line.startswith("m="):
            parts = line.split()
            in_video = line.startswith("m=video")
            first_pt = parts[3] if in_video and len(parts) > 3 else None
        elif in_video and first_pt and line.startswith(f"a=rtpmap:{first_pt} "):
            name = line.split(" ", 1)[1].split("/", 1)[0].lower()
            return name if name in ("h264", "vp8") else None
    return None


# H.264 Table A-1: level_idc -> MaxFS (macroblocks per frame).
_H264_MAX_FS = {10: 99, 9: 99, 11: 396, 12: 396, 13: 396, 20: 396, 21: 792, 22: 1620, 30: 1620,
                31: 3600, 32: 5120, 40: 8192, 41: 8192, 42: 8704, 50: 22080, 51: 36864, 52: 36864}


def max_macroblocks(answer_sdp: str) -> int | None:
    """The largest frame (in 16x16 macroblocks) the answer's video codec lets the publisher send:
    from the H.264 level of `profile-level-id`, or VP8's `max-fs`; None when it says nothing."""
    in_video = False
    first_pt: str | None = None
    for line in answer_sdp.splitlines():
        if line.startswith("m="):
            parts = line.split()
            in_video = line.startswith("m=video")
            first_pt = parts[3] if in_video and len(parts) > 3 else None
        elif in_video and first_pt and line.startswith(f"a=fmtp:{first_pt} "):
            params = dict(p.split("=", 1) for p in line.split(" ", 1)[1].split(";") if "=" in p)
            params = {k.strip().lower(): v.strip() for k, v in params.items()}
            level = params.get("profile-level-id", "")
            if len(level) == 6 and all(c in "0123456789abcdefABCDEF" for c in level):
                return _H264_MAX_FS.get(int(level[4:], 16))
            if params.get("max-fs", "").isdigit():
                return int(params["max-fs"])
    return None
