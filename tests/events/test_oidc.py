"""Signing in with OpenID Connect: a real provider (npm oidc-provider, started here on a free
port) and the real authorization-code flow through its sign-in and consent pages, with PKCE,
state and nonce; the ID token's checks one by one with keys made here; one account per subject;
a callback replayed or with a bad code is refused."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from yarl import URL

from events.oidc import OidcError, check_id_token
from innotv.config import Config
from tests.helpers import Server, free_port, running_server, with_settings

from .conftest import me

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc_provider"
SECRET = "innotv-test-client-secret-0123456789"


@pytest.fixture
async def signed_in_server(config: Config) -> AsyncIterator[Server]:
    """Our server configured for the provider, and the provider (which knows our callback). Both
    on the real clock: the provider signs its tokens with the time it is."""
    node = shutil.which("node")
    if node is None or not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail(
            "the test OIDC provider is not installed: run scripts/test (npm install in "
            "tests/events/oidc_provider)"
        )
    port = free_port()
    settings = with_settings(
        config,
        events_oidc_issuer=f"http://127.0.0.1:{port}",
        events_oidc_client_id="innotv",
        events_oidc_client_secret=SECRET,
        events_oidc_name="테스트 포털",
    )
    async with running_server(settings) as server:
        proc = await asyncio.create_subprocess_exec(
            node,
            "provider.js",
            str(port),
            f"{server.url}/api/events/oidc/callback",
            cwd=PROVIDER_DIR,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 20)
            assert line.strip() == b"ready"
            yield server
        finally:
            proc.kill()
            await proc.wait()


async def sign_in_at_provider(
    client: aiohttp.ClientSession, login: str, next_path: str = "/"
) -> aiohttp.ClientResponse:
    """Start at our server, sign in and consent on the provider's pages, come back: the last
    response (after every redirect)."""
    version = (await (await client.get("/api/events/config")).json())["privacy_version"]
    page = await client.get(f"/api/events/oidc/start?consent={version}&next={next_path}")
    for prompt, fields in (("login", {"login": login, "password": "any"}), ("consent", {})):
        html = await page.text()
        assert f'value="{prompt}"' in html, html[:300]
        action = re.search(r'action="([^"]+)"', html)
        assert action is not None
        page = await client.post(page.url.join(URL(action.group(1))), data={"prompt": prompt, **fields})
    return page


async def test_the_authorization_code_flow_signs_a_member_in(signed_in_server: Server) -> None:
    server = signed_in_server
    browser = server.client()
    async with browser.get("/api/events/config") as r:
        assert (await r.json())["oidc"] == {"name": "테스트 포털"}
    async with browser.get(
        "/api/events/oidc/start?consent=2026-11-01&next=/halls", allow_redirects=False
    ) as r:
        assert r.status == 302
        query = parse_qs(urlsplit(r.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["redirect_uri"] == [f"{server.url}/api/events/oidc/callback"]
    assert len(query["state"][0]) >= 40 and len(query["nonce"][0]) >= 40
    assert query["scope"] == ["openid profile"]

    final = await sign_in_at_provider(browser, "kim", "/halls")
    assert final.status == 200 and final.url.path == "/halls", await final.text()
    callback = next(r for r in final.history if r.url.path == "/api/events/oidc/callback")
    first = await me(browser)
    assert first["member"]["provider"] == "oidc" and first["member"]["nickname"] == "연동 kim"
    assert first["member"]["email"] is None and first["member"]["consent_version"] == "2026-11-01"

    # the same person on another browser: the same account (one per subject)
    other = server.client()
    await sign_in_at_provider(other, "kim")
    assert (await me(other))["member"]["id"] == first["member"]["id"]
    stranger = server.client()
    await sign_in_at_provider(stranger, "lee")
    assert (await me(stranger))["member"]["id"] != first["member"]["id"]

    # the callback again (a replayed state and code), a forged state, a bad code
    async with server.client().get(callback.url, allow_redirects=False) as r:
        assert (r.status, (await r.json())["error"]["code"]) == (400, "invalid_state")
    async with server.client().get("/api/events/oidc/callback?state=forged&code=x") as r:
        assert (r.status, (await r.json())["error"]["code"]) == (400, "invalid_state")
    async with browser.get("/api/events/oidc/start?consent=2026-11-01", allow_redirects=False) as r:
        state = parse_qs(urlsplit(r.headers["Location"]).query)["state"][0]
    async with browser.get(f"/api/events/oidc/callback?state={state}&code=made-up") as r:
        assert (r.status, (await r.json())["error"]["code"]) == (400, "oidc_failed")


async def test_starting_needs_consent_and_a_provider(signed_in_server: Server, one_server: Server) -> None:
    async with signed_in_server.client().get("/api/events/oidc/start", allow_redirects=False) as r:
        assert (r.status, (await r.json())["error"]["code"]) == (400, "consent_required")
    async with one_server.client().get("/api/events/oidc/start?consent=2026-11-01") as r:
        assert (r.status, (await r.json())["error"]["code"]) == (404, "oidc_not_configured")
    async with one_server.client().get("/api/events/config") as r:
        assert (await r.json())["oidc"] is None


# ---- the ID token's checks, with keys made here ---------------------------------------------------
ISSUER = "https://id.example.kr"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks() -> dict[str, Any]:
    public = jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True)
    return {"keys": [{**public, "kid": "k1", "alg": "RS256", "use": "sig"}]}


def token(key: Any = KEY, alg: str = "RS256", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "sub": "user-1", "aud": "innotv", "exp": now + 300, "iat": now, "nonce": "n-1"}
    body.update(claims)
    return jwt.encode(
        {k: v for k, v in body.items() if v is not None}, key, algorithm=alg, headers={"kid": "k1"}
    )


def check(value: str, nonce: str = "n-1") -> dict[str, Any]:
    return check_id_token(value, jwks(), ISSUER, "innotv", nonce, time.time())


def test_a_good_id_token_passes() -> None:
    assert check(token())["sub"] == "user-1"
    assert check(token(aud=["innotv", "other"], azp="innotv"))["sub"] == "user-1"


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (lambda: token(key=OTHER_KEY), "does not verify"),
        (lambda: token(key="k" * 32, alg="HS256"), "algorithm"),
        (lambda: jwt.encode({"iss": ISSUER, "sub": "x"}, None, algorithm="none"), "algorithm"),
        (lambda: token(iss="https://evil.example"), "InvalidIssuerError"),
        (lambda: token(aud="someone-else"), "InvalidAudienceError"),
        (lambda: token(aud=["innotv", "other"]), "azp"),
        (lambda: token(azp="other"), "azp"),
        (lambda: token(exp=int(time.time()) - 3600), "expired"),
        (lambda: token(iat=int(time.time()) + 3600), "future"),
        (lambda: token(nonce="n-2"), "nonce"),
        (lambda: token(nonce=None), "nonce"),
        (lambda: token(sub=None), "MissingRequiredClaimError"),
        (lambda: "not.a.jwt", "not a signed JWT"),
    ],
)
def test_bad_id_tokens_are_refused(bad: Any, why: str) -> None:
    with pytest.raises(OidcError) as refused:
        check(bad())
    assert why in refused.value.message
