"""The show-day Grafana dashboard (deploy/grafana/innotv-show.json) and the Prometheus scrape
configuration stay usable: every panel's query is valid PromQL (`promtool check rules`) and names
only metrics a real innotv serves and docs/protocol.md documents; the scrape file passes
`promtool check config`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import Server

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "innotv-show.json"
SCRAPE = ROOT / "deploy" / "prometheus" / "innotv.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian: prometheus) is not installed")


def panels() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(DASHBOARD.read_text())["panels"]
    return [p for p in found if p["type"] != "row"]


def expressions() -> list[str]:
    return [t["expr"] for p in panels() for t in p["targets"]]


def test_the_dashboard_covers_the_show() -> None:
    board = json.loads(DASHBOARD.read_text())
    assert board["uid"] == "innotv-show" and board["templating"]["list"][0]["type"] == "datasource"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels():
        assert panel["datasource"]["uid"] == "${datasource}" and panel["targets"], panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
    joined = " ".join(expressions())
    for needed in ("innotv_chat_connections", "innotv_chat_messages_total", "innotv_chat_ack_seconds",
                   "innotv_chat_hearts_total", "innotv_live_input_fps", "innotv_live_segment_delay_seconds",
                   "innotv_live_worker_restarts_total", "innotv_http_errors_total"):
        assert needed in joined, needed


async def test_every_metric_is_documented_and_the_dashboard_reads_served_ones(one_server: Server) -> None:
    async with one_server.client(origin=False).get("/metrics") as r:
        served = {line.split(" ")[2] for line in (await r.text()).splitlines() if line.startswith("# TYPE ")}
    documented = (ROOT / "docs" / "protocol.md").read_text()
    names = {re.sub(r"_(bucket|count|sum)$", "", n)
             for n in re.findall(r"\b(?:innotv|process)_[a-z_]+", " ".join(expressions()))}
    labelled_only = {"innotv_live_input_fps", "innotv_live_input_kbps"}  # only with a publisher
    assert sorted(names - served - labelled_only) == [], "the dashboard reads metrics innotv does not serve"
    assert sorted(n for n in names if f"`{n}`" not in documented) == []
    assert sorted(n for n in served if f"`{n}`" not in documented) == [], "a served metric is not documented"


@needs_promtool
def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query{n}", "expr": expr} for n, expr in enumerate(expressions())]}]}
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True))
    checked = subprocess.run([str(PROMTOOL), "check", "rules", str(path)], capture_output=True, text=True,
                             timeout=60, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(yaml.safe_dump({"groups": [{"name": "x", "rules": [
        {"record": "x:y", "expr": "sum(rate(innotv_chat_messages_total[1m])"}]}]}))
    assert subprocess.run([str(PROMTOOL), "check", "rules", str(broken)], capture_output=True,
                          timeout=60, check=False).returncode != 0  # the check can fail


@needs_promtool
def test_the_scrape_configuration_is_valid() -> None:
    checked = subprocess.run([str(PROMTOOL), "check", "config", str(SCRAPE)], capture_output=True,
                             text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
