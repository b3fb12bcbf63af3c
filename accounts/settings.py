"""The accounts slice's settings: cookie signing, login throttling, session length.

Login throttling (`Auth.take_attempt`) counts every attempt before its password is checked:
per address, per account and address, and per account from addresses it never logged in from.
No count locks an account for everyone: a stranger who knows a producer's name uses up their
own address's attempts, and the account-wide one only slows down guesses from new addresses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from kernel.settings import ConfigError


@dataclass(frozen=True)
class AccountSettings:
    PREFIX: ClassVar[str] = ""

    # Signing key for cookies; generated and kept in the store when not given.
    secret: str = field(default="", repr=False)
    # Login throttling, all counted before the password is checked: attempts per account and
    # address within the window (a success clears it), attempts per address for any accounts ...
    login_max_failures: int = 5
    login_window_s: int = 900
    login_max_per_address: int = 30
    # ... and per account and minute from addresses it has never logged in from (a guessing
    # botnet is slowed down; the people who use the account, from where they did before, are not).
    login_account_per_minute: int = 20
    # How long a successful login's address counts as one the account logs in from.
    login_known_days: int = 30
    session_hours: int = 12

    def validate(self) -> None:
        if self.secret and len(self.secret) < 32:
            raise ConfigError("secret: must be at least 32 characters")
        if not 1 <= self.login_max_failures <= 1000:
            raise ConfigError("login_max_failures: must be between 1 and 1000")
        if not 1 <= self.login_window_s <= 86_400:
            raise ConfigError("login_window_s: must be between 1 and 86400")
        if not 1 <= self.login_max_per_address <= 100_000:
            raise ConfigError("login_max_per_address: must be between 1 and 100000")
        if not 1 <= self.login_account_per_minute <= 100_000:
            raise ConfigError("login_account_per_minute: must be between 1 and 100000")
        if not 1 <= self.login_known_days <= 3650:
            raise ConfigError("login_known_days: must be between 1 and 3650")
        if not 1 <= self.session_hours <= 24 * 30:
            raise ConfigError("session_hours: must be between 1 and 720")
