"""REST routes for identity: log in/out, who am I, and the first-run producer setup."""

from __future__ import annotations

from aiohttp import web

from kernel.body import read_json_object
from kernel.client_address import limit_key
from kernel.errors import ApiError

from .auth import Auth, validate_password, validate_username


def _fields(body: dict[str, object], allowed: set[str]) -> None:
    unknown = set(body) - allowed
    if unknown:
        raise ApiError(400, "unknown_field", f"Unknown field(s): {', '.join(sorted(unknown))}.")


def setup_routes(app: web.Application, auth: Auth) -> None:
    async def login(request: web.Request) -> web.Response:
        body = await read_json_object(request)
        _fields(body, {"username", "password"})
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise ApiError(400, "invalid_credentials_format", "Send a username and a password.")
        if len(username) > 64 or len(password) > 1024:
            raise ApiError(401, "invalid_credentials", "Wrong username or password.")
        name = username.lower()
        address = limit_key(request.remote)  # behind trusted proxies: the client's, not theirs
        await auth.take_attempt(name, address)
        user = await auth.check_password(name, password)
        if user is None:
            raise ApiError(401, "invalid_credentials", "Wrong username or password.")
        await auth.login_succeeded(name, address)
        cookie_value, csrf = await auth.start_session(request, user)
        response = web.json_response({"user": user.public(), "csrf_token": csrf})
        auth.set_session_cookie(request, response, cookie_value)
        return response

    async def whoami(request: web.Request) -> web.Response:
        found = await auth.session_of(request)
        if found is None:
            response = web.json_response({"user": None})
        else:
            user, record = found
            response = web.json_response({"user": user.public(), "csrf_token": record.csrf_token})
        auth.ensure_viewer_cookie(request, response)
        return response

    async def logout(request: web.Request) -> web.Response:
        response = web.json_response({"ok": True})
        await auth.end_session(response, request)
        return response

    async def first_run(request: web.Request) -> web.Response:
        body = await read_json_object(request)
        _fields(body, {"token", "username", "password"})
        token = body.get("token")
        if not isinstance(token, str):
            raise ApiError(400, "invalid_setup_token", "Send the token from the setup link.")
        username = validate_username(body.get("username"))
        password = validate_password(body.get("password"))
        account = await auth.redeem_first_run(token, username, password)
        return web.json_response(
            {"user": {"username": account.username, "role": account.role}}, status=201
        )

    app.router.add_post("/api/session", login)
    app.router.add_get("/api/session", whoami)
    app.router.add_delete("/api/session", logout)
    app.router.add_post("/api/setup", first_run)
