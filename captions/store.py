"""The captions storage contract: one protocol, a SQLite and a Redis backend (`store_sqlite`,
`store_redis`), one contract test suite for both.

A tick's new lines of a program are written in ONE call (`append`: one transaction, or one Redis
script), numbered in the program in the order given; a line whose `client_key` was stored before
(a retry) is answered with the stored line and `fresh` False, never stored twice. Corrections
raise a line's `rev`. The store also keeps who holds each language's turn and the program's
caption key (its SHA-256 hash: the key itself is shown once).
"""

from __future__ import annotations

from typing import Protocol

from kernel.storage import Backend

from .model import Caption, NewCaption, Turn

MAX_LINES = 20_000  # lines read at once (a 2-hour show captioned at a line a second is 7,200)


class CaptionStore(Protocol):
    async def setup(self) -> None: ...

    async def append(self, program_id: str, items: list[NewCaption]) -> list[tuple[Caption, bool]]:
        """Store the lines in order, each with its new number; (line, fresh) per item, in order
        (fresh False: a retry of a line stored before, answered with that line)."""

    async def lines(self, program_id: str, since: int = 0, limit: int = MAX_LINES) -> list[Caption]:
        """The program's lines numbered above `since`, oldest first, at most `limit`."""

    async def get(self, program_id: str, line_id: int) -> Caption | None: ...

    async def last(self, program_id: str, lang: str) -> Caption | None:
        """The newest line of that language."""

    async def correct(self, program_id: str, line_id: int, text: str) -> Caption | None:
        """Replace the line's text (rev + 1); None when there is no such line."""

    async def set_turn(self, program_id: str, turn: Turn) -> None: ...

    async def turns(self, program_id: str) -> list[Turn]:
        """The turns set so far, one per language at most."""

    async def set_key_hash(self, program_id: str, key_hash: str) -> None: ...

    async def key_hash(self, program_id: str) -> str | None: ...


def make_caption_store(backend: Backend) -> CaptionStore:
    if backend.kind == "redis":
        from .store_redis import RedisCaptionStore

        return RedisCaptionStore(backend.require_redis(), backend)
    from .store_sqlite import SqliteCaptionStore

    return SqliteCaptionStore(backend.require_db())
