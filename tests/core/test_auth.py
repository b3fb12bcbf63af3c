"""Accounts, login sessions, CSRF, throttling and the first-run link, on both stores."""

from __future__ import annotations

from tests.helpers import PRODUCER, Server, make_config, running_server


async def test_login_wrong_password_is_401_and_no_cookie(server: Server) -> None:
    await server.add_user("alice", "host", "alice-password-1")
    client = server.client()
    async with client.post("/api/session", json={"username": "alice", "password": "nope-nope-nope"}) as r:
        assert r.status == 401
        assert (await r.json())["error"]["code"] == "invalid_credentials"
        assert "innotv_session" not in r.cookies
    async with client.get("/api/session") as r:
        assert (await r.json())["user"] is None


async def test_login_unknown_user_answers_like_wrong_password(server: Server) -> None:
    client = server.client()
    async with client.post("/api/session", json={"username": "ghost", "password": "whatever-123"}) as r:
        assert r.status == 401
        assert (await r.json())["error"]["code"] == "invalid_credentials"


async def test_session_cookie_is_httponly_and_samesite(server: Server) -> None:
    await server.add_user("alice", "host", "alice-password-1")
    client = server.client()
    async with client.post("/api/session", json={"username": "alice", "password": "alice-password-1"}) as r:
        assert r.status == 200
        cookie = r.headers.getall("Set-Cookie")
        session_cookie = next(c for c in cookie if c.startswith("innotv_session="))
        assert "HttpOnly" in session_cookie
        assert "SameSite=Lax" in session_cookie
        assert "Secure" not in session_cookie  # plain HTTP on loopback; Secure behind TLS


async def test_logout_ends_the_session_server_side(server: Server) -> None:
    producer = await server.producer()
    stolen = {c.key: c.value for c in producer.cookie_jar}
    async with producer.delete("/api/session") as r:
        assert r.status == 200
    # Replaying the old cookie after logout must not work: the session is gone from the store.
    replay = server.client()
    replay.cookie_jar.update_cookies(stolen)
    async with replay.get("/api/session") as r:
        assert (await r.json())["user"] is None


async def test_forged_session_cookie_is_ignored(server: Server) -> None:
    client = server.client()
    client.cookie_jar.update_cookies({"innotv_session": "abc.def"})
    async with client.get("/api/session") as r:
        assert r.status == 200
        assert (await r.json())["user"] is None


async def test_repeated_failures_are_throttled_with_429(server: Server) -> None:
    await server.add_user("alice", "host", "alice-password-1")
    client = server.client()
    limit = server.config.accounts.login_max_failures
    for _ in range(limit):
        async with client.post("/api/session", json={"username": "alice", "password": "wrong-pass-1"}) as r:
            assert r.status == 401
    # Now even the right password is refused until the window passes.
    async with client.post("/api/session", json={"username": "alice", "password": "alice-password-1"}) as r:
        assert r.status == 429
        assert (await r.json())["error"]["code"] == "too_many_attempts"
        assert int(r.headers["Retry-After"]) > 0


async def test_login_bad_input(one_server: Server) -> None:
    client = one_server.client()
    cases = [
        (b"{not json", "application/json", 400, "invalid_json"),
        (b"[1, 2]", "application/json", 400, "invalid_json"),
        (b'{"username": 5, "password": []}', "application/json", 400, "invalid_credentials_format"),
        (b'{"username": "a", "password": "b", "role": "producer"}', "application/json", 400, "unknown_field"),
        (b"username=a&password=b", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b"{" + b" " * (1024 * 1024) + b"}", "application/json", 413, "payload_too_large"),
    ]
    for body, ctype, status, code in cases:
        async with client.post("/api/session", data=body, headers={"Content-Type": ctype}) as r:
            assert r.status == status, (body[:40], await r.text())
            assert (await r.json())["error"]["code"] == code


async def test_csrf_foreign_origin_is_refused(one_server: Server) -> None:
    producer = await one_server.producer()
    async with producer.delete("/api/session", headers={"Origin": "https://evil.example"}) as r:
        assert r.status == 403
        assert (await r.json())["error"]["code"] == "csrf_failed"
    async with producer.get("/api/session") as r:
        assert (await r.json())["user"]["username"] == PRODUCER[0]  # still logged in


