"""Captions on the embedded SQLite store (see store.py for the contract)."""

from __future__ import annotations

import sqlite3

from kernel.sqlite import Database

from .model import Caption, NewCaption, Turn

MIGRATIONS = [
    "CREATE TABLE captions (program_id TEXT NOT NULL, id INTEGER NOT NULL, lang TEXT NOT NULL, "
    "at INTEGER NOT NULL, text TEXT NOT NULL, by_name TEXT NOT NULL, rev INTEGER NOT NULL DEFAULT 0, "
    "client_key TEXT, PRIMARY KEY (program_id, id));"
    "CREATE UNIQUE INDEX captions_client ON captions(program_id, client_key) WHERE client_key IS NOT NULL;"
    "CREATE INDEX captions_lang ON captions(program_id, lang, id);"
    "CREATE TABLE caption_turns (program_id TEXT NOT NULL, lang TEXT NOT NULL, holder TEXT, "
    "since INTEGER NOT NULL, PRIMARY KEY (program_id, lang));"
    "CREATE TABLE caption_keys (program_id TEXT PRIMARY KEY, key_hash TEXT NOT NULL)",
]

_SELECT = "SELECT id, lang, at, text, by_name, rev FROM captions WHERE program_id = ? AND "
_BY_KEY = _SELECT + "client_key = ?"
_SINCE = _SELECT + "id > ? ORDER BY id LIMIT ?"
_ONE = _SELECT + "id = ?"
_LAST = _SELECT + "lang = ? ORDER BY id DESC LIMIT 1"


def _line(row: sqlite3.Row) -> Caption:
    return Caption(int(row[0]), str(row[1]), int(row[2]), str(row[3]), str(row[4]), int(row[5]))


class SqliteCaptionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def setup(self) -> None:
        await self._db.migrate("captions", MIGRATIONS)

    async def append(self, program_id: str, items: list[NewCaption]) -> list[tuple[Caption, bool]]:
        def _append(conn: sqlite3.Connection) -> list[tuple[Caption, bool]]:
            out: list[tuple[Caption, bool]] = []
            top = conn.execute("SELECT COALESCE(MAX(id), 0) FROM captions WHERE program_id = ?",
                               (program_id,)).fetchone()[0]
            for item in items:
                if item.client_key is not None:
                    row = conn.execute(_BY_KEY,
                                       (program_id, item.client_key)).fetchone()
                    if row is not None:
                        out.append((_line(row), False))
                        continue
                top += 1
                conn.execute("INSERT INTO captions(program_id, id, lang, at, text, by_name, client_key) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (program_id, top, item.lang, item.at, item.text, item.by, item.client_key))
                out.append((Caption(top, item.lang, item.at, item.text, item.by), True))
            return out

        return await self._db.transaction(_append)

    async def lines(self, program_id: str, since: int = 0, limit: int = 20_000) -> list[Caption]:
        rows = await self._db.run(lambda c: c.execute(
            _SINCE,
            (program_id, since, limit)).fetchall())
        return [_line(r) for r in rows]

    async def get(self, program_id: str, line_id: int) -> Caption | None:
        row = await self._db.run(lambda c: c.execute(
            _ONE, (program_id, line_id)).fetchone())
        return _line(row) if row else None

    async def last(self, program_id: str, lang: str) -> Caption | None:
        row = await self._db.run(lambda c: c.execute(
            _LAST,
            (program_id, lang)).fetchone())
        return _line(row) if row else None

    async def correct(self, program_id: str, line_id: int, text: str) -> Caption | None:
        def _correct(conn: sqlite3.Connection) -> Caption | None:
            conn.execute("UPDATE captions SET text = ?, rev = rev + 1 WHERE program_id = ? AND id = ?",
                         (text, program_id, line_id))
            row = conn.execute(_ONE,
                               (program_id, line_id)).fetchone()
            return _line(row) if row else None

        return await self._db.transaction(_correct)

    async def set_turn(self, program_id: str, turn: Turn) -> None:
        await self._db.run(lambda c: c.execute(
            "INSERT INTO caption_turns(program_id, lang, holder, since) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(program_id, lang) DO UPDATE SET holder = excluded.holder, since = excluded.since",
            (program_id, turn.lang, turn.holder, turn.since)))

    async def turns(self, program_id: str) -> list[Turn]:
        rows = await self._db.run(lambda c: c.execute(
            "SELECT lang, holder, since FROM caption_turns WHERE program_id = ? ORDER BY lang",
            (program_id,)).fetchall())
        return [Turn(str(r[0]), None if r[1] is None else str(r[1]), int(r[2])) for r in rows]

    async def set_key_hash(self, program_id: str, key_hash: str) -> None:
        await self._db.run(lambda c: c.execute(
            "INSERT INTO caption_keys(program_id, key_hash) VALUES (?, ?) "
            "ON CONFLICT(program_id) DO UPDATE SET key_hash = excluded.key_hash", (program_id, key_hash)))

    async def key_hash(self, program_id: str) -> str | None:
        row = await self._db.run(lambda c: c.execute(
            "SELECT key_hash FROM caption_keys WHERE program_id = ?", (program_id,)).fetchone())
        return str(row[0]) if row else None
