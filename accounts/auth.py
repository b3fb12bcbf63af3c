"""Who is asking: host/producer accounts, login sessions, anonymous viewer ids, roles, throttling.

- Accounts hold an argon2id hash; hashing runs in a thread (it is slow on purpose).
- A login session is a random id kept server side (hashed) and sent as a signed HttpOnly cookie;
  logout deletes it. Each session carries a CSRF token for clients that send no Origin.
- Viewers are anonymous: a random viewer id in a signed HttpOnly cookie.
- `require(request, role)` is the one gate every host and producer action goes through.
- Login attempts are counted before the (slow) password check, per address, per account and
  address, and per account from new addresses (`take_attempt`); see `settings.py`.
- With no producer yet, `first_run_link()` mints a one-time link to create one (no default
  password exists anywhere).
- Account management (list, add, reset a password, change a role, remove): any change to an
  account ends all its sessions and is announced on the bus (`ACCESS_CHANGED`), so the person's
  open pages and sockets lose the old rights at once. The last producer cannot be removed or
  demoted (nobody could manage accounts any more).
"""

from __future__ import annotations

import asyncio
import math
import re
import secrets
import time
from datetime import UTC, datetime
from http.cookies import CookieError, SimpleCookie

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kernel.bus import Bus
from kernel.errors import ApiError
from kernel.identity import ROLES, User
from kernel.signing import sha256_hex, sign, unsign
from kernel.topics import ACCESS_CHANGED, AccessChanged

from .settings import AccountSettings
from .store import Account, AuthStore, SessionRecord

SESSION_COOKIE = "innotv_session"
VIEWER_COOKIE = "innotv_viewer"
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
SETUP_TOKEN_TTL_S = 24 * 3600

# A real hash to verify against for unknown usernames, so both paths cost the same.
_hasher = PasswordHasher()


_SESSION_KEY: web.RequestKey[tuple[User, SessionRecord] | None] = web.RequestKey(
    "innotv.session", object  # type: ignore[arg-type]
)


def validate_username(username: object) -> str:
    if not isinstance(username, str) or not USERNAME_RE.fullmatch(username):
        raise ApiError(
            400,
            "invalid_username",
            "A username is 2-32 characters: lowercase letters, digits, '.', '_' or '-'.",
        )
    return username


def validate_password(password: object) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ApiError(
            400,
            "invalid_password",
            f"A password is {MIN_PASSWORD} to {MAX_PASSWORD} characters long.",
        )
    return password


def validate_role(role: object) -> str:
    if role not in ROLES:
        raise ApiError(400, "invalid_role", "A role is 'host', 'producer' or 'captioner'.")
    return str(role)


