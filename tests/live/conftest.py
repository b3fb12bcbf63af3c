"""Fixtures shared by the live tests: Debian's nginx with its RTMP module, as a simulcast
destination (test_simulcast.py, test_rtmp.py), started per test and stopped by PID."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import NginxRtmp


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[NginxRtmp]:
    server = NginxRtmp(tmp_path / "nginx")
    try:
        yield server
    finally:
        server.stop()
