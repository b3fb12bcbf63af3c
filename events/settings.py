"""The events slice's settings (`INNOTV_EVENTS_*`): the privacy notice's version, the daily cap
and the earning rate limit, sign-up and sign-in limits, member sessions, watch heartbeats, the
thermometer's pace, claim periods and the OpenID Connect provider the operator configures.
docs/protocol.md ("Events") says each one and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import urlsplit

from kernel.settings import ConfigError


@dataclass(frozen=True)
class EventsSettings:
    PREFIX: ClassVar[str] = "events_"

    # The privacy notice members consent to; a sign-up must name this version.
    privacy_version: str = "2026-11-01"
    # Mileage one member may earn per day (Asia/Seoul), all ways together.
    daily_cap: int = 1000
    # Earning events one member may make count per minute (votes, questions, comments, ...).
    earn_per_minute: int = 20
    # Sign-ups from one address per hour, sign-in attempts per address and per email per 15 min.
    signups_per_hour: int = 20
    signin_per_address: int = 30
    signin_per_email: int = 10
    session_days: int = 30
    # A watch heartbeat every this many seconds of playing, visible video; one credit each.
    watch_interval_s: int = 60
    # The thermometer: totals heard within this window go out together (ms).
    thermometer_ms: int = 200
    # The longest claim period a producer may give a draw's winners (days).
    max_claim_days: int = 90
    # OpenID Connect: the provider's issuer URL (its discovery document is read from
    # `<issuer>/.well-known/openid-configuration`), our client at it, and the button's label.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = field(default="", repr=False)
    oidc_name: str = "OpenID"
    oidc_scopes: str = "openid profile"
    # Where the provider sends people back; empty: `<public url>/api/events/oidc/callback`.
    oidc_redirect_url: str = ""

    def validate(self) -> None:
        if not 1 <= len(self.privacy_version) <= 40:
            raise ConfigError("events_privacy_version: 1-40 characters")
        checks = (
            ("daily_cap", self.daily_cap, 1, 10_000_000),
            ("earn_per_minute", self.earn_per_minute, 1, 10_000),
            ("signups_per_hour", self.signups_per_hour, 1, 1_000_000),
            ("signin_per_address", self.signin_per_address, 1, 1_000_000),
            ("signin_per_email", self.signin_per_email, 1, 10_000),
            ("session_days", self.session_days, 1, 365),
            ("watch_interval_s", self.watch_interval_s, 10, 600),
            ("thermometer_ms", self.thermometer_ms, 10, 900),
            ("max_claim_days", self.max_claim_days, 1, 365),
        )
        for name, value, low, high in checks:
            if not low <= value <= high:
                raise ConfigError(f"events_{name}: must be between {low} and {high}")
        if self.oidc_issuer:
            if urlsplit(self.oidc_issuer).scheme not in ("https", "http"):
                raise ConfigError("events_oidc_issuer: an http(s) URL")
            if not self.oidc_client_id:
                raise ConfigError("events_oidc_client_id: needed with events_oidc_issuer")
            if "openid" not in self.oidc_scopes.split():
                raise ConfigError("events_oidc_scopes: must include 'openid'")
        if self.oidc_redirect_url and urlsplit(self.oidc_redirect_url).scheme not in ("https", "http"):
            raise ConfigError("events_oidc_redirect_url: an http(s) URL")
        if not 1 <= len(self.oidc_name) <= 40:
            raise ConfigError("events_oidc_name: 1-40 characters")
