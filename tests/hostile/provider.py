"""An OpenID Provider inside the test process that breaks whichever rule a test tells it to break.

It is plugged into the relying party through `httpx.MockTransport`, so no socket is opened. Left alone
it behaves: discovery, JWKS, an authorization-code token endpoint that authenticates the client and
checks PKCE, and userinfo. A test then changes one thing — a claim, a header, the signing key or
algorithm, the JWKS, the token response — and asserts that the relying party refuses the login.

Every request the RP makes is recorded (method, host, path, headers, query, form body), so a test can
also assert *how* the RP talked to the provider, and that it never got as far as userinfo.

Overrides are plain dicts merged over the valid defaults; the value `OMIT` removes a claim or header.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, unquote_plus, urlsplit

import httpx
from joserfc.jwk import ECKey, Key, RSAKey
from joserfc.jws import JWSRegistry

from deskgate.identity.oidc.client import LoginResult, RelyingParty
from deskgate.identity.oidc.discovery import ProviderKeys
from deskgate.identity.oidc.tokens import BACKCHANNEL_LOGOUT_EVENT
from deskgate.identity.provider import ProviderConfig

ISSUER = "https://op.test"
CLIENT_ID = "deskgate-hostile"
# Reserved characters on purpose: client_secret_basic must form-urlencode the secret (RFC 6749 2.3.1).
CLIENT_SECRET = "hostile/secret+with:reserved&chars=0123456789abcdef"
REDIRECT_URI = "https://deskgate.test/auth/callback"
SUBJECT = "248289761001"
EMAIL = "alice@example.test"
SESSION_ID = "op-session-42"


class _Omit(enum.Enum):
    OMIT = "omit"


OMIT: Final = _Omit.OMIT


def merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `overrides` applied; an override of `OMIT` deletes the name."""
    return {k: v for k, v in {**base, **overrides}.items() if v is not OMIT}


def new_rsa_key(kid: str | None) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid} if kid else None)


def new_ec_key(kid: str | None) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid} if kid else None)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def s256(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode()).digest())


def _segment(part: Mapping[str, Any]) -> str:
    # json.dumps writes float('nan') as NaN (allow_nan defaults to True): a hostile OP may send it, and
    # the RP's JSON parser reads it back, so the NaN cases reach the claim checks.
    return b64url(json.dumps(dict(part), separators=(",", ":")).encode())


