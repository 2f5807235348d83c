"""Accessibility of the admin console: axe-core on every console page, and the IdP wizard by keyboard alone.

The pages are found by walking the app's routes (a page added later is checked without a new test); each
GET route is opened as a signed-in admin with realistic data behind it (an IdP with a stored connection
test, the JSM emulator connected, customer sessions and audit events). A GET route that is not a page
(a download, a redirect to the IdP) must be named in ``NOT_PAGES``, so nothing drops out unnoticed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pydantic import SecretStr
from sqlalchemy import update
from starlette.routing import Route

from deskgate.audit import AuditEvent
from deskgate.identity.provider import ProviderConfig
from deskgate.identity.saml.settings import SamlIdpSettings
from deskgate.jsm.emulator import create_emulator
from deskgate.portal.forms import ValidatedRequest
from deskgate.portal.outbox import SubmissionOutbox, Submitter, UploadedFile
from deskgate.services import Services
from deskgate.settings import load_settings
from deskgate.store.models import SubmissionRow
from deskgate.web.app import create_app
from tests.a11y.test_axe import FOCUSED, TIMEOUT_MS, assert_accessible
from tests.admin.test_saml_idp_console import short_lived_key
from tests.support.live import LiveServer, free_port

pytestmark = [pytest.mark.browser]

SECRET_KEY = "test-secret-key-0123456789-abcdefghijklmnop"
# GET console routes that answer with something other than a page, and why.
NOT_PAGES = {
    "/admin/idps/{name}/test/start": "sends the browser to the IdP",
    "/admin/audit.csv": "a CSV download",
}


def _console_pages() -> list[str]:
    settings = load_settings(
        base_url="http://127.0.0.1:8080", secret_key=SECRET_KEY, database_url="sqlite:///:memory:"
    )
    paths = {
        route.path
        for route in create_app(settings).routes
        if isinstance(route, Route) and route.path.startswith("/admin") and "GET" in (route.methods or ())
    }
    assert NOT_PAGES.keys() <= paths, "NOT_PAGES names a route that is gone"
    return sorted(paths - NOT_PAGES.keys())


PAGES = _console_pages()
# The same routes once more with a SAML IdP and preset behind them (their pages differ from OIDC's).
SAML_PAGES = [
    "/admin/idps/new/preset?protocol=saml",
    "/admin/idps/new/okta-saml/urls?name=okta",
    "/admin/idps/new/okta-saml?name=okta",
    "/admin/idps/{saml_name}/edit",
    "/admin/idps/{saml_name}/setup",
    "/admin/idps/{saml_name}/test",
    "/admin/idps/{saml_name}/test/result/{saml_test_id}",
]


@dataclass
class Console:
    base: str
    admin_session: str
    params: dict[str, str]


def _corp() -> ProviderConfig:
    return ProviderConfig(
        name="corp",
        title="Corporate sign-in",
        issuer="https://corp.idp.test",
        client_id="deskgate",
        client_secret=SecretStr("client-secret-0123456789"),
    )


def _saml_corp(base: str) -> ProviderConfig:
    """A SAML IdP typed in by hand, whose SSO URL answers (Deskgate's own sign-in page), so its test page
    offers the sign-in; its certificate expires in ten days, so the warnings show."""
    key = short_lived_key(10)
    saml = SamlIdpSettings(
        entity_id="https://login.corp.test/saml/metadata/a-rather-long-entity-identifier-0123456789",
        sso_url=f"{base}/admin/login",
        signing_certificates=(key.cert_pem,),
        name_id_format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    )
    return ProviderConfig(
        name="corp-saml", title="Corporate SAML", preset="okta-saml", protocol="saml", saml=saml
    )


SAML_TEST_RESULT: dict[str, Any] = {
    "ok": True,
    "protocol": "saml",
    "subject": "ann@corp.test",
    "issuer": "https://login.corp.test/saml/metadata/a-rather-long-entity-identifier-0123456789",
    "name_id": "ann@corp.test",
    "name_id_format": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "attributes": {
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": "ann@corp.test",
        "urn:oid:2.5.4.42": "Ann",
        "givenName": "Ann",
        "email": "ann@corp.test",
        "groups": ["staff", "support-engineers-with-a-long-group-name"],
    },
    "mapped": {"email": "ann@corp.test", "display_name": "Ann Lee"},
    "verdict": {"allowed": True, "rule": "default", "reason": "no rule refused"},
    "warnings": [
        {
            "title": "Signing certificate expiring",
            "explanation": "The signing certificate CN=ending soon expires on 2026-12-15 (in 10 days).",
            "fix": "Ask the IdP's admin for the next certificate and add it beside the current one.",
        }
    ],
}

TEST_RESULT: dict[str, Any] = {
    "ok": True,
    "subject": "u-1",
    "id_token_claims": {"sub": "u-1", "email": "ann@corp.test", "given_name": "Ann", "family_name": "Lee"},
    "userinfo_claims": {"sub": "u-1", "groups": ["staff"]},
    "mapped": {"email": "ann@corp.test", "display_name": "Ann Lee"},
    "verdict": {"allowed": True, "rule": "default", "reason": "no rule refused"},
}


async def _customers_signed_in(services: Services) -> None:
    for n in range(3):
        await services.sessions.start(
            idp="corp", subject=f"c{n}", email=f"c{n}@corp.test", display_name=f"C {n}", attributes={}
        )


async def _undelivered_writes(services: Services) -> None:
    """One failed request with a file and one comment whose outcome is unknown, for the Deliveries page."""
    outbox = SubmissionOutbox(services.db)
    who = Submitter(idp="corp", subject="c0", jsm_user_id="jsm-c0")
    validated = ValidatedRequest("Printer on fire", {"description": "It smokes"}, None)
    shot = UploadedFile("smoke.png", "image/png", b"png")
    failed = await outbox.submit(who, "1", "1", validated, [shot], max_file_bytes=1000)
    comment = await outbox.submit_comment(
        who, "HD-1", "1", "Any news?", "C 0: Any news?", max_file_bytes=1000
    )
    refused = {"state": "failed", "last_error": "refused by JSM, error id e-9"}
    async with services.db() as session, session.begin():
        await session.execute(update(SubmissionRow).where(SubmissionRow.id == failed).values(**refused))
        unclear = update(SubmissionRow).where(SubmissionRow.id == comment)
        await session.execute(unclear.values(outcome_unknown=True, attempts=1))


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    jsm_app = create_emulator("cloud")
    jsm = LiveServer(jsm_app, free_port())
    jsm.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = load_settings(
        base_url=base,
        secret_key=SECRET_KEY,
        database_url=f"sqlite:///{tmp_path_factory.mktemp('console') / 'deskgate.db'}",
        idps=[_corp(), _saml_corp(base)],
        jsm=jsm_app.connection(jsm.url),
    )
    deskgate = LiveServer(create_app(settings), port)
    deskgate.start()
    try:
        deskgate.call(lambda s: s.admins.create("admin", "admin-password-for-tests", replace=True))
        admin_session, _ = deskgate.call(
            lambda s: s.admin_sessions.start(
                idp="deskgate-admin", subject="admin", email=None, display_name="admin", attributes={}
            )
        )
        test_id = deskgate.call(lambda s: s.connection_tests.save("corp", TEST_RESULT))
        saml_test_id = deskgate.call(lambda s: s.connection_tests.save("corp-saml", SAML_TEST_RESULT))
        deskgate.call(_customers_signed_in)
        deskgate.call(_undelivered_writes)
        deskgate.call(
            lambda s: s.audit.record(
                AuditEvent(
                    event="login", outcome="failure", idp="corp", error_id="e-123", detail="check=nonce"
                )
            )
        )
        params = {
            "name": "corp",
            "preset": "gluu",
            "test_id": test_id,
            "token": "spent-link",
            "desk_id": "1",
            "saml_name": "corp-saml",
            "saml_test_id": saml_test_id,
        }
        yield Console(base, admin_session, params)
    finally:
        deskgate.stop()
        jsm.stop()


@pytest.fixture
def admin_page(browser: Browser, console: Console) -> Iterator[Page]:
    context: BrowserContext = browser.new_context(bypass_csp=True)  # lets axe's script in
    context.set_default_timeout(TIMEOUT_MS)
    context.add_cookies([{"name": "deskgate_admin", "value": console.admin_session, "url": console.base}])
    yield context.new_page()
    context.close()


# Pages about one thing named in their query (a user's sessions), with a thing the fixture has.
QUERIES = {"/admin/sessions/revoke-user": "?idp=corp&subject=c0"}


def _concrete(path: str, params: dict[str, str]) -> str:
    concrete = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: params.get(m.group(1), "x"), path)
    return concrete + QUERIES.get(path, "")


def test_the_walk_finds_the_console_pages() -> None:
    assert {"/admin/", "/admin/idps/new", "/admin/idps/{name}/edit", "/admin/login"} <= set(PAGES)
    assert len(PAGES) >= 15


@pytest.mark.parametrize("path", PAGES)
def test_every_console_page_has_no_serious_violations(admin_page: Page, console: Console, path: str) -> None:
    response = admin_page.goto(console.base + _concrete(path, console.params))
    assert response is not None
    # The setup link is spent once an admin exists: its page is the (checked) error page.
    expected = 404 if path == "/admin/setup/{token}" else 200
    assert response.status == expected, (path, response.status)
    assert "text/html" in (response.headers.get("content-type") or "")
    assert_accessible(admin_page)


@pytest.mark.parametrize("path", SAML_PAGES)
def test_every_saml_console_page_has_no_serious_violations(
    admin_page: Page, console: Console, path: str
) -> None:
    response = admin_page.goto(console.base + _concrete(path, console.params))
    assert response is not None and response.status == 200, (path, response and response.status)
    assert_accessible(admin_page)


def test_the_wizard_can_be_done_with_the_keyboard_alone(admin_page: Page, console: Console) -> None:
    page = admin_page
    page.goto(console.base + "/admin/")

    def tab_to(name: str, limit: int = 40) -> None:
        """Press Tab until the control named `name` has the focus, which must show a focus ring."""
        for _ in range(limit):
            page.keyboard.press("Tab")
            focused: dict[str, Any] = page.evaluate(FOCUSED)
            label = page.evaluate("() => document.activeElement.textContent.trim() || ''")
            if name in (focused["name"], label):
                assert focused["visible"], f"{name} has no visible focus: {focused}"
                return
        raise AssertionError(f"Tab never reached {name!r} on {page.url}")

    tab_to("Add an identity provider")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/idps/new$"))
    tab_to("radio:protocol")
    expect(page.locator("#protocol-oidc")).to_be_checked()
    tab_to("protocol-next")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/idps/new/preset\?protocol=oidc"))
    tab_to("q")
    page.keyboard.type("gluu")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"q=gluu"))
    tab_to("Gluu Server 4")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/idps/new/gluu/urls$"))  # what to register comes first
    tab_to("Next: enter the client ID and secret")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/idps/new/gluu$"))
    typed = {
        "field-name": "gluu-kb",
        "field-domain": "idp.corp.test",
        "field-client_id": "inum-1",
        "field-client_secret": "kb-secret-0123456789",
    }
    for field, value in typed.items():
        tab_to(field)
        page.keyboard.press("Control+A")
        page.keyboard.type(value)
    page.keyboard.press("Enter")  # submits the form from its last field
    expect(page).to_have_url(re.compile(r"/admin/idps/gluu-kb/setup\?saved=1$"))
    expect(page.locator("#callback-url")).to_contain_text("/plugins/servlet/oauth/callback")
