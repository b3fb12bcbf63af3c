"""The chat stores on the embedded SQLite database: one schema (`migrate`), one class per capability.

History is one log table of messages and deletions; ids are the log's row numbers. A tick is one
transaction that also counts its hearts and messages in `chat_hearts` / `chat_minutes`, which
`SqliteCounters` reads, so a burst of messages costs one commit. Viewer counts are this process's
own (SQLite means one process). A program room's audience is one row (`chat_audience`: peak,
watch seconds) plus its distinct viewers (`chat_uniques`) and each minute's most viewers (a column
of `chat_minutes`); the halls' per-day hearts are `chat_hall_hearts`.
"""

from __future__ import annotations

import json
import sqlite3

from kernel.sqlite import Database

from .store import Audience, Message, NewMessage, Question, Recovery, StoredQuestion, TickResult

MIGRATIONS = [
    """
    CREATE TABLE chat_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        room TEXT NOT NULL,
        kind TEXT NOT NULL,
        target INTEGER,
        viewer TEXT,
        nickname TEXT,
        text TEXT,
        ts INTEGER,
        role TEXT,
        client_key TEXT,
        deleted INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX chat_log_room ON chat_log(room, seq);
    CREATE UNIQUE INDEX chat_log_client ON chat_log(room, client_key) WHERE client_key IS NOT NULL;
    CREATE TABLE chat_hearts (room TEXT PRIMARY KEY, total INTEGER NOT NULL);
    CREATE TABLE chat_minutes (
        room TEXT NOT NULL, minute INTEGER NOT NULL,
        messages INTEGER NOT NULL DEFAULT 0, hearts INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (room, minute)
    );
    CREATE TABLE chat_meta (room TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (room, name));
    CREATE TABLE chat_votes (poll TEXT NOT NULL, viewer TEXT NOT NULL, choice INTEGER NOT NULL,
        PRIMARY KEY (poll, viewer));
    CREATE TABLE chat_questions (room TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
        votes INTEGER NOT NULL DEFAULT 0, answered INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,
        PRIMARY KEY (room, id));
    CREATE TABLE chat_upvotes (room TEXT NOT NULL, question TEXT NOT NULL, viewer TEXT NOT NULL,
        PRIMARY KEY (room, question, viewer))
    """,
    """
    ALTER TABLE chat_questions ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE chat_minutes ADD COLUMN viewers INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE chat_audience (room TEXT PRIMARY KEY, peak INTEGER NOT NULL DEFAULT 0,
        watch_seconds INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE chat_uniques (room TEXT NOT NULL, viewer TEXT NOT NULL, PRIMARY KEY (room, viewer));
    CREATE TABLE chat_hall_hearts (room TEXT NOT NULL, day TEXT NOT NULL, viewer TEXT NOT NULL,
        hearts INTEGER NOT NULL, PRIMARY KEY (room, day, viewer))
    """,
]


def _row(row: sqlite3.Row) -> Message:
    return {
        "id": str(row["seq"]),
        "viewer": row["viewer"],
        "nickname": row["nickname"],
        "text": row["text"],
        "ts": row["ts"],
        "role": row["role"],
    }


async def migrate(db: Database) -> None:
    """Create or update the chat tables (once, before any store is used)."""
    await db.migrate("chat", MIGRATIONS)


