"""Accessibility of the customer-facing pages: axe-core (npm, ``peers/axe``) run in headless Chromium.

Each page is loaded from Deskgate served live on loopback (against the live JSM emulator), axe-core is
injected and run with the WCAG 2 A/AA rules, and any violation of impact "serious" or "critical" fails the
test with its rule, the elements it found and the rule's help page. Customers are signed in by starting
their sessions directly through the services: the sign-in itself is tested in ``tests/browser``.

The pages send ``Content-Security-Policy: script-src 'self'``, which would refuse the injected script:
the browser context bypasses CSP (a test-only Playwright switch; the pages themselves are unchanged).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from pydantic import SecretStr

from deskgate.identity.provider import ProviderConfig
from deskgate.jsm.emulator import create_emulator
from deskgate.services import POST_LOGOUT_PATH
from deskgate.settings import load_settings
from deskgate.web.app import create_app
from tests.support.live import LiveServer, free_port

pytestmark = [pytest.mark.browser]

AXE = Path(__file__).resolve().parents[2] / "peers" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
TIMEOUT_MS = 10_000


def _idp(name: str, title: str) -> ProviderConfig:
    # Never contacted: the chooser only lists the configured IdPs.
    return ProviderConfig(
        name=name,
        title=title,
        issuer=f"https://{name}.idp.test",
        client_id="deskgate",
        client_secret=SecretStr("client-secret-0123456789"),
    )


@dataclass
class Site:
    base: str
    session_id: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Deskgate (SQLite, two IdPs) and the JSM emulator, live on loopback, with one customer signed in."""
    jsm_app = create_emulator("cloud")
    jsm = LiveServer(jsm_app, free_port())
    jsm.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = load_settings(
        base_url=base,
        secret_key="test-secret-key-0123456789-abcdefghijklmnop",
        database_url=f"sqlite:///{tmp_path_factory.mktemp('a11y') / 'deskgate.db'}",
        idps=[_idp("corp", "Corporate sign-in"), _idp("partners", "Partner sign-in")],
        jsm=jsm_app.connection(jsm.url),
    )
    deskgate = LiveServer(create_app(settings), port)
    deskgate.start()
    try:
        email, name = "demo@example.com", "Demo Customer"
        session_id, _ = deskgate.call(
            lambda s: s.sessions.start(
                idp="corp", subject="demo", email=email, display_name=name, attributes={}
            )
        )
        deskgate.call(
            lambda s: s.customers.provision(
                idp="corp", subject="demo", email=email, display_name=name, desk_id="1"
            )
        )
        yield Site(base, session_id)
    finally:
        deskgate.stop()
        jsm.stop()


def _context(browser: Browser, site: Site, *, signed_in: bool) -> BrowserContext:
    context = browser.new_context(bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)
    if signed_in:
        context.add_cookies([{"name": "deskgate_session", "value": site.session_id, "url": site.base}])
    return context


@pytest.fixture
def customer(browser: Browser, site: Site) -> Iterator[Page]:
    context = _context(browser, site, signed_in=True)
    yield context.new_page()
    context.close()


@pytest.fixture
def visitor(browser: Browser, site: Site) -> Iterator[Page]:
    context = _context(browser, site, signed_in=False)
    yield context.new_page()
    context.close()


def assert_accessible(page: Page) -> None:
    """Run axe-core on what ``page`` shows now; fail on serious or critical WCAG 2 A/AA violations."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    results: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        TAGS,
    )
    checked = sum(len(results[kind]) for kind in ("passes", "violations", "incomplete", "inapplicable"))
    assert checked > 20, f"axe-core ran only {checked} rules on {page.url}"
    blocking = [v for v in results["violations"] if v["impact"] in BLOCKING]
    report = [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "url": v["helpUrl"],
            "targets": [node["target"] for node in v["nodes"]],
        }
        for v in blocking
    ]
    assert not report, f"{page.url}:\n" + json.dumps(report, indent=2)


# The focused control, and whether it shows a focus ring (an outline or a box shadow).
FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {
    name: el.type === 'radio' ? 'radio:' + el.name : el.type === 'checkbox' ? el.name + '=' + el.value : (el.id || el.type + ':' + el.name),
    outline: style.outlineStyle + ' ' + style.outlineWidth,
    shadow: style.boxShadow,
    visible: (style.outlineStyle !== 'none' && style.outlineWidth !== '0px') || style.boxShadow !== 'none',
  };
}"""


def _open(page: Page, url: str, status: int = 200) -> None:
    response = page.goto(url)
    assert response is not None and response.status == status, (url, response and response.status)


@pytest.mark.parametrize(
    ("path", "status"),
    [("/login", 200), ("/login?idp=nope", 404), (POST_LOGOUT_PATH, 200)],
    ids=["chooser", "error-unknown-idp", "logged-out"],
)
def test_signed_out_pages_have_no_serious_violations(
    visitor: Page, site: Site, path: str, status: int
) -> None:
    _open(visitor, site.base + path, status)
    assert_accessible(visitor)


@pytest.mark.parametrize(
    "path",
    ["/logout", "/account", "/portal", "/portal/1", "/portal/1/create/2", "/portal/requests"],
    ids=["logout", "account", "help-center", "desk", "create-every-field-kind", "my-requests"],
)
def test_signed_in_pages_have_no_serious_violations(customer: Page, site: Site, path: str) -> None:
    _open(customer, site.base + path)
    assert_accessible(customer)


def test_a_form_re_drawn_with_errors_and_the_request_page_have_no_serious_violations(
    customer: Page, site: Site
) -> None:
    _open(customer, site.base + "/portal/1/create/1")
    customer.get_by_role("button", name="Send").click()  # nothing filled in: the form comes back with errors
    customer.wait_for_selector("#problems")
    assert_accessible(customer)

    customer.get_by_label("What do you need help with?").fill("Screen reader cannot read the menu")
    customer.get_by_role("button", name="Send").click()
    customer.wait_for_url(f"{site.base}/portal/requests/*")
    assert_accessible(customer)


def test_tab_reaches_every_field_of_the_create_form_in_order_with_a_visible_focus(
    customer: Page, site: Site
) -> None:
    _open(customer, site.base + "/portal/1/create/2")
    form = "form[action^='/portal/']"
    # What Tab should reach: each control once (a radio group is one stop), in document order.
    expected: list[str] = customer.eval_on_selector(
        form,
        """form => {
          const seen = new Set();
          return [...form.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
            .filter(el => {
              if (el.type !== 'radio') return true;
              if (seen.has(el.name)) return false;
              seen.add(el.name);
              return true;
            })
            .map(el => el.type === 'radio' ? 'radio:' + el.name : el.type === 'checkbox' ? el.name + '=' + el.value : (el.id || el.type + ':' + el.name));
        }""",
    )
    assert expected[-1] == "submit:"
    customer.locator(form).locator("input:not([type=hidden]), select, textarea").first.focus()
    customer.keyboard.press("Shift+Tab")  # start just before the first field
    reached: list[str] = []
    for _ in range(3 * len(expected)):  # a date field takes one Tab per part (day, month, year)
        customer.keyboard.press("Tab")
        focused: dict[str, Any] = customer.evaluate(FOCUSED)
        if not reached or reached[-1] != focused["name"]:
            reached.append(focused["name"])
        assert focused["visible"], f"no visible focus on {focused['name']}: {focused}"
        if focused["name"] == expected[-1]:
            break
    assert reached == expected, f"reached {reached}, expected {expected}"
