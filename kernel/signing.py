"""HMAC signatures for cookie values: `value.signature`, checked in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac


def _mac(value: str, secret: str, purpose: str) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(value: str, secret: str, purpose: str) -> str:
    return f"{value}.{_mac(value, secret, purpose)}"


def unsign(signed: str | None, secret: str, purpose: str) -> str | None:
    """The value if `signed` carries a valid signature for `purpose`, else None."""
    if not signed or len(signed) > 512 or "." not in signed:
        return None
    value, _, mac = signed.rpartition(".")
    if not value or not hmac.compare_digest(mac, _mac(value, secret, purpose)):
        return None
    return value


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
