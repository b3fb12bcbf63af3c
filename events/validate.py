"""Input checks for the events routes: each bad value is a 400 with a code naming the field, and
nothing is changed (every check runs before the store is written)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from kernel.errors import ApiError

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,24}$")
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
_DROP = {"Cc", "Cf", "Cs", "Co", "Cn"}


def fields(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(400, "unknown_field", f"Unknown field: {unknown[0]}.", details={"field": unknown[0]})


def text(value: object, field: str, max_len: int, *, min_len: int = 1) -> str:
    """Text a person typed: NFC, control and format characters dropped, ends trimmed."""
    if not isinstance(value, str) or len(value) > max_len * 8:
        raise ApiError(400, f"invalid_{field}", f"'{field}' is text of {min_len}-{max_len} characters.")
    cleaned = "".join(
        ch for ch in unicodedata.normalize("NFC", value) if unicodedata.category(ch) not in _DROP
    ).strip()
    if not min_len <= len(cleaned) <= max_len:
        raise ApiError(400, f"invalid_{field}", f"'{field}' is text of {min_len}-{max_len} characters.")
    return cleaned


def integer(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ApiError(400, f"invalid_{field}", f"'{field}' is a whole number from {low} to {high}.")
    return value


def email(value: object) -> str:
    if not isinstance(value, str) or len(value) > 254 or not EMAIL_RE.fullmatch(value.strip()):
        raise ApiError(400, "invalid_email", "Give a valid email address.")
    return value.strip().lower()


def password(value: object) -> str:
    if not isinstance(value, str) or not MIN_PASSWORD <= len(value) <= MAX_PASSWORD:
        raise ApiError(
            400, "invalid_password", f"A password is {MIN_PASSWORD} to {MAX_PASSWORD} characters long."
        )
    return value


def ident(value: object, field: str) -> str:
    if not isinstance(value, str) or not ID_RE.fullmatch(value):
        raise ApiError(400, f"invalid_{field}", f"'{field}' is not a valid id.")
    return value


def request_id(value: object) -> str:
    if not isinstance(value, str) or not REQUEST_ID_RE.fullmatch(value):
        raise ApiError(400, "invalid_request_id", "'request_id' is 8-64 letters, digits, '_' or '-'.")
    return value


def when(value: object, field: str) -> datetime:
    """An ISO 8601 time with an offset."""
    if isinstance(value, str) and len(value) <= 40:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    raise ApiError(400, f"invalid_{field}", f"'{field}' is an ISO 8601 time with an offset.")


def local_path(value: object) -> str:
    """Where to send a person back to: a path on this site, never another site."""
    if (
        isinstance(value, str)
        and value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and len(value) <= 300
        and value.isprintable()
    ):
        return value
    return "/"
