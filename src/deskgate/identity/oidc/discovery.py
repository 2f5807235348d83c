"""Provider metadata (discovery or explicit endpoints) and the provider's signing keys.

Keys are cached; a token signed with a `kid` we do not know triggers one refetch (key rotation —
Gluu rotates every 48 h), at most once per `REFETCH_INTERVAL` so that forged kids cannot make us
hammer the provider.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from deskgate.errors import ProviderUnavailable
from deskgate.identity.provider import ProviderConfig

METADATA_TTL = 3600.0
JWKS_TTL = 3600.0
REFETCH_INTERVAL = 1.0


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    issuer: str | None
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str | None
    jwks_uri: str | None
    end_session_endpoint: str | None
    id_token_signing_alg_values_supported: tuple[str, ...] = ()
    frontchannel_logout_supported: bool = False
    frontchannel_logout_session_supported: bool = False  # its front-channel requests carry iss and sid
    backchannel_logout_supported: bool = False
    authorization_response_iss_parameter_supported: bool = False


def _explicit(config: ProviderConfig) -> ProviderMetadata:
    assert config.authorization_endpoint and config.token_endpoint  # guaranteed by ProviderConfig
    return ProviderMetadata(
        issuer=config.issuer,
        authorization_endpoint=config.authorization_endpoint,
        token_endpoint=config.token_endpoint,
        userinfo_endpoint=config.userinfo_endpoint,
        jwks_uri=config.jwks_uri,
        end_session_endpoint=config.end_session_endpoint,
    )


def _parse_discovery(config: ProviderConfig, document: Any) -> ProviderMetadata:
    if not isinstance(document, dict):
        raise ProviderUnavailable("discovery", "the discovery document is not a JSON object")
    # OIDC Discovery 4.3: the issuer in the document must be exactly the one we asked for.
    if document.get("issuer") != config.issuer:
        raise ProviderUnavailable(
            "discovery",
            f"issuer mismatch: configured {config.issuer!r}, document says {document.get('issuer')!r}",
        )
    missing = [k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not document.get(k)]
    if missing:
        raise ProviderUnavailable("discovery", f"the discovery document lacks {', '.join(missing)}")

    def pick(key: str) -> Any:
        # An endpoint the admin set explicitly wins over discovery (for IdPs whose documents are wrong).
        return getattr(config, key, None) or document.get(key)

    return ProviderMetadata(
        issuer=document["issuer"],
        authorization_endpoint=pick("authorization_endpoint"),
        token_endpoint=pick("token_endpoint"),
        userinfo_endpoint=pick("userinfo_endpoint"),
        jwks_uri=pick("jwks_uri"),
        end_session_endpoint=pick("end_session_endpoint"),
        id_token_signing_alg_values_supported=tuple(
            document.get("id_token_signing_alg_values_supported") or ()
        ),
        frontchannel_logout_supported=bool(document.get("frontchannel_logout_supported")),
        frontchannel_logout_session_supported=bool(document.get("frontchannel_logout_session_supported")),
        backchannel_logout_supported=bool(document.get("backchannel_logout_supported")),
        authorization_response_iss_parameter_supported=bool(
            document.get("authorization_response_iss_parameter_supported")
        ),
    )


async def fetch_json(http: httpx.AsyncClient, url: str, check: str) -> Any:
    try:
        response = await http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(check, f"GET {url} failed: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise ProviderUnavailable(check, f"GET {url} answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError as exc:
        raise ProviderUnavailable(check, f"GET {url} did not answer JSON") from exc


class ProviderKeys:
    """Metadata and JWKS for one provider, cached with a TTL."""

    def __init__(
        self, config: ProviderConfig, http: httpx.AsyncClient, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self._http = http
        self._clock = clock
        self._metadata: tuple[float, ProviderMetadata] | None = None
        self._jwks: tuple[float, KeySet] | None = None
        self._last_refresh: float | None = None  # when an unknown kid last made us refetch

    async def metadata(self) -> ProviderMetadata:
        if self._metadata and self._clock() - self._metadata[0] < METADATA_TTL:
            return self._metadata[1]
        if self.config.protocol == "oidc" and self.config.discovery:
            assert self.config.issuer
            url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            metadata = _parse_discovery(self.config, await fetch_json(self._http, url, "discovery"))
        else:
            metadata = _explicit(self.config)
        self._metadata = (self._clock(), metadata)
        return metadata

    def cached_metadata(self) -> ProviderMetadata | None:
        """The metadata fetched last, however old, and without I/O (None before the first fetch): for
        callers that must not wait on the provider, such as a response header."""
        return self._metadata[1] if self._metadata else None

    async def key_set(self, *, refresh: bool = False) -> KeySet:
        """The provider's public keys; `refresh` refetches, at most once per `REFETCH_INTERVAL`.

        The first refresh always goes through (a rotation right after our first fetch is still a
        rotation); forged kids after it cost at most one fetch per interval.
        """
        now = self._clock()
        if self._jwks and now - self._jwks[0] < JWKS_TTL:
            if not refresh:
                return self._jwks[1]
            if self._last_refresh is not None and now - self._last_refresh < REFETCH_INTERVAL:
                return self._jwks[1]
        if refresh:
            self._last_refresh = now
        metadata = await self.metadata()
        if not metadata.jwks_uri:
            raise ProviderUnavailable("jwks", "the provider publishes no jwks_uri")
        document = await fetch_json(self._http, metadata.jwks_uri, "jwks")
        try:
            keys = KeySet.import_key_set(document)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise ProviderUnavailable("jwks", f"the JWKS could not be read: {exc}") from exc
        # Only public signing keys: a private or symmetric key in a JWKS is a provider bug we do not trust.
        keys = KeySet(
            [k for k in keys.keys if k.key_type in ("RSA", "EC", "OKP") and k.get("use", "sig") == "sig"]
        )
        self._jwks = (self._clock(), keys)
        return keys