class SqliteHistory:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def write_tick(
        self, room: str, items: list[NewMessage], deletions: list[str], hearts: int, minute: int
    ) -> TickResult:
        def tx(conn: sqlite3.Connection) -> TickResult:
            ids: list[str] = []
            fresh: list[bool] = []
            stored = 0
            for item in items:
                if item.client_key is not None:
                    row = conn.execute(
                        "SELECT seq FROM chat_log WHERE room = ? AND client_key = ?",
                        (room, item.client_key),
                    ).fetchone()
                    if row is not None:
                        ids.append(str(row[0]))
                        fresh.append(False)
                        continue
                cur = conn.execute(
                    "INSERT INTO chat_log(room, kind, viewer, nickname, text, ts, role, client_key) "
                    "VALUES (?, 'm', ?, ?, ?, ?, ?, ?)",
                    (room, item.viewer, item.nickname, item.text, item.ts, item.role, item.client_key),
                )
                ids.append(str(cur.lastrowid))
                fresh.append(True)
                stored += 1
            for message_id in deletions:
                cur = conn.execute(
                    "UPDATE chat_log SET deleted = 1 WHERE room = ? AND seq = ? AND kind = 'm' "
                    "AND deleted = 0",
                    (room, int(message_id)),
                )
                if cur.rowcount:
                    conn.execute(
                        "INSERT INTO chat_log(room, kind, target) VALUES (?, 'd', ?)",
                        (room, int(message_id)),
                    )
            if hearts:
                conn.execute(
                    "INSERT INTO chat_hearts(room, total) VALUES (?, ?) "
                    "ON CONFLICT(room) DO UPDATE SET total = total + excluded.total",
                    (room, hearts),
                )
            if hearts or stored:
                conn.execute(
                    "INSERT INTO chat_minutes(room, minute, messages, hearts) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(room, minute) DO UPDATE SET messages = messages + excluded.messages, "
                    "hearts = hearts + excluded.hearts",
                    (room, minute, stored, hearts),
                )
            total, per_minute = _hearts(conn, room, minute)
            return TickResult(ids, fresh, total, per_minute)

        return await self._db.transaction(tx)

    async def recent(self, room: str, limit: int, before: str | None = None) -> list[Message]:
        def q(conn: sqlite3.Connection) -> list[Message]:
            bound = int(before) if before is not None else 2**62
            rows = conn.execute(
                "SELECT seq, viewer, nickname, text, ts, role FROM chat_log "
                "WHERE room = ? AND kind = 'm' AND deleted = 0 "
                "AND seq < ? ORDER BY seq DESC LIMIT ?",
                (room, bound, limit),
            ).fetchall()
            return [_row(r) for r in reversed(rows)]

        return await self._db.run(q)

    async def recover(self, room: str, since: str, limit: int) -> Recovery | None:
        if "-" in since:
            return None
        point = int(since)

        def q(conn: sqlite3.Connection) -> Recovery | None:
            known = conn.execute(
                "SELECT 1 FROM chat_log WHERE room = ? AND seq = ? AND kind = 'm'", (room, point)
            ).fetchone()
            if known is None:
                return None
            rows = conn.execute(
                "SELECT seq, kind, target, viewer, nickname, text, ts, role, deleted FROM chat_log "
                "WHERE room = ? AND seq > ? ORDER BY seq LIMIT ?",
                (room, point, limit + 1),
            ).fetchall()
            if len(rows) > limit:
                return None
            out = Recovery()
            for r in rows:
                if r["kind"] == "m" and not r["deleted"]:
                    out.messages.append(_row(r))
                elif r["kind"] == "d" and r["target"] <= point:
                    out.deleted.append(str(r["target"]))
            return out

        return await self._db.run(q)

    async def get_message(self, room: str, message_id: str) -> Message | None:
        if "-" in message_id:
            return None

        def q(conn: sqlite3.Connection) -> Message | None:
            row = conn.execute(
                "SELECT seq, viewer, nickname, text, ts, role FROM chat_log "
                "WHERE room = ? AND seq = ? AND kind = 'm' "
                "AND deleted = 0",
                (room, int(message_id)),
            ).fetchone()
            return _row(row) if row else None

        return await self._db.run(q)