class Auth:
    def __init__(self, store: AuthStore, settings: AccountSettings, bus: Bus | None = None) -> None:
        self.store = store
        self.settings = settings
        self.bus = bus
        self._secret = settings.secret
        self._dummy_hash = ""

    async def start(self) -> None:
        await self.store.setup()
        if not self._secret:
            self._secret = await self.store.set_setting_if_absent(
                "cookie_secret", secrets.token_urlsafe(48)
            )

    # ---- accounts -------------------------------------------------------------------------
    async def add_user(self, username: str, role: str, password: str) -> Account:
        validate_username(username)
        validate_role(role)
        validate_password(password)
        password_hash = await asyncio.to_thread(_hasher.hash, password)
        account = Account(username, role, password_hash, datetime.now(UTC).isoformat())
        if not await self.store.create_account(account):
            raise ApiError(409, "username_taken", f"The username {username!r} is taken.")
        return account

    async def list_users(self) -> list[Account]:
        return await self.store.list_accounts()

    async def usernames(self) -> list[str]:
        """Every account's name (the chat keeps viewers from taking them as nicknames)."""
        return [a.username for a in await self.store.list_accounts()]

    async def require_account(self, username: str) -> Account:
        account = await self.store.get_account(username)
        if account is None:
            raise ApiError(404, "user_not_found", f"There is no account {username!r}.")
        return account

    async def set_password(self, username: str, password: str) -> None:
        """A new password for `username`; every session of that account ends."""
        validate_password(password)
        await self.require_account(username)
        password_hash = await asyncio.to_thread(_hasher.hash, password)
        await self.store.set_password_hash(username, password_hash)
        await self._end_sessions(username, "password_reset")

    async def set_role(self, username: str, role: str) -> Account:
        """Give `username` another role; its sessions end (they log in again with the new one)."""
        validate_role(role)
        account = await self.require_account(username)
        if account.role == role:
            return account
        if account.role == "producer":
            await self._keep_a_producer(username, "demote")
        if not await self.store.set_role(username, role):
            raise ApiError(404, "user_not_found", f"There is no account {username!r}.")
        await self._end_sessions(username, "role_changed")
        return Account(account.username, role, account.password_hash, account.created_at)

    async def remove_user(self, username: str) -> None:
        """Remove the account and end its sessions."""
        account = await self.require_account(username)
        if account.role == "producer":
            await self._keep_a_producer(username, "remove")
        await self.store.delete_account(username)
        await self._end_sessions(username, "removed")

    async def _keep_a_producer(self, username: str, what: str) -> None:
        others = [a for a in await self.store.list_accounts()
                  if a.role == "producer" and a.username != username]
        if not others:
            raise ApiError(409, "last_producer",
                           f"Cannot {what} {username!r}: it is the last producer account.")

    async def _end_sessions(self, username: str, reason: str) -> None:
        await self.store.delete_sessions_of(username)
        await self._announce(AccessChanged(username, None, None, reason))

    async def exists(self, username: str) -> bool:
        return await self.store.get_account(username) is not None

    async def has_producer(self) -> bool:
        return any(a.role == "producer" for a in await self.store.list_accounts())

    async def check_password(self, username: str, password: str) -> User | None:
        account = await self.store.get_account(username)
        if account is None and not self._dummy_hash:
            # Made on the first unknown name, not at startup: a server starts without the delay.
            self._dummy_hash = await asyncio.to_thread(_hasher.hash, secrets.token_urlsafe(16))
        stored = account.password_hash if account else self._dummy_hash
        try:
            await asyncio.to_thread(_hasher.verify, stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if account is None:
            return None
        if _hasher.check_needs_rehash(account.password_hash):
            new_hash = await asyncio.to_thread(_hasher.hash, password)
            await self.store.set_password_hash(username, new_hash)
        return User(account.username, account.role)

    # ---- throttling -----------------------------------------------------------------------
    async def take_attempt(self, username: str, address: str) -> None:
        """Count one login attempt of `username` from `address` (a `limit_key`) before its
        password is checked; ApiError 429 `too_many_attempts` with Retry-After when a limit is
        passed. Each count is one atomic step in the store, so of many parallel attempts only
        the allowed number go on to the password check."""
        s = self.settings
        limits = [(f"login:ip:{address}", s.login_max_per_address, s.login_window_s),
                  (f"login:acct:{username}:{address}", s.login_max_failures, s.login_window_s)]
        if await self.store.get_setting(_known_key(username, address)) is None:
            limits.append((f"login:user:{username}", s.login_account_per_minute, 60))
        for key, limit, window in limits:
            count, left_s = await self.store.hit_counter(key, window)
            if count > limit:
                raise ApiError(
                    429,
                    "too_many_attempts",
                    "Too many login attempts; wait a little and try again.",
                    headers={"Retry-After": str(max(1, math.ceil(left_s)))},
                )

    async def login_succeeded(self, username: str, address: str) -> None:
        """Clear the account's count for this address and remember the address as one the
        account logs in from (not slowed down by the account-wide count)."""
        await self.store.reset_counter(f"login:acct:{username}:{address}")
        await self.store.set_setting_if_absent(
            _known_key(username, address), "1", ttl_s=self.settings.login_known_days * 86_400
        )

    # ---- sessions -------------------------------------------------------------------------
    async def start_session(self, request: web.Request, user: User) -> tuple[str, str]:
        """Open a session for `user`: (the signed cookie value, the session's CSRF token)."""
        sid = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        expires = time.time() + self.settings.session_hours * 3600
        await self.store.create_session(sha256_hex(sid), SessionRecord(user.username, csrf, expires))
        return sign(sid, self._secret, "session"), csrf

    def set_session_cookie(
        self, request: web.Request, response: web.StreamResponse, cookie_value: str
    ) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            cookie_value,
            max_age=self.settings.session_hours * 3600,
            httponly=True,
            samesite="Lax",
            secure=request.secure,
            path="/",
        )

    async def end_session(self, response: web.StreamResponse, request: web.Request) -> None:
        sid = unsign(request.cookies.get(SESSION_COOKIE), self._secret, "session")
        if sid:
            key = sha256_hex(sid)
            record = await self.store.get_session(key)
            await self.store.delete_session(key)
            if record is not None:
                # Connections opened with this session lose its role now, in every process.
                await self._announce(AccessChanged(record.username, key, None, "logout"))
        response.del_cookie(SESSION_COOKIE, path="/")

    async def _announce(self, event: AccessChanged) -> None:
        if self.bus is not None:
            await self.bus.publish(ACCESS_CHANGED, event)

    async def session_of(self, request: web.Request) -> tuple[User, SessionRecord] | None:
        """The logged-in user and session behind the request's cookie, cached per request."""
        if _SESSION_KEY in request:
            return request[_SESSION_KEY]
        found = await self._session_from_cookie_value(request.cookies.get(SESSION_COOKIE))
        request[_SESSION_KEY] = found
        return found

    async def _session_from_cookie_value(
        self, value: str | None
    ) -> tuple[User, SessionRecord] | None:
        sid = unsign(value, self._secret, "session")
        if not sid:
            return None
        record = await self.store.get_session(sha256_hex(sid))
        if record is None:
            return None
        account = await self.store.get_account(record.username)
        if account is None:
            return None
        return User(account.username, account.role), record

    def has_session_cookie(self, request: web.Request) -> bool:
        return SESSION_COOKIE in request.cookies

    async def csrf_token(self, request: web.Request) -> str | None:
        found = await self.session_of(request)
        return found[1].csrf_token if found else None

    async def current_user(self, request: web.Request) -> User | None:
        found = await self.session_of(request)
        return found[0] if found else None

    async def session_from_cookie_header(self, cookie_header: str | None) -> tuple[User, str] | None:
        """For Socket.IO handshakes, which carry the cookies as one raw header: the signed-in
        user and their session's key (what `AccessChanged.session` names and `user_of_session`
        takes)."""
        if not cookie_header or SESSION_COOKIE not in cookie_header:
            return None  # most handshakes are viewers': no parsing, no store round trip
        sid = unsign(_cookie(cookie_header, SESSION_COOKIE), self._secret, "session")
        if not sid:
            return None
        key = sha256_hex(sid)
        user = await self.user_of_session(key)
        return (user, key) if user is not None else None

    async def user_of_session(self, session_key: str) -> User | None:
        """The user of a live session, with their role as it is now; None once it ended."""
        record = await self.store.get_session(session_key)
        if record is None:
            return None
        account = await self.store.get_account(record.username)
        return User(account.username, account.role) if account is not None else None

    async def require(self, request: web.Request, role: str) -> User:
        """The user if they hold `role` (a producer holds host too); 401 or 403 otherwise."""
        user = await self.current_user(request)
        if user is None:
            raise ApiError(401, "not_authenticated", "Log in first.")
        if not user.can(role):
            raise ApiError(403, "forbidden", f"This needs the {role} role.")
        return user

    # ---- viewers --------------------------------------------------------------------------
    def viewer_id(self, request: web.Request) -> str | None:
        return unsign(request.cookies.get(VIEWER_COOKIE), self._secret, "viewer")

    def viewer_id_from_cookie_header(self, cookie_header: str | None) -> str | None:
        return unsign(_cookie(cookie_header, VIEWER_COOKIE), self._secret, "viewer")

    def ensure_viewer_cookie(self, request: web.Request, response: web.StreamResponse) -> str:
        """The request's viewer id, minting one (and setting the cookie) on first visit."""
        existing = self.viewer_id(request)
        if existing:
            return existing
        viewer = "v_" + secrets.token_urlsafe(12)
        response.set_cookie(
            VIEWER_COOKIE,
            sign(viewer, self._secret, "viewer"),
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=request.secure,
            path="/",
        )
        return viewer

    # ---- first run ------------------------------------------------------------------------
    async def first_run_token(self) -> str | None:
        """A fresh one-time token to create the first producer, or None when one exists."""
        if await self.has_producer():
            return None
        token = secrets.token_urlsafe(32)
        await self.store.set_setting_if_absent(
            "setup_token:" + sha256_hex(token), "1", ttl_s=SETUP_TOKEN_TTL_S
        )
        return token

    async def redeem_first_run(self, token: str, username: str, password: str) -> Account:
        validate_username(username)
        validate_password(password)
        if await self.has_producer():
            raise ApiError(409, "already_set_up", "A producer account exists already; log in.")
        if not token or len(token) > 128:
            raise ApiError(403, "invalid_setup_token", "This setup link is not valid.")
        if await self.store.take_setting("setup_token:" + sha256_hex(token)) is None:
            raise ApiError(
                403, "invalid_setup_token", "This setup link is not valid or was used already."
            )
        return await self.add_user(username, "producer", password)


def _known_key(username: str, address: str) -> str:
    return f"login_known:{username}:{address}"


def _cookie(header: str | None, name: str) -> str | None:
    if not header or len(header) > 8192:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None
