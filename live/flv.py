"""The audio and video payloads of RTMP messages (FLV tags): H.264 and AAC, as the worker takes them.

Video: byte 0 is the frame type (1: keyframe) and codec (7: AVC); then the AVC packet type (0: the
decoder configuration record with SPS and PPS, 1: NAL units with length prefixes) and a 24-bit
signed composition time offset (presentation minus decode time, non-zero with B-frames). We pass
the NAL units on in Annex B form, SPS and PPS in front of every keyframe, as a WebRTC publisher's
arrive. Enhanced RTMP's codecs (HEVC, AV1, VP9: the 0x80 bit with a FourCC) and the old ones
(Sorenson, VP6) are refused: `FlvError`.

Audio: byte 0 is the format (10: AAC) and layout; then the AAC packet type (0: the
AudioSpecificConfig, 1: a raw frame). Raw frames get a 7-byte ADTS header built from the config,
so the worker's AAC decoder needs nothing else. Other formats (MP3, Speex, ...) are refused.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

AVC = 7
AAC = 10
KEYFRAME = 1


class FlvError(ValueError):
    """A payload we do not take."""


@dataclass(frozen=True)
class AvcConfig:
    length_size: int
    parameter_sets: bytes  # SPS and PPS in Annex B form


@dataclass(frozen=True)
class VideoTag:
    keyframe: bool
    config: AvcConfig | None  # set for a sequence header
    nal_units: bytes  # length-prefixed NAL units (empty for a sequence header)
    composition_ms: int


def parse_video(payload: bytes) -> VideoTag | None:
    """None for what carries no picture (an end of sequence, a video info frame)."""
    if len(payload) < 5:
        raise FlvError("video message too short")
    if payload[0] & 0x80:
        raise FlvError("enhanced RTMP video (HEVC, AV1, VP9) is not taken: send H.264")
    frame_type, codec = payload[0] >> 4, payload[0] & 0x0F
    if codec != AVC:
        raise FlvError(f"video codec {codec} is not taken: send H.264")
    if frame_type == 5:
        return None
    packet_type = payload[1]
    composition = int.from_bytes(payload[2:5], "big", signed=True)
    if packet_type == 0:
        return VideoTag(True, parse_avc_config(payload[5:]), b"", 0)
    if packet_type == 1:
        return VideoTag(frame_type == KEYFRAME, None, payload[5:], composition)
    return None


def parse_avc_config(record: bytes) -> AvcConfig:
    """The AVCDecoderConfigurationRecord: NAL length size, SPS and PPS."""
    if len(record) < 7 or record[0] != 1:
        raise FlvError("bad AVC decoder configuration record")
    length_size = (record[4] & 0x03) + 1
    sets = bytearray()
    at = 5
    for count_mask in (0x1F, 0xFF):
        if at >= len(record):
            raise FlvError("bad AVC decoder configuration record")
        count = record[at] & count_mask
        at += 1
        for _ in range(count):
            if at + 2 > len(record):
                raise FlvError("bad AVC decoder configuration record")
            size = struct.unpack(">H", record[at : at + 2])[0]
            unit = record[at + 2 : at + 2 + size]
            if len(unit) != size:
                raise FlvError("bad AVC decoder configuration record")
            sets += b"\x00\x00\x00\x01" + unit
            at += 2 + size
    return AvcConfig(length_size, bytes(sets))


def annex_b(nal_units: bytes, length_size: int) -> bytes:
    """Length-prefixed NAL units in Annex B form (start codes)."""
    out = bytearray()
    at = 0
    while at + length_size <= len(nal_units):
        size = int.from_bytes(nal_units[at : at + length_size], "big")
        at += length_size
        if size == 0 or at + size > len(nal_units):
            raise FlvError("NAL unit length runs past the message")
        out += b"\x00\x00\x00\x01" + nal_units[at : at + size]
        at += size
    if at != len(nal_units):
        raise FlvError("trailing bytes after the NAL units")
    return bytes(out)


@dataclass(frozen=True)
class AudioTag:
    config: bytes | None  # the AudioSpecificConfig, for a sequence header
    frame: bytes  # a raw AAC frame


def parse_audio(payload: bytes) -> AudioTag:
    if len(payload) < 2:
        raise FlvError("audio message too short")
    if payload[0] >> 4 != AAC:
        raise FlvError(f"audio format {payload[0] >> 4} is not taken: send AAC")
    if payload[1] == 0:
        return AudioTag(payload[2:], b"")
    return AudioTag(None, payload[2:])


def adts_header(config: bytes, frame_length: int) -> bytes:
    """The ADTS header for one raw AAC frame of `frame_length` bytes, from an AudioSpecificConfig.
    HE-AAC signalled explicitly (object type 5 or 29) is described by its AAC-LC core, which the
    decoder extends by itself."""
    if len(config) < 2:
        raise FlvError("short AudioSpecificConfig")
    bits = int.from_bytes(config[:4].ljust(4, b"\0"), "big")
    object_type, rate_index, channels = bits >> 27, (bits >> 23) & 0x0F, (bits >> 19) & 0x0F
    if object_type in (5, 29):
        object_type = 2
    if not 1 <= object_type <= 4 or rate_index > 12 or channels > 7:
        raise FlvError("AudioSpecificConfig not describable in ADTS")
    total = frame_length + 7
    if total >= 1 << 13:
        raise FlvError("AAC frame too long")
    return bytes([
        0xFF, 0xF1,
        ((object_type - 1) << 6) | (rate_index << 2) | (channels >> 2),
        ((channels & 3) << 6) | (total >> 11),
        (total >> 3) & 0xFF,
        ((total & 7) << 5) | 0x1F,
        0xFC,
    ])
