"""Kind error pages in a real browser: each kind as a signed-in customer and as a stranger, the refused
customer's way to another account, and the first-admin pages (before any admin, and a reused link)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deskgate.demo.oidc_peer import OidcPeer
from deskgate.identity.filters import FilterRules
from deskgate.identity.provider import ProviderConfig
from deskgate.settings import load_settings
from deskgate.web.app import create_app
from tests.a11y.test_axe import assert_accessible
from tests.browser.conftest import Browsing
from tests.flow.conftest import SECRET_KEY, gluu_idp
from tests.support.admin import ADMIN_PASSWORD, ADMIN_USER, create_admin
from tests.support.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.peer]

SETUP_LINK = re.compile(r"https?://\S+/admin/setup/[\w-]+")


async def _boom(request: Request) -> Response:
    raise RuntimeError("a bug on our side")


Start = Callable[..., LiveServer]


@pytest.fixture
def start_deskgate(db_url: str, deskgate_port: int, deskgate_base: str) -> Iterator[Start]:
    """Deskgate with two routes that fail unexpectedly (a portal one and a console one), for the 500 page."""
    servers: list[LiveServer] = []

    def start(*idps: ProviderConfig, admin: bool = True) -> LiveServer:
        settings = load_settings(
            base_url=deskgate_base, secret_key=SECRET_KEY, database_url=db_url, idps=list(idps)
        )
        app = create_app(settings)
        app.router.routes[:0] = [Route("/portal/boom", _boom), Route("/admin/boom", _boom)]
        server = LiveServer(app, deskgate_port)
        server.start()
        servers.append(server)
        if admin:
            server.call(create_admin)
        return server

    yield start
    for server in servers:
        server.stop()


def _sign_in_at_provider(page: Page, peer: OidcPeer, user: str) -> None:
    expect(page).to_have_url(re.compile("^" + re.escape(peer.origin) + "/"))
    page.locator("#login").fill(user)
    page.locator("#password").fill(user)  # the demo accounts' passwords are their names
    page.get_by_role("button", name="Sign in").click()


def _kind(page: Page) -> str:
    return str(page.locator("#error-page").get_attribute("data-kind"))


def _check_pages(page: Page, base: str, browsing: Browsing, *, who: str | None, label: str) -> None:
    """Not found, sign-in failed and server error, each with `who` in the header (None: nobody)."""
    header = page.locator("header.bar")

    response = page.goto(base + "/portal/no-such-page")
    assert response is not None and response.status == 404
    assert _kind(page) == "not_found"
    expect(page.get_by_role("heading", level=1)).to_have_text("We cannot find that page")
    expect(page.locator("#error-home")).to_have_attribute("href", "/portal")
    expect(page.locator(".error-id")).to_have_count(0)  # nobody needs an id for a mistyped link
    browsing.shot(page, f"{label} not found")
    assert_accessible(page)

    response = page.goto(base + "/plugins/servlet/oauth/callback?state=forged&code=x")
    assert response is not None and response.status == 400
    assert _kind(page) == "sign_in"
    expect(page.locator("#error-retry")).to_have_attribute("href", "/login")
    expect(page.locator(".error-id")).to_have_text(re.compile(r"^\S{6,}$"))
    browsing.shot(page, f"{label} sign-in failed")
    assert_accessible(page)

    response = page.goto(base + "/portal/boom")
    assert response is not None and response.status == 500
    assert _kind(page) == "server"
    expect(page.locator(".error-id")).to_have_count(1)
    expect(page.locator("#main")).not_to_contain_text("a bug on our side")  # the detail stays in the log
    expect(page.locator("#error-home")).to_have_attribute("href", "/portal")
    browsing.shot(page, f"{label} server error")
    assert_accessible(page)

    for path in ("/portal/no-such-page", "/plugins/servlet/oauth/callback?state=x", "/portal/boom"):
        page.goto(base + path)
        if who is None:
            expect(header.locator(".who")).to_have_count(0)
        else:
            expect(header.locator(".who")).to_have_text(who)
            expect(header.get_by_role("link", name="Sign out")).to_be_visible()


def test_error_pages_as_a_stranger_and_as_a_signed_in_customer(
    gluu_peer: OidcPeer, start_deskgate: Start, deskgate_base: str, browsing: Browsing
) -> None:
    start_deskgate(gluu_idp(gluu_peer))
    page = browsing.context(bypass_csp=True).new_page()  # lets axe in
    _check_pages(page, deskgate_base, browsing, who=None, label="stranger")

    page.goto(deskgate_base + "/account")
    _sign_in_at_provider(page, gluu_peer, "demo")
    page.wait_for_url(deskgate_base + "/account")
    who = page.locator("header .who").inner_text()
    assert who.strip()
    _check_pages(page, deskgate_base, browsing, who=who, label="customer")


def test_console_error_pages_lead_back_to_the_console_with_the_admins_header(
    gluu_peer: OidcPeer, start_deskgate: Start, deskgate_base: str, browsing: Browsing
) -> None:
    start_deskgate(gluu_idp(gluu_peer))
    page = browsing.context(bypass_csp=True).new_page()  # lets axe in
    page.goto(deskgate_base + "/admin/login")
    page.get_by_label("User name").fill(ADMIN_USER)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(deskgate_base + "/admin/")

    response = page.goto(deskgate_base + "/admin/idps/nobody/edit")
    assert response is not None and response.status == 404
    assert _kind(page) == "not_found"
    expect(page.locator("#error-home")).to_have_attribute("href", "/admin/")
    expect(page.get_by_role("navigation", name="Console")).to_be_visible()
    expect(page.locator("header .who")).to_have_text(ADMIN_USER)
    browsing.shot(page, "console not found")
    assert_accessible(page)

    response = page.goto(deskgate_base + "/admin/boom")
    assert response is not None and response.status == 500
    expect(page.locator(".error-id")).to_have_count(1)
    expect(page.locator("#error-home")).to_have_text("Back to the console")
    # The header's sign-out works from the error page (its form carries a valid token).
    page.locator("#admin-sign-out").click()
    page.wait_for_url(re.compile(re.escape(deskgate_base + "/admin/login")))


def test_a_refused_customer_signs_out_and_uses_another_account(
    gluu_peer: OidcPeer, start_deskgate: Start, deskgate_base: str, browsing: Browsing
) -> None:
    only_example = FilterRules(allow_domains=("example.com",))
    server = start_deskgate(gluu_idp(gluu_peer, filters=only_example))
    page = browsing.context(bypass_csp=True).new_page()  # lets axe in

    page.goto(deskgate_base + "/account")
    _sign_in_at_provider(page, gluu_peer, "mallory")
    expect(page.get_by_role("heading", name="You are not allowed to use this portal")).to_be_visible()
    expect(page.locator("#main")).to_contain_text("mallory@evil.example")
    expect(page.locator(".error-id")).to_have_count(1)  # a refusal is looked up in the audit log by it
    browsing.shot(page, "refused")
    assert_accessible(page)

    # The IdP's session ends too (its end-session page confirms by itself), so the next sign-in asks again.
    end_session = gluu_peer.discovery["end_session_endpoint"]
    with page.expect_request(lambda r: r.url.startswith(end_session)):
        page.get_by_role("button", name="Sign out and use another account").click()
    page.wait_for_url(re.compile("^" + re.escape(deskgate_base + "/logged-out")))
    browsing.shot(page, "signed out")
    assert_accessible(page)
    page.get_by_role("link", name="Sign in again").click()
    _sign_in_at_provider(page, gluu_peer, "demo")  # the provider's form, not mallory signed in again
    page.wait_for_url(re.compile("^" + re.escape(deskgate_base) + "/"))
    expect(page.locator("header .who")).not_to_have_text("Mallory")
    expect(page.locator("header .who")).not_to_be_empty()
    browsing.shot(page, "another account")
    assert_accessible(page)
    events = server.call(lambda s: s.audit.query(event="login"))
    assert [(e.outcome, e.email) for e in reversed(events)] == [
        ("refused", "mallory@evil.example"),
        ("success", "demo@example.com"),
    ]


class _SetupLink(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.url: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        found = SETUP_LINK.search(record.getMessage())
        if found:
            self.url = found.group(0)


def test_before_the_first_admin_the_console_says_where_the_link_is_and_a_reused_link_says_used(
    start_deskgate: Start, deskgate_base: str, browsing: Browsing
) -> None:
    catcher = _SetupLink()
    logging.getLogger("deskgate").addHandler(catcher)
    try:
        start_deskgate(admin=False)
    finally:
        logging.getLogger("deskgate").removeHandler(catcher)
    assert catcher.url is not None
    page = browsing.context(bypass_csp=True).new_page()  # lets axe in

    page.goto(deskgate_base + "/admin")
    expect(page.locator("#setup-link-state")).to_have_attribute("data-state", "waiting")
    expect(page.locator("#main")).to_contain_text("No admin account exists yet.")  # the log line to look for
    expect(page.locator("#main")).to_contain_text("deskgate admin create NAME")
    browsing.shot(page, "before the first admin")
    assert_accessible(page)

    page.goto(deskgate_base + "/admin/setup/never-issued")
    expect(page.locator("#setup-link-state")).to_have_attribute("data-state", "unknown")

    page.goto(catcher.url)
    page.get_by_label("User name").fill("root")
    page.get_by_label("Password (at least 12 characters)").fill("a-long-admin-passphrase")
    page.get_by_label("Password again").fill("a-long-admin-passphrase")
    page.get_by_role("button", name="Create admin").click()
    page.wait_for_url(deskgate_base + "/admin/")

    page.goto(deskgate_base + "/admin/login")
    expect(page.locator("#setup-link-state")).to_have_count(0)  # an admin exists: no notice any more

    response = page.goto(catcher.url)
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("This setup link was already used")
    expect(page.get_by_role("link", name="Go to the admin sign-in")).to_be_visible()
    browsing.shot(page, "setup link reused")
    assert_accessible(page)
