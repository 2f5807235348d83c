"""What keeps a console admin from hurting customers by mistake, in a browser: a new IdP's test stops at a
broken discovery and offers no sign-in that could only fail; a draft is offered to no customer; disabling
and deleting an IdP are confirmed on a page that counts the sessions they end, and do end them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from pydantic import SecretStr

from deskgate.demo.oidc_peer import OidcPeer
from deskgate.identity.provider import ProviderConfig
from tests.a11y.test_axe import assert_accessible
from tests.browser.conftest import Browsing, status_of
from tests.flow.conftest import ServerFactory, gluu_idp
from tests.support.admin import ADMIN_PASSWORD, ADMIN_USER
from tests.support.live import free_port

pytestmark = [pytest.mark.browser, pytest.mark.peer]


def _admin(page: Page, base: str) -> None:
    page.goto(base + "/admin/login")
    page.get_by_label("User name").fill(ADMIN_USER)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/admin/")


def test_a_broken_draft_stops_its_test_and_confirmations_count_what_they_end(
    gluu_peer: OidcPeer, deskgate: ServerFactory, deskgate_base: str, browsing: Browsing
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: discovery fails
    broken = ProviderConfig(
        name="broken",
        title="Broken IdP",
        issuer=closed,
        client_id="deskgate",
        client_secret=SecretStr("secret-0123456789abcdef"),
        draft=True,
    )
    deskgate(gluu_idp(gluu_peer), broken)

    # A customer signs in through the live IdP; the draft is offered nowhere.
    customer_context = browsing.context()
    customer = customer_context.new_page()
    customer.goto(deskgate_base + "/login")
    # Straight to the live IdP: with the draft offered too, /login would be a chooser of two.
    expect(customer).to_have_url(re.compile("^" + re.escape(gluu_peer.origin) + "/"))
    customer.locator("#login").fill("demo")
    customer.locator("#password").fill("demo")
    customer.get_by_role("button", name="Sign in").click()
    customer.wait_for_url(re.compile("^" + re.escape(deskgate_base) + "/"))
    assert status_of(customer_context, deskgate_base + "/me") == 200

    admin = browsing.context(bypass_csp=True).new_page()  # axe-core is injected as a script
    _admin(admin, deskgate_base)

    # The broken draft's test page stops at discovery, says why, and offers no sign-in.
    admin.goto(deskgate_base + "/admin/idps/broken/test")
    expect(admin.locator("#test-blocked")).to_be_visible()
    expect(admin.locator("#blocked-discovery")).to_contain_text("unreachable")
    expect(admin.locator("#run-test")).to_have_count(0)
    browsing.shot(admin, "test stopped at discovery")
    assert_accessible(admin)
    admin.goto(deskgate_base + "/admin/")
    expect(admin.locator("#status-broken")).to_contain_text("draft")

    # Disabling the live IdP: a confirmation page first, naming the one session it ends.
    admin.locator("#disable-gluu").click()
    expect(admin.locator("#disable-ends")).to_contain_text("1 live customer session")
    browsing.shot(admin, "disable confirmation")
    assert_accessible(admin)
    assert status_of(customer_context, deskgate_base + "/me") == 200, "nothing ends before the confirmation"
    admin.locator("#idp-disable-confirm").click()
    admin.wait_for_url(re.compile(re.escape(deskgate_base) + "/admin/"))
    expect(admin.locator("#status-gluu")).to_contain_text("disabled")
    assert status_of(customer_context, deskgate_base + "/me") == 401

    # Deleting the draft: confirmed too; nobody is signed in through it.
    admin.get_by_role("link", name="Delete Broken IdP").click()
    expect(admin.locator("#delete-ends")).to_contain_text("Nobody is signed in through Broken IdP")
    browsing.shot(admin, "delete confirmation")
    admin.locator("#idp-delete-confirm").click()
    admin.wait_for_url(re.compile(re.escape(deskgate_base) + "/admin/"))
    expect(admin.locator("#status-broken")).to_have_count(0)
