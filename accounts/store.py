"""Identity storage, one contract and two backends: accounts, login sessions, settings, counters.

`settings` holds small server-wide values (the cookie secret, one-time setup tokens, the
addresses a user has logged in from); `counters` holds the login attempt counts behind login
throttling: one atomic "add one and tell me the count" per key, so parallel requests each see
their own count.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis

from kernel.sqlite import Database
from kernel.storage import Backend


@dataclass(frozen=True)
class Account:
    username: str
    role: str  # "host" | "producer"
    password_hash: str
    created_at: str


@dataclass(frozen=True)
class SessionRecord:
    username: str
    csrf_token: str
    expires_at: float


class AuthStore(Protocol):
    async def setup(self) -> None: ...

    # accounts
    async def create_account(self, account: Account) -> bool:
        """Store a new account; False when the username is taken."""

    async def get_account(self, username: str) -> Account | None: ...

    async def list_accounts(self) -> list[Account]: ...

    async def set_password_hash(self, username: str, password_hash: str) -> None: ...

    async def set_role(self, username: str, role: str) -> bool:
        """Change the account's role; False when there is no such account."""

    async def delete_account(self, username: str) -> bool:
        """Remove the account; False when there was none."""

    # sessions (keyed by a hash of the session id)
    async def create_session(self, sid_hash: str, record: SessionRecord) -> None: ...

    async def get_session(self, sid_hash: str) -> SessionRecord | None: ...

    async def delete_session(self, sid_hash: str) -> None: ...

    async def delete_sessions_of(self, username: str) -> int:
        """End every session of `username`; how many there were."""

    # settings
    async def set_setting_if_absent(self, name: str, value: str, ttl_s: int | None = None) -> str:
        """Store `value` unless `name` is set; return whichever value is stored now."""

    async def take_setting(self, name: str) -> str | None:
        """Atomically read and delete `name` (for one-time tokens)."""

    async def get_setting(self, name: str) -> str | None: ...

    # counters for throttling
    async def hit_counter(self, key: str, window_s: int) -> tuple[int, float]:
        """Atomically add one to `key` (starting a window of `window_s` if none runs): the new
        count and the seconds left in its window."""

    async def get_counter(self, key: str) -> int: ...

    async def reset_counter(self, key: str) -> None: ...


def make_auth_store(backend: Backend) -> AuthStore:
    if backend.kind == "redis":
        return RedisAuthStore(backend.require_redis(), backend)
    return SqliteAuthStore(backend.require_db())


_MIGRATIONS = [
    """
    CREATE TABLE accounts (
        username TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE sessions (
        sid_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        csrf_token TEXT NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL);
    CREATE TABLE counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires_at REAL NOT NULL)
    """,
]


class SqliteAuthStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def setup(self) -> None:
        await self._db.migrate("auth", _MIGRATIONS)

    async def create_account(self, account: Account) -> bool:
        def _insert(conn: sqlite3.Connection) -> bool:
            try:
                conn.execute(
                    "INSERT INTO accounts(username, role, password_hash, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (account.username, account.role, account.password_hash, account.created_at),
                )
            except sqlite3.IntegrityError:
                return False
            return True

        return await self._db.run(_insert)

    async def get_account(self, username: str) -> Account | None:
        row = await self._db.run(
            lambda c: c.execute(
                "SELECT username, role, password_hash, created_at FROM accounts WHERE username = ?",
                (username,),
            ).fetchone()
        )
        return Account(*row) if row else None

    async def list_accounts(self) -> list[Account]:
        rows = await self._db.run(
            lambda c: c.execute(
                "SELECT username, role, password_hash, created_at FROM accounts ORDER BY username"
            ).fetchall()
        )
        return [Account(*row) for row in rows]

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        await self._db.run(
            lambda c: c.execute(
                "UPDATE accounts SET password_hash = ? WHERE username = ?", (password_hash, username)
            )
        )

    async def set_role(self, username: str, role: str) -> bool:
        def _update(conn: sqlite3.Connection) -> bool:
            cur = conn.execute("UPDATE accounts SET role = ? WHERE username = ?", (role, username))
            return cur.rowcount == 1

        return await self._db.transaction(_update)

    async def delete_account(self, username: str) -> bool:
        def _delete(conn: sqlite3.Connection) -> bool:
            cur = conn.execute("DELETE FROM accounts WHERE username = ?", (username,))
            return cur.rowcount == 1

        return await self._db.transaction(_delete)

    async def create_session(self, sid_hash: str, record: SessionRecord) -> None:
        def _insert(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM sessions WHERE expires_at < ?", (time.time(),))
            conn.execute(
                "INSERT INTO sessions(sid_hash, username, csrf_token, expires_at) VALUES (?,?,?,?)",
                (sid_hash, record.username, record.csrf_token, record.expires_at),
            )

        await self._db.transaction(_insert)

    async def get_session(self, sid_hash: str) -> SessionRecord | None:
        row = await self._db.run(
            lambda c: c.execute(
                "SELECT username, csrf_token, expires_at FROM sessions WHERE sid_hash = ?",
                (sid_hash,),
            ).fetchone()
        )
        if row is None or row[2] < time.time():
            return None
        return SessionRecord(*row)

    async def delete_session(self, sid_hash: str) -> None:
        await self._db.run(lambda c: c.execute("DELETE FROM sessions WHERE sid_hash = ?", (sid_hash,)))

    async def delete_sessions_of(self, username: str) -> int:
        def _delete(conn: sqlite3.Connection) -> int:
            cur = conn.execute("DELETE FROM sessions WHERE username = ?", (username,))
            return int(cur.rowcount)

        return await self._db.transaction(_delete)

    async def set_setting_if_absent(self, name: str, value: str, ttl_s: int | None = None) -> str:
        expires = time.time() + ttl_s if ttl_s else None

        def _set(conn: sqlite3.Connection) -> str:
            conn.execute(
                "DELETE FROM settings WHERE name = ? AND expires_at IS NOT NULL AND expires_at < ?",
                (name, time.time()),
            )
            conn.execute(
                "INSERT OR IGNORE INTO settings(name, value, expires_at) VALUES (?, ?, ?)",
                (name, value, expires),
            )
            row = conn.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
            return str(row[0])

        return await self._db.transaction(_set)

    async def take_setting(self, name: str) -> str | None:
        def _take(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT value, expires_at FROM settings WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                return None
            conn.execute("DELETE FROM settings WHERE name = ?", (name,))
            if row[1] is not None and row[1] < time.time():
                return None
            return str(row[0])

        return await self._db.transaction(_take)

    async def get_setting(self, name: str) -> str | None:
        row = await self._db.run(
            lambda c: c.execute(
                "SELECT value FROM settings WHERE name = ? AND (expires_at IS NULL OR expires_at >= ?)",
                (name, time.time()),
            ).fetchone()
        )
        return None if row is None else str(row[0])

    async def hit_counter(self, key: str, window_s: int) -> tuple[int, float]:
        now = time.time()

        def _hit(conn: sqlite3.Connection) -> tuple[int, float]:
            conn.execute("DELETE FROM counters WHERE key = ? AND expires_at < ?", (key, now))
            conn.execute(
                "INSERT INTO counters(key, count, expires_at) VALUES (?, 1, ?) "
                "ON CONFLICT(key) DO UPDATE SET count = count + 1",
                (key, now + window_s),
            )
            row = conn.execute(
                "SELECT count, expires_at FROM counters WHERE key = ?", (key,)
            ).fetchone()
            return int(row[0]), max(0.0, float(row[1]) - now)

        return await self._db.transaction(_hit)

    async def get_counter(self, key: str) -> int:
        row = await self._db.run(
            lambda c: c.execute(
                "SELECT count FROM counters WHERE key = ? AND expires_at >= ?", (key, time.time())
            ).fetchone()
        )
        return int(row[0]) if row else 0

    async def reset_counter(self, key: str) -> None:
        await self._db.run(lambda c: c.execute("DELETE FROM counters WHERE key = ?", (key,)))


def _strs(data: dict[Any, Any]) -> dict[str, str]:
    """redis-py types replies as bytes | str; with decode_responses they are str."""
    return {str(k): str(v) for k, v in data.items()}


# KEYS: account hash; ARGV: role. 1 when changed, 0 when there is no such account.
_SET_ROLE = """
if redis.call('HEXISTS', KEYS[1], 'role') == 0 then return 0 end
redis.call('HSET', KEYS[1], 'role', ARGV[1])
return 1
"""


class RedisAuthStore:
    def __init__(self, redis: aioredis.Redis, backend: Backend) -> None:
        self._r = redis
        self._b = backend
        self._set_role = redis.register_script(_SET_ROLE)

    async def setup(self) -> None:
        return None

    async def create_account(self, account: Account) -> bool:
        key = self._b.key("account", account.username)
        mapping: dict[Any, Any] = {
            "username": account.username,
            "role": account.role,
            "password_hash": account.password_hash,
            "created_at": account.created_at,
        }
        created = await self._r.hsetnx(key, "username", account.username)
        if not created:
            return False
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=mapping)
            pipe.sadd(self._b.key("accounts"), account.username)
            await pipe.execute()
        return True

    async def get_account(self, username: str) -> Account | None:
        data = _strs(await self._r.hgetall(self._b.key("account", username)))
        if not data or "role" not in data:
            return None
        return Account(data["username"], data["role"], data["password_hash"], data["created_at"])

    async def list_accounts(self) -> list[Account]:
        names = sorted(str(n) for n in await self._r.smembers(self._b.key("accounts")))
        accounts = [await self.get_account(name) for name in names]
        return [a for a in accounts if a is not None]

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        await self._r.hset(self._b.key("account", username), "password_hash", password_hash)

    async def set_role(self, username: str, role: str) -> bool:
        return int(await self._set_role(keys=[self._b.key("account", username)], args=[role])) == 1

    async def delete_account(self, username: str) -> bool:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(self._b.key("account", username))
            pipe.srem(self._b.key("accounts"), username)
            deleted, _ = await pipe.execute()
        return int(deleted) == 1

    def _sessions_of(self, username: str) -> str:
        """The set of a user's session keys (hashes), so they can all be ended at once."""
        return self._b.key("sessions-of", username)

    async def create_session(self, sid_hash: str, record: SessionRecord) -> None:
        ttl_ms = max(1, int((record.expires_at - time.time()) * 1000))
        key = self._b.key("session", sid_hash)
        index = self._sessions_of(record.username)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "username": record.username,
                    "csrf_token": record.csrf_token,
                    "expires_at": str(record.expires_at),
                },
            )
            pipe.pexpire(key, ttl_ms)
            pipe.sadd(index, sid_hash)
            # the index lives as long as the newest session; ended ones are dropped from it below
            pipe.pexpire(index, ttl_ms, gt=True)
            pipe.pexpire(index, ttl_ms, nx=True)
            await pipe.execute()

    async def get_session(self, sid_hash: str) -> SessionRecord | None:
        data = _strs(await self._r.hgetall(self._b.key("session", sid_hash)))
        if not data or float(data.get("expires_at", 0)) < time.time():
            return None
        return SessionRecord(data["username"], data["csrf_token"], float(data["expires_at"]))

    async def delete_session(self, sid_hash: str) -> None:
        key = self._b.key("session", sid_hash)
        username = await self._r.hget(key, "username")
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if username:
                pipe.srem(self._sessions_of(str(username)), sid_hash)
            await pipe.execute()

    async def delete_sessions_of(self, username: str) -> int:
        index = self._sessions_of(username)
        hashes = [str(h) for h in await self._r.smembers(index)]
        if not hashes:
            return 0
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(*[self._b.key("session", h) for h in hashes])
            pipe.delete(index)
            deleted, _ = await pipe.execute()
        return int(deleted)

    async def set_setting_if_absent(self, name: str, value: str, ttl_s: int | None = None) -> str:
        key = self._b.key("setting", name)
        await self._r.set(key, value, nx=True, ex=ttl_s)
        stored = await self._r.get(key)
        return value if stored is None else str(stored)

    async def take_setting(self, name: str) -> str | None:
        value = await self._r.getdel(self._b.key("setting", name))
        return None if value is None else str(value)

    async def get_setting(self, name: str) -> str | None:
        value = await self._r.get(self._b.key("setting", name))
        return None if value is None else str(value)

    async def hit_counter(self, key: str, window_s: int) -> tuple[int, float]:
        rkey = self._b.key("counter", key)
        async with self._r.pipeline(transaction=True) as pipe:  # MULTI/EXEC: one atomic step
            pipe.incr(rkey)
            pipe.expire(rkey, window_s, nx=True)
            pipe.pttl(rkey)
            count, _, left_ms = await pipe.execute()
        return int(count), max(0.0, int(left_ms) / 1000)

    async def get_counter(self, key: str) -> int:
        value = await self._r.get(self._b.key("counter", key))
        return int(value) if value else 0

    async def reset_counter(self, key: str) -> None:
        await self._r.delete(self._b.key("counter", key))
