"""The server side of the RTMP handshake: C0+C1 in, S0+S1+S2 out, C2 in.

Two forms exist. The plain one (the RTMP specification): S1 is our time and random bytes, S2
echoes C1. The one Flash Player 9 introduced, which encoders built on librtmp or FFmpeg send: C1
carries an HMAC-SHA256 digest at an offset derived from four of its bytes (two possible schemes),
keyed with the "Genuine Adobe Flash Player 001" constant; the server answers with its own digest in
S1 (the "... Flash Media Server 001" constant) and an S2 whose last 32 bytes are an HMAC of the
rest, keyed with a digest of the client's. We answer in the form the client used, so a client that
checks the server's digests is satisfied and one that does not is not disturbed. The constants are
the protocol's published values.

Anything other than RTMP version 3 in C0 (RTMPE's 6, a TLS hello, an HTTP request, garbage) is a
`HandshakeError`: the connection is closed before a single chunk is read.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import time

SIZE = 1536
VERSION = 3
DIGEST = 32
_KEY_TAIL = bytes.fromhex("F0EEC24A8068BEE82E00D0D1029E7E576EEC5D2D29806FAB93B8E636CFEB31AE")
PLAYER_KEY = b"Genuine Adobe Flash Player 001" + _KEY_TAIL  # the client's first 30 bytes are used
SERVER_KEY = b"Genuine Adobe Flash Media Server 001" + _KEY_TAIL  # the server's first 36 bytes
_SERVER_VERSION = bytes([4, 5, 0, 1])


class HandshakeError(ValueError):
    """Not an RTMP handshake we take."""


def _digest_offset(block: bytes, scheme: int) -> int:
    base = 8 if scheme == 0 else 772
    return sum(block[base : base + 4]) % 728 + base + 4


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _without(block: bytes, at: int) -> bytes:
    return block[:at] + block[at + DIGEST :]


def client_digest(c1: bytes) -> tuple[int, bytes] | None:
    """(scheme, digest) when C1 carries a valid Flash Player digest, else None (plain form)."""
    if len(c1) != SIZE or c1[4:8] == b"\0\0\0\0":
        return None
    for scheme in (0, 1):
        at = _digest_offset(c1, scheme)
        digest = c1[at : at + DIGEST]
        if hmac.compare_digest(digest, _hmac(PLAYER_KEY[:30], _without(c1, at))):
            return scheme, digest
    return None


def server_reply(c0c1: bytes, now_ms: int | None = None) -> bytes:
    """S0 + S1 + S2 for the client's C0 + C1 (1 + 1536 bytes)."""
    if len(c0c1) != 1 + SIZE:
        raise HandshakeError("short handshake")
    if c0c1[0] != VERSION:
        raise HandshakeError(f"RTMP version {c0c1[0]} is not 3 (plain RTMP)")
    c1 = c0c1[1:]
    stamp = struct.pack(">I", (int(time.monotonic() * 1000) if now_ms is None else now_ms) & 0xFFFFFFFF)
    found = client_digest(c1)
    if found is None:
        plain = stamp + b"\0\0\0\0" + os.urandom(SIZE - 8)
        return bytes([VERSION]) + plain + c1
    scheme, digest = found
    s1 = bytearray(stamp + _SERVER_VERSION + os.urandom(SIZE - 8))
    at = _digest_offset(bytes(s1), scheme)
    s1[at : at + DIGEST] = _hmac(SERVER_KEY[:36], _without(bytes(s1), at))
    s2_body = os.urandom(SIZE - DIGEST)
    s2 = s2_body + _hmac(_hmac(SERVER_KEY, digest), s2_body)
    return bytes([VERSION]) + bytes(s1) + s2
