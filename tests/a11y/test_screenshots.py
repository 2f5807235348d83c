"""The screenshot set: every console page and every customer page at 1280 and 390 px, full page, in
``test-artifacts/screenshots/<area>-<page>-<width>.png`` (gitignored), for a person to look at; and none of
them scrolls sideways (wide tables scroll inside their card, long URLs wrap, controls shrink).

The servers are the accessibility tests' (``console`` walks the app's routes, so a new console page is
photographed without a new test; ``site`` is the customer side against the JSM emulator); one browser
context per width and audience.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from deskgate.login.page import Branding
from deskgate.services import POST_LOGOUT_PATH
from deskgate.web.brand_tokens import WHITE, brand_tokens, contrast
from tests.a11y.test_axe import TIMEOUT_MS, Site, site
from tests.a11y.test_axe_console import PAGES, SAML_PAGES, Console, _concrete, console

__all__ = ["console", "site"]  # fixtures, shared with the accessibility tests

pytestmark = [pytest.mark.browser]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WIDTHS = (1280, 390)
SIGNED_OUT = {"login": "/login", "error-unknown-idp": "/login?idp=nope", "logged-out": POST_LOGOUT_PATH}
SIGNED_IN = {
    "logout": "/logout",
    "account": "/account",
    "help-center": "/portal",
    "desk": "/portal/1",
    "create-every-field-kind": "/portal/1/create/2",
    "my-requests": "/portal/requests",
}
WIDE = "() => [document.scrollingElement.scrollWidth, window.innerWidth]"


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"


def _context(browser: Browser, width: int, cookies: list[tuple[str, str, str]]) -> BrowserContext:
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_cookies([{"name": name, "value": value, "url": url} for name, value, url in cookies])
    return context


def _shoot(page: Page, url: str, name: str, width: int, status: int | None = 200) -> tuple[int, int] | None:
    """Open `url` and `_save` it."""
    response = page.goto(url)
    assert response is not None and response.status in ((status,) if status else (200, 404)), (
        url,
        response and response.status,
    )
    return _save(page, name, width)


def _save(page: Page, name: str, width: int) -> tuple[int, int] | None:
    """Save the page's full-page screenshot; its (scroll width, viewport) when it is too wide."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)
    scroll, inner = page.evaluate(WIDE)
    return (scroll, inner) if scroll > inner else None


@pytest.fixture(params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def width(request: pytest.FixtureRequest) -> int:
    value: int = request.param
    return value


@pytest.fixture
def admin_at(browser: Browser, console: Console, width: int) -> Iterator[Page]:
    context = _context(browser, width, [("deskgate_admin", console.admin_session, console.base)])
    yield context.new_page()
    context.close()


def test_every_console_page(admin_at: Page, console: Console, width: int) -> None:
    wide = {}
    for path in PAGES:
        # Statuses are the accessibility walk's to check: a page that needs more than its path (a spent
        # setup link, a confirmation without its query) is its error page, photographed as well.
        url = console.base + _concrete(path, console.params)
        if too_wide := _shoot(admin_at, url, f"console-{_slug(path)}", width, status=None):
            wide[path] = too_wide
    for path in SAML_PAGES:
        url = console.base + _concrete(path, console.params)
        if too_wide := _shoot(admin_at, url, f"console-saml-{_slug(path)}", width):
            wide[path] = too_wide
    assert wide == {}, f"scrolls sideways at {width} px: {wide}"


def test_every_customer_page(browser: Browser, site: Site, width: int) -> None:
    wide = {}
    visitor = _context(browser, width, [])
    customer = _context(browser, width, [("deskgate_session", site.session_id, site.base)])
    try:
        page = visitor.new_page()
        for name, path in SIGNED_OUT.items():
            status = 404 if name.startswith("error") else 200
            if too_wide := _shoot(page, site.base + path, f"customer-{name}", width, status):
                wide[name] = too_wide
        page = customer.new_page()
        for name, path in SIGNED_IN.items():
            if too_wide := _shoot(page, site.base + path, f"customer-{name}", width):
                wide[name] = too_wide
        # A form sent back with its errors, then a request with its page.
        page.goto(site.base + "/portal/1/create/1")
        page.get_by_role("button", name="Send").click()
        page.wait_for_selector("#problems")
        if too_wide := _save(page, "customer-create-with-errors", width):
            wide["create-with-errors"] = too_wide
        page.get_by_label("What do you need help with?").fill(f"The printer on floor {width} is jammed")
        page.get_by_role("button", name="Send").click()
        page.wait_for_url(f"{site.base}/portal/requests/*")
        if too_wide := _save(page, "customer-request", width):
            wide["request"] = too_wide
    finally:
        visitor.close()
        customer.close()
    assert wide == {}, f"scrolls sideways at {width} px: {wide}"


def test_the_branding_recolours_buttons_links_and_header(browser: Browser, console: Console) -> None:
    """An admin sets an amber accent in the console; the customer pages take it through the brand tokens:
    header and primary buttons amber with dark text on them, links a darker amber that reads on white."""
    accent, expected = "#ffab00", _tokens(brand_tokens(Branding(accent_color="#ffab00")))
    admin = _context(browser, 1280, [("deskgate_admin", console.admin_session, console.base)])
    try:
        page = admin.new_page()

        def save(colour: str) -> None:
            page.goto(console.base + "/admin/login-page")
            page.locator("#field-accent_color").fill(colour)
            page.locator("#login-page-save").click()
            page.wait_for_url("**/admin/login-page?saved=1")

        save(accent)
        try:
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                _shoot(page, console.base + POST_LOGOUT_PATH, "customer-logged-out-branded", width)
            look = page.evaluate(BRANDED_LOOK)
            assert look["bar"] == look["primary"] == "rgb(255, 171, 0)"
            assert look["onPrimary"] == look["text"]  # dark text reads better on amber than white
            assert look["link"] == expected["--ds-link"] != accent
            assert contrast(look["link"], WHITE) >= 4.5
            # The console keeps Deskgate's own look.
            page.goto(console.base + "/admin/login-page")
            assert (
                page.evaluate("getComputedStyle(document.querySelector('.bar')).backgroundColor")
                != look["bar"]
            )
        finally:
            save("")
    finally:
        admin.close()


BRANDED_LOOK = """() => {
  const style = selector => getComputedStyle(document.querySelector(selector));
  const root = getComputedStyle(document.documentElement);
  return {
    bar: style('.bar').backgroundColor,
    primary: style('.button.primary').backgroundColor,
    onPrimary: style('.button.primary').color,
    text: style('body').color,
    link: root.getPropertyValue('--ds-link').trim(),
  };
}"""


def _tokens(css: str) -> dict[str, str]:
    return dict(re.findall(r"(--[\w-]+): ([^;]+);", css))
