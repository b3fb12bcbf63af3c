"""Settings: each slice declares its own frozen dataclass of settings; this module loads them.

A settings class names its public settings through `PREFIX` and its field names (`LiveSettings`
with `PREFIX = "live_"` and a field `ladder` is the setting `live_ladder`, read from the
environment variable `INNOTV_LIVE_LADDER` and from the override `live_ladder`); a field can name
itself otherwise with `metadata={"name": ...}`. `validate()` raises `ConfigError` naming the
setting. `load_section` builds one section from overrides (flags) over the environment over the
defaults; the composition root loads every section and refuses names none of them owns.

`CoreSettings` are the kernel's own: where to listen, which store, logs, the proxies in front,
who may read the metrics.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from .client_address import TrustedProxies, parse_networks
from .security import FRAMING_ORIGIN


class ConfigError(ValueError):
    """A setting has a value the server cannot run with; the message names the setting."""


class Section(Protocol):
    PREFIX: ClassVar[str]

    def validate(self) -> None: ...


S = TypeVar("S", bound=Section)


def public_names(cls: type[Any]) -> dict[str, str]:
    """The section's public setting names -> its field names."""
    return {
        f.metadata.get("name", cls.PREFIX + f.name): f.name for f in dataclasses.fields(cls)
    }


def load_section(cls: type[S], overrides: Mapping[str, Any], environ: Mapping[str, str]) -> S:
    """The section from its defaults, then `INNOTV_<NAME>` of `environ`, then non-None overrides
    (keyed by public name; names of other sections are ignored here)."""
    values: dict[str, Any] = {}
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for public, name in public_names(cls).items():
        env_name = f"INNOTV_{public.upper()}"
        if env_name in environ:
            values[name] = _coerce(env_name, environ[env_name], defaults[name])
        override = overrides.get(public)
        if override is not None:
            values[name] = _coerce(f"--{public.replace('_', '-')}", override, defaults[name])
    section = cls(**values)
    section.validate()
    return section


def _coerce(name: str, raw: Any, template: Any) -> Any:
    try:
        if isinstance(template, bool):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(raw)
        if isinstance(template, int):
            if isinstance(raw, bool):
                raise ValueError(raw)
            return int(raw)
        if isinstance(template, float):
            return float(raw)
        if isinstance(template, Path):
            return Path(raw)
        if isinstance(template, tuple):
            if isinstance(raw, (list, tuple)):
                return tuple(str(x) for x in raw)
            return tuple(part.strip() for part in str(raw).split(",") if part.strip())
    except (ValueError, OverflowError):
        raise ConfigError(f"{name}: {str(raw)[:80]!r} is not a valid value") from None
    if template is None and raw == "":
        return None
    return str(raw)


@dataclass(frozen=True)
class CoreSettings:
    PREFIX: ClassVar[str] = ""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    redis_url: str | None = None
    redis_prefix: str = "innotv:"
    demo: bool = False
    # The address people open, used in printed links; derived from host/port when empty.
    public_url: str = ""
    # Extra origins allowed to send state-changing requests and open Socket.IO connections.
    allowed_origins: tuple[str, ...] = ()
    # Reverse proxies in front of us whose X-Forwarded-For / X-Forwarded-Proto we believe: their
    # addresses or networks, and/or how many hops from us are proxies (`kernel.client_address`).
    trusted_proxies: tuple[str, ...] = ()
    trusted_hops: int = 0
    # Shorthand for one proxy in front (`trusted_hops=1`) when neither of the above is set.
    trust_proxy: bool = False
    # Origins whose pages may frame the embeddable player (/embed/{id}); none by default.
    embed_origins: tuple[str, ...] = ()
    # Who may read /metrics: clients from these networks, or anyone sending this Bearer token.
    metrics_networks: tuple[str, ...] = ("127.0.0.0/8", "::1")
    metrics_token: str = field(default="", repr=False)
    # Every Redis command's deadline (s): past it the call fails (REST: 503 store_unavailable)
    # instead of hanging on a Redis that accepts connections and never answers.
    redis_timeout_s: float = 1.5
    # How long the server (or a CLI command) waits for Redis at startup before it gives up (s).
    redis_wait_s: float = 30.0
    log_level: str = "INFO"
    log_format: str = "json"
    # One line per request (logger innotv.access); HLS, replay, Socket.IO and static requests are
    # summed up in one line per interval instead.
    access_log: bool = True
    access_log_summary_s: float = 10.0
    shutdown_timeout_s: float = 10.0

    def validate(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"port: {self.port} is outside 1-65535")
        if self.redis_url == "":
            object.__setattr__(self, "redis_url", None)
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("redis_url: must start with redis://, rediss:// or unix://")
        if not 0.1 <= self.redis_timeout_s <= 30:
            raise ConfigError("redis_timeout_s: must be between 0.1 and 30 seconds")
        if not 0 <= self.redis_wait_s <= 3600:
            raise ConfigError("redis_wait_s: must be between 0 and 3600 seconds")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError("log_level: one of DEBUG, INFO, WARNING, ERROR")
        if self.log_format not in ("json", "text"):
            raise ConfigError("log_format: json or text")
        if not 0.1 <= self.access_log_summary_s <= 3600:
            raise ConfigError("access_log_summary_s: must be between 0.1 and 3600")
        if not 0 < self.shutdown_timeout_s <= 600:
            raise ConfigError("shutdown_timeout_s: must be between 0 and 600")
        if not 0 <= self.trusted_hops <= 10:
            raise ConfigError("trusted_hops: must be between 0 and 10")
        for name in ("trusted_proxies", "metrics_networks"):
            try:
                parse_networks(getattr(self, name))
            except ValueError as exc:
                raise ConfigError(f"{name}: {exc}") from None
        for origin in self.embed_origins:
            if not FRAMING_ORIGIN.match(origin) or len(origin) > 200:
                raise ConfigError(f"embed_origins: {origin[:80]!r} is not an origin like https://expo.example.kr")
        if self.metrics_token and len(self.metrics_token) < 16:
            raise ConfigError("metrics_token: must be at least 16 characters")

    def proxies(self) -> TrustedProxies:
        """The trusted proxies these settings describe (none: X-Forwarded-* is ignored)."""
        hops = self.trusted_hops
        if self.trust_proxy and not hops and not self.trusted_proxies:
            hops = 1
        return TrustedProxies(parse_networks(self.trusted_proxies), hops)

    def link_base(self) -> str:
        """The address printed links start with."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in ("0.0.0.0", "::", "127.0.0.1") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"
