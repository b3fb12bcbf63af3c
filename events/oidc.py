"""Signing in with an OpenID Connect provider: the authorization-code flow with PKCE, state and
nonce, and the ID token checked as OpenID Connect Core 1.0 (3.1.3.7) asks.

- The provider's endpoints come from its discovery document, whose `issuer` must be exactly the
  configured one; its signing keys from `jwks_uri` (read again, at most once a minute, when a
  token names a key we do not have).
- `begin` makes a fresh `state` (kept hashed, one use, 10 minutes), `nonce` and PKCE verifier
  (S256) and answers the provider's authorization URL.
- `finish` exchanges the code (client_secret_basic, the verifier) at the token endpoint and
  checks the ID token: an asymmetric signature by one of the provider's keys (never `none` or
  an HMAC), `iss`, `aud` (and `azp` when there are several audiences), `exp` and `iat` by our
  clock (60 s of leeway), `nonce`. Only then is `sub` believed.
Nothing from the provider is logged (tokens, claims).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode

import aiohttp
import jwt

from kernel.errors import ApiError

from .settings import EventsSettings

LEEWAY_S = 60
STATE_TTL_S = 600
MAX_DOCUMENT_BYTES = 256 * 1024
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class OidcError(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(400, "oidc_failed", message)


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def check_id_token(
    token: str, jwks: dict[str, Any], issuer: str, client_id: str, nonce: str, now_s: float
) -> dict[str, Any]:
    """The ID token's claims once every check passed; OidcError naming the first that failed."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise OidcError("The ID token is not a signed JWT.") from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise OidcError("The ID token's signature algorithm is not accepted.")
    try:
        keys = jwt.PyJWKSet.from_dict(jwks).keys
    except jwt.PyJWTError:
        raise OidcError("The provider's keys could not be read.") from None
    kid = header.get("kid")
    candidates = [k for k in keys if kid is None or k.key_id == kid]
    if not candidates:
        raise OidcError("The ID token is signed with a key the provider does not publish.")
    claims: dict[str, Any] | None = None
    for key in candidates:
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=client_id,
                issuer=issuer,
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["iss", "sub", "aud", "exp", "iat"],
                },
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            raise OidcError(f"The ID token was refused: {type(exc).__name__}.") from None
    if claims is None:
        raise OidcError("The ID token's signature does not verify.")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise OidcError("The ID token is meant for another party (azp).")
    if "azp" in claims and claims["azp"] != client_id:
        raise OidcError("The ID token is meant for another party (azp).")
    if not isinstance(claims["exp"], int | float) or claims["exp"] + LEEWAY_S < now_s:
        raise OidcError("The ID token has expired.")
    if not isinstance(claims["iat"], int | float) or claims["iat"] - LEEWAY_S > now_s:
        raise OidcError("The ID token was issued in the future.")
    if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(claims["nonce"], nonce):
        raise OidcError("The ID token's nonce is not the one we sent.")
    if not isinstance(claims["sub"], str) or not 1 <= len(claims["sub"]) <= 255:
        raise OidcError("The ID token's subject is not valid.")
    return claims


class OidcClient:
    def __init__(self, settings: EventsSettings, redirect_url: str) -> None:
        self.settings = settings
        # Empty: the address the person used to reach us (request_origin) + the callback path.
        self.redirect_url = redirect_url
        self._provider: Provider | None = None
        self._jwks: dict[str, Any] | None = None
        self._jwks_at = 0.0
        self._http: aiohttp.ClientSession | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.settings.oidc_issuer and self.settings.oidc_client_id)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self._http

    async def _json(self, response: aiohttp.ClientResponse, what: str) -> dict[str, Any]:
        raw = await response.content.read(MAX_DOCUMENT_BYTES + 1)
        if response.status != 200 or len(raw) > MAX_DOCUMENT_BYTES:
            raise ApiError(502, "oidc_unavailable", f"The sign-in provider's {what} failed.")
        try:
            value = json.loads(raw)
        except ValueError:
            raise ApiError(502, "oidc_unavailable", f"The sign-in provider's {what} is not JSON.") from None
        if not isinstance(value, dict):
            raise ApiError(502, "oidc_unavailable", f"The sign-in provider's {what} is not an object.")
        return value

    async def provider(self) -> Provider:
        if self._provider is not None:
            return self._provider
        issuer = self.settings.oidc_issuer.rstrip("/")
        try:
            async with self._session().get(issuer + "/.well-known/openid-configuration") as response:
                doc = await self._json(response, "discovery document")
        except aiohttp.ClientError:
            raise ApiError(502, "oidc_unavailable", "The sign-in provider cannot be reached.") from None
        names = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        if any(not isinstance(doc.get(n), str) for n in names) or doc["issuer"].rstrip("/") != issuer:
            raise ApiError(502, "oidc_unavailable", "The sign-in provider's discovery document is wrong.")
        self._provider = Provider(*(str(doc[n]) for n in names))
        return self._provider

    async def _keys(self, refresh: bool) -> dict[str, Any]:
        if self._jwks is not None and not (refresh and time.monotonic() - self._jwks_at > 60):
            return self._jwks
        provider = await self.provider()
        try:
            async with self._session().get(provider.jwks_uri) as response:
                self._jwks = await self._json(response, "key set")
        except aiohttp.ClientError:
            raise ApiError(502, "oidc_unavailable", "The sign-in provider cannot be reached.") from None
        self._jwks_at = time.monotonic()
        return self._jwks

    async def begin(self, redirect_url: str) -> tuple[str, dict[str, str]]:
        """(the authorization URL, what to keep under the state until the callback)."""
        provider = await self.provider()
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        query = {
            "response_type": "code",
            "client_id": self.settings.oidc_client_id,
            "redirect_uri": redirect_url,
            "scope": self.settings.oidc_scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
        separator = "&" if "?" in provider.authorization_endpoint else "?"
        return provider.authorization_endpoint + separator + urlencode(query), {
            "state": state,
            "nonce": nonce,
            "verifier": verifier,
            "redirect": redirect_url,
        }

    async def finish(self, code: str, kept: dict[str, str], now_s: float) -> dict[str, Any]:
        """Exchange the code and check the ID token (against what `begin` kept); its claims."""
        provider = await self.provider()
        nonce, verifier = kept["nonce"], kept["verifier"]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": kept["redirect"],
            "code_verifier": verifier,
        }
        # client_secret_basic: both parts form-encoded first (RFC 6749, 2.3.1)
        pair = f"{quote_plus(self.settings.oidc_client_id)}:{quote_plus(self.settings.oidc_client_secret)}"
        auth = {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
        try:
            async with self._session().post(provider.token_endpoint, data=form, headers=auth) as response:
                if response.status in (400, 401):
                    raise OidcError("The provider refused the sign-in code.")
                tokens = await self._json(response, "token endpoint")
        except aiohttp.ClientError:
            raise ApiError(502, "oidc_unavailable", "The sign-in provider cannot be reached.") from None
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str) or len(id_token) > 16_384:
            raise OidcError("The provider sent no ID token.")
        issuer, client_id = provider.issuer, self.settings.oidc_client_id
        try:
            return check_id_token(id_token, await self._keys(False), issuer, client_id, nonce, now_s)
        except OidcError as first:
            if "key the provider does not publish" not in first.message:
                raise
        return check_id_token(id_token, await self._keys(True), issuer, client_id, nonce, now_s)
