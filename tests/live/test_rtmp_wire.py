"""The RTMP wire formats read by the ingest, without a server: the handshake in both forms, chunk
streams cut at any byte, AMF0, FLV's H.264 and AAC payloads, and what each refuses."""

from __future__ import annotations

import hashlib
import hmac
import os
import struct

import pytest

from live import amf0
from live.flv import FlvError, adts_header, annex_b, parse_audio, parse_avc_config, parse_video
from live.rtmp_chunks import (
    AUDIO,
    COMMAND_AMF0,
    SET_CHUNK_SIZE,
    VIDEO,
    ChunkError,
    ChunkReader,
    Message,
    chunks,
)
from live.rtmp_handshake import PLAYER_KEY, SERVER_KEY, SIZE, HandshakeError, client_digest, server_reply


def flash_c1(scheme: int) -> bytes:
    """A C1 as Flash Player 9 style clients (FFmpeg, librtmp) write it: version bytes and a digest."""
    c1 = bytearray(os.urandom(SIZE))
    c1[4:8] = bytes([9, 0, 124, 2])
    base = 8 if scheme == 0 else 772
    at = sum(c1[base:base + 4]) % 728 + base + 4
    c1[at:at + 32] = hmac.new(PLAYER_KEY[:30], bytes(c1[:at] + c1[at + 32:]), hashlib.sha256).digest()
    return bytes(c1)


@pytest.mark.parametrize("scheme", [0, 1])
def test_digest_handshake_is_answered_with_server_digests(scheme: int) -> None:
    c1 = flash_c1(scheme)
    found = client_digest(c1)
    assert found is not None and found[0] == scheme
    reply = server_reply(bytes([3]) + c1)
    assert len(reply) == 1 + 2 * SIZE and reply[0] == 3
    s2 = reply[1 + SIZE:]
    key = hmac.new(SERVER_KEY, found[1], hashlib.sha256).digest()
    assert s2[-32:] == hmac.new(key, s2[:-32], hashlib.sha256).digest()


def test_plain_handshake_echoes_c1_and_bad_ones_are_refused() -> None:
    c1 = bytes(8) + os.urandom(SIZE - 8)
    reply = server_reply(bytes([3]) + c1)
    assert reply[1 + SIZE:] == c1
    tampered = bytearray(flash_c1(0))
    tampered[100] ^= 0xFF
    assert client_digest(bytes(tampered)) is None  # a broken digest: the plain form
    for bad in (bytes([6]) + c1, b"GET / HTTP/1.1\r\n" + bytes(SIZE - 15), bytes([3]) + c1[:100]):
        with pytest.raises(HandshakeError):
            server_reply(bad)


def test_chunks_are_read_across_any_cut_with_extended_timestamps() -> None:
    messages = [Message(COMMAND_AMF0, 0, 0, amf0.encode_all("connect", 1.0, {"app": "live"})),
                Message(SET_CHUNK_SIZE, 0, 0, struct.pack(">I", 300)),
                Message(VIDEO, 1, 0x1000000, os.urandom(1000)),  # extended timestamp
                Message(AUDIO, 1, 40, os.urandom(10))]
    wire = chunks(3, messages[0], 128) + chunks(2, messages[1], 128)
    wire += chunks(6, messages[2], 300) + chunks(4, messages[3], 300)
    for step in (1, 7, 128, len(wire)):
        reader = ChunkReader()
        got: list[Message] = []
        for at in range(0, len(wire), step):
            got += reader.feed(wire[at:at + step])
        assert got == messages, step
        assert reader.chunk_size == 300


def test_chunk_rules_are_enforced() -> None:
    with pytest.raises(ChunkError):
        ChunkReader(max_message=1000).feed(chunks(3, Message(VIDEO, 1, 0, bytes(2000)), 128))
    with pytest.raises(ChunkError):
        ChunkReader().feed(bytes([0xC3]) + bytes(10))  # a continuation of nothing
    with pytest.raises(ChunkError):
        ChunkReader().feed(chunks(2, Message(SET_CHUNK_SIZE, 0, 0, struct.pack(">I", 0)), 128))
    many = b"".join(chunks(3 + i, Message(AUDIO, 1, 0, bytes(200)), 128)[:140] for i in range(60))
    with pytest.raises(ChunkError):
        ChunkReader(max_streams=50).feed(many)


def test_amf0_round_trip_and_refusals() -> None:
    values = ["publish", 5.0, None, "sk_key", {"a": [1.0, True, "x"], "b": {"c": None}}]
    assert amf0.decode_all(amf0.encode_all(*values)) == values
    ecma = bytes([amf0.ECMA_ARRAY]) + struct.pack(">I", 1) + b"\x00\x05width" + amf0.encode(1280)
    ecma += b"\x00\x00\x09"
    assert amf0.decode_all(ecma) == [{"width": 1280.0}]
    for bad in (bytes([amf0.STRING, 0, 10]) + b"short", bytes([0x11]),
                bytes([amf0.OBJECT]) * 20, bytes([amf0.STRICT_ARRAY]) + struct.pack(">I", 10**6)):
        with pytest.raises(amf0.AmfError):
            amf0.decode_all(bad)


SPS = bytes.fromhex("6742c01e95a0f0117ea8")
PPS = bytes.fromhex("68ce3c80")


def test_flv_h264_becomes_annex_b() -> None:
    record = bytes([1, 0x42, 0xC0, 0x1E, 0xFF, 0xE1]) + struct.pack(">H", len(SPS)) + SPS
    record += bytes([1]) + struct.pack(">H", len(PPS)) + PPS
    config = parse_avc_config(record)
    assert config.length_size == 4 and config.parameter_sets == b"\0\0\0\1" + SPS + b"\0\0\0\1" + PPS
    header = parse_video(bytes([0x17, 0, 0, 0, 0]) + record)
    assert header is not None and header.config == config
    nal = bytes([0x65]) + os.urandom(50)
    tag = parse_video(bytes([0x17, 1, 0, 0, 66]) + struct.pack(">I", len(nal)) + nal)
    assert tag is not None and tag.keyframe and tag.composition_ms == 66
    assert annex_b(tag.nal_units, 4) == b"\0\0\0\1" + nal
    with pytest.raises(FlvError):
        annex_b(struct.pack(">I", 500) + nal, 4)  # a length past the end
    for other in (bytes([0x12, 0, 0, 0, 0]), bytes([0x9C, 1, 0, 0, 0]) + b"hvc1", bytes([0x17])):
        with pytest.raises(FlvError):
            parse_video(other)


def test_flv_aac_gets_adts_headers() -> None:
    config = bytes([0x11, 0x90])  # AAC-LC, 48 kHz, stereo
    assert parse_audio(bytes([0xAF, 0]) + config).config == config
    frame = os.urandom(100)
    header = adts_header(config, len(frame))
    assert header[:2] == b"\xff\xf1" and ((header[3] & 3) << 11 | header[4] << 3 | header[5] >> 5) == 107
    assert (header[2] >> 2) & 0x0F == 3 and header[2] >> 6 == 1  # 48 kHz, LC
    with pytest.raises(FlvError):
        parse_audio(bytes([0x2F, 1]) + frame)  # MP3
