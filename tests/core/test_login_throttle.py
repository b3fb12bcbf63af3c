"""Login throttling on both stores: attempts are counted before the password is checked, so
parallel guesses check no more passwords than allowed; a stranger cannot lock a producer out; a
refusal says when to come back (Retry-After)."""

from __future__ import annotations

import asyncio
import collections

from innotv.config import Config
from tests.helpers import PRODUCER, Server, running_server, with_settings

PROXY = {"trusted_proxies": "127.0.0.1"}  # the test client stands in for the proxy: X-Forwarded-For


async def login(server: Server, password: str, client_address: str | None = None,
                username: str = PRODUCER[0]) -> tuple[int, dict[str, str]]:
    headers = {"X-Forwarded-For": client_address} if client_address else {}
    async with server.client().post("/api/session", json={"username": username, "password": password},
                                    headers=headers) as r:
        return r.status, dict(r.headers)


async def test_parallel_guesses_check_at_most_the_allowed_passwords(server: Server) -> None:
    await server.add_user(PRODUCER[0], "producer", PRODUCER[1])
    allowed = server.config.accounts.login_max_failures
    guesses = [f"wrong-guess-{i:04d}" for i in range(199)] + [PRODUCER[1]]
    answers = await asyncio.gather(*(login(server, guess) for guess in guesses))
    statuses = [status for status, _ in answers]
    checked = [s for s in statuses if s in (200, 401)]
    assert len(checked) <= allowed, statuses
    assert statuses.count(429) >= len(guesses) - allowed, collections.Counter(statuses)
    for status, headers in answers:
        if status == 429:
            assert 0 < int(headers["Retry-After"]) <= server.config.accounts.login_window_s


async def test_a_stranger_cannot_lock_the_producer_out(config: Config) -> None:
    async with running_server(with_settings(config, **PROXY)) as server:
        await server.add_user(PRODUCER[0], "producer", PRODUCER[1])
        # The producer logged in from the studio before the broadcast.
        assert (await login(server, PRODUCER[1], "198.51.100.10"))[0] == 200
        # A stranger guesses from another address until refused, then keeps trying.
        statuses = [(await login(server, f"guess-{i}-xxxx", "203.0.113.66"))[0] for i in range(12)]
        assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
        # ... and even posing as the studio in its own X-Forwarded-For entry.
        assert (await login(server, "guess-x-xxxxxxx", "198.51.100.10, 203.0.113.66"))[0] == 429
        # The producer, from the studio, gets in at once.
        assert (await login(server, PRODUCER[1], "198.51.100.10"))[0] == 200


async def test_guesses_from_many_addresses_slow_down_new_addresses_only(config: Config) -> None:
    async with running_server(with_settings(config, **PROXY, login_account_per_minute=9)) as server:
        await server.add_user(PRODUCER[0], "producer", PRODUCER[1])
        assert (await login(server, PRODUCER[1], "198.51.100.10"))[0] == 200
        # Four addresses, two guesses each: with that first login, the account's budget for new
        # addresses (9 a minute here) is spent.
        for n in range(4):
            for i in range(2):
                assert (await login(server, f"guess-{n}-{i}-xxxx", f"203.0.113.{n}"))[0] == 401
        status, headers = await login(server, "guess-9-9-xxxxxx", "203.0.113.9")
        assert status == 429 and 0 < int(headers["Retry-After"]) <= 60
        # a new address with the right password waits too (slowed down, not locked: a minute) ...
        assert (await login(server, PRODUCER[1], "192.0.2.7"))[0] == 429
        # ... while the producer's own address is not held back at all
        assert (await login(server, PRODUCER[1], "198.51.100.10"))[0] == 200
