"""The events store on the embedded SQLite database (one schema, every call in the database's
thread). The ledger's writes are in `ledger_sqlite`; the rest is plain rows."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from kernel.sqlite import Database

from . import ledger_sqlite as ledger
from .store import (
    Campaign,
    Claim,
    Credit,
    CreditResult,
    DonationResult,
    Draw,
    Entry,
    LedgerState,
    Member,
    Quiz,
)

MIGRATIONS = [
    ledger.LEDGER_SCHEMA
    + """;
    CREATE TABLE ev_kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL);
    CREATE TABLE ev_members (
        id TEXT PRIMARY KEY, nickname TEXT NOT NULL, email TEXT UNIQUE, password_hash TEXT,
        issuer TEXT, subject TEXT, consent_version TEXT NOT NULL, consented_at_ms INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL, UNIQUE (issuer, subject)
    );
    CREATE TABLE ev_sessions (hash TEXT PRIMARY KEY, member TEXT NOT NULL, expires_ms INTEGER NOT NULL);
    CREATE INDEX ev_sessions_member ON ev_sessions(member);
    CREATE TABLE ev_links (viewer TEXT PRIMARY KEY, member TEXT NOT NULL, expires_ms INTEGER NOT NULL);
    CREATE INDEX ev_links_member ON ev_links(member);
    CREATE TABLE ev_campaigns (id TEXT PRIMARY KEY, title TEXT NOT NULL, beneficiary TEXT NOT NULL,
        goal INTEGER NOT NULL, starts_at_ms INTEGER NOT NULL, ends_at_ms INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL);
    CREATE TABLE ev_rules (program TEXT PRIMARY KEY, rules TEXT NOT NULL);
    CREATE TABLE ev_quizzes (id TEXT PRIMARY KEY, program TEXT NOT NULL, question TEXT NOT NULL,
        choices TEXT NOT NULL, answer INTEGER NOT NULL, opens_ms INTEGER NOT NULL,
        closes_ms INTEGER NOT NULL, revealed INTEGER NOT NULL DEFAULT 0,
        seq INTEGER NOT NULL);
    CREATE INDEX ev_quizzes_program ON ev_quizzes(program, seq);
    CREATE TABLE ev_answers (quiz TEXT NOT NULL, member TEXT NOT NULL, choice INTEGER NOT NULL,
        PRIMARY KEY (quiz, member));
    CREATE TABLE ev_activity (room TEXT NOT NULL, member TEXT NOT NULL, at_ms INTEGER NOT NULL);
    CREATE INDEX ev_activity_room ON ev_activity(room, at_ms);
    CREATE TABLE ev_draws (id TEXT PRIMARY KEY, program TEXT NOT NULL, title TEXT NOT NULL,
        pool TEXT NOT NULL, winners_wanted INTEGER NOT NULL, backups_wanted INTEGER NOT NULL,
        pool_size INTEGER NOT NULL, pool_hash TEXT NOT NULL, commitment TEXT NOT NULL,
        seed TEXT NOT NULL, created_ms INTEGER NOT NULL, claim_days INTEGER NOT NULL,
        drawn_ms INTEGER NOT NULL DEFAULT 0, winners TEXT NOT NULL DEFAULT '[]',
        backups TEXT NOT NULL DEFAULT '[]');
    CREATE INDEX ev_draws_program ON ev_draws(program, created_ms);
    CREATE TABLE ev_pools (draw TEXT PRIMARY KEY, entries TEXT NOT NULL);
    CREATE TABLE ev_claims (draw TEXT NOT NULL, member TEXT NOT NULL, contact TEXT NOT NULL,
        consented_at_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, PRIMARY KEY (draw, member));
    CREATE INDEX ev_claims_expiry ON ev_claims(expires_ms)
    """,
]

_MEMBER = (
    "id, nickname, email, password_hash, issuer, subject, consent_version, consented_at_ms, created_at_ms"
)
_CAMPAIGN = "id, title, beneficiary, goal, starts_at_ms, ends_at_ms, created_at_ms"
_QUIZ = "id, program, question, choices, answer, opens_ms, closes_ms, revealed"
_DRAW = (
    "id, program, title, pool, winners_wanted, backups_wanted, pool_size, pool_hash, commitment, "
    "seed, created_ms, claim_days, drawn_ms, winners, backups"
)


def _member(row: sqlite3.Row | None) -> Member | None:
    return None if row is None else Member(*row)


def _quiz(row: sqlite3.Row | None) -> Quiz | None:
    if row is None:
        return None
    return Quiz(
        row[0], row[1], row[2], tuple(json.loads(row[3])), int(row[4]), int(row[5]), int(row[6]), bool(row[7])
    )


def _draw(row: sqlite3.Row | None) -> Draw | None:
    if row is None:
        return None
    names = [name.strip() for name in _DRAW.split(",")]
    values: dict[str, Any] = dict(zip(names, row, strict=True))
    values["winners"] = tuple(json.loads(values["winners"]))
    values["backups"] = tuple(json.loads(values["backups"]))
    return Draw(**values)


class SqliteEventsStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def setup(self) -> None:
        await self._db.migrate("events", MIGRATIONS)

    # ---- small expiring values --------------------------------------------------------------
    async def kv_set_if_absent(self, key: str, value: str) -> str:
        def _set(conn: sqlite3.Connection) -> str:
            conn.execute(
                "INSERT OR IGNORE INTO ev_kv(key, value, expires_at) VALUES (?, ?, NULL)", (key, value)
            )
            return str(conn.execute("SELECT value FROM ev_kv WHERE key = ?", (key,)).fetchone()[0])

        return await self._db.transaction(_set)

    async def kv_put(self, key: str, value: str, ttl_s: int) -> None:
        expires = time.time() + ttl_s
        await self._db.run(
            lambda c: c.execute(
                "INSERT INTO ev_kv(key, value, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
                (key, value, expires),
            )
        )

    @staticmethod
    def _live(conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value, expires_at FROM ev_kv WHERE key = ?", (key,)).fetchone()
        if row is None or (row[1] is not None and row[1] < time.time()):
            return None
        return str(row[0])

    async def kv_get(self, key: str) -> str | None:
        return await self._db.run(lambda c: self._live(c, key))

    async def kv_take(self, key: str) -> str | None:
        def _take(conn: sqlite3.Connection) -> str | None:
            value = self._live(conn, key)
            conn.execute("DELETE FROM ev_kv WHERE key = ?", (key,))
            return value

        return await self._db.transaction(_take)

    async def kv_swap(self, key: str, expected: str | None, value: str, ttl_s: int) -> bool:
        def _swap(conn: sqlite3.Connection) -> bool:
            if self._live(conn, key) != expected:
                return False
            conn.execute(
                "INSERT INTO ev_kv(key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT(key) "
                "DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
                (key, value, time.time() + ttl_s),
            )
            return True

        return await self._db.transaction(_swap)

    async def hit(self, key: str, window_s: int) -> int:
        def _hit(conn: sqlite3.Connection) -> int:
            now = time.time()
            current = self._live(conn, key)
            if current is None:
                conn.execute(
                    "INSERT INTO ev_kv(key, value, expires_at) VALUES (?, '1', ?) ON CONFLICT(key) "
                    "DO UPDATE SET value = '1', expires_at = excluded.expires_at",
                    (key, now + window_s),
                )
                return 1
            count = int(current) + 1
            conn.execute("UPDATE ev_kv SET value = ? WHERE key = ?", (str(count), key))
            return count

        return await self._db.transaction(_hit)

    # ---- members ----------------------------------------------------------------------------
    async def create_member(self, member: Member) -> str | None:
        def _create(conn: sqlite3.Connection) -> str | None:
            if (
                member.email
                and conn.execute("SELECT 1 FROM ev_members WHERE email = ?", (member.email,)).fetchone()
            ):
                return "email"
            if (
                member.subject
                and conn.execute(
                    "SELECT 1 FROM ev_members WHERE issuer = ? AND subject = ?",
                    (member.issuer, member.subject),
                ).fetchone()
            ):
                return "subject"
            conn.execute(
                f"INSERT INTO ev_members({_MEMBER}) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    member.id,
                    member.nickname,
                    member.email,
                    member.password_hash,
                    member.issuer,
                    member.subject,
                    member.consent_version,
                    member.consented_at_ms,
                    member.created_at_ms,
                ),
            )
            return None

        return await self._db.transaction(_create)

    async def _one_member(self, where: str, args: tuple[str, ...]) -> Member | None:
        row = await self._db.run(
            lambda c: c.execute(f"SELECT {_MEMBER} FROM ev_members WHERE {where}", args).fetchone()
        )
        return _member(row)

    async def get_member(self, member_id: str) -> Member | None:
        return await self._one_member("id = ?", (member_id,))

    async def member_by_email(self, email: str) -> Member | None:
        return await self._one_member("email = ?", (email,))

    async def member_by_subject(self, issuer: str, subject: str) -> Member | None:
        return await self._one_member("issuer = ? AND subject = ?", (issuer, subject))

    async def erase_member(self, member_id: str) -> bool:
        def _erase(conn: sqlite3.Connection) -> bool:
            gone = conn.execute("DELETE FROM ev_members WHERE id = ?", (member_id,)).rowcount == 1
            for table in ("ev_sessions", "ev_links", "ev_claims"):
                conn.execute(f"DELETE FROM {table} WHERE member = ?", (member_id,))
            return gone

        return await self._db.transaction(_erase)

    async def create_session(self, session_hash: str, member_id: str, expires_ms: int) -> None:
        def _create(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM ev_sessions WHERE expires_ms < ?", (int(time.time() * 1000),))
            conn.execute(
                "INSERT INTO ev_sessions(hash, member, expires_ms) VALUES (?, ?, ?)",
                (session_hash, member_id, expires_ms),
            )

        await self._db.transaction(_create)

    async def session_member(self, session_hash: str, now_ms: int) -> str | None:
        row = await self._db.run(
            lambda c: c.execute(
                "SELECT member FROM ev_sessions WHERE hash = ? AND expires_ms > ?", (session_hash, now_ms)
            ).fetchone()
        )
        return None if row is None else str(row[0])

    async def delete_session(self, session_hash: str) -> None:
        await self._db.run(lambda c: c.execute("DELETE FROM ev_sessions WHERE hash = ?", (session_hash,)))

    async def link_viewer(self, viewer: str, member_id: str, expires_ms: int) -> None:
        await self._db.run(
            lambda c: c.execute(
                "INSERT INTO ev_links(viewer, member, expires_ms) VALUES (?, ?, ?) ON CONFLICT(viewer) "
                "DO UPDATE SET member = excluded.member, expires_ms = excluded.expires_ms",
                (viewer, member_id, expires_ms),
            )
        )

    async def unlink_viewer(self, viewer: str) -> None:
        await self._db.run(lambda c: c.execute("DELETE FROM ev_links WHERE viewer = ?", (viewer,)))

    async def member_of_viewer(self, viewer: str, now_ms: int) -> str | None:
        row = await self._db.run(
            lambda c: c.execute(
                "SELECT member FROM ev_links WHERE viewer = ? AND expires_ms > ?", (viewer, now_ms)
            ).fetchone()
        )
        return None if row is None else str(row[0])

    # ---- the ledger ---------------------------------------------------------------------------
    async def credit(self, credit: Credit) -> CreditResult:
        return await self._db.transaction(lambda c: ledger.credit_tx(c, credit))

    async def donate(
        self, member: str, campaign: str, amount: int | None, key: str, at_ms: int
    ) -> DonationResult:
        return await self._db.transaction(lambda c: ledger.donate_tx(c, member, campaign, amount, key, at_ms))

    async def close_balance(self, member: str, at_ms: int) -> int:
        return await self._db.transaction(lambda c: ledger.close_tx(c, member, at_ms))

    async def balance(self, member: str) -> int:
        return await self._db.run(lambda c: ledger.balance_in(c, member))

    async def earned_on(self, member: str, day: str) -> int:
        return await self._db.run(lambda c: ledger.earned_in(c, member, day))

    async def history(self, member: str, limit: int, before: str | None = None) -> list[Entry]:
        return await self._db.run(lambda c: ledger.history_q(c, member, limit, before))

    async def entries(self, after: str | None, limit: int) -> list[Entry]:
        return await self._db.run(lambda c: ledger.entries_q(c, after, limit))

    async def ledger_state(self) -> LedgerState:
        return await self._db.run(ledger.state_q)

    # ---- campaigns ----------------------------------------------------------------------------
    async def create_campaign(self, campaign: Campaign) -> None:
        c = campaign
        await self._db.run(
            lambda conn: conn.execute(
                f"INSERT INTO ev_campaigns({_CAMPAIGN}) VALUES (?,?,?,?,?,?,?)",
                (c.id, c.title, c.beneficiary, c.goal, c.starts_at_ms, c.ends_at_ms, c.created_at_ms),
            )
        )

    async def get_campaign(self, campaign_id: str) -> Campaign | None:
        row = await self._db.run(
            lambda c: c.execute(
                f"SELECT {_CAMPAIGN} FROM ev_campaigns WHERE id = ?",
                (campaign_id,),
            ).fetchone()
        )
        return None if row is None else Campaign(*row)

    async def list_campaigns(self) -> list[Campaign]:
        rows = await self._db.run(
            lambda c: c.execute(
                f"SELECT {_CAMPAIGN} FROM ev_campaigns ORDER BY starts_at_ms, created_at_ms"
            ).fetchall()
        )
        return [Campaign(*r) for r in rows]

    async def campaign_total(self, campaign_id: str) -> tuple[int, int]:
        return await self._db.run(
            lambda c: (ledger.campaign_total_in(c, campaign_id), ledger.donors_in(c, campaign_id))
        )

    async def donors(self, campaign_id: str) -> list[str]:
        rows = await self._db.run(
            lambda c: c.execute(
                "SELECT DISTINCT member FROM ev_ledger WHERE campaign = ? AND kind = 'donation'",
                (campaign_id,),
            ).fetchall()
        )
        return [str(r[0]) for r in rows]

    # ---- rules --------------------------------------------------------------------------------
    async def set_rules(self, program: str, rules: str) -> None:
        await self._db.run(
            lambda c: c.execute(
                "INSERT INTO ev_rules(program, rules) VALUES (?, ?) ON CONFLICT(program) DO UPDATE SET "
                "rules = excluded.rules",
                (program, rules),
            )
        )

    async def get_rules(self, program: str) -> str | None:
        row = await self._db.run(
            lambda c: c.execute("SELECT rules FROM ev_rules WHERE program = ?", (program,)).fetchone()
        )
        return None if row is None else str(row[0])

    # ---- quizzes ------------------------------------------------------------------------------
    async def create_quiz(self, quiz: Quiz) -> None:
        q = quiz

        def _create(conn: sqlite3.Connection) -> None:
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM ev_quizzes").fetchone()[0]
            conn.execute(
                f"INSERT INTO ev_quizzes({_QUIZ}, seq) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    q.id,
                    q.program,
                    q.question,
                    json.dumps(list(q.choices), ensure_ascii=False),
                    q.answer,
                    q.opens_ms,
                    q.closes_ms,
                    int(q.revealed),
                    seq,
                ),
            )

        await self._db.transaction(_create)

    async def get_quiz(self, quiz_id: str) -> Quiz | None:
        return _quiz(
            await self._db.run(
                lambda c: c.execute(f"SELECT {_QUIZ} FROM ev_quizzes WHERE id = ?", (quiz_id,)).fetchone()
            )
        )

    async def latest_quiz(self, program: str) -> Quiz | None:
        return _quiz(
            await self._db.run(
                lambda c: c.execute(
                    f"SELECT {_QUIZ} FROM ev_quizzes WHERE program = ? ORDER BY seq DESC LIMIT 1",
                    (program,),
                ).fetchone()
            )
        )

    async def reveal_quiz(self, quiz_id: str) -> bool:
        return await self._db.transaction(
            lambda c: (
                c.execute(
                    "UPDATE ev_quizzes SET revealed = 1 WHERE id = ? AND revealed = 0", (quiz_id,)
                ).rowcount
                == 1
            )
        )

    async def answer_quiz(self, quiz_id: str, member: str, choice: int) -> bool:
        return await self._db.transaction(
            lambda c: (
                c.execute(
                    "INSERT OR IGNORE INTO ev_answers(quiz, member, choice) VALUES (?, ?, ?)",
                    (quiz_id, member, choice),
                ).rowcount
                == 1
            )
        )

    async def quiz_answer_of(self, quiz_id: str, member: str) -> int | None:
        row = await self._db.run(
            lambda c: c.execute(
                "SELECT choice FROM ev_answers WHERE quiz = ? AND member = ?", (quiz_id, member)
            ).fetchone()
        )
        return None if row is None else int(row[0])

    async def quiz_answers(self, quiz_id: str) -> dict[str, int]:
        rows = await self._db.run(
            lambda c: c.execute("SELECT member, choice FROM ev_answers WHERE quiz = ?", (quiz_id,)).fetchall()
        )
        return {str(r[0]): int(r[1]) for r in rows}

    # ---- activity -----------------------------------------------------------------------------
    async def record_activity(self, room: str, member: str, at_ms: int) -> None:
        await self._db.run(
            lambda c: c.execute(
                "INSERT INTO ev_activity(room, member, at_ms) VALUES (?, ?, ?)", (room, member, at_ms)
            )
        )

    async def active_members(self, room: str, from_ms: int, to_ms: int) -> list[str]:
        rows = await self._db.run(
            lambda c: c.execute(
                "SELECT DISTINCT member FROM ev_activity WHERE room = ? AND at_ms >= ? AND at_ms <= ?",
                (room, from_ms, to_ms),
            ).fetchall()
        )
        return [str(r[0]) for r in rows]

    # ---- draws ----------------------------------------------------------------------------------
    async def create_draw(self, draw: Draw, pool: list[str]) -> None:
        d = draw

        def _create(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"INSERT INTO ev_draws({_DRAW}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    d.id,
                    d.program,
                    d.title,
                    d.pool,
                    d.winners_wanted,
                    d.backups_wanted,
                    d.pool_size,
                    d.pool_hash,
                    d.commitment,
                    d.seed,
                    d.created_ms,
                    d.claim_days,
                    d.drawn_ms,
                    json.dumps(list(d.winners)),
                    json.dumps(list(d.backups)),
                ),
            )
            conn.execute("INSERT INTO ev_pools(draw, entries) VALUES (?, ?)", (d.id, "\n".join(pool)))

        await self._db.transaction(_create)

    async def get_draw(self, draw_id: str) -> Draw | None:
        return _draw(
            await self._db.run(
                lambda c: c.execute(f"SELECT {_DRAW} FROM ev_draws WHERE id = ?", (draw_id,)).fetchone()
            )
        )

    async def draws_of(self, program: str) -> list[Draw]:
        rows = await self._db.run(
            lambda c: c.execute(
                f"SELECT {_DRAW} FROM ev_draws WHERE program = ? ORDER BY created_ms, id", (program,)
            ).fetchall()
        )
        return [d for d in (_draw(r) for r in rows) if d is not None]

    async def draw_pool(self, draw_id: str) -> list[str]:
        row = await self._db.run(
            lambda c: c.execute("SELECT entries FROM ev_pools WHERE draw = ?", (draw_id,)).fetchone()
        )
        return [] if row is None or not row[0] else str(row[0]).split("\n")

    async def set_drawn(self, draw_id: str, winners: list[str], backups: list[str], drawn_ms: int) -> bool:
        return await self._db.transaction(
            lambda c: (
                c.execute(
                    "UPDATE ev_draws SET drawn_ms = ?, winners = ?, backups = ? "
                    "WHERE id = ? AND drawn_ms = 0",
                    (drawn_ms, json.dumps(winners), json.dumps(backups), draw_id),
                ).rowcount
                == 1
            )
        )

    async def put_claim(self, claim: Claim) -> None:
        c = claim
        await self._db.run(
            lambda conn: conn.execute(
                "INSERT INTO ev_claims(draw, member, contact, consented_at_ms, expires_ms) "
                "VALUES (?,?,?,?,?) "
                "ON CONFLICT(draw, member) DO UPDATE SET contact = excluded.contact, "
                "consented_at_ms = excluded.consented_at_ms, expires_ms = excluded.expires_ms",
                (c.draw, c.member, c.contact, c.consented_at_ms, c.expires_ms),
            )
        )

    async def claims(self, draw_id: str) -> list[Claim]:
        rows = await self._db.run(
            lambda c: c.execute(
                "SELECT draw, member, contact, consented_at_ms, expires_ms FROM ev_claims WHERE draw = ? "
                "ORDER BY consented_at_ms",
                (draw_id,),
            ).fetchall()
        )
        return [Claim(*r) for r in rows]

    async def delete_expired_claims(self, now_ms: int) -> int:
        return await self._db.transaction(
            lambda c: int(c.execute("DELETE FROM ev_claims WHERE expires_ms <= ?", (now_ms,)).rowcount)
        )
