"""The mileage ledger on SQLite: one append-only table, every write one transaction.

A credit or a donation reads the member's newest entry (its `balance_after`), checks the caps
and the balance, and inserts one row, inside one `BEGIN IMMEDIATE` transaction: two processes or
threads can never both spend the same mileage, and a crash leaves the row in or out, whole.
Rows are never updated or deleted. The idempotency key is a unique column.
"""

from __future__ import annotations

import sqlite3
import time

from .store import Credit, CreditResult, DonationResult, Entry, LedgerState

LEDGER_SCHEMA = """
    CREATE TABLE ev_ledger (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        member TEXT NOT NULL,
        amount INTEGER NOT NULL,
        kind TEXT NOT NULL,
        ref TEXT NOT NULL,
        program TEXT NOT NULL,
        campaign TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        day TEXT NOT NULL,
        balance_after INTEGER NOT NULL,
        campaign_total_after INTEGER NOT NULL,
        key TEXT NOT NULL UNIQUE
    );
    CREATE INDEX ev_ledger_member ON ev_ledger(member, seq);
    CREATE INDEX ev_ledger_day ON ev_ledger(member, day);
    CREATE INDEX ev_ledger_program ON ev_ledger(member, program, kind);
    CREATE INDEX ev_ledger_campaign ON ev_ledger(campaign, seq)
"""

_COLUMNS = "seq, member, amount, kind, ref, program, campaign, at_ms, balance_after, campaign_total_after"


def entry_of(row: sqlite3.Row) -> Entry:
    return Entry(
        str(row[0]),
        row[1],
        int(row[2]),
        row[3],
        row[4],
        row[5],
        row[6],
        int(row[7]),
        int(row[8]),
        int(row[9]),
    )


def balance_in(conn: sqlite3.Connection, member: str) -> int:
    row = conn.execute(
        "SELECT balance_after FROM ev_ledger WHERE member = ? ORDER BY seq DESC LIMIT 1", (member,)
    ).fetchone()
    return int(row[0]) if row else 0


def campaign_total_in(conn: sqlite3.Connection, campaign: str) -> int:
    row = conn.execute(
        "SELECT campaign_total_after FROM ev_ledger WHERE campaign = ? ORDER BY seq DESC LIMIT 1", (campaign,)
    ).fetchone()
    return int(row[0]) if row else 0


def donors_in(conn: sqlite3.Connection, campaign: str) -> int:
    row = conn.execute(
        "SELECT COUNT(DISTINCT member) FROM ev_ledger WHERE campaign = ?", (campaign,)
    ).fetchone()
    return int(row[0])


def _insert(
    conn: sqlite3.Connection,
    member: str,
    amount: int,
    kind: str,
    ref: str,
    program: str,
    campaign: str,
    at_ms: int,
    day: str,
    balance_after: int,
    total_after: int,
    key: str,
) -> str:
    cur = conn.execute(
        "INSERT INTO ev_ledger(member, amount, kind, ref, program, campaign, at_ms, day, "
        "balance_after, campaign_total_after, key) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (member, amount, kind, ref, program, campaign, at_ms, day, balance_after, total_after, key),
    )
    return str(cur.lastrowid)


def credit_tx(conn: sqlite3.Connection, c: Credit) -> CreditResult:
    balance = balance_in(conn, c.member)
    if conn.execute("SELECT 1 FROM ev_ledger WHERE key = ?", (c.key,)).fetchone():
        return CreditResult(0, balance, None, True)
    if c.rate_limit and _hit(conn, c.rate_key, 60) > c.rate_limit:
        return CreditResult(0, balance, None, False, True)
    earned = earned_in(conn, c.member, c.day)
    allowed = min(c.amount, c.daily_cap - earned)
    if c.program_cap is not None:
        row = conn.execute(
            "SELECT COALESCE(SUM(amount), 0) FROM ev_ledger WHERE member = ? AND program = ? AND kind = ?",
            (c.member, c.program, c.kind),
        ).fetchone()
        allowed = min(allowed, c.program_cap - int(row[0]))
    if allowed <= 0:
        return CreditResult(0, balance, None, False)
    after = balance + allowed
    entry_id = _insert(conn, c.member, allowed, c.kind, c.ref, c.program, "", c.at_ms, c.day, after, 0, c.key)
    return CreditResult(allowed, after, entry_id, False)


