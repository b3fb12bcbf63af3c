"""The whole configuration: every slice's settings section, loaded from flags and `INNOTV_*`.

Precedence: a flag given on the command line wins over the environment, which wins over the
default. Each section belongs to its slice, which names and validates its settings
(`kernel.settings`); this module only gathers them and refuses names no section owns.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from accounts import AccountSettings
from captions import CaptionSettings
from chat import ChatSettings
from events import EventsSettings
from kernel.settings import ConfigError, CoreSettings, load_section, public_names
from live import LiveSettings
from schedule import ScheduleSettings
from webhooks import WebhookSettings

__all__ = ["Config", "ConfigError", "load_config", "setting_names"]

SECTIONS: dict[str, type[Any]] = {
    "core": CoreSettings,
    "accounts": AccountSettings,
    "schedule": ScheduleSettings,
    "chat": ChatSettings,
    "live": LiveSettings,
    "events": EventsSettings,
    "captions": CaptionSettings,
    "webhooks": WebhookSettings,
}


@dataclass(frozen=True)
class Config:
    core: CoreSettings
    accounts: AccountSettings
    schedule: ScheduleSettings
    chat: ChatSettings
    live: LiveSettings
    events: EventsSettings
    captions: CaptionSettings
    webhooks: WebhookSettings

    def overrides(self) -> dict[str, Any]:
        """Every setting by its public name: `load_config(config.overrides())` gives it back."""
        values: dict[str, Any] = {}
        for name in SECTIONS:
            section = getattr(self, name)
            for public, field_name in public_names(type(section)).items():
                values[public] = getattr(section, field_name)
        return values


def setting_names() -> set[str]:
    return {public for cls in SECTIONS.values() for public in public_names(cls)}


def load_config(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Build the config: defaults, then `INNOTV_*` from `environ`, then non-None `overrides`."""
    env = os.environ if environ is None else environ
    given = dict(overrides or {})
    unknown = sorted(set(given) - setting_names())
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}")
    return Config(**{name: load_section(cls, given, env) for name, cls in SECTIONS.items()})
