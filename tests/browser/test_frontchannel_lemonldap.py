"""Front-channel logout from a real LemonLDAP::NG 2.16 portal, in a real browser.

LL::NG is the peer that does OIDC front-channel logout: its logout page embeds an iframe pointing at
Deskgate's ``/plugins/servlet/oauth/logout?iss=…&sid=…`` (``sid`` being the user id in 2.16).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect
from pydantic import SecretStr

from deskgate.audit import AuditEvent
from deskgate.identity.provider import ProviderConfig
from deskgate.services import CALLBACK_PATH, FRONTCHANNEL_LOGOUT_PATH, POST_LOGOUT_PATH, Services
from tests.browser.conftest import Browsing, status_of, wait_until
from tests.flow.conftest import ServerFactory
from tests.peers.lemonldap import LemonLdapPeer

pytestmark = [pytest.mark.browser, pytest.mark.peer]

CLIENT = ("deskgate-lemonldap", "lemonldap-client-secret-0123456789")
SESSION_COOKIE = "deskgate_session"


@pytest.fixture(scope="module")
def lemonldap(deskgate_base: str) -> Iterator[LemonLdapPeer]:
    with LemonLdapPeer(
        rp_client_id=CLIENT[0],
        rp_client_secret=CLIENT[1],
        redirect_uris=[deskgate_base + CALLBACK_PATH],
        post_logout_redirect_uris=[deskgate_base + POST_LOGOUT_PATH],
        frontchannel_logout_uri=deskgate_base + FRONTCHANNEL_LOGOUT_PATH,
    ) as peer:
        yield peer


def lemonldap_idp(peer: LemonLdapPeer) -> ProviderConfig:
    return ProviderConfig(
        name="lemonldap",
        title="LemonLDAP::NG",
        preset="lemonldap",  # whose default front-channel mode takes the user id as sid (2.16's quirk)
        issuer=peer.issuer,  # exactly as published: with its trailing slash
        client_id=CLIENT[0],
        client_secret=SecretStr(CLIENT[1]),
        token_endpoint_auth_method="client_secret_post",
        scopes=("openid", "email", "profile"),
    )


async def _audit(services: Services) -> list[AuditEvent]:
    return await services.audit.query(limit=50)


def _frame_ancestors(csp: str) -> list[str]:
    for directive in csp.split(";"):
        name, _, sources = directive.strip().partition(" ")
        if name.lower() == "frame-ancestors":
            return sources.split()
    raise AssertionError(f"no frame-ancestors in {csp!r}")


def _check_harmless_requests(base: str, peer: LemonLdapPeer) -> None:
    """Unknown or missing iss/sid: 200 (an IdP's iframe must never show an error) and cacheable by nobody."""
    harmless = [
        {},
        {"iss": "http://127.0.0.1:9/", "sid": "dwho"},  # the right user, but an issuer we don't know
        {"iss": peer.issuer, "sid": "nobody"},
        {"iss": peer.issuer},
        {"sid": "dwho"},
    ]
    with httpx.Client(base_url=base) as client:
        for params in harmless:
            response = client.get(FRONTCHANNEL_LOGOUT_PATH, params=params)
            assert response.status_code == 200, params
            assert "x-frame-options" not in response.headers  # even SAMEORIGIN blocks another port
            cache_control = response.headers["cache-control"]
            assert "no-store" in cache_control and "no-cache" in cache_control
            ancestors = _frame_ancestors(response.headers["content-security-policy"])
            assert "'none'" not in ancestors
            assert "*" in ancestors or peer.portal_url.rstrip("/") in ancestors


def test_logout_at_lemonldap_ends_the_session_through_the_front_channel_iframe(
    lemonldap: LemonLdapPeer,
    deskgate: ServerFactory,
    deskgate_base: str,
    browsing: Browsing,
    context: BrowserContext,
    page: Page,
) -> None:
    server = deskgate(lemonldap_idp(lemonldap))

    page.goto(deskgate_base + "/account")
    expect(page).to_have_url(re.compile("^" + re.escape(lemonldap.portal_url)))
    browsing.shot(page, "lemonldap-login")
    page.locator("input[name=user]").fill("dwho")
    page.locator("input[name=password]").fill("dwho")
    page.locator("form#lform button[type=submit]").click()
    page.wait_for_url(deskgate_base + "/account")
    expect(page.locator("dd.email")).to_have_text("dwho@badwolf.org")
    browsing.shot(page, "signed-in")

    _check_harmless_requests(deskgate_base, lemonldap)
    assert status_of(context, deskgate_base + "/me") == 200  # none of them ended the real session
    assert "logout.frontchannel" not in {e.event for e in server.call(_audit)}

    # In production the IdP is another site, so its iframe reaches Deskgate without our SameSite=Lax
    # cookie. Here both sit on 127.0.0.1 (same site): take the cookie out of the browser, so that only
    # iss + sid can end the session, and keep it to ask Deskgate afterwards.
    session = next(c["value"] for c in context.cookies(deskgate_base) if c["name"] == SESSION_COOKIE)
    context.clear_cookies(name=SESSION_COOKIE)

    frontchannel_url = deskgate_base + FRONTCHANNEL_LOGOUT_PATH
    with page.expect_response(lambda r: r.url.startswith(frontchannel_url)) as arrived:
        page.goto(lemonldap.portal_url + "?logout=1")
    assert arrived.value.status == 200
    assert parse_qs(urlsplit(arrived.value.url).query) == {"iss": [lemonldap.issuer], "sid": ["dwho"]}
    # The iframe really shows Deskgate's page: neither X-Frame-Options nor CSP blocked the framing.
    iframe = page.frame_locator(f'iframe[src^="{frontchannel_url}"]')
    expect(iframe.locator("body")).to_contain_text("Signed out of Deskgate (1)")
    browsing.shot(page, "lemonldap-logged-out")

    def signed_out() -> bool:
        me = httpx.get(deskgate_base + "/me", cookies={SESSION_COOKIE: session})
        return me.status_code == 401

    wait_until(signed_out, timeout=10.0, what="Deskgate session ended by front-channel logout")
    events = server.call(_audit)
    assert ("logout.frontchannel", "success", "dwho@badwolf.org") in {
        (e.event, e.outcome, e.email) for e in events
    }
