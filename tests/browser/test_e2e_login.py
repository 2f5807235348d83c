"""A real browser through sign-in, sign-out and the admin's test connection, against the Gluu-shaped OP."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from deskgate.audit import AuditEvent
from deskgate.demo.oidc_peer import OidcPeer
from deskgate.services import Services
from tests.browser.conftest import Browsing, status_of, wait_until
from tests.flow.conftest import ServerFactory, gluu_idp
from tests.support.admin import ADMIN_PASSWORD, ADMIN_USER

pytestmark = [pytest.mark.browser, pytest.mark.peer]


async def _audit(services: Services) -> list[AuditEvent]:
    return await services.audit.query(limit=50)


def _sign_in_at_provider(page: Page, peer: OidcPeer, user: str, password: str) -> None:
    """Fill in the provider's own login form (the page must be on it)."""
    expect(page).to_have_url(re.compile("^" + re.escape(peer.origin) + "/"))
    page.locator("#login").fill(user)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def _cell(page: Page, table: str, name: str) -> Locator:
    """The value next to the row header ``name`` in one of the result page's two-column tables."""
    header = page.get_by_role("rowheader", name=name, exact=True)
    return page.locator(f"{table} tr").filter(has=header).locator("td")


def _sign_in(page: Page, peer: OidcPeer, base: str, browsing: Browsing) -> None:
    page.goto(base + "/account")
    browsing.shot(page, "provider-login")
    _sign_in_at_provider(page, peer, "demo", "demo")
    page.wait_for_url(base + "/account")
    expect(page.locator("dd.email")).to_have_text("demo@example.com")
    browsing.shot(page, "signed-in")


def test_deep_link_login_lands_on_the_same_link_with_a_safe_cookie(
    gluu_peer: OidcPeer,
    deskgate: ServerFactory,
    deskgate_base: str,
    browsing: Browsing,
    context: BrowserContext,
    page: Page,
) -> None:
    server = deskgate(gluu_idp(gluu_peer))
    deep_link = deskgate_base + "/account?x=1"

    at_provider = page.goto(deep_link)
    assert at_provider is not None
    hops: list[str] = []
    request = at_provider.request.redirected_from
    while request is not None:
        hops.insert(0, request.url)
        request = request.redirected_from
    assert hops[0] == deep_link
    login_hop = urlsplit(hops[1])
    assert login_hop.path == "/login"
    assert parse_qs(login_hop.query)["next"] == ["/account?x=1"]  # the query survives the detour
    browsing.shot(page, "provider-login")

    _sign_in_at_provider(page, gluu_peer, "demo", "demo")
    page.wait_for_url(deep_link)
    expect(page.locator("dd.email")).to_have_text("demo@example.com")
    browsing.shot(page, "back-on-deep-link")

    cookies = {c["name"]: c for c in context.cookies(deskgate_base)}
    session = cookies["deskgate_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    assert "deskgate_login" not in cookies  # the one-time login binding is gone once used
    events = server.call(_audit)
    assert [(e.event, e.outcome, e.email) for e in events] == [("login", "success", "demo@example.com")]


def test_rp_initiated_logout_passes_the_provider_and_lands_on_logged_out(
    gluu_peer: OidcPeer,
    deskgate: ServerFactory,
    deskgate_base: str,
    browsing: Browsing,
    context: BrowserContext,
    page: Page,
) -> None:
    server = deskgate(gluu_idp(gluu_peer))
    _sign_in(page, gluu_peer, deskgate_base, browsing)

    page.goto(deskgate_base + "/logout")
    browsing.shot(page, "logout-form")
    end_session = gluu_peer.discovery["end_session_endpoint"]
    with page.expect_request(lambda r: r.url.startswith(end_session)):
        page.get_by_role("button", name="Sign out").click()
    # The provider's confirmation page submits itself, then sends the browser to post_logout_redirect_uri.
    page.wait_for_url(re.compile("^" + re.escape(deskgate_base + "/logged-out")))
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    browsing.shot(page, "logged-out")

    assert status_of(context, deskgate_base + "/me") == 401
    events = server.call(_audit)
    assert ("logout.rp", "success") in {(e.event, e.outcome) for e in events}


def test_logout_at_the_provider_ends_the_session_over_the_back_channel(
    gluu_peer: OidcPeer,
    deskgate: ServerFactory,
    deskgate_base: str,
    browsing: Browsing,
    context: BrowserContext,
    page: Page,
) -> None:
    server = deskgate(gluu_idp(gluu_peer))
    _sign_in(page, gluu_peer, deskgate_base, browsing)
    assert status_of(context, deskgate_base + "/me") == 200

    # Another application sends the user to the provider's logout: Deskgate is not in the browser's path.
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    page.goto(gluu_peer.discovery["end_session_endpoint"])
    # Its confirmation page submits itself, and the provider ends on its own "Signed out" page.
    expect(page.get_by_role("heading", name="Signed out", exact=True)).to_be_visible()
    browsing.shot(page, "provider-signed-out")
    assert seen and not [url for url in seen if url.startswith(deskgate_base)]

    wait_until(lambda: status_of(context, deskgate_base + "/me") == 401, what="back-channel logout")
    events = server.call(_audit)
    assert ("logout.backchannel", "success") in {(e.event, e.outcome) for e in events}


def test_admin_test_connection_shows_claims_and_creates_no_session(
    gluu_peer: OidcPeer, deskgate: ServerFactory, deskgate_base: str, browsing: Browsing
) -> None:
    server = deskgate(gluu_idp(gluu_peer))
    context = browsing.context()
    page = context.new_page()

    page.goto(deskgate_base + "/admin/")
    page.wait_for_url(re.compile("^" + re.escape(deskgate_base + "/admin/login")))
    page.get_by_label("User name").fill(ADMIN_USER)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(deskgate_base + "/admin/")
    browsing.shot(page, "admin-index")
    page.get_by_role("row", name=re.compile(r"\(gluu\)")).get_by_role("link", name="Test connection").click()
    page.wait_for_url(deskgate_base + "/admin/idps/gluu/test")
    browsing.shot(page, "test-page")
    with context.expect_page() as opened:  # the test sign-in opens in a new window
        page.get_by_role("link", name="Sign in at Gluu to test (opens in a new window)").click()
    page = opened.value

    _sign_in_at_provider(page, gluu_peer, "alice", "alice")
    page.wait_for_url(re.compile("^" + re.escape(deskgate_base + "/admin/idps/gluu/test/result/")))
    browsing.shot(page, "test-result")
    expect(page.locator("#test-outcome")).to_contain_text("The sign-in worked")
    expect(page.locator("#verdict")).to_have_text(re.compile("^Allowed"))
    expect(_cell(page, "#id-token-claims", "email")).to_have_text('"alice@example.org"')  # claims as JSON
    expect(_cell(page, "#id-token-claims", "email_verified")).to_have_text("true")
    expect(_cell(page, "#mapped", "email")).to_have_text("alice@example.org")

    assert status_of(context, deskgate_base + "/me") == 401
    assert "deskgate_session" not in {c["name"] for c in context.cookies(deskgate_base)}
    events = server.call(_audit)
    assert [(e.event, e.outcome, e.email) for e in events if e.event == "login.test"] == [
        ("login.test", "success", "alice@example.org")
    ]
