"""The LemonLDAP::NG peer works: discovery, a code-flow login, and front-channel logout in a browser."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import sync_playwright

from tests.peers.lemonldap import LemonLdapPeer
from tests.support.chromium import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.peer

CLIENT_ID = "deskgate-test"
CLIENT_SECRET = "lemonldap-test-secret"


@dataclass
class TinyRelyingParty:
    """A loopback HTTP server standing in for Deskgate: it records what the OP sends to it.

    Its callback redeems the code: LL::NG 2.16 counts an RP as logged in (and so sends it a
    front-channel logout) only once the RP has called the token endpoint.
    """

    base_url: str
    token_endpoint: str | None = None
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    token_responses: list[dict[str, Any]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def callback_url(self) -> str:
        return f"{self.base_url}/callback"

    @property
    def frontchannel_logout_url(self) -> str:
        return f"{self.base_url}/frontchannel-logout"

    @property
    def logged_out_url(self) -> str:
        return f"{self.base_url}/logged-out"

    def redeem(self, code: str) -> None:
        assert self.token_endpoint is not None
        response = httpx.post(
            self.token_endpoint,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.callback_url,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
        )
        self.token_responses.append(response.raise_for_status().json())

    def record(self, path: str, query: dict[str, list[str]]) -> None:
        with self.arrived:
            self.requests.append((path, query))
            self.arrived.notify_all()

    def wait_for(self, path: str, timeout: float) -> dict[str, list[str]]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for seen_path, query in self.requests:
                    if seen_path == path:
                        return query
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no request to {path}; saw {self.requests}")
                self.arrived.wait(remaining)


@pytest.fixture(scope="module")
def relying_party() -> Iterator[TinyRelyingParty]:
    rp: TinyRelyingParty | None = None

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            assert rp is not None
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            if url.path == "/callback" and "code" in query and rp.token_endpoint is not None:
                rp.redeem(query["code"][0])
            rp.record(url.path, query)
            body = f"<!doctype html><title>RP</title><p>{url.path}</p>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rp = TinyRelyingParty(base_url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rp
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def peer(relying_party: TinyRelyingParty) -> Iterator[LemonLdapPeer]:
    with LemonLdapPeer(
        rp_client_id=CLIENT_ID,
        rp_client_secret=CLIENT_SECRET,
        redirect_uris=[relying_party.callback_url],
        post_logout_redirect_uris=[relying_party.logged_out_url],
        frontchannel_logout_uri=relying_party.frontchannel_logout_url,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def discovery(peer: LemonLdapPeer) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(peer.discovery_url).raise_for_status().json()
    return document


@pytest.fixture
def redeeming_relying_party(
    relying_party: TinyRelyingParty, discovery: dict[str, Any]
) -> Iterator[TinyRelyingParty]:
    relying_party.requests.clear()
    relying_party.token_responses.clear()
    relying_party.token_endpoint = discovery["token_endpoint"]
    yield relying_party
    relying_party.token_endpoint = None


def authorize_url(discovery: dict[str, Any], rp: TinyRelyingParty, state: str, nonce: str) -> str:
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": rp.callback_url,
        "scope": "openid profile email",
        "state": state,
        "nonce": nonce,
    }
    return f"{discovery['authorization_endpoint']}?{urlencode(query)}"


def test_discovery_names_the_issuer_and_front_channel_logout(
    peer: LemonLdapPeer, discovery: dict[str, Any]
) -> None:
    assert discovery["issuer"] == peer.issuer == peer.portal_url
    assert discovery["frontchannel_logout_supported"] is True
    assert discovery["frontchannel_logout_session_supported"] is True
    assert discovery["end_session_endpoint"].startswith(peer.portal_url)
    assert "client_secret_post" in discovery["token_endpoint_auth_methods_supported"]


def test_code_flow_over_http_yields_a_signed_id_token_with_profile_claims(
    peer: LemonLdapPeer, discovery: dict[str, Any], relying_party: TinyRelyingParty
) -> None:
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    with httpx.Client(timeout=10.0) as browser:
        redirect = peer.login_over_http(
            browser, authorize_url(discovery, relying_party, state, nonce), "dwho", "dwho"
        )
    callback = urlsplit(redirect.headers["location"])
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == relying_party.callback_url
    params = parse_qs(callback.query)
    assert params["state"] == [state]

    tokens = httpx.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": params["code"][0],
            "redirect_uri": relying_party.callback_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    ).raise_for_status()
    body = tokens.json()

    keys = KeySet.import_key_set(httpx.get(discovery["jwks_uri"]).raise_for_status().json())
    id_token = jwt.decode(body["id_token"], keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": peer.issuer},
        aud={"essential": True, "value": CLIENT_ID},
        nonce={"essential": True, "value": nonce},
        sub={"essential": True, "value": "dwho"},
    ).validate(id_token.claims)
    expected = {
        "email": "dwho@badwolf.org",
        "name": "Doctor Who",
        "given_name": "Doctor",
        "family_name": "Who",
    }
    assert {name: id_token.claims.get(name) for name in expected} == expected
    assert "sid" not in id_token.claims  # 2.16: the front-channel sid can't be matched to the ID token

    userinfo = httpx.get(
        discovery["userinfo_endpoint"], headers={"Authorization": f"Bearer {body['access_token']}"}
    ).raise_for_status()
    assert {name: userinfo.json().get(name) for name in expected} == expected


@pytest.mark.parametrize("logout_via", ["end_session_endpoint", "portal_logout"])
def test_logout_emits_a_front_channel_request_with_iss_and_sid(
    peer: LemonLdapPeer,
    discovery: dict[str, Any],
    redeeming_relying_party: TinyRelyingParty,
    logout_via: str,
) -> None:
    relying_party = redeeming_relying_party
    state = secrets.token_urlsafe(16)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.goto(authorize_url(discovery, relying_party, state, secrets.token_urlsafe(16)))
            page.fill("input[name=user]", "dwho")
            page.fill("input[name=password]", "dwho")
            with page.expect_navigation(url=f"{relying_party.callback_url}?**"):
                page.click("form#lform button[type=submit]")
            assert parse_qs(urlsplit(page.url).query)["state"] == [state]
            assert len(relying_party.token_responses) == 1

            if logout_via == "end_session_endpoint":
                # RP-initiated logout: LL::NG asks the user to confirm, then shows the page carrying the
                # front-channel iframes, and moves on to post_logout_redirect_uri after ~30 s or "Continue".
                logout = {"post_logout_redirect_uri": relying_party.logged_out_url, "state": "bye"}
                page.goto(f"{discovery['end_session_endpoint']}?{urlencode(logout)}")
                page.click("button.positive")
                frontchannel = relying_party.wait_for("/frontchannel-logout", timeout=10.0)
                page.click("button.positive")
                assert relying_party.wait_for("/logged-out", timeout=10.0) == {"state": ["bye"]}
            else:
                page.goto(f"{peer.portal_url}?logout=1")
                frontchannel = relying_party.wait_for("/frontchannel-logout", timeout=10.0)
        finally:
            browser.close()

    assert frontchannel == {"iss": [peer.issuer], "sid": ["dwho"]}
