"""Settings: each slice's section loaded from defaults, `INNOTV_*` and flags, one name per setting,
and a clear error naming the setting for a bad value. Pure: no server."""

from __future__ import annotations

from collections import Counter

import pytest

from innotv.config import SECTIONS, load_config, setting_names
from kernel.settings import ConfigError, public_names


def test_every_setting_has_one_owner() -> None:
    names = Counter(name for cls in SECTIONS.values() for name in public_names(cls))
    assert [name for name, n in names.items() if n > 1] == []
    assert {"port", "tick_ms", "chat_buffer_kib", "live_ladder", "lobby_minutes", "secret"} <= setting_names()


def test_flags_win_over_the_environment_which_wins_over_defaults() -> None:
    env = {"INNOTV_PORT": "9000", "INNOTV_TICK_MS": "50", "INNOTV_LIVE_LADDER": "360p30"}
    config = load_config({"port": 9100}, environ=env)
    assert (config.core.port, config.chat.tick_ms, config.live.ladder) == (9100, 50, "360p30")
    assert config.schedule.lobby_minutes == 15
    assert load_config(config.overrides(), environ={}) == config


@pytest.mark.parametrize(("given", "named"), [
    ({"port": "eighty"}, "--port"),
    ({"tick_ms": 1}, "tick_ms"),
    ({"live_ladder": "huge"}, "live_ladder"),
    ({"redis_url": "http://x"}, "redis_url"),
    ({"secret": "short"}, "secret"),
    ({"chat_buffer_kib": 10**30}, "chat_buffer_kib"),
    ({"no_such_setting": 1}, "no_such_setting"),
    ({"embed_origins": "*"}, "embed_origins"),
    ({"embed_origins": "https://expo.example.kr/path"}, "embed_origins"),
    ({"embed_origins": "https://a.kr; script-src *"}, "embed_origins"),
    ({"embed_origins": "'self'"}, "embed_origins"),
    ({"access_log_summary_s": 0}, "access_log_summary_s"),
])
def test_a_bad_value_names_its_setting(given: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_config(given, environ={})


def test_framing_origins_are_origins() -> None:
    config = load_config({"embed_origins": "https://www.innovationexpo.kr,https://*.go.kr:8443"}, environ={})
    assert config.core.embed_origins == ("https://www.innovationexpo.kr", "https://*.go.kr:8443")


def test_a_bad_environment_variable_is_named_as_such() -> None:
    with pytest.raises(ConfigError, match="INNOTV_LOBBY_MINUTES"):
        load_config({}, environ={"INNOTV_LOBBY_MINUTES": "soon"})
