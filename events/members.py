"""Viewer accounts (members): sign-up with email, password and nickname, sign-in, OpenID Connect
accounts, sessions, and deletion.

- Passwords are argon2id hashes made in a thread (slow on purpose, never on the event loop).
- A session is a random id kept hashed in the store and sent as the signed HttpOnly cookie
  `innotv_member` (SameSite=Lax).
- Signing in links the browser's chat viewer id to the member, so what the viewer does in the
  chat (vote, ask, comment) earns for the member; signing out removes the link.
- Consent to the privacy notice is recorded with its version and time.
- Deletion appends a `closed` entry that takes the balance to 0, then erases the account, its
  sessions, links and contact details; the ledger keeps its entries under the bare id.
- Attempts are counted before the password is checked: per address and per email.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kernel.bus import Bus
from kernel.clock import Clock
from kernel.errors import ApiError
from kernel.signing import sha256_hex, sign, unsign

from .moments import iso, now_ms
from .ports import Visitors
from .settings import EventsSettings
from .store import EventsStore, Member
from .topics import VIEWER_LINKED, ViewerLinked

MEMBER_COOKIE = "innotv_member"
SIGNIN_WINDOW_S = 900
_hasher = PasswordHasher()
_MEMBER_KEY: web.RequestKey[Member | None] = web.RequestKey("innotv.member", object)  # type: ignore[arg-type]


def new_id(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(9).replace("-", "x").replace("_", "y")


class Members:
    def __init__(
        self, store: EventsStore, settings: EventsSettings, clock: Clock, visitors: Visitors, bus: Bus,
        linked: Callable[[str], None] = lambda _viewer: None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.visitors = visitors
        self.bus = bus
        self.linked = linked  # told of each viewer linked here, before the other processes hear it
        self.secret = ""
        self._dummy_hash = ""

    async def start(self) -> None:
        self.secret = await self.store.kv_set_if_absent("secret", secrets.token_urlsafe(48))

    # ---- accounts -------------------------------------------------------------------------------
    def _consent(self, consent: object) -> str:
        if consent != self.settings.privacy_version:
            raise ApiError(
                400,
                "consent_required",
                "Agree to the privacy notice (its current version) to sign up.",
                details={"privacy_version": self.settings.privacy_version},
            )
        return self.settings.privacy_version

    async def _limit(self, key: str, window_s: int, limit: int, code: str) -> None:
        if await self.store.hit(key, window_s) > limit:
            raise ApiError(
                429,
                code,
                "Too many attempts; wait a little and try again.",
                headers={"Retry-After": str(window_s)},
            )

    async def sign_up(
        self, address: str, email: str, password: str, nickname: str, consent: object
    ) -> Member:
        version = self._consent(consent)
        await self._limit(f"signup:{address}", 3600, self.settings.signups_per_hour, "too_many_signups")
        if await self.store.member_by_email(email) is not None:
            raise ApiError(409, "email_taken", "An account with this email exists; sign in instead.")
        password_hash = await asyncio.to_thread(_hasher.hash, password)
        at = now_ms(self.clock)
        member = Member(new_id("m_"), nickname, email, password_hash, None, None, version, at, at)
        if await self.store.create_member(member) is not None:
            raise ApiError(409, "email_taken", "An account with this email exists; sign in instead.")
        return member

    async def sign_in(self, address: str, email: str, password: str) -> Member:
        s = self.settings
        await self._limit(f"signin:ip:{address}", SIGNIN_WINDOW_S, s.signin_per_address, "too_many_attempts")
        await self._limit(
            f"signin:email:{sha256_hex(email)}", SIGNIN_WINDOW_S, s.signin_per_email, "too_many_attempts"
        )
        member = await self.store.member_by_email(email)
        if member is None and not self._dummy_hash:
            self._dummy_hash = await asyncio.to_thread(_hasher.hash, secrets.token_urlsafe(16))
        stored = member.password_hash if member and member.password_hash else self._dummy_hash
        try:
            await asyncio.to_thread(_hasher.verify, stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            member = None
        if member is None or member.password_hash is None:
            raise ApiError(401, "invalid_credentials", "Wrong email or password.")
        return member

    async def oidc_member(self, issuer: str, subject: str, nickname: str, consent: str) -> Member:
        """The member behind this provider account, created on its first sign-in."""
        found = await self.store.member_by_subject(issuer, subject)
        if found is not None:
            return found
        at = now_ms(self.clock)
        member = Member(new_id("m_"), nickname, None, None, issuer, subject, self._consent(consent), at, at)
        if await self.store.create_member(member) is not None:  # a parallel first sign-in won
            again = await self.store.member_by_subject(issuer, subject)
            if again is None:
                raise ApiError(409, "account_conflict", "Try signing in again.")
            return again
        return member

    async def delete(self, member: Member) -> int:
        """Forfeit the balance (appended), erase the account; what was forfeited."""
        forfeited = await self.store.close_balance(member.id, now_ms(self.clock))
        await self.store.erase_member(member.id)
        return forfeited

    # ---- sessions -------------------------------------------------------------------------------
    async def open_session(self, request: web.Request, response: web.StreamResponse, member: Member) -> None:
        sid = secrets.token_urlsafe(32)
        expires = now_ms(self.clock) + self.settings.session_days * 86_400_000
        await self.store.create_session(sha256_hex(sid), member.id, expires)
        viewer = self.visitors.ensure_viewer_cookie(request, response)
        await self.store.link_viewer(viewer, member.id, expires)
        self.linked(viewer)
        await self.bus.publish(VIEWER_LINKED, ViewerLinked(viewer))
        response.set_cookie(
            MEMBER_COOKIE,
            sign(sid, self.secret, "member"),
            max_age=self.settings.session_days * 86_400,
            httponly=True,
            samesite="Lax",
            secure=request.secure,
            path="/",
        )

    async def sign_out(self, request: web.Request, response: web.StreamResponse) -> None:
        sid = unsign(request.cookies.get(MEMBER_COOKIE), self.secret, "member")
        if sid:
            await self.store.delete_session(sha256_hex(sid))
        viewer = self.visitors.viewer_id(request)
        if viewer:
            await self.store.unlink_viewer(viewer)
        response.del_cookie(MEMBER_COOKIE, path="/")

    async def current(self, request: web.Request) -> Member | None:
        if _MEMBER_KEY in request:
            return request[_MEMBER_KEY]
        member = None
        sid = unsign(request.cookies.get(MEMBER_COOKIE), self.secret, "member")
        if sid:
            member_id = await self.store.session_member(sha256_hex(sid), now_ms(self.clock))
            if member_id:
                member = await self.store.get_member(member_id)
        request[_MEMBER_KEY] = member
        return member

    async def require(self, request: web.Request) -> Member:
        member = await self.current(request)
        if member is None:
            raise ApiError(401, "sign_in_required", "Sign in to today's event first.")
        return member

    def public(self, member: Member) -> dict[str, Any]:
        """The member as they see themselves (their email, never the password hash)."""
        return {
            "id": member.id,
            "nickname": member.nickname,
            "email": member.email,
            "provider": "oidc" if member.subject else "email",
            "consent_version": member.consent_version,
            "consented_at": iso(member.consented_at_ms),
            "created_at": iso(member.created_at_ms),
        }
