"""The demo, as `deskgate demo` sets it up (the demo IdP with its pages, the demo JSM with its story, the demo
IdP settings), in a real browser: a demo person signs in on the IdP's own page (axe-core finds nothing serious there) and finds their history on
the portal — an agent's reply, a request a colleague shared with them, one shared from another
organization — and never an agent's internal note."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from deskgate.cli.demo import DemoJsm, demo_peer, demo_settings
from deskgate.demo.oidc_peer import OidcPeer
from deskgate.demo.people import person
from tests.a11y.test_axe import assert_accessible
from tests.browser.conftest import Browsing
from tests.flow.conftest import ServerFactory

pytestmark = [pytest.mark.browser, pytest.mark.peer]

CLIENT_SECRET = secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def orbit(deskgate_base: str) -> Iterator[OidcPeer]:
    with demo_peer(deskgate_base, CLIENT_SECRET) as peer:
        yield peer


@pytest.fixture
def demo_jsm() -> Iterator[DemoJsm]:
    jsm = DemoJsm()
    jsm.start()
    try:
        yield jsm
    finally:
        jsm.stop()


def test_a_demo_person_signs_in_at_the_demo_idp_and_finds_their_history(
    orbit: OidcPeer, demo_jsm: DemoJsm, deskgate: ServerFactory, deskgate_base: str, browsing: Browsing
) -> None:
    settings = demo_settings(deskgate_base, orbit, CLIENT_SECRET, demo_jsm)
    deskgate(*settings.idps, jsm=settings.jsm)
    ana, ben, chloe = person("ana"), person("ben"), person("chloe")

    # 1. The portal sends a signed-out visitor to the demo IdP's own sign-in page.
    page: Page = browsing.context(viewport={"width": 390, "height": 844}).new_page()
    page.goto(deskgate_base + "/portal")
    expect(page).to_have_url(re.compile("^" + re.escape(orbit.origin) + "/interaction/"))
    expect(page).to_have_title("Sign in · Orbit ID")
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
    expect(page.get_by_text("to continue to Deskgate")).to_be_visible()
    hints = page.get_by_role("region", name="Demo accounts")
    expect(hints.get_by_role("listitem")).to_have_count(3)
    assert_accessible(page)
    browsing.shot(page, "idp-sign-in-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    browsing.shot(page, "idp-sign-in-1280")

    # 2. A wrong password is refused there; the demo account hint fills the form in.
    page.get_by_label("E-mail address").fill(ana.email)
    page.get_by_label("Password").fill("not-" + ana.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Invalid e-mail address or password.")
    expect(page.get_by_label("E-mail address")).to_have_value(ana.email)
    assert_accessible(page)
    page.get_by_role("button", name=f"Use {ana.name}'s account").click()
    expect(page.get_by_label("Password")).to_have_value(ana.password)
    expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(deskgate_base + "/portal")
    expect(page.get_by_text(ana.name).first).to_be_visible()
    browsing.shot(page, "portal-home")

    # 3. Her requests on the IT desk: her own, Ben's (shared with her) and Chloé's (another organization).
    page.goto(deskgate_base + "/portal/requests?desk=1")
    rows = page.get_by_role("row")
    for summary in (
        "Outlook keeps asking for my password",
        "VPN access for the Lisbon office",
        "Shared folder for the Lumen and Harbor shipping project",
        "A second monitor for my desk",
    ):
        expect(rows.filter(has_text=summary)).to_have_count(1)
    expect(rows.filter(has_text="Outlook keeps asking")).to_contain_text(
        re.compile("waiting for customer", re.I)
    )
    expect(rows.filter(has_text="A second monitor")).to_contain_text(re.compile("resolved", re.I))
    browsing.shot(page, "my-requests")

    # 4. An agent's public reply with a file, and never the internal note.
    rows.filter(has_text="Outlook keeps asking").get_by_role("link").first.click()
    reply = page.locator("article.comment").filter(has_text="Sorry about that!")
    expect(reply.locator(".author")).to_have_text("Sam Rivera")
    expect(page.get_by_role("link", name="outlook-sign-in-steps.txt")).to_be_visible()
    expect(page.get_by_role("link", name="password-prompt.png")).to_be_visible()
    expect(page.get_by_text("stale token cache")).to_have_count(0)
    browsing.shot(page, "agent-reply")

    # 5. The request a colleague shared: raised by Ben, shared with Ana, answered by the agent.
    page.goto(deskgate_base + "/portal/requests?desk=1")
    page.get_by_role("row").filter(has_text="VPN access").get_by_role("link").first.click()
    expect(page.locator("dd").filter(has_text=ben.name)).to_be_visible()  # raised by
    expect(page.locator("#sharing li").filter(has_text=ana.name)).to_be_visible()  # shared with
    expect(page.locator("article.comment").filter(has_text="VPN profiles are approved")).to_be_visible()
    browsing.shot(page, "shared-request")

    # 6. The one shared from Harbor Logistics, and the JSM organization the IdP's claim names.
    page.goto(deskgate_base + "/portal/requests?desk=1")
    page.get_by_role("row").filter(has_text="Shared folder").get_by_role("link").first.click()
    expect(page.locator("dd").filter(has_text=chloe.name)).to_be_visible()
    store = demo_jsm.app.store
    (lumen,) = [o for o in store.organizations if o.name == ana.organization]
    assert store.user_by_email(ana.email).account_id in lumen.members  # type: ignore[union-attr]
