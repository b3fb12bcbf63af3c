"""REST routes of members: sign up, sign in and out (email or OpenID Connect), who am I with my
balance, my ledger, delete my account, and what the event pages need to know first (`config`)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from kernel.body import read_json_object
from kernel.client_address import limit_key
from kernel.errors import ApiError
from kernel.security import request_origin
from kernel.signing import sha256_hex

from . import validate as v
from .members import MEMBER_COOKIE
from .moments import iso, now_ms, seoul_day
from .oidc import STATE_TTL_S, OidcClient, OidcError
from .parts import EventsParts
from .store import Entry
from .validate import fields

MAX_BODY = 8 * 1024
CALLBACK_PATH = "/api/events/oidc/callback"
NICKNAME_MAX = 24
NO_STORE = {"Cache-Control": "no-store"}


def entry_view(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso(entry.at_ms),
        "kind": entry.kind,
        "amount": entry.amount,
        "balance_after": entry.balance_after,
        "ref": entry.ref,
        "program": entry.program or None,
        "campaign": entry.campaign or None,
    }


def setup_member_routes(app: web.Application, parts: EventsParts, oidc: OidcClient) -> None:
    members, store, settings = parts.members, parts.store, parts.settings

    async def config(_request: web.Request) -> web.Response:
        return web.json_response(
            {
                "privacy_version": settings.privacy_version,
                "daily_cap": settings.daily_cap,
                "watch_interval_s": settings.watch_interval_s,
                "oidc": {"name": settings.oidc_name} if oidc.enabled else None,
            }
        )

    async def sign_up(request: web.Request) -> web.Response:
        body = await read_json_object(request, MAX_BODY)
        fields(body, {"email", "password", "nickname", "consent"})
        email = v.email(body.get("email"))
        password = v.password(body.get("password"))
        nickname = v.text(body.get("nickname"), "nickname", NICKNAME_MAX)
        member = await members.sign_up(
            limit_key(request.remote), email, password, nickname, body.get("consent")
        )
        response = web.json_response({"member": members.public(member), "balance": 0}, status=201)
        await members.open_session(request, response, member)
        return response

    async def sign_in(request: web.Request) -> web.Response:
        body = await read_json_object(request, MAX_BODY)
        fields(body, {"email", "password"})
        email, password = body.get("email"), body.get("password")
        if not isinstance(email, str) or not isinstance(password, str) or len(password) > v.MAX_PASSWORD:
            raise ApiError(400, "invalid_credentials_format", "Send an email and a password.")
        member = await members.sign_in(limit_key(request.remote), email.strip().lower()[:254], password)
        response = web.json_response(
            {"member": members.public(member), "balance": await store.balance(member.id)}
        )
        await members.open_session(request, response, member)
        return response

    async def sign_out(request: web.Request) -> web.Response:
        response = web.json_response({"ok": True})
        await members.sign_out(request, response)
        return response

    async def me(request: web.Request) -> web.Response:
        member = await members.current(request)
        if member is None:
            return web.json_response({"member": None}, headers=NO_STORE)
        today = await store.earned_on(member.id, seoul_day(parts.clock))
        return web.json_response(
            {
                "member": members.public(member),
                "balance": await store.balance(member.id),
                "today": {"earned": today, "cap": settings.daily_cap},
            },
            headers=NO_STORE,
        )

    async def ledger(request: web.Request) -> web.Response:
        member = await members.require(request)
        before = request.query.get("before")
        if before is not None and not _is_entry_id(before):
            raise ApiError(400, "invalid_before", "'before' is an entry id.")
        try:
            limit = int(request.query.get("limit", "50"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 200:
            raise ApiError(400, "invalid_limit", "'limit' is 1-200.")
        try:
            entries = await store.history(member.id, limit, before)
        except ValueError:  # well formed, but not an id of this store's kind
            raise ApiError(400, "invalid_before", "'before' is an entry id.") from None
        return web.json_response(
            {
                "balance": await store.balance(member.id),
                "entries": [entry_view(e) for e in entries],
                "next_before": entries[-1].id if len(entries) == limit else None,
            },
            headers=NO_STORE,
        )

    async def delete_me(request: web.Request) -> web.Response:
        member = await members.require(request)
        body = await read_json_object(request, MAX_BODY)
        fields(body, {"confirm"})
        if body.get("confirm") != "delete":
            raise ApiError(400, "confirm_required", 'Send {"confirm": "delete"} to delete your account.')
        forfeited = await members.delete(member)
        response = web.json_response({"deleted": True, "forfeited": forfeited})
        response.del_cookie(MEMBER_COOKIE, path="/")
        return response

    async def oidc_start(request: web.Request) -> web.StreamResponse:
        if not oidc.enabled:
            raise ApiError(404, "oidc_not_configured", "No sign-in provider is configured.")
        consent = request.query.get("consent")
        if consent != settings.privacy_version:
            raise ApiError(
                400,
                "consent_required",
                "Agree to the privacy notice (its current version) first.",
                details={"privacy_version": settings.privacy_version},
            )
        redirect = oidc.redirect_url or request_origin(request) + CALLBACK_PATH
        url, keep = await oidc.begin(redirect)
        keep["next"] = v.local_path(request.query.get("next"))
        keep["consent"] = consent
        await store.kv_put("oidc:" + sha256_hex(keep.pop("state")), json.dumps(keep), STATE_TTL_S)
        raise web.HTTPFound(url)

    async def oidc_callback(request: web.Request) -> web.StreamResponse:
        if not oidc.enabled:
            raise ApiError(404, "oidc_not_configured", "No sign-in provider is configured.")
        state = request.query.get("state", "")
        kept_raw = await store.kv_take("oidc:" + sha256_hex(state)) if 0 < len(state) <= 128 else None
        if kept_raw is None:
            raise ApiError(400, "invalid_state", "This sign-in has expired or was used already; start again.")
        kept = json.loads(kept_raw)
        if "error" in request.query:
            raise OidcError("The provider did not sign you in.")
        code = request.query.get("code", "")
        if not 0 < len(code) <= 2048:
            raise OidcError("The provider sent no code.")
        claims = await oidc.finish(code, kept, now_ms(parts.clock) / 1000)
        nickname = _nickname(claims)
        member = await members.oidc_member(claims["iss"], claims["sub"], nickname, kept["consent"])
        response = web.HTTPFound(kept["next"])
        await members.open_session(request, response, member)
        raise response

    app.router.add_get("/api/events/config", config)
    app.router.add_post("/api/events/members", sign_up)
    app.router.add_post("/api/events/session", sign_in)
    app.router.add_delete("/api/events/session", sign_out)
    app.router.add_get("/api/events/me", me)
    app.router.add_delete("/api/events/me", delete_me)
    app.router.add_get("/api/events/me/ledger", ledger)
    app.router.add_get("/api/events/oidc/start", oidc_start)
    app.router.add_get("/api/events/oidc/callback", oidc_callback)


def _is_entry_id(value: str) -> bool:
    """An entry id as a store writes it: ASCII digits (SQLite's sequence) or `<ms>-<seq>` (a Redis
    stream id), each part a number that fits in 64 bits."""
    parts = value.split("-")
    return len(parts) <= 2 and all(
        part.isascii() and part.isdigit() and len(part) <= 20 and int(part) < 2**64 for part in parts)


def _nickname(claims: dict[str, Any]) -> str:
    for name in ("nickname", "name", "preferred_username"):
        value = claims.get(name)
        if isinstance(value, str):
            try:
                return v.text(value, "nickname", NICKNAME_MAX)
            except ApiError:
                continue
    return "시청자" + str(claims["sub"])[-4:]
