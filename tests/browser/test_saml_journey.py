"""A SAML IdP as an admin and a customer meet it, in Chromium, on both databases: SimpleSAMLphp (a real
IdP) is added in the console's wizard from its metadata URL and tested (which takes it live); a customer
opens a desk's substitute link, signs in at SimpleSAMLphp and lands on that desk with the attributes the
IdP sent; signing out of Deskgate signs out at the IdP too (SP-initiated single logout), and the IdP's
own logout ends the Deskgate session (IdP-initiated single logout)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from deskgate.identity.saml.settings import ServiceProvider
from deskgate.jsm.emulator import EmulatorApp
from tests.a11y.test_axe import assert_accessible
from tests.browser.conftest import Browsing
from tests.flow.conftest import ServerFactory
from tests.saml.simplesamlphp import ANA, available, simplesamlphp
from tests.support.admin import ADMIN_PASSWORD, ADMIN_USER

pytestmark = [pytest.mark.browser, pytest.mark.peer]

NAME = "ssp"  # the IdP's name in Deskgate, hence its SP URLs: SimpleSAMLphp is told them first


@pytest.fixture
def idp_base(deskgate_base: str, tmp_path: Path) -> Iterator[str]:
    missing = available()
    if missing:
        pytest.skip(missing)  # a failure under CI=true (tests/conftest.py)
    with simplesamlphp(tmp_path, ServiceProvider.for_idp(deskgate_base, NAME)) as base:
        yield base


def _sign_in_at_idp(page: Page, idp_base: str) -> None:
    expect(page).to_have_url(re.compile("^" + re.escape(idp_base) + "/"))
    page.locator("#username").fill(ANA[0])
    page.locator("#password").fill(ANA[1])
    page.locator("#password").press("Enter")


def _add_and_test(context: BrowserContext, browsing: Browsing, base: str, idp_base: str) -> None:
    page = context.new_page()
    page.goto(base + "/admin/login")
    page.get_by_label("User name").fill(ADMIN_USER)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/admin/")

    # Wizard: protocol, preset, the SP URLs for the name chosen, then where the IdP's metadata is.
    page.goto(base + "/admin/idps/new")
    page.locator("#protocol-saml").check()
    page.locator("#protocol-next").click()
    page.locator('a[href^="/admin/idps/new/generic-saml/urls"]').click()
    page.locator("#field-name").fill(NAME)
    page.locator("#name-apply").click()
    sp = ServiceProvider.for_idp(base, NAME)
    expect(page.locator("#acs-url")).to_have_text(sp.acs_url)
    expect(page.locator("#slo-url")).to_have_text(sp.slo_url)
    expect(page.locator("#sp-metadata-url")).to_have_text(sp.metadata_url)
    browsing.shot(page, "saml wizard, URLs to register")
    assert_accessible(page)
    page.locator("#urls-next").click()
    page.locator("#field-title").fill("Lumen staff")
    page.locator("#source-url").check()
    page.locator("#field-metadata_url").fill(idp_base + "/saml2/idp/metadata.php")
    browsing.shot(page, "saml wizard, metadata URL")
    page.locator("#idp-save").click()
    expect(page.locator("#idp-saved")).to_be_visible()

    # The test: a sign-in at the IdP in a new window, whose result shows what the assertion said.
    page.locator("#idp-test").click()
    expect(page.locator("#draft-status")).to_be_visible()
    with context.expect_page() as opened:
        page.locator("#run-test").click()
    test_window = opened.value
    _sign_in_at_idp(test_window, idp_base)
    expect(test_window.locator("#went-live")).to_be_visible()
    expect(test_window.locator("#name-id")).to_have_text(ANA[0] + "@lumen.example")
    expect(test_window.locator("#saml-attributes")).to_contain_text("memberOf")
    expect(test_window.locator("#verdict")).to_have_class(re.compile(r"\bok\b"))
    browsing.shot(test_window, "saml test result")
    assert_accessible(test_window)


def test_a_saml_idp_added_in_the_console_signs_customers_in_and_out(
    deskgate: ServerFactory,
    deskgate_base: str,
    idp_base: str,
    jsm: tuple[EmulatorApp, str],
    browsing: Browsing,
) -> None:
    app, site = jsm
    deskgate(jsm=app.connection(site))
    _add_and_test(browsing.context(bypass_csp=True), browsing, deskgate_base, idp_base)  # axe is injected

    # A customer: the substitute link, signed out, goes through SimpleSAMLphp and back to the desk.
    customer = browsing.context()
    page = customer.new_page()
    page.goto(deskgate_base + "/portal/1")
    if page.url.startswith(deskgate_base + "/login"):  # the sign-in page, when it offers a choice
        page.get_by_role("button", name=re.compile("Lumen staff")).click()
    _sign_in_at_idp(page, idp_base)
    page.wait_for_url(deskgate_base + "/portal/1")
    expect(page.get_by_role("heading", level=1)).to_have_text("IT Help")
    browsing.shot(page, "customer on the desk after a SAML sign-in")
    page.goto(deskgate_base + "/account")
    expect(page.locator("main")).to_contain_text("ana@lumen.example")
    expect(page.locator("main")).to_contain_text("Lumen staff")  # the IdP's title, not its name
    browsing.shot(page, "account of a SAML customer")

    # SP-initiated single logout: signed out here and at the IdP, which asks for the password again.
    page.locator("header").get_by_role("link", name="Sign out").click()
    page.locator("#sign-out").click()  # the confirmation: a POST, so no link or image can sign anyone out
    page.wait_for_url(re.compile("^" + re.escape(deskgate_base) + "/"))
    expect(page.locator("main")).to_contain_text(re.compile("signed out", re.IGNORECASE))
    browsing.shot(page, "signed out after single logout")
    page.goto(deskgate_base + "/portal/1")
    if page.url.startswith(deskgate_base + "/login"):
        page.get_by_role("button", name=re.compile("Lumen staff")).click()
    _sign_in_at_idp(page, idp_base)  # the IdP's session ended with ours: its form is back
    page.wait_for_url(deskgate_base + "/portal/1")

    # IdP-initiated single logout: the IdP's own sign-out ends the Deskgate session.
    page.goto(idp_base + "/saml2/idp/SingleLogoutService.php?ReturnTo=" + idp_base + "/")
    page.wait_for_url(re.compile("^" + re.escape(idp_base) + "/"))
    page.goto(deskgate_base + "/account")
    expect(page).not_to_have_url(deskgate_base + "/account")
