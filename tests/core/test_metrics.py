"""`/metrics` through prometheus-client: each app its own registry, HTTP figures per route
pattern (never a raw path), server errors counted, the process's own figures."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import RedisServer, Server, make_config, running_server


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_http_requests_are_counted_by_route_pattern(one_server: Server) -> None:
    client = one_server.client()
    for program_id in ("nope-1", "nope-2", "nope-3"):
        async with client.get(f"/api/programs/{program_id}") as r:
            assert r.status == 404
    async with client.get("/no/such/page-xyz") as r:
        assert r.status == 404
    async with client.get("/api/programs") as r:
        assert r.status == 200
    samples = await one_server.samples()
    route = "/api/programs/{id}"
    assert value(samples, "innotv_http_request_duration_seconds_count", route=route, method="GET") == 3
    assert value(samples, "innotv_http_request_duration_seconds_bucket", route=route, method="GET",
                 le="+Inf") == 3
    assert value(samples, "innotv_http_responses_total", route=route, status="4xx") == 3
    assert value(samples, "innotv_http_responses_total", route="/api/programs", status="2xx") == 1
    assert value(samples, "innotv_http_responses_total", route="unmatched", status="4xx") == 1
    labels = {v for (_, pairs) in samples for _, v in pairs}
    assert not any("nope-" in v or "xyz" in v for v in labels), "a raw path became a label value"
    # the process's own figures
    assert value(samples, "process_open_fds") > 0
    assert value(samples, "process_resident_memory_bytes") > 10_000_000


async def test_server_errors_are_counted(tmp_path: Path) -> None:
    """A 503 from /readyz when the store stops answering is an error the dashboard shows."""
    redis = RedisServer()
    try:
        config = make_config("redis", tmp_path / "d", redis.url)
        async with running_server(config) as srv:
            before = await srv.samples()
            assert value(before, "innotv_http_errors_total", route="/readyz", status="503") == 0
            redis.stop()
            client = srv.client()
            async with client.get("/readyz") as r:
                assert r.status == 503
            after = await srv.samples()
            assert value(after, "innotv_http_errors_total", route="/readyz", status="503") == 1
            assert value(after, "innotv_http_responses_total", route="/readyz", status="5xx") == 1
    finally:
        redis.stop()


async def test_each_app_has_its_own_registry(tmp_path: Path) -> None:
    async with running_server(make_config("sqlite", tmp_path / "a", None)) as first, \
            running_server(make_config("sqlite", tmp_path / "b", None)) as second:
        async with first.client().get("/healthz") as r:
            assert r.status == 200
        counted = ("innotv_http_request_duration_seconds_count", frozenset({("route", "/healthz"),
                                                                           ("method", "GET")}))
        assert (await first.samples()).get(counted) == 1
        assert (await second.samples()).get(counted, 0) == 0
