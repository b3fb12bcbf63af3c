"""REST routes for account management (producers only): list, add, reset a password, change a
role, remove. Any change to an account ends all its sessions (see `Auth`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kernel.body import read_json_object
from kernel.errors import ApiError

from .auth import USERNAME_RE, Auth, validate_password, validate_role, validate_username
from .store import Account


def public_account(account: Account) -> dict[str, Any]:
    """An account as the producer desk sees it: never the password hash."""
    return {"username": account.username, "role": account.role, "created_at": account.created_at}


def _fields(body: dict[str, object], allowed: set[str]) -> None:
    unknown = set(body) - allowed
    if unknown:
        field = sorted(unknown)[0]
        raise ApiError(400, "unknown_field", f"Unknown field: {field}.", details={"field": field})


def _name(request: web.Request) -> str:
    name = request.match_info["name"]
    if not USERNAME_RE.fullmatch(name):
        raise ApiError(404, "user_not_found", "There is no such account.")
    return name


def setup_user_routes(app: web.Application, auth: Auth) -> None:
    async def list_users(request: web.Request) -> web.Response:
        await auth.require(request, "producer")
        users = [public_account(a) for a in await auth.list_users()]
        return web.json_response({"users": users}, headers={"Cache-Control": "no-store"})

    async def add_user(request: web.Request) -> web.Response:
        await auth.require(request, "producer")
        body = await read_json_object(request)
        _fields(body, {"username", "role", "password"})
        username = validate_username(body.get("username"))
        role = validate_role(body.get("role"))
        password = validate_password(body.get("password"))
        account = await auth.add_user(username, role, password)
        return web.json_response({"user": public_account(account)}, status=201,
                                 headers={"Location": f"/api/users/{account.username}"})

    async def change_user(request: web.Request) -> web.Response:
        me = await auth.require(request, "producer")
        name = _name(request)
        body = await read_json_object(request)
        _fields(body, {"role", "password"})
        if not body:
            raise ApiError(400, "missing_field", "Send a new 'role' or 'password'.",
                           details={"field": "role"})
        role = validate_role(body["role"]) if "role" in body else None
        password = validate_password(body["password"]) if "password" in body else None
        account = await auth.require_account(name)
        if role is not None and role != account.role and name == me.username:
            raise ApiError(409, "own_account", "Ask another producer to change your own role.")
        if role is not None:
            account = await auth.set_role(name, role)
        if password is not None:
            await auth.set_password(name, password)
        return web.json_response({"user": public_account(account)})

    async def remove_user(request: web.Request) -> web.Response:
        me = await auth.require(request, "producer")
        name = _name(request)
        if name == me.username:
            raise ApiError(409, "own_account", "Ask another producer to remove your own account.")
        await auth.remove_user(name)
        return web.Response(status=204)

    app.router.add_get("/api/users", list_users)
    app.router.add_post("/api/users", add_user)
    app.router.add_patch("/api/users/{name}", change_user)
    app.router.add_delete("/api/users/{name}", remove_user)
