"""LemonLDAP::NG's SAML IdP in a real browser: sign-in through its auto-posting form, Deskgate's sign-out
ending the session at LemonLDAP::NG too, and its own logout ending the Deskgate session through the SLO
iframe of its logout page (HTTP-Redirect binding)."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from deskgate.audit import AuditEvent
from deskgate.identity.saml.settings import ServiceProvider
from deskgate.services import Services
from tests.browser.conftest import Browsing, wait_until
from tests.flow.conftest import ServerFactory
from tests.saml.lemonldap_saml import DWHO, IDP, from_metadata, typed_by_hand, unstarted_peer

pytestmark = [pytest.mark.browser, pytest.mark.peer]
SESSION_COOKIE = "deskgate_session"


async def _audit(services: Services) -> list[AuditEvent]:
    return await services.audit.query(limit=50)


def test_sign_in_and_logout_at_lemonldap_over_saml(
    deskgate: ServerFactory, deskgate_base: str, browsing: Browsing, context: BrowserContext, page: Page
) -> None:
    sp = ServiceProvider.for_idp(deskgate_base, IDP)
    peer = unstarted_peer(deskgate_base)
    server = deskgate()

    async def save_by_hand(services: Services) -> None:
        await services.providers.save(typed_by_hand(peer))

    server.call(save_by_hand)
    peer.saml_sp_metadata = httpx.get(sp.metadata_url).text
    with peer:
        metadata = httpx.get(peer.saml_metadata_url).content

        async def save_from_metadata(services: Services) -> None:
            await services.providers.save(from_metadata(peer, metadata))

        server.call(save_from_metadata)

        page.goto(f"{deskgate_base}/login?idp={IDP}&next=/account")
        expect(page).to_have_url(re.compile("^" + re.escape(peer.saml_sso_url)))
        page.locator("input[name=user]").fill(DWHO[0])
        page.locator("input[name=password]").fill(DWHO[1])
        browsing.shot(page, "lemonldap-saml-login")
        page.locator("form#lform button[type=submit]").click()
        # Its answer is a form that posts itself to our ACS (cross-site POST: the browser really did it).
        page.wait_for_url(deskgate_base + "/account")
        expect(page.locator("dd.email")).to_have_text("dwho@badwolf.org")
        browsing.shot(page, "signed-in")

        # Deskgate's sign-out signs out at LemonLDAP::NG too (a signed LogoutRequest, its signed answer).
        page.locator("header").get_by_role("link", name="Sign out").click()
        page.locator("#sign-out").click()
        page.wait_for_url(deskgate_base + "/logged-out")
        browsing.shot(page, "signed-out-at-both")
        page.goto(f"{deskgate_base}/login?idp={IDP}&next=/account")
        expect(page.locator("input[name=password]")).to_be_visible()  # its session ended: the form again
        page.locator("input[name=user]").fill(DWHO[0])
        page.locator("input[name=password]").fill(DWHO[1])
        page.locator("form#lform button[type=submit]").click()
        page.wait_for_url(deskgate_base + "/account")

        # In production the IdP is another site, so its iframe reaches Deskgate without our SameSite=Lax
        # cookie; here both are on 127.0.0.1. The NameID and SessionIndex alone must end the session.
        session = next(c["value"] for c in context.cookies(deskgate_base) if c["name"] == SESSION_COOKIE)
        context.clear_cookies(name=SESSION_COOKIE)
        slo_answer = peer.portal_url + "saml/singleLogoutReturn?SAMLResponse="  # its ResponseLocation
        with page.expect_response(lambda r: r.url.startswith(sp.slo_url + "?")) as request_arrived:
            page.goto(peer.portal_url + "?logout=1")
        # Our answer: 303 back to the IdP with a signed LogoutResponse, which the iframe follows.
        assert request_arrived.value.status == 303
        assert request_arrived.value.headers["location"].startswith(slo_answer)
        browsing.shot(page, "lemonldap-logged-out")

        def signed_out() -> bool:
            me = httpx.get(deskgate_base + "/me", cookies={SESSION_COOKIE: session})
            return me.status_code == 401

        wait_until(signed_out, timeout=10.0, what="Deskgate session ended by LemonLDAP::NG's SAML logout")
        events = server.call(_audit)
        assert ("logout.frontchannel", "success", "dwho@badwolf.org") in {
            (e.event, e.outcome, e.email) for e in events
        }
