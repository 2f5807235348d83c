"""Back-channel logout tokens (OIDC Back-Channel Logout 1.0, 2.6) from a provider that breaks one rule.

A logout token that passes ends sessions, so a forged or malformed one is a denial of service at best;
each case names the exact check that must refuse it (`LogoutTokenRejected.check`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from joserfc.jwk import OctKey

from deskgate.errors import LogoutTokenRejected
from deskgate.identity.oidc.tokens import BACKCHANNEL_LOGOUT_EVENT, LOGOUT_TOKEN_MAX_AGE
from tests.hostile.provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    ISSUER,
    OMIT,
    SESSION_ID,
    SUBJECT,
    HostileProvider,
    new_rsa_key,
)

pytestmark = pytest.mark.anyio

SKEW = 60  # the RP's clock_skew_seconds (ProviderConfig's default)


def _now() -> int:
    return int(time.time())


@dataclass(frozen=True)
class Hostile:
    check: str
    token: Callable[[HostileProvider], str]


def _signed_by_stranger(op: HostileProvider) -> str:
    op.sign_with = new_rsa_key(op.signing_key.kid)
    return op.logout_token()


def _alg_none(op: HostileProvider) -> str:
    op.alg = "none"
    return op.logout_token()


def _hs256_with_client_secret(op: HostileProvider) -> str:
    op.alg = "HS256"
    op.sign_with = OctKey.import_key(CLIENT_SECRET)
    return op.logout_token()


def _forged_kid(op: HostileProvider) -> str:
    op.sign_with = new_rsa_key("forged-kid")
    return op.logout_token()


def _id_token(op: HostileProvider) -> str:
    return op.id_token(nonce="n-0S6_WzA2Mj")


HOSTILE = [
    pytest.param(Hostile("logout_token.signature", _signed_by_stranger), id="signed-by-key-not-in-jwks"),
    pytest.param(Hostile("logout_token.alg", _alg_none), id="alg-none"),
    pytest.param(Hostile("logout_token.alg", _hs256_with_client_secret), id="alg-hs256-with-client-secret"),
    pytest.param(Hostile("logout_token.kid", _forged_kid), id="unknown-kid"),
    pytest.param(
        Hostile("logout_token.iss", lambda op: op.logout_token(claims={"iss": "https://evil.test"})),
        id="wrong-iss",
    ),
    pytest.param(
        Hostile("logout_token.aud", lambda op: op.logout_token(claims={"aud": "another-client"})),
        id="wrong-aud",
    ),
    pytest.param(
        Hostile(
            "logout_token.aud", lambda op: op.logout_token(claims={"aud": [CLIENT_ID, "another-client"]})
        ),
        id="extra-untrusted-aud",
    ),
    pytest.param(
        Hostile("logout_token.iat", lambda op: op.logout_token(claims={"iat": OMIT})), id="missing-iat"
    ),
    pytest.param(
        Hostile("logout_token.iat", lambda op: op.logout_token(claims={"iat": _now() + SKEW + 600})),
        id="iat-in-future",
    ),
    pytest.param(
        Hostile(
            "logout_token.exp",
            lambda op: op.logout_token(claims={"iat": _now() - 900, "exp": _now() - SKEW - 240}),
        ),
        id="expired",
    ),
    pytest.param(
        Hostile(
            "logout_token.iat",
            lambda op: op.logout_token(
                claims={"iat": _now() - LOGOUT_TOKEN_MAX_AGE - SKEW - 60, "exp": OMIT}
            ),
        ),
        id="iat-too-old-without-exp",
    ),
    pytest.param(
        Hostile("logout_token.jti", lambda op: op.logout_token(claims={"jti": OMIT})), id="missing-jti"
    ),
    pytest.param(
        Hostile("logout_token.jti", lambda op: op.logout_token(claims={"jti": 42})), id="jti-not-a-string"
    ),
    pytest.param(
        Hostile("logout_token.events", lambda op: op.logout_token(claims={"events": OMIT})),
        id="missing-events",
    ),
    pytest.param(
        Hostile(
            "logout_token.events",
            lambda op: op.logout_token(claims={"events": {"http://schemas.openid.net/event/other": {}}}),
        ),
        id="events-without-backchannel-member",
    ),
    pytest.param(
        Hostile(
            "logout_token.events",
            lambda op: op.logout_token(claims={"events": {BACKCHANNEL_LOGOUT_EVENT: "logout"}}),
        ),
        id="events-member-not-an-object",
    ),
    pytest.param(
        Hostile(
            "logout_token.events", lambda op: op.logout_token(claims={"events": [BACKCHANNEL_LOGOUT_EVENT]})
        ),
        id="events-not-an-object",
    ),
    pytest.param(
        Hostile("logout_token.nonce", lambda op: op.logout_token(claims={"nonce": "n-0S6_WzA2Mj"})),
        id="nonce-present",
    ),
    pytest.param(
        Hostile("logout_token.sub", lambda op: op.logout_token(sub=None, sid=None)), id="neither-sub-nor-sid"
    ),
    pytest.param(Hostile("logout_token.sub", lambda op: op.logout_token(sub="")), id="empty-sub-with-sid"),
    pytest.param(
        Hostile("logout_token.sid", lambda op: op.logout_token(claims={"sid": 42})),
        id="sid-not-a-string",
    ),
    pytest.param(
        Hostile("logout_token.sid", lambda op: op.logout_token(claims={"sid": ""})), id="empty-sid-with-sub"
    ),
    pytest.param(
        Hostile("logout_token.typ", lambda op: op.logout_token(header={"typ": "at+jwt"})),
        id="typ-access-token",
    ),
    pytest.param(
        Hostile("logout_token.typ", lambda op: op.logout_token(header={"typ": "id_token+jwt"})),
        id="typ-other",
    ),
    pytest.param(Hostile("logout_token.events", _id_token), id="id-token-as-logout-token"),
    pytest.param(Hostile("logout_token.format", lambda op: "not.a-jwt"), id="not-a-jwt"),
]


@pytest.mark.parametrize("case", HOSTILE)
async def test_hostile_logout_token_is_refused(
    op: HostileProvider, http: httpx.AsyncClient, case: Hostile
) -> None:
    token = case.token(op)
    with pytest.raises(LogoutTokenRejected) as refused:
        await op.relying_party(http).validate_logout_token(token)
    assert refused.value.check == case.check, refused.value.detail


async def test_logout_token_with_sid_is_accepted(op: HostileProvider, http: httpx.AsyncClient) -> None:
    claims = await op.relying_party(http).validate_logout_token(op.logout_token())
    assert (claims["iss"], claims["sub"], claims["sid"]) == (ISSUER, SUBJECT, SESSION_ID)
    assert claims["events"] == {BACKCHANNEL_LOGOUT_EVENT: {}}


async def test_logout_token_with_sub_only_is_accepted(op: HostileProvider, http: httpx.AsyncClient) -> None:
    claims = await op.relying_party(http).validate_logout_token(op.logout_token(sid=None))
    assert claims["sub"] == SUBJECT and "sid" not in claims


async def test_logout_token_with_sid_only_is_accepted(op: HostileProvider, http: httpx.AsyncClient) -> None:
    claims = await op.relying_party(http).validate_logout_token(op.logout_token(sub=None))
    assert claims["sid"] == SESSION_ID and "sub" not in claims


async def test_recent_logout_token_without_exp_is_accepted(
    op: HostileProvider, http: httpx.AsyncClient
) -> None:
    # Older OPs (Back-Channel Logout drafts) send no exp; iat then bounds the token's age.
    token = op.logout_token(claims={"exp": OMIT, "iat": _now() - 60})
    assert (await op.relying_party(http).validate_logout_token(token))["sid"] == SESSION_ID


@pytest.mark.parametrize("typ", ["logout+jwt", "application/logout+jwt", "JWT", "jwt", OMIT])
async def test_logout_token_typ_variants_are_accepted(
    op: HostileProvider, http: httpx.AsyncClient, typ: object
) -> None:
    # tokens.py takes the explicit logout type, plain JWT (what most OPs still send), or none at all.
    token = op.logout_token(header={"typ": typ})
    assert (await op.relying_party(http).validate_logout_token(token))["sub"] == SUBJECT


async def test_logout_validation_reads_discovery_and_jwks_only(
    op: HostileProvider, http: httpx.AsyncClient
) -> None:
    rp = op.relying_party(http)
    await rp.validate_logout_token(op.logout_token())
    await rp.validate_logout_token(op.logout_token())
    assert [r.path for r in op.requests] == ["/.well-known/openid-configuration", "/jwks"]
