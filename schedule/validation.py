"""Reading program bodies from clients and files: strict fields, types, text and times.

Every problem is an `ApiError(400, code, message)` naming the field (also in `error.field`):
`unknown_field`, `read_only_field`, `missing_field`, `invalid_type`, `control_character`,
`invalid_field`, `invalid_datetime`, `naive_datetime`, `invalid_duration`. Checks that need the
store or the clock's judgement (hosts exist, overlaps, versions, not in the past) live in the
service. A new program's `starts_at` may be `"now"`: the time the caller passes as `now`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import datetime
from typing import Any

from kernel.errors import ApiError

from .model import ID_RE, KINDS, MAX_DURATION, MIN_DURATION, RESERVED_IDS, STATES, Program

EDITABLE = frozenset({"title", "title_en", "description", "kind", "starts_at", "ends_at", "hosts"})
REQUIRED = ("title", "kind", "starts_at", "ends_at")
MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_HOSTS = 10
MAX_HOST_NAME = 64
# Earliest and latest accepted times: keeps arithmetic (lobby offsets, ms) far from overflow.
MIN_YEAR, MAX_YEAR = 2000, 2100
# Bidirectional overrides/isolates can disguise text; they are refused like control characters.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _bad(code: str, field: str, message: str) -> ApiError:
    return ApiError(400, code, message, details={"field": field})


def check_fields(body: dict[str, Any], allowed: frozenset[str], read_only: frozenset[str]) -> None:
    for name in sorted(body):
        if name in read_only:
            raise _bad("read_only_field", name, f"The field {name!r} cannot be set here.")
        if name not in allowed:
            raise _bad("unknown_field", name, f"Unknown field {name!r}.")


def check_text(value: object, field: str, *, max_len: int, multiline: bool = False,
               required: bool = True) -> str:
    if not isinstance(value, str):
        raise _bad("invalid_type", field, f"{field} must be a string.")
    for char in value:
        if char in ("\n", "\t") and multiline:
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") or char in _BIDI:
            raise _bad("control_character", field, f"{field} contains a control character.")
    if required and not value.strip():
        raise _bad("invalid_field", field, f"{field} must not be empty.")
    if len(value) > max_len:
        raise _bad("invalid_field", field, f"{field} is longer than {max_len} characters.")
    return value


def parse_datetime(value: object, field: str) -> datetime:
    """An ISO 8601 time with an offset (or `Z`), kept to the whole second."""
    if not isinstance(value, str):
        raise _bad("invalid_type", field, f"{field} must be an ISO 8601 string with an offset.")
    if len(value) > 64:
        raise _bad("invalid_datetime", field, f"{field} is not an ISO 8601 time.")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise _bad("invalid_datetime", field, f"{field} is not an ISO 8601 time.") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise _bad(
            "naive_datetime", field,
            f"{field} needs a UTC offset, e.g. 2020-12-02T14:00:00+09:00.",
        )
    if not MIN_YEAR <= when.year <= MAX_YEAR:
        raise _bad("invalid_datetime", field, f"{field} must lie between {MIN_YEAR} and {MAX_YEAR}.")
    return when.replace(microsecond=0)


def _title_en(value: object) -> str | None:
    if value is None:
        return None
    text = check_text(value, "title_en", max_len=MAX_TITLE, required=False)
    return text if text.strip() else None


def _hosts(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _bad("invalid_type", "hosts", "hosts must be a list of usernames.")
    if len(value) > MAX_HOSTS:
        raise _bad("invalid_field", "hosts", f"A program has at most {MAX_HOSTS} hosts.")
    hosts: list[str] = []
    for item in value:
        name = check_text(item, "hosts", max_len=MAX_HOST_NAME)
        if name in hosts:
            raise _bad("invalid_field", "hosts", f"The host {name!r} is listed twice.")
        hosts.append(name)
    return tuple(hosts)


def _kind(value: object) -> str:
    if not isinstance(value, str):
        raise _bad("invalid_type", "kind", "kind must be a string.")
    if value not in KINDS:
        raise _bad("invalid_field", "kind", "kind is 'live' or 'premiere'.")
    return value


def check_duration(program: Program) -> Program:
    if not MIN_DURATION <= program.duration <= MAX_DURATION:
        raise _bad(
            "invalid_duration", "ends_at",
            "A program lasts from 1 minute to 12 hours (ends_at after starts_at).",
        )
    return program


NOW = "now"


def _starts_at(value: object, now: datetime | None) -> datetime:
    """`starts_at` of a new program: a time, or `"now"` (the caller's clock, whole second)."""
    if value == NOW and now is not None:
        return now.replace(microsecond=0)
    return parse_datetime(value, "starts_at")


def _apply(base: Program, body: dict[str, Any], now: datetime | None = None) -> Program:
    """`base` with the editable fields of `body` (already checked for unknown fields) applied;
    with `now`, `starts_at` may be `"now"`."""
    changes: dict[str, Any] = {}
    if "title" in body:
        changes["title"] = check_text(body["title"], "title", max_len=MAX_TITLE).strip()
    if "title_en" in body:
        changes["title_en"] = _title_en(body["title_en"])
    if "description" in body:
        changes["description"] = check_text(
            body["description"], "description", max_len=MAX_DESCRIPTION, multiline=True, required=False
        )
    if "kind" in body:
        changes["kind"] = _kind(body["kind"])
    if "starts_at" in body:
        changes["starts_at"] = _starts_at(body["starts_at"], now)
    if "ends_at" in body:
        changes["ends_at"] = parse_datetime(body["ends_at"], "ends_at")
    if "hosts" in body:
        changes["hosts"] = _hosts(body["hosts"])
    return check_duration(replace(base, **changes))


def _require(body: dict[str, Any]) -> None:
    for name in REQUIRED:
        if name not in body:
            raise _bad("missing_field", name, f"The field {name!r} is required.")


_PLACEHOLDER = Program(id="", title="", kind="live", starts_at=datetime.min, ends_at=datetime.min)


def parse_create(body: dict[str, Any], program_id: str, now: datetime | None = None) -> Program:
    """A new program (state scheduled, version 1) from a POST body (`starts_at` may be "now")."""
    check_fields(body, EDITABLE, frozenset({"id", "state", "version"}))
    _require(body)
    return _apply(replace(_PLACEHOLDER, id=program_id), body, now)


def parse_patch(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(the version the client edited, the fields to change) from a PATCH body."""
    check_fields(body, EDITABLE | {"version"}, frozenset({"id", "state"}))
    if "version" not in body:
        raise _bad("missing_field", "version", "Send the version you edited (from GET).")
    version = body["version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise _bad("invalid_type", "version", "version must be an integer.")
    return version, {k: v for k, v in body.items() if k != "version"}


def apply_patch(current: Program, changes: dict[str, Any]) -> Program:
    return _apply(current, changes)


def check_program_id(value: object) -> str:
    if not isinstance(value, str):
        raise _bad("invalid_type", "id", "id must be a string.")
    if not ID_RE.fullmatch(value) or value in RESERVED_IDS:
        raise _bad("invalid_field", "id", "id is 1-64 letters, digits, '-' or '_'.")
    return value


def parse_import_item(item: object, new_id: str, now: datetime | None = None) -> Program:
    """A program from a lineup file: like a create, plus an optional `id` (kept, so re-imports
    update instead of duplicating); `state` and `version` (as exported) are accepted and ignored."""
    if not isinstance(item, dict):
        raise _bad("invalid_type", "programs", "Each program must be a JSON object.")
    check_fields(item, EDITABLE | {"id", "state", "version"}, frozenset())
    _require(item)
    program_id = check_program_id(item["id"]) if "id" in item else new_id
    if "state" in item and item["state"] not in STATES:
        raise _bad("invalid_field", "state", "state is not one of " + ", ".join(STATES) + ".")
    return _apply(replace(_PLACEHOLDER, id=program_id), {k: item[k] for k in item if k in EDITABLE}, now)