async def test_csrf_without_origin_needs_the_token(server: Server) -> None:
    producer = await server.producer()
    async with producer.get("/api/session") as r:
        token = (await r.json())["csrf_token"]
    bare = server.client(origin=False)
    bare.cookie_jar.update_cookies({c.key: c.value for c in producer.cookie_jar})
    async with bare.delete("/api/session") as r:
        assert r.status == 403
    async with bare.delete("/api/session", headers={"X-CSRF-Token": "wrong"}) as r:
        assert r.status == 403
    async with bare.delete("/api/session", headers={"X-CSRF-Token": token}) as r:
        assert r.status == 200


async def test_first_run_link_creates_one_producer_once(server: Server) -> None:
    token = await server.parts.auth.first_run_token()
    assert token
    client = server.client()
    body = {"token": token, "username": "boss", "password": "boss-password-1"}
    async with client.post("/api/setup", json={**body, "token": "forged"}) as r:
        assert r.status == 403
        assert (await r.json())["error"]["code"] == "invalid_setup_token"
    async with client.post("/api/setup", json={**body, "password": "short"}) as r:
        assert r.status == 400
        assert (await r.json())["error"]["code"] == "invalid_password"
    async with client.post("/api/setup", json=body) as r:
        assert r.status == 201, await r.text()
        assert (await r.json())["user"] == {"username": "boss", "role": "producer"}
    async with client.post("/api/setup", json={**body, "username": "boss2"}) as r:
        assert r.status == 409
        assert (await r.json())["error"]["code"] == "already_set_up"
    # Once a producer exists no new link is minted.
    assert await server.parts.auth.first_run_token() is None
    await server.login("boss", "boss-password-1")


async def test_setup_token_is_single_use(server: Server) -> None:
    token = await server.parts.auth.first_run_token()
    assert token
    assert await server.parts.auth.store.take_setting("setup_token:x") is None
    client = server.client()
    async with client.post(
        "/api/setup", json={"token": token, "username": "boss", "password": "boss-password-1"}
    ) as r:
        assert r.status == 201
    assert await server.parts.auth.first_run_token() is None


async def test_add_user_validation(server: Server) -> None:
    auth = server.parts.auth
    for username, role, password, code in [
        ("Bad Name", "host", "long-enough-pw", "invalid_username"),
        ("ok", "admin", "long-enough-pw", "invalid_role"),
        ("ok", "host", "short", "invalid_password"),
    ]:
        try:
            await auth.add_user(username, role, password)
        except Exception as exc:
            assert getattr(exc, "code", None) == code
        else:
            raise AssertionError(f"{username}/{role} was accepted")
    await auth.add_user("dup", "host", "long-enough-pw")
    try:
        await auth.add_user("dup", "producer", "long-enough-pw")
    except Exception as exc:
        assert getattr(exc, "code", None) == "username_taken"
    else:
        raise AssertionError("duplicate accepted")
    assert (await auth.store.get_account("dup")).role == "host"  # type: ignore[union-attr]


async def test_cookie_secret_is_shared_by_processes_on_redis(redis_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two servers on one Redis accept each other's session cookies (one secret, in the store)."""
    config = make_config("redis", tmp_path / "a", redis_server.url)
    async with running_server(config) as one, running_server(config) as two:
        client = await one.producer()
        async with client.get(two.url + "/api/session") as r:
            assert (await r.json())["user"]["username"] == PRODUCER[0]


async def test_secure_cookie_behind_a_trusted_tls_proxy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = make_config("sqlite", tmp_path / "data", None, trust_proxy=True)
    async with running_server(config) as srv:
        await srv.add_user("alice", "host", "alice-password-1")
        client = srv.client(origin=False)
        async with client.post(
            "/api/session",
            json={"username": "alice", "password": "alice-password-1"},
            headers={"X-Forwarded-Proto": "https", "Origin": srv.url.replace("http:", "https:")},
        ) as r:
            assert r.status == 200, await r.text()
            cookie = next(c for c in r.headers.getall("Set-Cookie") if c.startswith("innotv_session="))
            assert "Secure" in cookie


async def test_forwarded_headers_ignored_without_trust_proxy(one_server: Server) -> None:
    await one_server.add_user("alice", "host", "alice-password-1")
    client = one_server.client()
    async with client.post(
        "/api/session",
        json={"username": "alice", "password": "alice-password-1"},
        headers={"X-Forwarded-Proto": "https"},
    ) as r:
        assert r.status == 200
        cookie = next(c for c in r.headers.getall("Set-Cookie") if c.startswith("innotv_session="))
        assert "Secure" not in cookie
