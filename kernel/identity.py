"""Who is asking, as every slice sees it: a signed-in `User` with a role, and the `Gate` that
checks a request's role on the server (the accounts slice implements it).

A producer can do everything a host can. Viewers have no `User`: they are anonymous viewer ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

ROLES = ("host", "producer")


@dataclass(frozen=True)
class User:
    username: str
    role: str

    def can(self, role: str) -> bool:
        """A producer can do all a host can."""
        return self.role == role or (self.role == "producer" and role == "host")

    def public(self) -> dict[str, str]:
        return {"username": self.username, "role": self.role}


class Gate(Protocol):
    async def current_user(self, request: web.Request) -> User | None:
        """The signed-in user behind the request's session cookie, if any."""

    async def require(self, request: web.Request, role: str) -> User:
        """The user if they hold `role`; ApiError 401 (not signed in) or 403 otherwise."""
