"""The admin's whole journey in a real browser, from an empty database to a customer in the portal.

Deskgate starts with nothing configured: the setup link it logs creates the first admin; the admin adds a
Gluu IdP with the preset wizard (pointing at the real OpenID provider, served over https as a real Gluu
is), tests the connection and reads the claims, maps first and last name, adds a domain filter and sees
"try it" refuse another domain, connects the JSM emulator and copies a substitute link; a customer opens
that link in a fresh browser and reaches the portal. Every step is saved as a screenshot under
``test-artifacts/browser/<test>/``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from deskgate.demo.oidc_peer import OidcPeer, PeerClient
from deskgate.jsm.emulator import EmulatorApp, create_emulator
from deskgate.services import BACKCHANNEL_LOGOUT_PATH, CALLBACK_PATH, POST_LOGOUT_PATH
from deskgate.settings import load_settings
from deskgate.web.app import create_app
from tests.browser.conftest import Browsing
from tests.flow.conftest import ACCOUNTS, GLUU_CLIENT, SECRET_KEY
from tests.support.live import LiveServer, free_port
from tests.support.tls import loopback_certificate, trusting_client

pytestmark = [pytest.mark.browser, pytest.mark.peer]

ADMIN, ADMIN_PASSWORD = "jira-admin", "a-long-admin-passphrase"
SETUP_LINK = re.compile(r"https?://\S+/admin/setup/[\w-]+")


class _SetupLink(logging.Handler):
    """Catches the first-admin link Deskgate writes to its log at first start."""

    def __init__(self) -> None:
        super().__init__()
        self.url: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        found = SETUP_LINK.search(record.getMessage())
        if found:
            self.url = found.group(0)


@pytest.fixture
def https_gluu(deskgate_base: str, tmp_path: Path) -> Iterator[tuple[OidcPeer, Path]]:
    """The Gluu-shaped OpenID provider over https, with its certificate (which Deskgate is told to trust)."""
    certificate, key = loopback_certificate(tmp_path)
    client = PeerClient(
        GLUU_CLIENT[0],
        GLUU_CLIENT[1],
        [deskgate_base + CALLBACK_PATH],
        post_logout_redirect_uris=[deskgate_base + POST_LOGOUT_PATH],
        token_endpoint_auth_method="client_secret_post",
        backchannel_logout_uri=deskgate_base + BACKCHANNEL_LOGOUT_PATH,
    )
    with OidcPeer(
        clients=[client], accounts=ACCOUNTS, gluu_paths=True, pairwise=True, tls=(certificate, key)
    ) as peer:
        yield peer, certificate


@pytest.fixture
def jsm_site() -> Iterator[tuple[EmulatorApp, str]]:
    app = create_emulator("cloud")
    server = LiveServer(app, free_port())
    server.start()
    try:
        yield app, server.url
    finally:
        server.stop()


@pytest.fixture
def empty_deskgate(
    db_url: str, deskgate_port: int, deskgate_base: str, https_gluu: tuple[OidcPeer, Path]
) -> Iterator[tuple[LiveServer, str]]:
    """Deskgate on an empty database (no admin, no IdP, no JSM), and the setup link it logged."""
    catcher = _SetupLink()
    logger = logging.getLogger("deskgate")
    logger.addHandler(catcher)
    settings = load_settings(base_url=deskgate_base, secret_key=SECRET_KEY, database_url=db_url)
    server = LiveServer(create_app(settings, http=trusting_client(https_gluu[1])), deskgate_port)
    try:
        server.start()
        assert catcher.url is not None, "no setup link in the log at first start"
        yield server, catcher.url
        server.call(lambda s: s.http.aclose())  # ours, not the app's: closed on the loop that used it
    finally:
        logger.removeHandler(catcher)
        server.stop()


def _sign_in_at_gluu(page: Page, peer: OidcPeer, user: str) -> None:
    expect(page).to_have_url(re.compile("^" + re.escape(peer.origin) + "/"))
    page.locator("#login").fill(user)
    page.locator("#password").fill(user)  # the demo accounts' passwords are their names
    page.get_by_role("button", name="Sign in").click()


def test_from_an_empty_database_to_a_customer_in_the_portal(
    empty_deskgate: tuple[LiveServer, str],
    https_gluu: tuple[OidcPeer, Path],
    jsm_site: tuple[EmulatorApp, str],
    deskgate_base: str,
    browsing: Browsing,
) -> None:
    server, setup_url = empty_deskgate
    peer, _ = https_gluu
    admin = browsing.context(
        permissions=["clipboard-read", "clipboard-write"], ignore_https_errors=True
    ).new_page()

    # 1. The setup link creates the first admin, who lands in the console signed in.
    admin.goto(setup_url)
    admin.get_by_label("User name").fill(ADMIN)
    admin.get_by_label("Password (at least 12 characters)").fill(ADMIN_PASSWORD)
    admin.get_by_label("Password again").fill(ADMIN_PASSWORD)
    browsing.shot(admin, "setup link")
    admin.get_by_role("button", name="Create admin").click()
    expect(admin).to_have_url(deskgate_base + "/admin/")
    expect(admin.get_by_role("heading", name="Identity providers")).to_be_visible()
    browsing.shot(admin, "console, empty")

    # 2. The wizard: OpenID Connect → the Gluu preset (found by searching) → what to register → its fields.
    admin.locator("#idp-add").click()  # (the set-up checklist links there too)
    admin.get_by_label("OpenID Connect").check()
    admin.get_by_role("button", name="Next").click()
    admin.get_by_label("Search presets").fill("gluu")
    admin.get_by_role("button", name="Search").click()
    browsing.shot(admin, "wizard, preset search")
    admin.get_by_role("link", name="Gluu Server").click()
    # What to register at Gluu comes first: the client ID and secret exist only once that is done.
    expect(admin.locator("#callback-url")).to_have_text(deskgate_base + CALLBACK_PATH)
    browsing.shot(admin, "wizard, URLs to register at Gluu")
    admin.get_by_role("link", name="Next: enter the client ID and secret").click()
    admin.locator("#field-name").fill("gluu")
    admin.locator("#field-title").fill("Corporate sign-in")
    admin.locator("#field-domain").fill(peer.origin.removeprefix("https://"))
    admin.locator("#field-client_id").fill(GLUU_CLIENT[0])
    admin.locator("#field-client_secret").fill(GLUU_CLIENT[1])
    expect(admin.locator("#field-scopes")).to_have_value("openid email profile")
    browsing.shot(admin, "wizard, Gluu fields")
    admin.locator("#field-client_secret").press("Enter")
    expect(admin.locator("#frontchannel-url")).to_have_text(deskgate_base + "/plugins/servlet/oauth/logout")
    expect(admin.locator("#callback-url")).to_have_text(deskgate_base + CALLBACK_PATH)
    expect(admin.get_by_text("client_secret_post").first).to_be_visible()
    browsing.shot(admin, "wizard, what to register")

    # 3. Test connection: the IdP's sign-in opens in a new window, which ends on the claims received. Until
    # then the new IdP is a draft, offered to no customer; the passed test makes it live.
    assert server.call(lambda s: s.providers.get("gluu")).status == "draft"
    admin.get_by_role("link", name="Test connection").click()
    expect(admin.locator("#draft-status")).to_be_visible()
    with admin.expect_popup() as opened:
        admin.locator("#run-test").click()
    window = opened.value
    _sign_in_at_gluu(window, peer, "demo")
    expect(window.locator("#test-outcome")).to_contain_text("worked")
    expect(window.locator("#went-live")).to_be_visible()
    assert server.call(lambda s: s.providers.get("gluu")).status == "live"
    claims = window.locator("#id-token-claims")
    expect(claims).to_contain_text("demo@example.com")
    expect(window.locator("#userinfo-claims")).to_contain_text("given_name")
    browsing.shot(window, "test connection, claims")
    window.close()

    # 4. Mapping: first and last name picked from the claims of that test, previewed, then saved.
    admin.goto(deskgate_base + "/admin/idps/gluu/mapping")
    expect(admin.locator("#claims-heading")).to_be_visible()
    admin.locator("#field-first_name").fill("given_name")
    admin.locator("#field-last_name").fill("family_name")
    admin.locator("#mapping-preview").click()
    preview = admin.locator("#preview-table")
    expect(preview).to_contain_text("Demo")
    expect(preview).to_contain_text("Customer")
    browsing.shot(admin, "mapping, preview")
    # A typo in the email claim would refuse every customer: saving it warns first and changes nothing.
    admin.locator("#field-email").fill("mial")
    admin.locator("#mapping-save").click()
    expect(admin.locator("#lockout-warning")).to_contain_text("lock every customer out")
    browsing.shot(admin, "mapping, email claim warning")
    assert server.call(lambda s: s.providers.get("gluu")).mapping.email == ("email",)
    admin.locator("#field-email").fill("email")
    admin.locator("#mapping-save").click()
    expect(admin.locator("#saved")).to_be_visible()
    mapping = server.call(lambda s: s.providers.get("gluu")).mapping
    assert (mapping.first_name, mapping.last_name) == (("given_name",), ("family_name",))

    # 5. Filters: only example.com may sign in; "try it" refuses another domain and says which rule did.
    admin.goto(deskgate_base + "/admin/idps/gluu/filters")
    admin.get_by_label("Allowed domains").fill("example.com")
    admin.locator("#filters-save").click()
    expect(admin.locator("#saved")).to_be_visible()
    admin.locator("#try-source-email").check()
    admin.locator("#try-email").fill("eve@other.example")
    admin.locator("#filters-try").click()
    expect(admin.locator("#verdict")).to_contain_text("Refused")
    expect(admin.locator("#try-result")).to_contain_text("allow")
    browsing.shot(admin, "filters, try it refuses another domain")
    assert server.call(lambda s: s.providers.get("gluu")).filters.allow_domains == ("example.com",)

    # 6. Jira: the service account, the connection check, and a desk's substitute link copied.
    emulator, site_url = jsm_site
    admin.get_by_role("link", name="Jira").click()
    admin.locator("#deployment-cloud").check()
    admin.locator("#field-site_url").fill(site_url)
    admin.locator("#field-email").fill(emulator.credentials.email)
    admin.locator("#field-api_token").fill(emulator.credentials.api_token)
    admin.locator("#jira-save").click()
    admin.locator("#jira-check").click()
    expect(admin.locator("#check-results")).to_be_visible()
    browsing.shot(admin, "jira, connection checked")
    expect(admin.locator("#link-1")).to_have_text(deskgate_base + "/portal/1")
    admin.locator("button[data-copy='link-1']").click()
    link = admin.evaluate("() => navigator.clipboard.readText()")
    assert link == deskgate_base + "/portal/1"
    browsing.shot(admin, "jira, substitute links")

    # 7. A customer opens the substitute link in a fresh browser, signs in at the IdP and is in the portal.
    customer = browsing.context(ignore_https_errors=True).new_page()
    customer.goto(link)
    _sign_in_at_gluu(customer, peer, "demo")
    expect(customer).to_have_url(link)
    expect(customer.get_by_role("main")).to_contain_text("IT Help")
    browsing.shot(customer, "customer in the portal")
    # Their session opens no console page.
    customer.goto(deskgate_base + "/admin/")
    expect(customer).to_have_url(re.compile(re.escape(deskgate_base + "/admin/login")))
