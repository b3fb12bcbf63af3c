"""The accounts slice's settings: cookie signing, login throttling, session length."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from kernel.settings import ConfigError


@dataclass(frozen=True)
class AccountSettings:
    PREFIX: ClassVar[str] = ""

    # Signing key for cookies; generated and kept in the store when not given.
    secret: str = field(default="", repr=False)
    # Login throttling: this many failures within the window answer 429.
    login_max_failures: int = 5
    login_window_s: int = 900
    session_hours: int = 12

    def validate(self) -> None:
        if self.secret and len(self.secret) < 32:
            raise ConfigError("secret: must be at least 32 characters")
        if not 1 <= self.login_max_failures <= 1000:
            raise ConfigError("login_max_failures: must be between 1 and 1000")
        if not 1 <= self.login_window_s <= 86_400:
            raise ConfigError("login_window_s: must be between 1 and 86400")
        if not 1 <= self.session_hours <= 24 * 30:
            raise ConfigError("session_hours: must be between 1 and 720")
