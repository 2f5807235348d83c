"""Validation of ID tokens (OIDC Core 3.1.3.7) and back-channel logout tokens (OIDC Back-Channel Logout 2.6).

Every failure raises with the name of the check that failed, so the audit log says *why*. The checks
are the ones the OpenID Foundation's RP certification exercises: signature against the provider's JWKS
with pinned algorithms (never `none`, never HMAC), key selection by `kid` with one refetch on rotation,
`iss`, `aud`, `azp`, `exp`, `iat`, `nonce`, `sub`, and for logout tokens `events`, `jti`, no `nonce`.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Collection
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError, MissingClaimError
from joserfc.jwk import Key, KeySet
from joserfc.jwt import JWTClaimsRegistry

from deskgate.errors import LogoutTokenRejected, TokenRejected
from deskgate.identity.oidc.discovery import ProviderKeys

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
KEY_TYPES_BY_ALG_PREFIX = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
LOGOUT_TOKEN_MAX_AGE = 300  # seconds; an older logout token (without exp) is refused

Reject = Callable[[str, str], Exception]


def _header(token: str, reject: Reject) -> dict[str, Any]:
    try:
        return dict(jws.extract_compact(token.encode()).headers())
    except (JoseError, ValueError, TypeError) as exc:
        raise reject("format", f"not a signed JWT ({type(exc).__name__})") from exc


def _candidates(keys: KeySet, kid: str | None, alg: str) -> list[Key]:
    key_type = KEY_TYPES_BY_ALG_PREFIX.get(alg[:2])
    usable = [k for k in keys.keys if k.key_type == key_type and k.get("alg") in (None, alg)]
    if kid is not None:
        return [k for k in usable if k.kid == kid]
    return usable


async def verify_signature(
    token: str, provider: ProviderKeys, algorithms: Collection[str], reject: Reject
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a JWT whose signature verifies with one of the provider's keys."""
    header = _header(token, reject)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms:
        raise reject("alg", f"algorithm {alg!r} is not accepted (expected one of {sorted(algorithms)})")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise reject("kid", "kid must be a string")
    candidates = _candidates(await provider.key_set(), kid, alg)
    if not candidates:
        # An unknown kid is what key rotation looks like: fetch the JWKS once more.
        candidates = _candidates(await provider.key_set(refresh=True), kid, alg)
    if not candidates:
        raise reject("kid", f"no key in the provider's JWKS matches kid {kid!r} and alg {alg}")
    if kid is None and len(candidates) > 1:
        raise reject(
            "kid", "the token names no kid and the JWKS holds several keys that could have signed it"
        )
    try:
        decoded = jwt.decode(token, candidates[0], algorithms=[alg])
    except JoseError as exc:
        raise reject("signature", f"signature verification failed ({type(exc).__name__})") from exc
    return dict(decoded.header), dict(decoded.claims)


def _run_registry(registry: JWTClaimsRegistry, claims: dict[str, Any], reject: Reject) -> None:
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise reject("exp", "the token has expired") from exc
    except MissingClaimError as exc:
        raise reject(exc.claim.split(",")[0], f"missing claim(s) {exc.claim}") from exc
    except ClaimError as exc:
        raise reject(exc.claim, exc.description) from exc


def _check_audience(claims: dict[str, Any], client_id: str, reject: Reject) -> None:
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or client_id not in audiences:
        raise reject("aud", "the token is not addressed to this client")
    if any(a != client_id for a in audiences):
        raise reject("aud", "the token names audiences this client does not trust")
    if "azp" in claims and claims["azp"] != client_id:
        raise reject("azp", "the authorized party is another client")


def _token_rejected(check: str, detail: str) -> Exception:
    return TokenRejected(f"id_token.{check}", detail)


async def validate_id_token(
    token: str,
    *,
    provider: ProviderKeys,
    issuer: str,
    client_id: str,
    nonce: str,
    algorithms: Collection[str],
    leeway: int,
    access_token: str | None = None,
    now: Callable[[], float] = time.time,
) -> dict[str, Any]:
    header, claims = await verify_signature(token, provider, algorithms, _token_rejected)
    if str(header.get("typ", "JWT")).lower() not in ("jwt", "application/jwt"):
        raise _token_rejected("typ", f"typ {header.get('typ')!r} is not an ID token")  # e.g. a logout+jwt
    registry = JWTClaimsRegistry(
        now=int(now()),
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        sub={"essential": True},
        aud={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    _run_registry(registry, claims, _token_rejected)
    # joserfc's "value" also matches a list that contains it; a nonce is one string (OIDC Core 2).
    if not isinstance(claims["nonce"], str):
        raise _token_rejected("nonce", "nonce is not a string")
    _check_audience(claims, client_id, _token_rejected)
    if access_token is not None and "at_hash" in claims:
        _check_at_hash(claims["at_hash"], access_token, str(header["alg"]))
    return claims


def _check_at_hash(at_hash: Any, access_token: str, alg: str) -> None:
    bits = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}.get(alg[-3:], hashlib.sha512)
    digest = bits(access_token.encode()).digest()
    expected = base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()
    if at_hash != expected:
        raise _token_rejected("at_hash", "at_hash does not match the access token")


def _logout_rejected(check: str, detail: str) -> Exception:
    return LogoutTokenRejected(f"logout_token.{check}", detail)


async def validate_logout_token(
    token: str,
    *,
    provider: ProviderKeys,
    issuer: str,
    client_id: str,
    algorithms: Collection[str],
    leeway: int,
    now: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Claims of a valid logout token. Replay (`jti`) is checked by the caller, who owns the storage."""
    header, claims = await verify_signature(token, provider, algorithms, _logout_rejected)
    typ = header.get("typ")
    if typ is not None and str(typ).lower() not in ("logout+jwt", "application/logout+jwt", "jwt"):
        raise _logout_rejected("typ", f"typ {typ!r} is not a logout token")
    current = int(now())
    registry = JWTClaimsRegistry(
        now=current,
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        aud={"essential": True},
        iat={"essential": True},
        jti={"essential": True},
        events={"essential": True},
    )
    _run_registry(registry, claims, _logout_rejected)
    _check_audience(claims, client_id, _logout_rejected)
    if "exp" not in claims and claims["iat"] < current - LOGOUT_TOKEN_MAX_AGE - leeway:
        raise _logout_rejected("iat", "the logout token is too old")
    events = claims["events"]
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
        raise _logout_rejected("events", "events lacks the back-channel logout event")
    if "nonce" in claims:
        raise _logout_rejected("nonce", "a logout token must not carry a nonce")
    if "sub" not in claims and "sid" not in claims:
        raise _logout_rejected("sub", "the logout token names neither sub nor sid")
    # Each one present is matched against stored sessions: an empty or non-string one would end nothing.
    for name in ("sub", "sid"):
        if name in claims and not (isinstance(claims[name], str) and claims[name]):
            raise _logout_rejected(name, f"{name} must be a non-empty string")
    return claims
