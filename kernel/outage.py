"""What "the store does not answer" looks like: `StoreUnavailable` (raised by `kernel.storage`
when Redis is not there at startup) and the redis-py errors of a refused, reset or timed-out
command. The error middleware and the chat turn these into `store_unavailable` (503, or the
ack error) instead of a 500."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


class StoreUnavailable(ConnectionError):
    """The store does not answer (at startup: not within the wait); the message says where."""


def is_store_outage(exc: BaseException) -> bool:
    """Whether `exc` means the store does not answer now (not a bug of ours)."""
    return isinstance(exc, (StoreUnavailable, RedisConnectionError, RedisTimeoutError))
