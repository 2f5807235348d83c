"""A login through a provider that breaks one rule of OIDC Core 3.1.3.7 at a time: the RP must refuse it.

Each hostile case names the exact check that must fail (`TokenRejected.check`) and asserts that the RP
never called userinfo: an access token that came with a bad ID token is not to be used. The positive
cases next to them show that the same provider, behaving, is accepted — so a refusal is never just a
broken fixture.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
import pytest
from joserfc.jwk import OctKey, RSAKey

from deskgate.errors import ProviderUnavailable, TokenRejected
from deskgate.identity.oidc.discovery import REFETCH_INTERVAL
from tests.hostile.provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    EMAIL,
    ISSUER,
    OMIT,
    REDIRECT_URI,
    SESSION_ID,
    SUBJECT,
    HostileProvider,
    ManualClock,
    b64url,
    new_ec_key,
    new_rsa_key,
    provider_config,
    s256,
    sign,
    sign_in,
)

pytestmark = pytest.mark.anyio

SKEW = 60  # the RP's clock_skew_seconds (ProviderConfig's default)


def _now() -> int:
    return int(time.time())


@dataclass(frozen=True)
class Hostile:
    check: str
    arrange: Callable[[HostileProvider], object]
    config: Mapping[str, Any] = field(default_factory=dict)


def _signed_by_stranger(op: HostileProvider) -> None:
    # The kid is the OP's, the key is not: only the signature can tell.
    op.sign_with = new_rsa_key(op.signing_key.kid)


def _nonce_list(op: HostileProvider) -> None:
    # Ours is in the list, so "contains the expected value" would pass: a nonce is one string.
    op.rewrite_claims = lambda claims: {**claims, "nonce": [claims["nonce"], "another-session"]}


def _logout_token_as_id_token(op: HostileProvider) -> None:
    op.raw_id_token = op.logout_token(header={"typ": OMIT})


def _alg_none(op: HostileProvider) -> None:
    op.alg = "none"


def _hs256_with_client_secret(op: HostileProvider) -> None:
    # The classic downgrade: the client secret is known to the RP, so an HMAC "verifies" with it.
    op.alg = "HS256"
    op.sign_with = OctKey.import_key(CLIENT_SECRET)
    op.header["kid"] = op.signing_key.kid  # the OP's real kid, to get past key selection if it could


def _hs256_advertised_with_none(op: HostileProvider) -> None:
    # Narrowing to what discovery advertises must never widen past the configured (asymmetric) list.
    _hs256_with_client_secret(op)
    op.discovery["id_token_signing_alg_values_supported"] = ["HS256", "none"]


def _no_kid_several_keys(op: HostileProvider) -> None:
    op.published.append(new_rsa_key("op-key-2"))
    op.header["kid"] = OMIT


def _embedded_attacker_jwk(op: HostileProvider) -> None:
    # A self-contained token: the header carries the (attacker's) key that verifies it. EC keys, so
    # the header stays under joserfc's size limit and it is the signature check that has to refuse.
    op.alg = "ES256"
    op.published = [new_ec_key(op.signing_key.kid)]
    attacker = new_ec_key(op.signing_key.kid)
    op.sign_with = attacker
    op.header["jwk"] = attacker.as_dict(private=False)


def _jku_to_attacker(op: HostileProvider) -> None:
    op.sign_with = new_rsa_key(op.signing_key.kid)
    op.header["jku"] = "https://attacker.test/jwks"


def _key_published_for_another_alg(op: HostileProvider) -> None:
    # The only key with the token's kid is declared for PS256: an RS256 token must not be checked with it.
    key = new_rsa_key(op.signing_key.kid)
    op.published = [RSAKey.import_key({**key.as_dict(private=False), "alg": "PS256"})]
    op.sign_with = key


def _encryption_key_only(op: HostileProvider) -> None:
    key = new_rsa_key(op.signing_key.kid)
    op.published = [RSAKey.import_key({**key.as_dict(private=False), "use": "enc"})]
    op.sign_with = key


def _signature_stripped(op: HostileProvider) -> None:
    header, payload, _ = op.id_token(nonce=None).split(".")
    op.raw_id_token = f"{header}.{payload}."


def _not_a_jwt(op: HostileProvider) -> None:
    op.raw_id_token = "this-is-not-a-jwt"


def _opaque_base64(op: HostileProvider) -> None:
    op.raw_id_token = b64url(json.dumps({"sub": SUBJECT}).encode())


def _token_endpoint_invalid_grant(op: HostileProvider) -> None:
    op.token_endpoint_reply = lambda request: httpx.Response(400, json={"error": "invalid_grant"})


def _token_endpoint_html(op: HostileProvider) -> None:
    op.token_endpoint_reply = lambda request: httpx.Response(
        200, text="<html><body>Login</body></html>", headers={"Content-Type": "text/html"}
    )


def _token_endpoint_json_array(op: HostileProvider) -> None:
    op.token_endpoint_reply = lambda request: httpx.Response(200, json=["id_token", "x"])


HOSTILE = [
    pytest.param(Hostile("id_token.signature", _signed_by_stranger), id="signed-by-key-not-in-jwks"),
    pytest.param(Hostile("id_token.signature", _signature_stripped), id="signature-stripped"),
    pytest.param(Hostile("id_token.signature", _embedded_attacker_jwk), id="embedded-jwk-header"),
    pytest.param(Hostile("id_token.signature", _jku_to_attacker), id="jku-header-to-attacker"),
    pytest.param(
        Hostile("id_token.iss", lambda op: op.claims.update(iss="https://evil.test")), id="wrong-iss"
    ),
    pytest.param(
        Hostile("id_token.iss", lambda op: op.claims.update(iss=ISSUER + "/")), id="iss-trailing-slash"
    ),
    pytest.param(Hostile("id_token.iss", lambda op: op.claims.update(iss=OMIT)), id="missing-iss"),
    pytest.param(Hostile("id_token.aud", lambda op: op.claims.update(aud="another-client")), id="wrong-aud"),
    pytest.param(
        Hostile("id_token.aud", lambda op: op.claims.update(aud=[CLIENT_ID, "https://api.evil.test"])),
        id="extra-untrusted-aud",
    ),
    pytest.param(Hostile("id_token.aud", lambda op: op.claims.update(aud=OMIT)), id="missing-aud"),
    pytest.param(
        Hostile("id_token.azp", lambda op: op.claims.update(azp="another-client")), id="azp-other-client"
    ),
    pytest.param(Hostile("id_token.sub", lambda op: op.claims.update(sub=OMIT)), id="missing-sub"),
    pytest.param(Hostile("id_token.sub", lambda op: op.claims.update(sub="")), id="empty-sub"),
    pytest.param(Hostile("id_token.sub", lambda op: op.claims.update(sub=12345)), id="numeric-sub"),
    pytest.param(Hostile("id_token.iat", lambda op: op.claims.update(iat=OMIT)), id="missing-iat"),
    pytest.param(
        Hostile("id_token.iat", lambda op: op.claims.update(iat=_now() + SKEW + 600, exp=_now() + 3600)),
        id="iat-in-future-beyond-skew",
    ),
    pytest.param(
        Hostile("id_token.exp", lambda op: op.claims.update(iat=_now() - 900, exp=_now() - SKEW - 240)),
        id="expired-beyond-skew",
    ),
    pytest.param(Hostile("id_token.exp", lambda op: op.claims.update(exp=OMIT)), id="missing-exp"),
    pytest.param(
        Hostile("id_token.exp", lambda op: op.claims.update(exp=str(_now() + 300))), id="exp-as-string"
    ),
    pytest.param(Hostile("id_token.exp", lambda op: op.claims.update(exp=float("nan"))), id="exp-nan"),
    pytest.param(
        Hostile("id_token.nbf", lambda op: op.claims.update(nbf=_now() + SKEW + 600)), id="nbf-in-future"
    ),
    pytest.param(
        Hostile("id_token.nonce", lambda op: op.claims.update(nonce="someone-elses-nonce")),
        id="nonce-mismatch",
    ),
    pytest.param(Hostile("id_token.nonce", lambda op: op.claims.update(nonce=OMIT)), id="missing-nonce"),
    pytest.param(Hostile("id_token.nonce", _nonce_list), id="nonce-list-containing-ours"),
    pytest.param(Hostile("id_token.nonce", _logout_token_as_id_token), id="logout-token-as-id-token"),
    pytest.param(Hostile("id_token.alg", _alg_none), id="alg-none"),
    pytest.param(Hostile("id_token.alg", _hs256_with_client_secret), id="alg-hs256-with-client-secret"),
    pytest.param(
        Hostile("id_token.alg", lambda op: None, config={"id_token_signing_algs": ("ES256",)}),
        id="alg-not-pinned",
    ),
    pytest.param(
        Hostile(
            "id_token.alg", lambda op: op.discovery.update(id_token_signing_alg_values_supported=["ES256"])
        ),
        id="alg-not-advertised-by-discovery",
    ),
    pytest.param(
        Hostile("id_token.alg", _hs256_advertised_with_none),
        id="discovery-advertises-only-hs256-and-none",
    ),
    pytest.param(Hostile("id_token.kid", _no_kid_several_keys), id="no-kid-several-keys"),
    pytest.param(Hostile("id_token.kid", lambda op: op.header.update(kid="forged-kid")), id="unknown-kid"),
    pytest.param(Hostile("id_token.kid", lambda op: op.header.update(kid=7)), id="kid-not-a-string"),
    pytest.param(Hostile("id_token.kid", _key_published_for_another_alg), id="key-published-for-ps256"),
    pytest.param(Hostile("id_token.kid", _encryption_key_only), id="key-published-for-encryption"),
    pytest.param(Hostile("id_token.typ", lambda op: op.header.update(typ="logout+jwt")), id="typ-logout-jwt"),
    pytest.param(Hostile("id_token.typ", lambda op: op.header.update(typ="at+jwt")), id="typ-access-token"),
    pytest.param(Hostile("id_token.format", _not_a_jwt), id="not-a-jwt"),
    pytest.param(Hostile("id_token.format", _opaque_base64), id="one-segment"),
    pytest.param(
        Hostile("id_token.at_hash", lambda op: op.claims.update(at_hash=b64url(b"0" * 16))),
        id="at-hash-mismatch",
    ),
    pytest.param(
        Hostile("token_response", lambda op: op.token_response.update(id_token=OMIT)), id="no-id-token"
    ),
    pytest.param(
        Hostile("token_response", lambda op: op.token_response.update(id_token=None)), id="id-token-null"
    ),
    pytest.param(
        Hostile("token_response", lambda op: op.token_response.update(token_type="mac")), id="token-type-mac"
    ),
    pytest.param(Hostile("token", _token_endpoint_invalid_grant), id="token-endpoint-invalid-grant"),
    pytest.param(Hostile("token", _token_endpoint_html), id="token-endpoint-not-json"),
    pytest.param(Hostile("token", _token_endpoint_json_array), id="token-endpoint-json-array"),
]


@pytest.mark.parametrize("case", HOSTILE)
async def test_hostile_id_token_is_refused(
    op: HostileProvider, http: httpx.AsyncClient, case: Hostile
) -> None:
    case.arrange(op)
    rp = op.relying_party(http, provider_config(**case.config))
    with pytest.raises(TokenRejected) as refused:
        await sign_in(op, rp)
    assert refused.value.check == case.check, refused.value.detail
    assert len(op.calls("/token")) == 1
    assert op.calls("/userinfo") == []
    assert {r.host for r in op.requests} == {"op.test"}  # nothing fetched from a URL the token named


async def test_a_valid_login_yields_claims(op: HostileProvider, http: httpx.AsyncClient) -> None:
    result = await sign_in(op, op.relying_party(http))
    claims = result.claims
    assert (claims.idp, claims.issuer, claims.subject) == ("hostile", ISSUER, SUBJECT)
    assert claims.get("email") == EMAIL
    assert claims.session_id == SESSION_ID
    assert claims.id_token["at_hash"]  # the OP sent one, and it matched
    assert result.id_token is not None and result.id_token.count(".") == 2
    assert [r.path for r in op.requests] == [
        "/.well-known/openid-configuration",
        "/token",
        "/jwks",
        "/userinfo",
    ]


async def test_expiry_within_the_clock_skew_is_tolerated(
    op: HostileProvider, http: httpx.AsyncClient
) -> None:
    op.claims.update(iat=_now() - 330, exp=_now() - 30)
    config = provider_config(clock_skew_seconds=60)
    assert (await sign_in(op, op.relying_party(http, config))).claims.subject == SUBJECT


async def test_without_skew_the_same_token_is_refused(op: HostileProvider, http: httpx.AsyncClient) -> None:
    op.claims.update(iat=_now() - 330, exp=_now() - 30)
    with pytest.raises(TokenRejected) as refused:
        await sign_in(op, op.relying_party(http, provider_config(clock_skew_seconds=0)))
    assert refused.value.check == "id_token.exp"


@pytest.mark.parametrize("typ", ["JWT", "jwt", "application/jwt", OMIT])
async def test_id_token_typ_variants_are_accepted(
    op: HostileProvider, http: httpx.AsyncClient, typ: object
) -> None:
    op.header["typ"] = typ
    assert (await sign_in(op, op.relying_party(http))).claims.subject == SUBJECT


async def test_unknown_claims_are_ignored(op: HostileProvider, http: httpx.AsyncClient) -> None:
    op.claims.update({"https://op.test/roles": ["agent"], "x_vendor": {"nested": [1, 2]}, "acr": "urn:mfa"})
    claims = (await sign_in(op, op.relying_party(http))).claims
    assert claims.subject == SUBJECT
    assert claims.get("x_vendor.nested") == [1, 2]


async def test_single_key_without_kid_is_used(op: HostileProvider, http: httpx.AsyncClient) -> None:
    op.signing_key = new_rsa_key(None)
    op.published = [op.signing_key]
    assert (await sign_in(op, op.relying_party(http))).claims.subject == SUBJECT


async def test_es256_when_pinned_to_es256(op: HostileProvider, http: httpx.AsyncClient) -> None:
    op.alg = "ES256"
    op.signing_key = new_ec_key("op-ec-1")
    op.published = [new_rsa_key("op-key-1"), op.signing_key]
    config = provider_config(id_token_signing_algs=("ES256",))
    assert (await sign_in(op, op.relying_party(http, config))).claims.subject == SUBJECT


async def test_rotated_key_is_fetched_once(op: HostileProvider, http: httpx.AsyncClient) -> None:
    clock = ManualClock()
    rp = op.relying_party(http, clock=clock)
    await sign_in(op, rp)  # the JWKS is cached with op-key-1 only
    op.rotate()
    clock.advance(REFETCH_INTERVAL + 1)
    claims = (await sign_in(op, rp)).claims
    assert claims.subject == SUBJECT
    assert len(op.calls("/jwks")) == 2
    await sign_in(op, rp)  # and the refreshed set is cached again
    assert len(op.calls("/jwks")) == 2


async def test_rotation_right_after_the_first_fetch_is_still_followed(
    op: HostileProvider, http: httpx.AsyncClient
) -> None:
    clock = ManualClock()
    rp = op.relying_party(http, clock=clock)
    await sign_in(op, rp)
    op.rotate()  # no time passes: the cached JWKS is fresh, yet the new kid is unknown
    assert (await sign_in(op, rp)).claims.subject == SUBJECT
    assert len(op.calls("/jwks")) == 2


async def test_unknown_kid_is_refused_after_one_refetch(op: HostileProvider, http: httpx.AsyncClient) -> None:
    clock = ManualClock()
    rp = op.relying_party(http, clock=clock)
    await sign_in(op, rp)
    clock.advance(REFETCH_INTERVAL + 1)
    op.header["kid"] = "forged-kid"
    op.sign_with = new_rsa_key("forged-kid")
    for _ in range(3):  # forged kids in a burst cost the provider one JWKS fetch, not one each
        with pytest.raises(TokenRejected) as refused:
            await sign_in(op, rp)
        assert refused.value.check == "id_token.kid"
    assert len(op.calls("/jwks")) == 2
    assert len(op.calls("/userinfo")) == 1  # the first, valid login's


async def test_userinfo_is_merged_when_its_sub_matches(op: HostileProvider, http: httpx.AsyncClient) -> None:
    op.userinfo = {"sub": SUBJECT, "email": "userinfo@example.test", "groups": ["support"], "locale": "fi"}
    claims = (await sign_in(op, op.relying_party(http))).claims
    assert claims.userinfo["groups"] == ["support"]
    assert claims.raw["groups"] == ["support"] and claims.raw["locale"] == "fi"
    assert "groups" not in claims.id_token
    assert claims.raw["email"] == EMAIL  # the signed ID token wins over userinfo for the same name
    [userinfo] = op.calls("/userinfo")
    assert userinfo.headers["authorization"].startswith("Bearer ")


@pytest.mark.parametrize("sub", ["someone-else", SUBJECT + " ", None, int(SUBJECT)])
async def test_userinfo_about_another_subject_is_refused(
    op: HostileProvider, http: httpx.AsyncClient, sub: object
) -> None:
    op.userinfo = {"sub": sub, "email": "mallory@example.test"} if sub is not None else {"email": "m@x.test"}
    with pytest.raises(TokenRejected) as refused:
        await sign_in(op, op.relying_party(http))
    assert refused.value.check == "userinfo.sub"


async def test_discovery_for_another_issuer_is_refused(op: HostileProvider, http: httpx.AsyncClient) -> None:
    op.discovery["issuer"] = "https://evil.test"
    with pytest.raises(ProviderUnavailable) as refused:
        await sign_in(op, op.relying_party(http))
    assert refused.value.check == "discovery"
    assert [r.path for r in op.requests] == ["/.well-known/openid-configuration"]


async def test_oauth2_provider_subject_comes_from_userinfo(
    op: HostileProvider, http: httpx.AsyncClient
) -> None:
    # GitHub-like: no ID token, no nonce, a numeric `id` in userinfo is the stable subject.
    op.issue_id_token = False
    op.userinfo = {"id": 12345, "login": "alice", "email": EMAIL}
    config = provider_config(
        protocol="oauth2",
        discovery=False,
        issuer=OMIT,
        authorization_endpoint=f"{ISSUER}/authorize",
        token_endpoint=f"{ISSUER}/token",
        userinfo_endpoint=f"{ISSUER}/userinfo",
        scopes=("read:user", "user:email"),
        subject_claim="id",
    )
    claims = (await sign_in(op, op.relying_party(http, config))).claims
    assert claims.subject == "12345"
    assert claims.get("login") == "alice" and claims.id_token == {}
    [authorization] = op.authorizations
    assert "nonce" not in authorization
    assert "/jwks" not in [r.path for r in op.requests]


async def test_oauth2_provider_without_subject_claim_is_refused(
    op: HostileProvider, http: httpx.AsyncClient
) -> None:
    op.issue_id_token = False
    op.userinfo = {"login": "alice", "id": None}
    config = provider_config(
        protocol="oauth2",
        discovery=False,
        issuer=OMIT,
        authorization_endpoint=f"{ISSUER}/authorize",
        token_endpoint=f"{ISSUER}/token",
        userinfo_endpoint=f"{ISSUER}/userinfo",
        scopes=("read:user",),
        subject_claim="id",
    )
    with pytest.raises(TokenRejected) as refused:
        await sign_in(op, op.relying_party(http, config))
    assert refused.value.check == "userinfo.subject"


# -- how the RP talks to the token endpoint ---------------------------------------------------------


async def test_client_secret_post_sends_credentials_in_the_body(
    op: HostileProvider, http: httpx.AsyncClient
) -> None:
    op.auth_method = "client_secret_post"
    await sign_in(
        op, op.relying_party(http, provider_config(token_endpoint_auth_method="client_secret_post"))
    )
    [token] = op.calls("/token")
    assert "authorization" not in token.headers
    assert token.form["client_id"] == CLIENT_ID and token.form["client_secret"] == CLIENT_SECRET
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"


async def test_client_secret_basic_sends_form_encoded_credentials_in_the_header(
    op: HostileProvider, http: httpx.AsyncClient
) -> None:
    await sign_in(op, op.relying_party(http))
    [token] = op.calls("/token")
    expected = f"{quote(CLIENT_ID, safe='')}:{quote(CLIENT_SECRET, safe='')}"
    assert token.headers["authorization"] == "Basic " + base64.b64encode(expected.encode()).decode()
    assert "client_secret" not in token.form
    assert CLIENT_SECRET not in base64.b64decode(token.headers["authorization"].split()[1]).decode()


async def test_public_client_sends_only_its_id_and_the_pkce_verifier(
    op: HostileProvider, http: httpx.AsyncClient
) -> None:
    op.auth_method = "none"
    config = provider_config(token_endpoint_auth_method="none", client_secret=None)
    await sign_in(op, op.relying_party(http, config))
    [token] = op.calls("/token")
    assert "authorization" not in token.headers and "client_secret" not in token.form
    assert token.form["client_id"] == CLIENT_ID
    assert s256(token.form["code_verifier"]) == op.authorizations[0]["code_challenge"]


async def test_token_request_carries_code_redirect_uri_and_verifier(
    op: HostileProvider, http: httpx.AsyncClient
) -> None:
    rp = op.relying_party(http)
    request = await rp.authorization_request()
    code = op.authorize(request.url)
    await rp.complete(code=code, nonce=request.nonce, code_verifier=request.code_verifier)
    [token] = op.calls("/token")
    assert token.form["grant_type"] == "authorization_code"
    assert token.form["code"] == code
    assert token.form["redirect_uri"] == REDIRECT_URI
    assert token.form["code_verifier"] == request.code_verifier


async def test_authorization_url_carries_every_protocol_parameter(
    op: HostileProvider, http: httpx.AsyncClient
) -> None:
    config = provider_config(extra_authorize_params={"acr_values": "urn:mfa", "kc_idp_hint": "corp"})
    rp = op.relying_party(http, config)
    request = await rp.authorization_request(prompt="login")
    parts = urlsplit(request.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ISSUER}/authorize"
    params = dict(parse_qsl(parts.query))
    assert params == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email profile",
        "state": request.state,
        "nonce": request.nonce,
        "code_challenge": params["code_challenge"],
        "code_challenge_method": "S256",
        "prompt": "login",
        "acr_values": "urn:mfa",
        "kc_idp_hint": "corp",
    }
    assert request.code_verifier is not None
    assert params["code_challenge"] == s256(request.code_verifier)
    assert len(request.state) >= 32 and len(request.nonce) >= 32 and request.state != request.nonce
    again = await rp.authorization_request()
    assert (again.state, again.nonce, again.code_verifier) != (
        request.state,
        request.nonce,
        request.code_verifier,
    )


async def test_hand_made_token_round_trips(op: HostileProvider, http: httpx.AsyncClient) -> None:
    """`sign` (the helper the hostile cases build on) makes tokens the RP accepts when nothing is off."""
    rp = op.relying_party(http)
    request = await rp.authorization_request()
    code = op.authorize(request.url)
    now = _now()
    claims = {
        "iss": ISSUER,
        "sub": SUBJECT,
        "aud": [CLIENT_ID],
        "exp": now + 60,
        "iat": now,
        "nonce": request.nonce,
    }
    op.raw_id_token = sign({"alg": "RS256", "kid": op.signing_key.kid}, claims, op.signing_key)
    result = await rp.complete(code=code, nonce=request.nonce, code_verifier=request.code_verifier)
    assert result.claims.subject == SUBJECT
