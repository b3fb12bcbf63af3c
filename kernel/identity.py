"""Who is asking, as every slice sees it: a signed-in `User` with a role, and the `Gate` that
checks a request's role on the server (the accounts slice implements it).

Roles: `producer` can do everything; `host` runs the show (and may caption it); `captioner` only
captions (live captions, 문자통역) and is neither a host nor a producer. Viewers have no `User`:
they are anonymous viewer ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

ROLES = ("host", "producer", "captioner")
# Which roles each role includes (besides itself).
_INCLUDES = {"producer": ("host", "captioner"), "host": ("captioner",), "captioner": ()}


@dataclass(frozen=True)
class User:
    username: str
    role: str

    def can(self, role: str) -> bool:
        """A producer can do all a host can; both can caption. A captioner can only caption."""
        return self.role == role or role in _INCLUDES.get(self.role, ())

    def public(self) -> dict[str, str]:
        return {"username": self.username, "role": self.role}


class Gate(Protocol):
    async def current_user(self, request: web.Request) -> User | None:
        """The signed-in user behind the request's session cookie, if any."""

    async def require(self, request: web.Request, role: str) -> User:
        """The user if they hold `role`; ApiError 401 (not signed in) or 403 otherwise."""
