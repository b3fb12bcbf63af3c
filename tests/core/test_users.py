"""Account management for producers (REST and `innotv user list|passwd|role|remove`): every
change ends the account's sessions, the last producer stays, bad input changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.errors import ApiError
from tests.chat.clients import HALL, connect, cookie_header
from tests.helpers import HOST, PRODUCER, Server, make_config, running_server


async def test_producers_manage_accounts_and_changes_end_sessions(server: Server) -> None:
    prod = await server.producer()
    async with prod.post("/api/users", json={"username": "minji", "role": "host",
                                             "password": "minji-password-1"}) as r:
        assert r.status == 201, await r.text()
        assert (await r.json())["user"]["role"] == "host"
        assert r.headers["Location"] == "/api/users/minji"
    async with prod.get("/api/users") as r:
        users = (await r.json())["users"]
    assert [(u["username"], u["role"]) for u in users] == [("minji", "host"), (PRODUCER[0], "producer")]
    assert all("password_hash" not in u for u in users)

    minji = await server.login("minji", "minji-password-1")
    async with prod.patch("/api/users/minji", json={"password": "a-brand-new-one-2"}) as r:
        assert r.status == 200
    async with minji.get("/api/session") as r:
        assert (await r.json())["user"] is None  # the reset ended her session
    bad = server.client()
    async with bad.post("/api/session", json={"username": "minji", "password": "minji-password-1"}) as r:
        assert r.status == 401
    minji = await server.login("minji", "a-brand-new-one-2")

    async with prod.patch("/api/users/minji", json={"role": "producer"}) as r:
        assert (await r.json())["user"]["role"] == "producer"
    async with minji.get("/api/users") as r:
        assert r.status == 401  # the role change ended her session too
    minji = await server.login("minji", "a-brand-new-one-2")
    async with minji.get("/api/users") as r:
        assert r.status == 200  # the new role, after logging in again

    async with prod.delete("/api/users/minji") as r:
        assert r.status == 204
    async with minji.get("/api/users") as r:
        assert r.status == 401
    async with bad.post("/api/session", json={"username": "minji", "password": "a-brand-new-one-2"}) as r:
        assert r.status == 401
    async with prod.get("/api/users") as r:
        assert [u["username"] for u in (await r.json())["users"]] == [PRODUCER[0]]


async def test_the_last_producer_and_ones_own_account_stay(server: Server) -> None:
    prod = await server.producer()
    await server.host()
    async with prod.delete(f"/api/users/{PRODUCER[0]}") as r:
        assert r.status == 409 and (await r.json())["error"]["code"] == "own_account"
    async with prod.patch(f"/api/users/{PRODUCER[0]}", json={"role": "host"}) as r:
        assert r.status == 409 and (await r.json())["error"]["code"] == "own_account"
    # Through the service (as the command line does), the last producer is kept all the same.
    auth = server.parts.auth
    with pytest.raises(ApiError) as removed:
        await auth.remove_user(PRODUCER[0])
    with pytest.raises(ApiError) as demoted:
        await auth.set_role(PRODUCER[0], "host")
    assert removed.value.code == demoted.value.code == "last_producer"
    account = await auth.store.get_account(PRODUCER[0])
    assert account is not None and account.role == "producer"


async def test_bad_requests_change_nothing(one_server: Server) -> None:
    prod = await one_server.producer()
    await one_server.host()
    cases = [
        ("POST", "/api/users", {"username": "Bad Name", "role": "host", "password": "x" * 12}, 400,
         "invalid_username"),
        ("POST", "/api/users", {"username": "okname", "role": "admin", "password": "x" * 12}, 400,
         "invalid_role"),
        ("POST", "/api/users", {"username": "okname", "role": "host", "password": "short"}, 400,
         "invalid_password"),
        ("POST", "/api/users", {"username": "okname", "role": "host", "password": "x" * 12, "x": 1}, 400,
         "unknown_field"),
        ("POST", "/api/users", {"username": HOST[0], "role": "host", "password": "x" * 12}, 409,
         "username_taken"),
        ("PATCH", f"/api/users/{HOST[0]}", {}, 400, "missing_field"),
        ("PATCH", f"/api/users/{HOST[0]}", {"role": "root"}, 400, "invalid_role"),
        ("PATCH", f"/api/users/{HOST[0]}", {"password": 12345678901}, 400, "invalid_password"),
        ("PATCH", "/api/users/nobody", {"role": "host"}, 404, "user_not_found"),
        ("PATCH", "/api/users/..%2F..", {"role": "host"}, 404, "user_not_found"),
        ("DELETE", "/api/users/nobody", None, 404, "user_not_found"),
    ]
    for method, path, body, status, code in cases:
        async with prod.request(method, path, json=body) as r:
            assert (r.status, (await r.json())["error"]["code"]) == (status, code), (method, path, body)
    async with prod.post("/api/users", data="nope", headers={"Content-Type": "text/plain"}) as r:
        assert r.status == 415
    hostc = await one_server.login(*HOST)
    anon = one_server.client()
    for client, status in ((hostc, 403), (anon, 401)):
        async with client.get("/api/users") as r:
            assert r.status == status
        async with client.delete(f"/api/users/{PRODUCER[0]}") as r:
            assert r.status == status
    async with prod.get("/api/users") as r:
        users = {u["username"]: u["role"] for u in (await r.json())["users"]}
    assert users == {HOST[0]: "host", PRODUCER[0]: "producer"}
    async with hostc.get("/api/session") as r:
        assert (await r.json())["user"]["username"] == HOST[0]  # nothing ended her session


def innotv(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INNOTV_")}
    return subprocess.run([sys.executable, "-m", "innotv", *args], input=stdin, capture_output=True,
                          text=True, env=clean, timeout=60, check=False)


async def test_the_command_line_manages_accounts_of_a_running_server(tmp_path: Path) -> None:
    """On SQLite the command line cannot reach the server's bus: the host's socket still loses
    its staff rights at its next staff action, because each one checks the session again."""
    data = tmp_path / "data"
    async with running_server(make_config("sqlite", data, None)) as server:
        await server.producer()
        session = await server.host()
        hostess = await connect(server.url, cookies=cookie_header(session, server.url))
        try:
            await hostess.join()
            assert (await hostess.call("mod:slow", {"room": HALL, "seconds": 0}))["ok"]
            store = ["--data-dir", str(data)]
            listed = innotv("user", "list", *store)
            assert listed.returncode == 0, listed.stderr
            assert [line.split("\t")[:2] for line in listed.stdout.splitlines()] == [
                [HOST[0], "host"], [PRODUCER[0], "producer"]]
            changed = innotv("user", "passwd", HOST[0], "--password-stdin", *store,
                             stdin="another-password-3\n")
            assert changed.returncode == 0, changed.stderr
            assert "another-password-3" not in changed.stdout + changed.stderr
            refused = await hostess.call("mod:slow", {"room": HALL, "seconds": 5})
            assert refused["error"]["code"] == "forbidden"
            async with session.get("/api/session") as r:
                assert (await r.json())["user"] is None
            await server.login(HOST[0], "another-password-3")

            promoted = innotv("user", "role", HOST[0], "producer", *store)
            assert promoted.returncode == 0 and "now a producer" in promoted.stdout
            last = innotv("user", "remove", HOST[0], *store)
            assert last.returncode == 0, last.stderr
            alone = innotv("user", "remove", PRODUCER[0], *store)
            assert alone.returncode == 1 and "last producer" in alone.stderr
            assert "Traceback" not in alone.stderr
            missing = innotv("user", "role", "nobody", "host", *store)
            assert missing.returncode == 1 and "no account 'nobody'" in missing.stderr
            assert innotv("user", "role", PRODUCER[0], "admin", *store).returncode == 2
            assert innotv("user", "list", *store).stdout.split("\t")[0] == PRODUCER[0]
        finally:
            await hostess.close()