def unsigned_token(header: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
    """An `alg: none` JWT, built by hand because no honest JOSE library will produce one."""
    return f"{_segment(header)}.{_segment(claims)}."


def sign(header: Mapping[str, Any], claims: Mapping[str, Any], key: Key) -> str:
    """A compact JWS over exactly this header and these claims, signed with `key` per `header["alg"]`.

    Built by hand around joserfc's algorithm: the library would vet the header (a non-string `kid`,
    an oversized header) and a hostile OP is exactly the one that does not.
    """
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    algorithm = JWSRegistry.algorithms[header["alg"]]
    return f"{signing_input}.{b64url(algorithm.sign(signing_input.encode(), key))}"


def provider_config(**overrides: Any) -> ProviderConfig:
    """The RP's registration of the hostile provider: discovery, client_secret_basic, PKCE."""
    values: dict[str, Any] = {
        "name": "hostile",
        "title": "Hostile OP",
        "issuer": ISSUER,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    return ProviderConfig.model_validate(merged(values, overrides))


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    host: str
    path: str
    headers: httpx.Headers
    query: dict[str, str]
    form: dict[str, str]


@dataclass(frozen=True, slots=True)
class Grant:
    """What the browser's visit to the authorization endpoint left behind, keyed by the code."""

    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None


class ManualClock:
    """A monotonic clock the test moves by hand: the RP rate-limits JWKS refetches on it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class HostileProvider:
    """An OP at `https://op.test`. Attributes a test may change are grouped below; all start out valid."""

    def __init__(self) -> None:
        self.signing_key: Key = new_rsa_key("op-key-1")
        self.published: list[Key] = [self.signing_key]  # the JWKS, read on every fetch
        self.auth_method = "client_secret_basic"  # how this client is registered at the OP

        # The ID token: signed with `sign_with` (default `signing_key`) using `alg`; claims and header
        # overrides are merged over valid values; `raw_id_token` replaces the token outright.
        self.alg = "RS256"
        self.sign_with: Key | None = None
        self.claims: dict[str, Any] = {}
        self.header: dict[str, Any] = {}
        self.raw_id_token: str | None = None
        self.rewrite_claims: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # last word on claims
        self.issue_id_token = True  # False: a plain OAuth 2.0 server

        self.token_response: dict[str, Any] = {}  # overrides of the token endpoint's JSON
        self.token_endpoint_reply: Callable[[RecordedRequest], httpx.Response] | None = None
        self.discovery: dict[str, Any] = {}  # overrides of the discovery document
        self.userinfo: dict[str, Any] = {"sub": SUBJECT, "email": EMAIL, "groups": ["support", "staff"]}

        self.requests: list[RecordedRequest] = []
        self.authorizations: list[dict[str, str]] = []
        self._grants: dict[str, Grant] = {}
        self._access_tokens: set[str] = set()

    # -- what tests call ---------------------------------------------------------------------------

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self._handle))

    def relying_party(
        self,
        http: httpx.AsyncClient,
        config: ProviderConfig | None = None,
        *,
        clock: ManualClock | None = None,
    ) -> RelyingParty:
        config = config or provider_config()
        rp = RelyingParty(config, http, redirect_uri=REDIRECT_URI)
        if clock is not None:
            rp.keys = ProviderKeys(config, http, clock=clock)
        return rp

    def authorize(self, url: str) -> str:
        """The browser's round trip: the user signs in, the OP answers with a code for the callback."""
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ISSUER}/authorize", url
        params = dict(parse_qsl(parts.query))
        self.authorizations.append(params)
        assert params.get("code_challenge_method", "S256") == "S256"
        code = secrets.token_urlsafe(16)
        self._grants[code] = Grant(
            client_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            scope=params.get("scope", ""),
            nonce=params.get("nonce"),
            code_challenge=params.get("code_challenge"),
        )
        return code

    def rotate(self) -> Key:
        """Start signing with a new key; the JWKS publishes old and new (the old one is still valid)."""
        self.signing_key = new_rsa_key(f"op-key-{len(self.published) + 1}")
        self.published = [*self.published, self.signing_key]
        return self.signing_key

    def calls(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def id_token(self, nonce: str | None, access_token: str | None = None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": SUBJECT,
            "aud": CLIENT_ID,
            "exp": now + 300,
            "iat": now,
            "auth_time": now - 5,
            "sid": SESSION_ID,
            "email": EMAIL,
            "email_verified": True,
            "name": "Alice Example",
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if access_token is not None:
            claims["at_hash"] = b64url(hashlib.sha256(access_token.encode()).digest()[:16])
        claims = merged(claims, self.claims)
        return self._jwt(self.rewrite_claims(claims) if self.rewrite_claims else claims, self.header)

    def logout_token(
        self,
        *,
        sub: str | None = SUBJECT,
        sid: str | None = SESSION_ID,
        claims: Mapping[str, Any] | None = None,
        header: Mapping[str, Any] | None = None,
    ) -> str:
        """A back-channel logout token (OIDC Back-Channel Logout 1.0, 2.4), signed like the ID tokens."""
        now = int(time.time())
        base: dict[str, Any] = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 120,
            "jti": secrets.token_urlsafe(12),
            "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        }
        if sub is not None:
            base["sub"] = sub
        if sid is not None:
            base["sid"] = sid
        return self._jwt(merged(base, claims or {}), merged({"typ": "logout+jwt"}, header or {}))

    # -- the OP --------------------------------------------------------------------------------------

    def _jwt(self, claims: Mapping[str, Any], header_overrides: Mapping[str, Any]) -> str:
        if self.alg == "none":
            return unsigned_token(merged({"alg": "none"}, header_overrides), claims)
        key = self.sign_with or self.signing_key
        header: dict[str, Any] = {"alg": self.alg, "typ": "JWT"}
        if key.kid:
            header["kid"] = key.kid
        return sign(merged(header, header_overrides), claims, key)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode())) if request.method == "POST" else {}
        recorded = RecordedRequest(
            method=request.method,
            host=request.url.host,
            path=request.url.path,
            headers=request.headers,
            query=dict(parse_qsl(request.url.query.decode())),
            form=form,
        )
        self.requests.append(recorded)
        if request.url.host != "op.test":
            return httpx.Response(404)
        route: dict[tuple[str, str], Callable[[RecordedRequest], httpx.Response]] = {
            ("GET", "/.well-known/openid-configuration"): self._discovery,
            ("GET", "/jwks"): self._jwks,
            ("POST", "/token"): self._token,
            ("GET", "/userinfo"): self._userinfo,
        }
        handler = route.get((request.method, request.url.path))
        return handler(recorded) if handler else httpx.Response(404)

    def _discovery(self, request: RecordedRequest) -> httpx.Response:
        document = {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/authorize",
            "token_endpoint": f"{ISSUER}/token",
            "userinfo_endpoint": f"{ISSUER}/userinfo",
            "jwks_uri": f"{ISSUER}/jwks",
            "end_session_endpoint": f"{ISSUER}/end-session",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "backchannel_logout_supported": True,
        }
        return httpx.Response(200, json=merged(document, self.discovery))

    def _jwks(self, request: RecordedRequest) -> httpx.Response:
        return httpx.Response(
            200, json={"keys": [{"use": "sig", **k.as_dict(private=False)} for k in self.published]}
        )

    def _authenticated_client(self, request: RecordedRequest) -> str | None:
        """The client_id that authenticated with the registered method, or None."""
        authorization = request.headers.get("authorization")
        if self.auth_method == "client_secret_basic":
            scheme, _, value = (authorization or "").partition(" ")
            if scheme.lower() != "basic" or "client_secret" in request.form:
                return None
            client_id, _, secret = base64.b64decode(value).decode().partition(":")
            client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        elif self.auth_method == "client_secret_post":
            if authorization:
                return None  # RFC 6749 2.3: one authentication method per request
            client_id, secret = request.form.get("client_id", ""), request.form.get("client_secret", "")
        else:  # "none": a public client proves nothing but PKCE
            if authorization or "client_secret" in request.form:
                return None
            return request.form.get("client_id")
        return client_id if secret == CLIENT_SECRET else None

    def _token(self, request: RecordedRequest) -> httpx.Response:
        if self.token_endpoint_reply is not None:
            return self.token_endpoint_reply(request)
        client_id = self._authenticated_client(request)
        if client_id != CLIENT_ID:
            return httpx.Response(401, json={"error": "invalid_client"})
        grant = self._grants.pop(request.form.get("code", ""), None)
        verifier = request.form.get("code_verifier")
        if (
            grant is None
            or request.form.get("grant_type") != "authorization_code"
            or grant.client_id != client_id
            or grant.redirect_uri != request.form.get("redirect_uri")
            or (
                grant.code_challenge is not None
                and (verifier is None or s256(verifier) != grant.code_challenge)
            )
            or (self.auth_method == "none" and grant.code_challenge is None)
        ):
            return httpx.Response(400, json={"error": "invalid_grant"})
        access_token = secrets.token_urlsafe(24)
        self._access_tokens.add(access_token)
        body: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": grant.scope,
        }
        if self.issue_id_token:
            body["id_token"] = self.raw_id_token or self.id_token(grant.nonce, access_token)
        return httpx.Response(200, json=merged(body, self.token_response))

    def _userinfo(self, request: RecordedRequest) -> httpx.Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token not in self._access_tokens:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return httpx.Response(200, json=self.userinfo)


async def sign_in(op: HostileProvider, rp: RelyingParty) -> LoginResult:
    """One whole login: authorization URL → (browser at the OP) → callback with the code → complete."""
    request = await rp.authorization_request()
    code = op.authorize(request.url)
    return await rp.complete(code=code, nonce=request.nonce, code_verifier=request.code_verifier)
