"""Server configuration: one frozen object built from command-line flags and `INNOTV_*` variables.

Precedence: a flag given on the command line wins over the environment, which wins over the
default. Every setting has an environment variable named `INNOTV_<UPPER_NAME>`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A setting has a value the server cannot run with; the message names the setting."""


@dataclass(frozen=True)
class Config:
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
    # Trust X-Forwarded-Proto / X-Forwarded-For from a reverse proxy in front of us.
    trust_proxy: bool = False
    # Signing key for cookies; generated and kept in the store when not given.
    secret: str = field(default="", repr=False)
    log_level: str = "INFO"
    log_format: str = "json"
    # Scheduler
    lobby_minutes: int = 15
    scheduler_lease_ms: int = 10_000
    # Chat fan-out tick
    tick_ms: int = 100
    # Login throttling: this many failures within the window answer 429.
    login_max_failures: int = 5
    login_window_s: int = 900
    session_hours: int = 12
    shutdown_timeout_s: float = 10.0
    # --- schedule settings (owned by schedule/) ---
    # --- chat settings (owned by chat/) ---
    # Open Socket.IO connections allowed from one client address.
    chat_max_conns_per_ip: int = 200
    # Unsent bytes a chat connection may hold before it is dropped from its rooms (KiB).
    chat_buffer_kib: int = 256
    # Redis: stream entries (ticks) kept per room, approximately; 0 keeps everything.
    chat_history_max: int = 0
    # Multiplies every per-connection rate limit (burst and refill); for load tests, not production.
    chat_rate_scale: float = 1.0
    # --- live settings (owned by live/) ---
    # The HLS ladder: height p fps : video kbit/s, tallest first; never upscaled.
    live_ladder: str = "720p30:2800,360p30:800"
    # Segment length in seconds (1-2); a keyframe is forced at every segment start.
    live_segment_s: float = 1.0
    # Segments listed in a live playlist (the sliding window).
    live_window_segments: int = 6
    # x264 preset for live encoding (ultrafast .. medium).
    live_x264_preset: str = "veryfast"
    # Seconds without frames from the publisher before the slate takes over.
    live_slate_after_s: float = 2.0
    # Decoded frames waiting for the media worker before new ones are dropped.
    live_queue_frames: int = 120
    # Largest WHIP/WHEP SDP offer accepted, in bytes.
    live_max_sdp_bytes: int = 32_768
    # Largest premiere upload, in megabytes.
    live_max_upload_mb: int = 4096
    # ICE servers for WHIP/WHEP (comma separated stun:/turn: URLs); none by default.
    live_ice_servers: tuple[str, ...] = ()
    # An H.264 publisher at the top rung's size is repackaged for that rung instead of re-encoded.
    live_passthrough: bool = True
    # Threads per live encoder and decoder; 0 lets FFmpeg use one per core. A 720p30 encode needs
    # well under one core, so a few threads keep up; on the 16-core machine 0, 1 and 2 measured
    # the same CPU per stream (bench/media.py), and 2 bounds the threads of many programs.
    live_codec_threads: int = 2
    # Scheduling niceness of media worker and premiere transcode processes (0-19). When cores run
    # short, the server's event loop (chat, WebRTC receive, HLS requests) goes first and the
    # encoders fall behind (and drop frames) instead.
    live_worker_nice: int = 10

    def link_base(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in ("0.0.0.0", "::", "127.0.0.1") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}


def _coerce(name: str, raw: Any, template: Any) -> Any:
    if raw is None:
        return None
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
            return int(raw)
        if isinstance(template, float):
            return float(raw)
        if isinstance(template, Path):
            return Path(raw)
        if isinstance(template, tuple):
            if isinstance(raw, (list, tuple)):
                return tuple(str(x) for x in raw)
            return tuple(part.strip() for part in str(raw).split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a valid value") from None
    return str(raw)


def load_config(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Build the config: defaults, then `INNOTV_*` from `environ`, then non-None `overrides`."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, fld in _FIELDS.items():
        default = fld.default
        env_value = env.get(f"INNOTV_{name.upper()}")
        if env_value is not None:
            values[name] = _coerce(f"INNOTV_{name.upper()}", env_value, default)
    for name, value in (overrides or {}).items():
        if name not in _FIELDS:
            raise ConfigError(f"unknown setting {name!r}")
        if value is not None:
            values[name] = _coerce(f"--{name.replace('_', '-')}", value, _FIELDS[name].default)
    config = Config(**values)
    _validate(config)
    return config


def _validate(config: Config) -> None:
    if not 0 < config.port < 65536:
        raise ConfigError(f"port: {config.port} is outside 1-65535")
    if config.redis_url is not None and config.redis_url == "":
        object.__setattr__(config, "redis_url", None)
    if config.redis_url and not config.redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("redis_url: must start with redis://, rediss:// or unix://")
    if not 0 <= config.lobby_minutes <= 240:
        raise ConfigError("lobby_minutes: must be between 0 and 240")
    if not 1000 <= config.scheduler_lease_ms <= 600_000:
        raise ConfigError("scheduler_lease_ms: must be between 1000 and 600000")
    if not 10 <= config.tick_ms <= 5000:
        raise ConfigError("tick_ms: must be between 10 and 5000")
    if config.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("log_level: one of DEBUG, INFO, WARNING, ERROR")
    if config.log_format not in ("json", "text"):
        raise ConfigError("log_format: json or text")
    if config.secret and len(config.secret) < 32:
        raise ConfigError("secret: must be at least 32 characters")
