"""Hostile input for the fuzz suite: hypothesis strategies for strings, numbers, JSON values and
payloads that strangers send, and the suite's hypothesis settings (bounded in examples and time,
the same examples every run, no example database written into the repository)."""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

# Reproducible and bounded: the same examples every run, the whole suite under 20 s on 2 cores.
# To explore beyond them by hand, INNOTV_FUZZ_SCALE=20 runs twenty times as many, random ones
# (new each run; a failure prints how to reproduce it).
SCALE = max(1, int(os.environ.get("INNOTV_FUZZ_SCALE", "1") or "1"))
FUZZ = settings(
    deadline=None,
    # no shrinking or explaining: each replays examples against a live server (minutes); the
    # failing example is reported as drawn
    phases=[Phase.explicit, Phase.generate],
    derandomize=SCALE == 1,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def examples(count: int) -> int:
    """`count` examples, times INNOTV_FUZZ_SCALE."""
    return count * SCALE


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each drawn `weight` times in `sum(weights)` (`st.one_of` ignores
    repeated branches, so it cannot weigh)."""
    slots = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(slots) - 1).flatmap(lambda i: slots[i])


SPECIAL_STRINGS = [
    "", " ", "\t\n", "\x00", "\u0085", "\u3164", "\u115f\u1160", "\u200d\u200d", "\ufe0f", "\u2800",
    "\u202e", "\ud800", "\udfff", "a\ud800b", "\U0001f4a5", "١٢٣", "²", "NaN", "Infinity", "-0", "1e999",
    "9" * 19, "9" * 25, "9" * 300, str(2**63), str(2**63 - 1), "-1", "0", "1.5", "0x10", "null", "true",
    "program:", "hall:", "program:../../etc", "hall:social-value", "hall:failure-expo", "program:demo",
    "../../etc/passwd", "..%2F..%2F", "%00", "<script>alert(1)</script>", "' OR 1=1 --", "${jndi:x}",
    "a" * 2500, "가" * 301, "x" * 65, "ok\r\nSet-Cookie: a=b",
]
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=30),  # any code point, surrogates too
    st.sampled_from(SPECIAL_STRINGS),
)
# JSON the server parses: 64-bit integers, finite floats, shallow nesting.
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
                   st.floats(allow_nan=False, allow_infinity=False), TEXT)
JSON = st.recursive(
    LEAVES, lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(TEXT, kids, max_size=4)),
    max_leaves=8,
)


def nested(depth: int) -> Any:
    """A list `depth` deep (deeper than the server's 64 levels for most draws)."""
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


# What makes a whole packet or body unacceptable wherever it sits: integers beyond 64 bits, NaN
# and infinities, nesting deeper than 64 (a Python client cannot encode much deeper than 600).
UNPARSEABLE = st.one_of(
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30, int("9" * 4000), float("nan"), float("inf")]),
    st.integers(50, 600).map(nested),
)
VALUE = weighted((6, JSON), (1, UNPARSEABLE))
# The fields events read; each may get anything.
FIELDS = ["room", "text", "id", "since", "viewer", "seconds", "count", "words", "choices", "choice",
          "poll_id", "question_id", "question", "nickname", "client_id"]


# Values that pass some checks and fail later ones: ids of the right shape, counts near the
# limits, short lists of words.
PLAUSIBLE = st.one_of(
    st.integers(-5, 200),
    st.sampled_from(["1", "2", "3", "0", "1700000000000-0:0", "anon-abc", "user:prod", "hello", "p1", "q1",
                     str(2**63 - 1)]),
    st.lists(st.sampled_from(["a", "b", "스포일러", "", "\u3164"]), max_size=12),
)


def payloads(rooms: list[str]) -> st.SearchStrategy[Any]:
    """An event's payload: mostly an object naming one of `rooms` with some of the fields events
    read (plausible or hostile values), sometimes any JSON value."""
    room = weighted((4, st.sampled_from(rooms)), (1, VALUE))
    value = st.one_of(PLAUSIBLE, VALUE)
    optional = {name: value for name in FIELDS if name != "room"}
    fields = st.fixed_dictionaries({"room": room}, optional=optional)
    return weighted((6, fields), (1, VALUE))


def encoded_size(value: Any) -> int:
    """The JSON size of a value as a Python client would send it."""
    return len(json.dumps(value))


HOSTILE_BYTES = st.one_of(
    st.binary(max_size=300),
    TEXT.map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"\xff\xfe", b"\xed\xa0\x80", b"{" * 5000, b"[" * 100_000, b'{"a":' + b"1" * 5000 + b"}",
                     b'{"title": NaN}', b"\x00" * 100, b"\x1e" * 50]),
)
