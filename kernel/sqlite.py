"""The embedded store's engine: one SQLite connection driven by one worker thread.

Every call runs in that thread, so the event loop never blocks on disk. The database is in WAL
mode with `synchronous=FULL`: what we acknowledge to a user survives a crash and a power loss.
Each domain brings its own numbered migrations; `migrate` applies the ones not yet applied.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._conn = await self._submit(self._connect)
        await self.run(
            lambda c: c.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(domain TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
        )

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    async def _submit(self, fn: Callable[[], T]) -> T:
        if self._executor is None:
            raise RuntimeError("database is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(connection)` in the database thread (autocommit: one statement, one commit)."""
        conn = self._require()
        return await self._submit(lambda: fn(conn))

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(connection)` in one write transaction: all of it commits, or none of it."""
        conn = self._require()

        def _tx() -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self._submit(_tx)

    async def migrate(self, domain: str, migrations: Sequence[str]) -> None:
        """Apply `migrations[n]` for every n above the domain's recorded version, in order."""

        def _apply(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                "SELECT version FROM schema_migrations WHERE domain = ?", (domain,)
            ).fetchone()
            current = row[0] if row else 0
            for version, script in enumerate(migrations, start=1):
                if version <= current:
                    continue
                for statement in script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations(domain, version) VALUES (?, ?) "
                    "ON CONFLICT(domain) DO UPDATE SET version = excluded.version",
                    (domain, version),
                )

        await self.transaction(_apply)

    def _require(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            conn = self._conn
            await self._submit(conn.close)
            self._conn = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
