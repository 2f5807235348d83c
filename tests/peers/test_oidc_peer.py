"""The oidc-provider peer acts like Gluu: discovery, PKCE code flow, key rotation, back-channel logout."""

from __future__ import annotations

import base64
import hashlib
import queue
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jws, jwt
from joserfc.jwk import KeySet

from deskgate.demo.oidc_peer import DEMO_ACCOUNTS, OidcPeer, PeerClient

pytestmark = pytest.mark.peer

CALLBACK = "http://127.0.0.1:9/callback"  # never contacted: login_over_http stops at the redirect
LOGGED_OUT = "http://127.0.0.1:9/logged-out"
SCOPE = "openid email profile groups"


class BackchannelReceiver:
    """A loopback endpoint standing in for an RP's back-channel logout URI; it records POST bodies."""

    def __init__(self) -> None:
        self.bodies: queue.Queue[dict[str, list[str]]] = queue.Queue()
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                bodies.put(parse_qs(self.rfile.read(length).decode()))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/backchannel-logout"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> BackchannelReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@dataclass
class AuthRequest:
    url: str
    state: str
    nonce: str
    verifier: str


def authorize_request(peer: OidcPeer, client_id: str, *, pkce: bool = True) -> AuthRequest:
    state, nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    params = {
        "client_id": client_id,
        "response_type": "code",
        "scope": SCOPE,
        "redirect_uri": CALLBACK,
        "state": state,
        "nonce": nonce,
    }
    if pkce:
        digest = hashlib.sha256(verifier.encode()).digest()
        params["code_challenge"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        params["code_challenge_method"] = "S256"
    url = f"{peer.discovery['authorization_endpoint']}?{urlencode(params)}"
    return AuthRequest(url, state, nonce, verifier)


def callback_params(response: httpx.Response) -> dict[str, str]:
    assert response.is_redirect, response.text
    location = response.headers["location"]
    assert location.startswith(CALLBACK)
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def sign_in(
    peer: OidcPeer, http: httpx.Client, client_id: str, secret: str, login: str = "demo"
) -> dict[str, Any]:
    """A full code flow with PKCE and client_secret_post; returns the token response."""
    request = authorize_request(peer, client_id)
    params = callback_params(peer.login_over_http(http, request.url, login, login))
    assert params["state"] == request.state
    assert params["iss"] == peer.issuer
    response = http.post(
        peer.discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": CALLBACK,
            "client_id": client_id,
            "client_secret": secret,
            "code_verifier": request.verifier,
        },
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    assert verified_claims(peer, tokens["id_token"])["nonce"] == request.nonce
    return tokens


def verified_claims(peer: OidcPeer, token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(httpx.get(peer.discovery["jwks_uri"]).json())
    claims: dict[str, Any] = jwt.decode(token, keys, algorithms=["RS256"]).claims
    assert claims["iss"] == peer.issuer
    return claims


def kid_of(token: str) -> str:
    kid: str = jws.extract_compact(token.encode()).headers()["kid"]
    return kid


@pytest.fixture(scope="module")
def receiver() -> Iterator[BackchannelReceiver]:
    with BackchannelReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def peer(receiver: BackchannelReceiver) -> Iterator[OidcPeer]:
    clients = [
        PeerClient("rp", "rp-secret", [CALLBACK], [LOGGED_OUT], backchannel_logout_uri=receiver.url),
        PeerClient("spa", None, [CALLBACK], token_endpoint_auth_method="none"),
    ]
    with OidcPeer(clients=clients, accounts=DEMO_ACCOUNTS) as peer:
        yield peer


def test_discovery_is_gluu_shaped(peer: OidcPeer) -> None:
    discovery = peer.discovery
    assert discovery["issuer"] == peer.issuer == peer.origin
    for endpoint in ("authorization", "token", "userinfo", "end_session", "revocation", "introspection"):
        assert discovery[f"{endpoint}_endpoint"].startswith(f"{peer.origin}/oxauth/restv1/")
    assert discovery["jwks_uri"] == f"{peer.origin}/oxauth/restv1/jwks"
    assert discovery["backchannel_logout_supported"] is True
    assert {"openid", "email", "profile", "groups"} <= set(discovery["scopes_supported"])
    keys = httpx.get(discovery["jwks_uri"]).json()["keys"]
    assert {key["alg"] for key in keys} == {"RS256", "ES256"}
    assert all("d" not in key for key in keys)
    gluu_alias = httpx.get(f"{peer.origin}/oxauth/.well-known/openid-configuration")
    assert gluu_alias.json()["issuer"] == peer.issuer


def test_code_flow_with_pkce_puts_claims_in_id_token(peer: OidcPeer) -> None:
    with httpx.Client() as http:
        tokens = sign_in(peer, http, "rp", "rp-secret")
        claims = verified_claims(peer, tokens["id_token"])
        assert claims["sub"] == "demo"
        assert claims["aud"] == "rp"
        assert claims["email"] == "demo@example.com"
        assert claims["groups"] == ["customers"]
        assert "sid" in claims
        userinfo = http.get(
            peer.discovery["userinfo_endpoint"], headers={"authorization": f"Bearer {tokens['access_token']}"}
        )
        assert userinfo.json()["family_name"] == "Customer"

        # The OP session now signs the user in without a form.
        again = authorize_request(peer, "rp")
        assert "code" in callback_params(peer.login_over_http(http, again.url, "ignored", "ignored"))


def test_wrong_password_is_refused(peer: OidcPeer) -> None:
    with httpx.Client() as http:
        response = peer.login_over_http(http, authorize_request(peer, "rp").url, "demo", "not-demo")
    assert response.status_code == 200
    assert "Invalid e-mail address or password." in response.text
    assert 'name="password"' in response.text


def test_public_client_must_use_pkce(peer: OidcPeer) -> None:
    request = authorize_request(peer, "spa", pkce=False)
    with httpx.Client() as http:
        params = callback_params(peer.login_over_http(http, request.url, "demo", "demo"))
    assert params["error"] == "invalid_request"
    assert "PKCE" in params["error_description"]


def test_rotated_key_signs_new_tokens_and_old_key_stays_published(peer: OidcPeer) -> None:
    with httpx.Client() as http:
        old_kid = kid_of(sign_in(peer, http, "rp", "rp-secret")["id_token"])
        new_kid = peer.rotate_keys()
        assert new_kid != old_kid
        kids = {key["kid"] for key in httpx.get(peer.discovery["jwks_uri"]).json()["keys"]}
        assert {old_kid, new_kid} <= kids
        # Same cookie jar and the OP session survived the rotation: no form, so no password is checked.
        assert kid_of(sign_in(peer, http, "rp", "rp-secret", login="nobody")["id_token"]) == new_kid


@pytest.mark.parametrize(
    "body",
    [{}, {"key": {"kty": "RSA", "alg": "RS256", "kid": "public-only", "n": "AQAB", "e": "AQAB"}}],
    ids=["no-key", "public-key"],
)
def test_rotation_without_a_private_rs256_key_is_refused(peer: OidcPeer, body: dict[str, Any]) -> None:
    before = httpx.get(peer.discovery["jwks_uri"]).json()
    response = httpx.post(f"{peer.origin}/__test__/rotate-keys", json=body)
    assert response.status_code == 400
    assert httpx.get(peer.discovery["jwks_uri"]).json() == before


def test_rp_initiated_logout_sends_backchannel_logout(peer: OidcPeer, receiver: BackchannelReceiver) -> None:
    with httpx.Client() as http:
        id_token = sign_in(peer, http, "rp", "rp-secret", login="alice")["id_token"]
        signed_in = verified_claims(peer, id_token)
        query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": LOGGED_OUT, "state": "bye"})
        response = peer.complete_logout_over_http(http, f"{peer.discovery['end_session_endpoint']}?{query}")
        assert response.status_code == 303
        assert response.headers["location"] == f"{LOGGED_OUT}?state=bye"

        body = receiver.bodies.get(timeout=5)
        logout = verified_claims(peer, body["logout_token"][0])
        assert logout["aud"] == "rp"
        assert logout["sub"] == signed_in["sub"] == "alice"
        assert logout["sid"] == signed_in["sid"]
        assert "http://schemas.openid.net/event/backchannel-logout" in logout["events"]

        # The OP session is gone: the next authorization shows the login form again.
        again = peer.login_over_http(http, authorize_request(peer, "rp").url, "alice", "wrong")
        assert "Invalid e-mail address or password." in again.text


def test_claims_only_in_userinfo_and_pairwise_subjects() -> None:
    clients = [PeerClient("rp", "rp-secret", [CALLBACK])]
    with (
        OidcPeer(clients=clients, accounts=DEMO_ACCOUNTS, claims_in_id_token=False, pairwise=True) as peer,
        httpx.Client() as http,
    ):
        tokens = sign_in(peer, http, "rp", "rp-secret")
        claims = verified_claims(peer, tokens["id_token"])
        assert "email" not in claims
        assert claims["sub"] != "demo"
        userinfo = http.get(
            peer.discovery["userinfo_endpoint"], headers={"authorization": f"Bearer {tokens['access_token']}"}
        ).json()
        assert userinfo["email"] == "demo@example.com"
        assert userinfo["sub"] == claims["sub"]
    assert "pairwise" in peer.discovery["subject_types_supported"]