class SqliteCounters:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def hearts(self, room: str, minute: int) -> tuple[int, int]:
        return await self._db.run(lambda c: _hearts(c, room, minute))

    async def hearts_totals(self, rooms: list[str]) -> dict[str, int]:
        def q(conn: sqlite3.Connection) -> dict[str, int]:
            marks = ",".join("?" for _ in rooms)
            rows = conn.execute(
                f"SELECT room, total FROM chat_hearts WHERE room IN ({marks})", rooms  # noqa: S608
            ).fetchall()
            found = {r[0]: int(r[1]) for r in rows}
            return {room: found.get(room, 0) for room in rooms}

        return await self._db.run(q)

    async def per_minute(self, room: str, since_minute: int) -> list[dict[str, int]]:
        def q(conn: sqlite3.Connection) -> list[dict[str, int]]:
            rows = conn.execute(
                "SELECT minute, messages, hearts, viewers FROM chat_minutes "
                "WHERE room = ? AND minute >= ? ORDER BY minute",
                (room, since_minute),
            ).fetchall()
            return [{"minute": r[0], "messages": r[1], "hearts": r[2], "viewers": r[3]} for r in rows]

        return await self._db.run(q)


class SqliteRoomSettings:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def meta(self, room: str) -> dict[str, str]:
        def q(conn: sqlite3.Connection) -> dict[str, str]:
            rows = conn.execute("SELECT name, value FROM chat_meta WHERE room = ?", (room,)).fetchall()
            return {r[0]: r[1] for r in rows}

        return await self._db.run(q)

    async def set_meta(self, room: str, name: str, value: str | None) -> None:
        def q(conn: sqlite3.Connection) -> None:
            if value is None:
                conn.execute("DELETE FROM chat_meta WHERE room = ? AND name = ?", (room, name))
            else:
                conn.execute(
                    "INSERT INTO chat_meta(room, name, value) VALUES (?, ?, ?) "
                    "ON CONFLICT(room, name) DO UPDATE SET value = excluded.value",
                    (room, name, value),
                )

        await self._db.run(q)


class SqlitePollsAndQuestions:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def vote(self, poll_id: str, viewer: str, choice: int) -> bool:
        def q(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "INSERT OR IGNORE INTO chat_votes(poll, viewer, choice) VALUES (?, ?, ?)",
                (poll_id, viewer, choice),
            )
            return cur.rowcount == 1

        return await self._db.run(q)

    async def has_voted(self, poll_id: str, viewer: str) -> bool:
        def q(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT 1 FROM chat_votes WHERE poll = ? AND viewer = ?", (poll_id, viewer)
            ).fetchone()
            return row is not None

        return await self._db.run(q)

    async def poll_counts(self, poll_id: str, choices: int) -> list[int]:
        def q(conn: sqlite3.Connection) -> list[int]:
            rows = conn.execute(
                "SELECT choice, COUNT(*) FROM chat_votes WHERE poll = ? GROUP BY choice", (poll_id,)
            ).fetchall()
            counts = [0] * choices
            for choice, n in rows:
                if 0 <= choice < choices:
                    counts[choice] = int(n)
            return counts

        return await self._db.run(q)

    async def add_question(self, room: str, question: Question, max_questions: int) -> bool:
        body = json.dumps(question, ensure_ascii=False)

        def tx(conn: sqlite3.Connection) -> bool:
            (count,) = conn.execute(
                "SELECT COUNT(*) FROM chat_questions WHERE room = ?", (room,)
            ).fetchone()
            if count >= max_questions:
                return False
            conn.execute(
                "INSERT INTO chat_questions(room, id, body, created) VALUES (?, ?, ?, ?)",
                (room, question["id"], body, question["ts"]),
            )
            return True

        return await self._db.transaction(tx)

    async def upvote(self, room: str, question_id: str, viewer: str) -> bool | None:
        def tx(conn: sqlite3.Connection) -> bool | None:
            exists = conn.execute(
                "SELECT 1 FROM chat_questions WHERE room = ? AND id = ?", (room, question_id)
            ).fetchone()
            if exists is None:
                return None
            cur = conn.execute(
                "INSERT OR IGNORE INTO chat_upvotes(room, question, viewer) VALUES (?, ?, ?)",
                (room, question_id, viewer),
            )
            if cur.rowcount != 1:
                return False
            conn.execute(
                "UPDATE chat_questions SET votes = votes + 1 WHERE room = ? AND id = ?",
                (room, question_id),
            )
            return True

        return await self._db.transaction(tx)

    async def answer_question(self, room: str, question_id: str) -> bool:
        def q(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE chat_questions SET answered = 1 WHERE room = ? AND id = ?", (room, question_id)
            )
            return cur.rowcount == 1

        return await self._db.run(q)

    async def hide_question(self, room: str, question_id: str) -> bool:
        def q(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE chat_questions SET hidden = 1 WHERE room = ? AND id = ?", (room, question_id)
            )
            return cur.rowcount == 1

        return await self._db.run(q)

    async def questions(self, room: str) -> list[StoredQuestion]:
        def q(conn: sqlite3.Connection) -> list[StoredQuestion]:
            rows = conn.execute(
                "SELECT body, votes, answered, hidden FROM chat_questions WHERE room = ?", (room,)
            ).fetchall()
            return [StoredQuestion(json.loads(body), int(votes), bool(answered), bool(hidden))
                    for body, votes, answered, hidden in rows]

        return await self._db.run(q)


