"""The program store on the embedded SQLite database (every call runs in the database thread)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime

from kernel.sqlite import Database

from .model import Program, to_ms
from .store import Change, ImportMode, Overlap, ProgramExists, ProgramMissing, VersionMismatch

_MIGRATIONS = [
    """
    CREATE TABLE programs (
        id TEXT PRIMARY KEY,
        content TEXT NOT NULL,
        starts_ms INTEGER NOT NULL,
        ends_ms INTEGER NOT NULL,
        state TEXT NOT NULL,
        version INTEGER NOT NULL
    );
    CREATE INDEX programs_by_start ON programs(starts_ms)
    """,
]

_COLUMNS = "id, content, starts_ms, ends_ms, state, version"


def _program(row: sqlite3.Row | tuple[object, ...]) -> Program:
    pid, content, starts, ends, state, version = tuple(row)
    return Program.from_stored(str(pid), str(content), int(str(starts)), int(str(ends)), str(state),
                               int(str(version)))


def _get(conn: sqlite3.Connection, program_id: str) -> Program | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM programs WHERE id = ?", (program_id,)).fetchone()  # noqa: S608
    return _program(row) if row else None


def _overlapping(conn: sqlite3.Connection, program: Program, exclude: set[str]) -> str | None:
    starts, ends = to_ms(program.starts_at), to_ms(program.ends_at)
    rows = conn.execute(
        "SELECT id FROM programs WHERE starts_ms < ? AND ends_ms > ? ORDER BY starts_ms",
        (ends, starts),
    ).fetchall()
    for (other,) in rows:
        if other != program.id and other not in exclude:
            return str(other)
    return None


def _insert(conn: sqlite3.Connection, program: Program) -> None:
    conn.execute(
        f"INSERT INTO programs({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
        (program.id, program.content(), to_ms(program.starts_at), to_ms(program.ends_at),
         program.state, program.version),
    )


def _rewrite(conn: sqlite3.Connection, program: Program, version: int) -> None:
    conn.execute(
        "UPDATE programs SET content = ?, starts_ms = ?, ends_ms = ?, version = ? WHERE id = ?",
        (program.content(), to_ms(program.starts_at), to_ms(program.ends_at), version, program.id),
    )


class SqliteProgramStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def setup(self) -> None:
        await self._db.migrate("schedule", _MIGRATIONS)

    async def get(self, program_id: str) -> Program | None:
        return await self._db.run(lambda c: _get(c, program_id))

    async def in_range(self, start: datetime | None = None, end: datetime | None = None) -> list[Program]:
        lo = to_ms(start) if start is not None else None
        hi = to_ms(end) if end is not None else None

        def _list(conn: sqlite3.Connection) -> list[Program]:
            sql = f"SELECT {_COLUMNS} FROM programs WHERE 1 = 1"  # noqa: S608
            params: list[int] = []
            if lo is not None:
                sql += " AND ends_ms > ?"
                params.append(lo)
            if hi is not None:
                sql += " AND starts_ms < ?"
                params.append(hi)
            sql += " ORDER BY starts_ms, id"
            return [_program(row) for row in conn.execute(sql, params).fetchall()]

        return await self._db.run(_list)

    async def create(self, program: Program) -> Program:
        def _create(conn: sqlite3.Connection) -> Program:
            if _get(conn, program.id) is not None:
                raise ProgramExists(program.id)
            other = _overlapping(conn, program, set())
            if other is not None:
                raise Overlap(program.id, other)
            _insert(conn, program)
            return program

        return await self._db.transaction(_create)

    async def update(self, program: Program, expected_version: int) -> Program:
        def _update(conn: sqlite3.Connection) -> Program:
            current = _get(conn, program.id)
            if current is None:
                raise ProgramMissing(program.id)
            if current.version != expected_version:
                raise VersionMismatch(program.id, current.version)
            other = _overlapping(conn, program, set())
            if other is not None:
                raise Overlap(program.id, other)
            _rewrite(conn, program, expected_version + 1)
            stored = _get(conn, program.id)
            assert stored is not None
            return stored

        return await self._db.transaction(_update)

    async def delete(self, program_id: str) -> bool:
        cursor = await self._db.run(lambda c: c.execute("DELETE FROM programs WHERE id = ?", (program_id,)))
        return bool(cursor.rowcount)

    async def set_state(
        self, program_id: str, new_state: str, expected_state: str | None = None,
        bump_version: bool = False,
    ) -> Program | None:
        bump = 1 if bump_version else 0

        def _set(conn: sqlite3.Connection) -> Program | None:
            current = _get(conn, program_id)
            if current is None or current.state == new_state:
                return None
            if expected_state is not None and current.state != expected_state:
                return None
            conn.execute("UPDATE programs SET state = ?, version = version + ? WHERE id = ?",
                         (new_state, bump, program_id))
            return replace(current, state=new_state, version=current.version + bump)

        return await self._db.transaction(_set)

    async def save_many(self, programs: list[Program], mode: ImportMode) -> list[Change]:
        batch_ids = {p.id for p in programs}

        def _save(conn: sqlite3.Connection) -> list[Change]:
            todo: list[tuple[Program, Program | None]] = []
            for program in programs:
                existing = _get(conn, program.id)
                if existing is not None and mode == "missing":
                    continue
                exclude = batch_ids if mode == "replace" else set()
                other = _overlapping(conn, program, exclude)
                if other is not None:
                    raise Overlap(program.id, other)
                todo.append((program, existing))
            changes: list[Change] = []
            for program, existing in todo:
                if existing is None:
                    _insert(conn, program)
                    changes.append(Change(program.id, "created"))
                elif (existing.content(), existing.starts_at, existing.ends_at) != (
                    program.content(), program.starts_at, program.ends_at
                ):
                    _rewrite(conn, program, existing.version + 1)
                    changes.append(Change(program.id, "updated"))
            return changes

        return await self._db.transaction(_save)
