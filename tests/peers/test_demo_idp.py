"""The demo IdP ("Orbit ID"): the oidc-provider peer with the demo people, signing in by e-mail address on a
page of its own that lists the demo accounts; a peer without pages shows no accounts."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from deskgate.cli.demo import IDP_PAGES
from deskgate.demo.oidc_peer import DEMO_ACCOUNTS, OidcPeer, PeerClient
from deskgate.demo.people import DEMO_PEOPLE, peer_accounts, person

pytestmark = pytest.mark.peer

CALLBACK = "http://127.0.0.1:9/callback"  # never contacted: login_over_http stops at the redirect
SCOPE = "openid email profile organization"


@pytest.fixture(scope="module")
def orbit() -> Iterator[OidcPeer]:
    client = PeerClient("rp", "rp-secret", [CALLBACK], extra={"client_name": "Deskgate"})
    with OidcPeer(clients=[client], accounts=peer_accounts(), pages=IDP_PAGES) as peer:
        yield peer


def _authorize_url(peer: OidcPeer) -> str:
    params = {
        "client_id": "rp",
        "response_type": "code",
        "scope": SCOPE,
        "redirect_uri": CALLBACK,
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
    }
    return f"{peer.discovery['authorization_endpoint']}?{urlencode(params)}"


def _id_token_claims(peer: OidcPeer, http: httpx.Client, response: httpx.Response) -> dict[str, object]:
    assert response.is_redirect, response.text
    code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
    tokens = http.post(
        peer.discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": "rp",
            "client_secret": "rp-secret",
        },
    ).json()
    keys = KeySet.import_key_set(httpx.get(peer.discovery["jwks_uri"]).json())
    return dict(jwt.decode(tokens["id_token"], keys).claims)


def test_the_sign_in_page_is_orbit_id_with_the_demo_accounts_and_no_outside_resource(orbit: OidcPeer) -> None:
    with httpx.Client() as http:
        page = http.get(_authorize_url(orbit), follow_redirects=True)
    html = page.text
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "<title>Sign in · Orbit ID</title>" in html
    assert (
        '<label for="login">E-mail address</label>' in html
        and '<label for="password">Password</label>' in html
    )
    assert "to continue to Deskgate" in html
    assert "Signing in shares your name, e-mail address and organization with Deskgate." in html
    assert '<h2 id="demo-accounts">Demo accounts</h2>' in html
    for someone in DEMO_PEOPLE:
        assert f"<code>{someone.email}</code>" in html and f"<code>{someone.password}</code>" in html
        assert f'Use<span class="visually-hidden"> {someone.name}\'s account</span>' in html.replace(
            "&#39;", "'"
        )
    # Everything the page needs is in the page: no script, style sheet, image or font from elsewhere.
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html)
    assert "@import" not in html and "url(" not in html


def test_people_sign_in_by_e_mail_address_in_any_case_and_get_their_account(orbit: OidcPeer) -> None:
    ana = person("ana")
    with httpx.Client() as http:
        back = orbit.login_over_http(http, _authorize_url(orbit), f"  {ana.email.upper()} ", ana.password)
        claims = _id_token_claims(orbit, http, back)
    assert claims["sub"] == "ana"
    assert (claims["email"], claims["name"], claims["organization"]) == (
        ana.email,
        ana.name,
        ana.organization,
    )


@pytest.mark.parametrize(
    ("login", "password"),
    [
        ("ana.costa@lumen.example", "ben"),
        ("nobody@lumen.example", "ana"),
        ("", "ana"),
        ("lumen.example", "ana"),
    ],
    ids=["wrong-password", "unknown-address", "empty", "partial-address"],
)
def test_a_wrong_address_or_password_is_refused_on_the_same_page(
    orbit: OidcPeer, login: str, password: str
) -> None:
    with httpx.Client() as http:
        refused = orbit.login_over_http(http, _authorize_url(orbit), login, password)
    assert refused.status_code == 200
    assert '<p class="alert" role="alert">Invalid e-mail address or password.</p>' in refused.text
    assert 'name="password"' in refused.text


def test_what_was_typed_comes_back_escaped_and_the_password_field_takes_focus(orbit: OidcPeer) -> None:
    with httpx.Client() as http:
        refused = orbit.login_over_http(http, _authorize_url(orbit), '"><script>x()</script>', "pw")
    assert "<script>x()" not in refused.text
    assert 'value="&#34;&#62;&#60;script&#62;x()&#60;/script&#62;"' in refused.text
    assert re.search(r'<input id="password"[^>]* autofocus>', refused.text)


def test_a_peer_without_pages_shows_no_accounts() -> None:
    with (
        OidcPeer(clients=[PeerClient("rp", "rp-secret", [CALLBACK])], accounts=DEMO_ACCOUNTS) as peer,
        httpx.Client() as http,
    ):
        html = http.get(_authorize_url(peer), follow_redirects=True).text
        # The flow tests' peers still sign in by account id.
        claims = _id_token_claims(
            peer, http, peer.login_over_http(http, _authorize_url(peer), "alice", "alice")
        )
    assert "Test identity provider" in html and "Demo accounts" not in html
    assert "alice" not in html
    assert claims["sub"] == "alice"
