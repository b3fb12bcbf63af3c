"""Accounts: hosts and producers, their passwords, login sessions and roles; anonymous viewer ids.

`build(kernel, settings)` makes the `Auth` service (the root needs it before the app exists, for
the CSRF middleware); `setup(app, auth)` registers the identity routes and starts it with the
app. `Auth` is the `kernel.identity.Gate` every slice checks roles with, and the CSRF
middleware's session lookup. When a session ends (logout) or a user's role changes
(`Auth.role_changed`), it publishes `kernel.topics.AccessChanged` on the bus.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from kernel.core import Kernel

from .auth import SESSION_COOKIE, Auth
from .routes import setup_routes
from .settings import AccountSettings
from .store import make_auth_store
from .user_routes import setup_user_routes

__all__ = ["SESSION_COOKIE", "AccountSettings", "Auth", "build", "setup"]


def build(kernel: Kernel, settings: AccountSettings) -> Auth:
    return Auth(make_auth_store(kernel.backend), settings, kernel.bus)


def setup(app: web.Application, auth: Auth) -> None:
    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await auth.start()
        yield

    app.cleanup_ctx.append(lifecycle)
    setup_routes(app, auth)
    setup_user_routes(app, auth)