class SqlitePresence:
    """SQLite means one process: its own counts are the totals, and nothing is stored."""

    async def report_viewers(self, process: str, counts: dict[str, int]) -> dict[str, int]:
        return dict(counts)


class SqliteAudience:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, room: str, minute: int, viewers: int, watch_seconds: int,
                     newcomers: list[str]) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO chat_audience(room, peak, watch_seconds) VALUES (?, ?, ?) "
                "ON CONFLICT(room) DO UPDATE SET peak = MAX(peak, excluded.peak), "
                "watch_seconds = watch_seconds + excluded.watch_seconds",
                (room, viewers, watch_seconds),
            )
            if viewers:
                conn.execute(
                    "INSERT INTO chat_minutes(room, minute, viewers) VALUES (?, ?, ?) "
                    "ON CONFLICT(room, minute) DO UPDATE SET viewers = MAX(viewers, excluded.viewers)",
                    (room, minute, viewers),
                )
            conn.executemany(
                "INSERT OR IGNORE INTO chat_uniques(room, viewer) VALUES (?, ?)",
                [(room, viewer) for viewer in newcomers],
            )

        await self._db.transaction(tx)

    async def audience(self, room: str) -> Audience:
        def q(conn: sqlite3.Connection) -> Audience:
            row = conn.execute(
                "SELECT peak, watch_seconds FROM chat_audience WHERE room = ?", (room,)
            ).fetchone()
            (unique,) = conn.execute(
                "SELECT COUNT(*) FROM chat_uniques WHERE room = ?", (room,)
            ).fetchone()
            peak, watched = (int(row[0]), int(row[1])) if row else (0, 0)
            return Audience(peak, int(unique), watched)

        return await self._db.run(q)


class SqliteHallHearts:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def admit(self, room: str, day: str, viewer: str, count: int, per_day: int) -> int:
        def tx(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT hearts FROM chat_hall_hearts WHERE room = ? AND day = ? AND viewer = ?",
                (room, day, viewer),
            ).fetchone()
            given = int(row[0]) if row else 0
            counted = max(0, min(count, per_day - given))
            if counted:
                conn.execute(
                    "INSERT INTO chat_hall_hearts(room, day, viewer, hearts) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(room, day, viewer) DO UPDATE SET hearts = hearts + excluded.hearts",
                    (room, day, viewer, counted),
                )
            return counted

        return await self._db.transaction(tx)

    async def given(self, room: str, day: str, viewer: str) -> int:
        row = await self._db.run(
            lambda c: c.execute(
                "SELECT hearts FROM chat_hall_hearts WHERE room = ? AND day = ? AND viewer = ?",
                (room, day, viewer),
            ).fetchone()
        )
        return int(row[0]) if row else 0


def _hearts(conn: sqlite3.Connection, room: str, minute: int) -> tuple[int, int]:
    row = conn.execute("SELECT total FROM chat_hearts WHERE room = ?", (room,)).fetchone()
    minute_row = conn.execute(
        "SELECT hearts FROM chat_minutes WHERE room = ? AND minute = ?", (room, minute)
    ).fetchone()
    return (int(row[0]) if row else 0, int(minute_row[0]) if minute_row else 0)
