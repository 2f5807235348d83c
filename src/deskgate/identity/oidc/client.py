"""The authorization-code flow for one provider, as a relying party (OIDC) or a plain OAuth 2.0 client.

Authlib builds the protocol messages (authorization URL, token request, client authentication, PKCE);
the HTTP goes through the injected `httpx.AsyncClient` so tests can choose a real peer or an in-process one.
The order in `complete` matters: the ID token is validated before any userinfo call is made.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from deskgate.errors import ProviderUnavailable, TokenRejected
from deskgate.identity.claims import Claims
from deskgate.identity.oidc.discovery import ProviderKeys, ProviderMetadata
from deskgate.identity.oidc.tokens import validate_id_token, validate_logout_token
from deskgate.identity.provider import ProviderConfig


def _client_secret_basic(
    client: ClientAuth, method: str, uri: str, headers: dict[str, str], body: str
) -> Any:
    # RFC 6749 2.3.1: id and secret are form-urlencoded before base64 (Authlib sends them raw).
    text = f"{quote(client.client_id, safe='')}:{quote(client.client_secret or '', safe='')}"
    headers["Authorization"] = "Basic " + base64.b64encode(text.encode()).decode()
    return uri, headers, body


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str | None


@dataclass(frozen=True, slots=True)
class LoginResult:
    claims: Claims
    id_token: str | None


class RelyingParty:
    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient, *, redirect_uri: str) -> None:
        self.config = config
        self.redirect_uri = redirect_uri
        self.keys = ProviderKeys(config, http)
        self._http = http

    async def metadata(self) -> ProviderMetadata:
        return await self.keys.metadata()

    async def authorization_request(
        self, *, prompt: str | None = None, login_hint: str | None = None
    ) -> AuthorizationRequest:
        metadata = await self.metadata()
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        params: dict[str, Any] = dict(self.config.extra_authorize_params)
        code_verifier = None
        if self.config.use_pkce:
            code_verifier = secrets.token_urlsafe(64)
            params.update(
                code_challenge=create_s256_code_challenge(code_verifier), code_challenge_method="S256"
            )
        if self.config.protocol == "oidc":
            params["nonce"] = nonce
        if prompt:
            params["prompt"] = prompt
        if login_hint and self.config.protocol == "oidc":  # OIDC Core 3.1.2.1; plain OAuth 2.0 has none
            params["login_hint"] = login_hint
        if self.config.response_mode == "form_post":
            params["response_mode"] = "form_post"
        url = prepare_grant_uri(
            metadata.authorization_endpoint,
            self.config.client_id,
            "code",
            redirect_uri=self.redirect_uri,
            scope=list(self.config.scopes),
            state=state,
            **params,
        )
        return AuthorizationRequest(url=url, state=state, nonce=nonce, code_verifier=code_verifier)

    async def complete(self, *, code: str, nonce: str, code_verifier: str | None) -> LoginResult:
        """Redeem the code, validate what came back, and return the neutral claims."""
        metadata = await self.metadata()
        tokens = await self._redeem(metadata, code, code_verifier)
        access_token = tokens.get("access_token")
        id_token = tokens.get("id_token")
        id_claims: dict[str, Any] = {}
        if self.config.protocol == "oidc":
            if not isinstance(id_token, str):
                raise TokenRejected("token_response", "the token response carries no id_token")
            id_claims = await validate_id_token(
                id_token,
                provider=self.keys,
                issuer=metadata.issuer or "",
                client_id=self.config.client_id,
                nonce=nonce,
                algorithms=self._algorithms(metadata),
                leeway=self.config.clock_skew_seconds,
                access_token=access_token if isinstance(access_token, str) else None,
            )
        userinfo: dict[str, Any] = {}
        if metadata.userinfo_endpoint and isinstance(access_token, str):
            userinfo = await self._userinfo(metadata.userinfo_endpoint, access_token)
        elif self.config.protocol == "oauth2":
            raise TokenRejected(
                "userinfo", "an OAuth 2.0 provider needs a userinfo endpoint and an access token"
            )
        # Only an ID token we validated is kept (it becomes the logout's id_token_hint).
        kept = id_token if self.config.protocol == "oidc" and isinstance(id_token, str) else None
        return LoginResult(claims=self._claims(metadata, id_claims, userinfo), id_token=kept)

    async def redeem_probe(self) -> None:
        """Redeem a code that cannot exist (for `probe`): the error tells whether the client authenticated."""
        await self._redeem(await self.metadata(), "deskgate-probe-" + secrets.token_urlsafe(16), None)

    def _algorithms(self, metadata: ProviderMetadata) -> tuple[str, ...]:
        """The configured algorithms, narrowed to those the provider says it uses (when it says so)."""
        advertised = set(metadata.id_token_signing_alg_values_supported)
        narrowed = tuple(alg for alg in self.config.id_token_signing_algs if alg in advertised)
        return narrowed or self.config.id_token_signing_algs

    async def _redeem(
        self, metadata: ProviderMetadata, code: str, code_verifier: str | None
    ) -> dict[str, Any]:
        body = prepare_token_request(
            "authorization_code", code=code, redirect_uri=self.redirect_uri, code_verifier=code_verifier
        )
        secret = self.config.client_secret.get_secret_value() if self.config.client_secret else None
        method = self.config.token_endpoint_auth_method
        auth = ClientAuth(
            self.config.client_id, secret, _client_secret_basic if method == "client_secret_basic" else method
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        url, headers, body = auth.prepare("POST", metadata.token_endpoint, headers, body)
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable("token", f"token endpoint unreachable: {type(exc).__name__}") from exc
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code != 200 or not isinstance(payload, dict):
            error = payload.get("error") if isinstance(payload, dict) else None
            raise TokenRejected(
                "token", f"token endpoint answered HTTP {response.status_code} error={error!r}"
            )
        if str(payload.get("token_type", "")).lower() not in ("bearer", "dpop") and "access_token" in payload:
            raise TokenRejected("token_response", f"unsupported token_type {payload.get('token_type')!r}")
        return payload

    async def _userinfo(self, endpoint: str, access_token: str) -> dict[str, Any]:
        try:
            response = await self._http.get(
                endpoint, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable("userinfo", f"userinfo unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise TokenRejected("userinfo", f"userinfo answered HTTP {response.status_code}")
        try:
            payload = response.json()
        except ValueError as exc:
            raise TokenRejected("userinfo", "userinfo did not answer JSON") from exc
        if not isinstance(payload, dict):
            raise TokenRejected("userinfo", "userinfo is not a JSON object")
        return payload

    def _claims(
        self, metadata: ProviderMetadata, id_claims: dict[str, Any], userinfo: dict[str, Any]
    ) -> Claims:
        if self.config.protocol == "oidc":
            subject = id_claims["sub"]
            # OIDC Core 5.3.2: userinfo is about the same person only if its sub matches exactly.
            if userinfo and userinfo.get("sub") != subject:
                raise TokenRejected("userinfo.sub", "userinfo describes another subject than the ID token")
        else:
            value = userinfo.get(self.config.subject_claim)
            if value is None or isinstance(value, (dict, list, bool)) or str(value) == "":
                raise TokenRejected(
                    "userinfo.subject", f"userinfo lacks the subject claim {self.config.subject_claim!r}"
                )
            subject = str(value)
        # ID token claims win over userinfo for the same name: they are signed.
        merged = {**userinfo, **id_claims}
        sid = id_claims.get("sid")
        return Claims(
            idp=self.config.name,
            issuer=metadata.issuer or self.config.issuer or metadata.authorization_endpoint,
            subject=subject,
            raw=merged,
            id_token=id_claims,
            userinfo=userinfo,
            session_id=sid if isinstance(sid, str) else None,
        )

    async def end_session_url(
        self, *, id_token_hint: str | None, post_logout_redirect_uri: str, state: str
    ) -> str | None:
        """Where to send the browser for RP-initiated logout, or None when the IdP has no such endpoint."""
        metadata = await self.metadata()
        if not metadata.end_session_endpoint:
            return None
        params = {
            "post_logout_redirect_uri": post_logout_redirect_uri,
            "state": state,
            "client_id": self.config.client_id,
        }
        if id_token_hint:
            params["id_token_hint"] = id_token_hint
        separator = "&" if "?" in metadata.end_session_endpoint else "?"
        return metadata.end_session_endpoint + separator + urlencode(params)

    async def validate_logout_token(self, token: str) -> dict[str, Any]:
        metadata = await self.metadata()
        return await validate_logout_token(
            token,
            provider=self.keys,
            issuer=metadata.issuer or "",
            client_id=self.config.client_id,
            algorithms=self._algorithms(metadata),
            leeway=self.config.clock_skew_seconds,
        )
