"""docs/protocol.md stays true: every route the app serves is documented there."""

from __future__ import annotations

from pathlib import Path

from innotv.app import create_app
from innotv.config import load_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_every_route_is_documented(tmp_path: Path) -> None:
    app = create_app(load_config({"data_dir": str(tmp_path)}, environ={}))
    doc = DOC.read_text()
    missing = []
    for route in app.router.routes():
        if route.method in ("HEAD", "OPTIONS") or route.resource is None:
            continue
        path = route.resource.canonical
        if path.endswith("{path}"):
            path = path[: -len("{path}")]  # a family of files, documented one by one
        if path in ("/static", "/socket.io/"):
            if path not in doc:
                missing.append(path)
            continue
        if f"{route.method} {path}" not in doc:
            missing.append(f"{route.method} {path}")
    assert not missing, f"routes missing from docs/protocol.md: {missing}"


def test_every_socketio_event_is_documented(tmp_path: Path) -> None:
    from innotv.app import PARTS

    app = create_app(load_config({"data_dir": str(tmp_path)}, environ={}))
    from chat.incoming import INVALID_EVENT

    # every event a client can name; INVALID_EVENT is what an undecodable packet is handled as
    events = set(app[PARTS].chat.lean.handlers) - {INVALID_EVENT}
    assert {"join", "chat", "heart", "vote", "mod:ban"} <= events
    doc = DOC.read_text()
    missing = sorted(e for e in events if f"`{e}`" not in doc)
    assert not missing, f"Socket.IO events missing from docs/protocol.md: {missing}"
