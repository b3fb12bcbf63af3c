"""What the schedule slice needs from others, as small typed interfaces the root passes in."""

from __future__ import annotations

from typing import Protocol


class Accounts(Protocol):
    async def exists(self, username: str) -> bool:
        """Whether an account (a possible host) has this username."""