def _hit(conn: sqlite3.Connection, key: str, window_s: int) -> int:
    """The store's `hit` counter (table ev_kv), inside the caller's transaction."""
    now = time.time()
    row = conn.execute("SELECT value, expires_at FROM ev_kv WHERE key = ?", (key,)).fetchone()
    count = 1 if row is None or row[1] < now else int(row[0]) + 1
    expires = now + window_s if count == 1 else row[1]
    conn.execute(
        "INSERT INTO ev_kv(key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
        "value = excluded.value, expires_at = excluded.expires_at",
        (key, str(count), expires),
    )
    return count


def earned_in(conn: sqlite3.Connection, member: str, day: str) -> int:
    row = conn.execute(
        "SELECT COALESCE(SUM(amount), 0) FROM ev_ledger WHERE member = ? AND day = ? AND amount > 0",
        (member, day),
    ).fetchone()
    return int(row[0])


def donate_tx(
    conn: sqlite3.Connection, member: str, campaign: str, amount: int | None, key: str, at_ms: int
) -> DonationResult:
    balance = balance_in(conn, member)
    seen = conn.execute("SELECT seq, amount FROM ev_ledger WHERE key = ?", (key,)).fetchone()
    if seen:
        return DonationResult(
            None,
            -int(seen[1]),
            balance,
            campaign_total_in(conn, campaign),
            donors_in(conn, campaign),
            str(seen[0]),
            True,
        )
    total = campaign_total_in(conn, campaign)
    if not conn.execute("SELECT 1 FROM ev_campaigns WHERE id = ?", (campaign,)).fetchone():
        return DonationResult("unknown_campaign", 0, balance, 0, 0, None, False)
    wanted = balance if amount is None else amount
    if wanted <= 0:
        return DonationResult("nothing_to_donate", 0, balance, total, donors_in(conn, campaign), None, False)
    if wanted > balance:
        return DonationResult(
            "insufficient_mileage", 0, balance, total, donors_in(conn, campaign), None, False
        )
    entry_id = _insert(
        conn,
        member,
        -wanted,
        "donation",
        campaign,
        "",
        campaign,
        at_ms,
        "",
        balance - wanted,
        total + wanted,
        key,
    )
    return DonationResult(
        None, wanted, balance - wanted, total + wanted, donors_in(conn, campaign), entry_id, False
    )


def close_tx(conn: sqlite3.Connection, member: str, at_ms: int) -> int:
    balance = balance_in(conn, member)
    if balance <= 0:
        return 0
    _insert(conn, member, -balance, "closed", "", "", "", at_ms, "", 0, 0, f"{member}:closed:{at_ms}")
    return balance


def history_q(conn: sqlite3.Connection, member: str, limit: int, before: str | None) -> list[Entry]:
    """A member's entries, newest first, below the entry `before` (ValueError: not an id of ours)."""
    if before is not None and not (before.isascii() and before.isdigit() and int(before) < 2**63):
        raise ValueError(f"not a ledger entry id: {before[:40]!r}")
    if before is None:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM ev_ledger WHERE member = ? ORDER BY seq DESC LIMIT ?",
            (member, limit),
        ).fetchall()
    else:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM ev_ledger WHERE member = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            (member, int(before), limit),
        ).fetchall()
    return [entry_of(r) for r in rows]


def entries_q(conn: sqlite3.Connection, after: str | None, limit: int) -> list[Entry]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM ev_ledger WHERE seq > ? ORDER BY seq LIMIT ?",
        (int(after or 0), limit),
    ).fetchall()
    return [entry_of(r) for r in rows]


def state_q(conn: sqlite3.Connection) -> LedgerState:
    balances = {
        str(r[0]): int(r[1])
        for r in conn.execute(
            "SELECT member, balance_after FROM ev_ledger WHERE seq IN "
            "(SELECT MAX(seq) FROM ev_ledger GROUP BY member)"
        )
    }
    totals = {
        str(r[0]): int(r[1])
        for r in conn.execute(
            "SELECT campaign, campaign_total_after FROM ev_ledger WHERE seq IN "
            "(SELECT MAX(seq) FROM ev_ledger WHERE campaign != '' GROUP BY campaign)"
        )
    }
    return LedgerState(balances, totals)
