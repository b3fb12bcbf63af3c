"""The prize draw's arithmetic: commit, reveal, pick. Pure functions, so that anyone can check a
draw with the published data (`innotv events verify-draw`, docs/protocol.md "Prize draws").

- The pool: the entries' ids sorted (by code point) and unique, one per line joined with "\\n"
  (no final newline); its hash is the SHA-256 of that text in UTF-8, in hex.
- The seed: 32 random bytes, written as 64 hex digits; the commitment is the SHA-256 of the 32
  bytes, in hex. Both the pool hash and the commitment are published before the draw; the seed
  after it.
- Picking `k` entries (winners first, then backups): for i = 0, 1, ..., k-1, with n entries left
  (in sorted order), draw a number below n from HMAC-SHA256(key = seed bytes, message =
  "<pool hash>:<i>:<c>" for c = 0, 1, ...), read as a 256-bit big-endian integer and accepted
  only below the largest multiple of n that fits in 256 bits (no modulo bias); the entry at
  (number mod n) is picked and removed from the list.
"""

from __future__ import annotations

import hashlib
import hmac

_SPACE = 1 << 256


def pool_text(entries: list[str]) -> str:
    return "\n".join(sorted(set(entries)))


def pool_hash(entries: list[str]) -> str:
    return hashlib.sha256(pool_text(entries).encode()).hexdigest()


def commitment(seed_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest()


def _index(key: bytes, digest: str, i: int, n: int) -> int:
    limit = _SPACE - _SPACE % n
    counter = 0
    while True:
        mac = hmac.new(key, f"{digest}:{i}:{counter}".encode(), hashlib.sha256).digest()
        value = int.from_bytes(mac, "big")
        if value < limit:
            return value % n
        counter += 1


def pick(seed_hex: str, entries: list[str], count: int) -> list[str]:
    """`count` entries (or all of them, if fewer) in the order drawn."""
    remaining = sorted(set(entries))
    digest = hashlib.sha256("\n".join(remaining).encode()).hexdigest()
    key = bytes.fromhex(seed_hex)
    picked = []
    for i in range(min(count, len(remaining))):
        picked.append(remaining.pop(_index(key, digest, i, len(remaining))))
    return picked


def mask(name: str) -> str:
    """A winner's name as shown to everyone: 홍길동 -> 홍*동, 김철 -> 김*, 남궁민수 -> 남**수."""
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
