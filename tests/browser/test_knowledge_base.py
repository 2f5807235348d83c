"""A real browser through the knowledge base, on both JSM flavours (Data Center with its Confluence):
search the help center, open an article (its Confluence page, sanitised), go on to raise a request, and
watch articles follow the summary as it is typed (deflect.js, against the JSON endpoint). Each page is
also shot at 1280 and 390 px wide (test-artifacts/browser/…)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from deskgate.demo.oidc_peer import OidcPeer
from deskgate.jsm.emulator import EmulatorApp
from deskgate.jsm.emulator.knowledge import CONFLUENCE_PREFIX
from tests.browser import single_site
from tests.browser.conftest import Browsing
from tests.browser.test_portal_e2e import _sign_in_at_provider
from tests.flow.conftest import ServerFactory, gluu_idp

pytestmark = [pytest.mark.browser, pytest.mark.peer]
db_url, jsm = single_site.db_url, single_site.jsm  # fixtures: SQLite only, both JSM flavours
SUMMARY = "Outlook keeps asking for my password"


def _shots(browsing: Browsing, page: Page, step: str) -> None:
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        browsing.shot(page, f"{step}-{width}")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
            f"{step} at {width}"
        )
    page.set_viewport_size({"width": 1280, "height": 900})


def test_search_open_an_article_and_raise_a_request_with_suggestions(
    gluu_peer: OidcPeer,
    deskgate: ServerFactory,
    deskgate_base: str,
    jsm: tuple[EmulatorApp, str],
    browsing: Browsing,
    page: Page,
) -> None:
    app, site = jsm
    extra = {} if app.flavour == "cloud" else {"confluence_url": site + CONFLUENCE_PREFIX}
    deskgate(gluu_idp(gluu_peer), jsm=app.connection(site, **extra))
    errors: list[str] = []
    # The article's image is asked of Confluence by the browser, which has no Confluence session (nor
    # does a real customer's, as a rule): its failure to load is expected; a CSP refusal is not.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("dialog", lambda d: errors.append("dialog: " + d.message))

    # 1. Search the help center: articles and request types.
    page.goto(deskgate_base + "/portal")
    _sign_in_at_provider(page, gluu_peer, "demo", "demo")
    page.wait_for_url(deskgate_base + "/portal")
    page.get_by_label("Search articles and requests").fill("password")
    page.get_by_role("button", name="Search").click()
    results = page.locator("#search-results")
    expect(results.get_by_role("link", name="Reset your password")).to_be_visible()
    expect(results.get_by_role("link", name="Reset my password")).to_be_visible()
    expect(results.locator("mark").first).to_have_text(re.compile("password", re.I))
    _shots(browsing, page, "help-center-search")

    # 2. Open the article: the page's headings, list and link, nothing of its hostile markup.
    results.get_by_role("link", name="Reset your password").click()
    page.wait_for_url(re.compile(re.escape(deskgate_base) + r"/portal/1/articles/8786177\?"))
    body = page.locator(".article-body")
    expect(body.get_by_role("heading", name="Reset it in three steps")).to_be_visible()
    expect(body.locator("ol > li")).to_have_count(3)
    expect(body.get_by_role("link", name="the password rules")).to_have_attribute(
        "href", "https://support.example.com/passwords"
    )
    assert body.locator("script, iframe, form, style, [onerror], [onclick]").count() == 0
    assert page.title() != "owned"
    _shots(browsing, page, "article")

    # 3. Raise a request from there; articles follow the summary as it is typed.
    page.get_by_role("link", name="Get IT help").click()
    page.wait_for_url(deskgate_base + "/portal/1/create/1")
    suggestions = page.locator("#suggestions")
    page.get_by_label("What do you need help with?").press_sequentially("laptop does not start", delay=20)
    expect(suggestions.get_by_role("link", name="Laptop will not start: what to try")).to_be_visible()
    page.get_by_label("What do you need help with?").fill("")
    page.get_by_label("What do you need help with?").press_sequentially(SUMMARY, delay=20)
    expect(suggestions.get_by_role("link", name="Reset your password")).to_be_visible()
    expect(suggestions.locator("mark").first).to_be_visible()
    _shots(browsing, page, "create-with-suggestions")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(re.compile(re.escape(deskgate_base) + r"/portal/requests/ITH-\d+\?created=1$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(SUMMARY)
    assert [i for i in app.store.issues if i.summary == SUMMARY]
    assert not errors, errors
