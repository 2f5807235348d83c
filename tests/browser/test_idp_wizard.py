"""The IdP wizard in the order an IdP admin works (URLs to register first, then the client the IdP issued),
its advanced settings round trip (a bad value refused naming the field; good ones saved and used by a
real sign-in), and the console home's set-up checklist ticked from what is really there."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from deskgate.audit import AuditEvent
from deskgate.demo.oidc_peer import OidcPeer
from deskgate.jsm.emulator import create_emulator
from deskgate.services import CALLBACK_PATH
from tests.a11y.test_axe import assert_accessible
from tests.browser.conftest import Browsing
from tests.flow.conftest import GLUU_CLIENT, ServerFactory
from tests.support.admin import ADMIN_PASSWORD, ADMIN_USER

pytestmark = [pytest.mark.browser, pytest.mark.peer]


def _steps_done(page: Page) -> list[str]:
    return [str(item.get_attribute("data-done")) for item in page.locator("#checklist li").all()]


def test_wizard_order_advanced_settings_and_the_checklist(
    gluu_peer: OidcPeer, deskgate: ServerFactory, deskgate_base: str, browsing: Browsing
) -> None:
    server = deskgate()  # no IdP, no JSM
    page = browsing.context(permissions=["clipboard-read", "clipboard-write"], bypass_csp=True).new_page()
    page.goto(deskgate_base + "/admin/login")
    page.get_by_label("User name").fill(ADMIN_USER)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(deskgate_base + "/admin/")
    assert _steps_done(page) == ["no", "no", "no", "no"]
    browsing.shot(page, "checklist, nothing done")
    assert_accessible(page)

    # The first step's link starts the wizard: protocol, then preset.
    page.locator("#checklist").get_by_role("link", name="Add an identity provider").click()
    page.get_by_label("OpenID Connect").check()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("link", name="OpenID Connect", exact=True).click()

    # Step 3: what to register at the IdP, before any field asks for what the IdP issues.
    expect(page).to_have_url(deskgate_base + "/admin/idps/new/generic-oidc/urls")
    expect(page.locator("#field-client_id")).to_have_count(0)
    expect(page.locator("#callback-url")).to_have_text(deskgate_base + CALLBACK_PATH)
    expect(page.locator("#console-steps")).to_contain_text("Redirect URI: " + deskgate_base + CALLBACK_PATH)
    page.get_by_role("button", name="Copy the redirect URL").click()
    assert page.evaluate("() => navigator.clipboard.readText()") == deskgate_base + CALLBACK_PATH
    browsing.shot(page, "wizard, URLs to register")
    assert_accessible(page)
    page.get_by_role("link", name="Next: enter the client ID and secret").click()

    # Step 4: the client. The Gluu-shaped provider only takes client_secret_post, which the generic
    # preset does not choose: the advanced section is where an admin says so.
    expect(page).to_have_url(deskgate_base + "/admin/idps/new/generic-oidc")
    page.locator("#field-name").fill("corp")
    page.locator("#field-issuer").fill(gluu_peer.issuer)
    page.locator("#field-client_id").fill(GLUU_CLIENT[0])
    page.locator("#field-client_secret").fill(GLUU_CLIENT[1])
    expect(page.locator("#field-clock_skew_seconds")).to_be_hidden()  # folded
    page.get_by_text("Advanced settings").click()
    page.get_by_label("Clock skew (seconds)").fill("9000")
    page.get_by_label("Client authentication").select_option("client_secret_post")
    page.get_by_label("Response mode").select_option("form_post")
    page.locator("#idp-save").click()

    expect(page.locator("#error-clock_skew_seconds")).to_have_text(
        re.compile(r"^Clock skew \(seconds\) must be (less than or equal to|at most) 600")
    )
    expect(page.locator("#field-clock_skew_seconds")).to_be_visible()  # unfolded where the problem is
    expect(page.locator("#field-clock_skew_seconds")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Response mode")).to_have_value("form_post")  # the rest kept as typed
    browsing.shot(page, "wizard, clock skew refused")
    assert_accessible(page)
    assert server.call(lambda s: s.providers.all()) == []

    page.get_by_label("Clock skew (seconds)").fill("30")
    page.locator("#field-client_secret").fill(GLUU_CLIENT[1])  # never sent back to the page
    page.locator("#idp-save").click()
    expect(page).to_have_url(deskgate_base + "/admin/idps/corp/setup?saved=1")
    expect(page.locator("#idp-saved")).to_contain_text("saved as a draft")
    config = server.call(lambda s: s.providers.get("corp"))
    assert (config.clock_skew_seconds, config.token_endpoint_auth_method, config.response_mode) == (
        30,
        "client_secret_post",
        "form_post",
    )

    # Used: a test sign-in against the provider works, the code coming back POSTed (form_post) and
    # redeemed with the secret in the body (the provider refuses any other way for this client).
    page.get_by_role("link", name="Test connection").click()
    callbacks: list[str] = []
    page.context.on(
        "request",
        lambda r: callbacks.append(r.method) if r.url.startswith(deskgate_base + CALLBACK_PATH) else None,
    )
    with page.expect_popup() as opened:
        page.locator("#run-test").click()
    window = opened.value
    window.locator("#login").fill("demo")
    window.locator("#password").fill("demo")
    window.get_by_role("button", name="Sign in").click()
    expect(window.locator("#test-outcome")).to_contain_text("worked")
    assert callbacks and callbacks[0] == "POST"
    window.close()

    # The checklist follows: an IdP and a passed test; Jira and a customer's sign-in still to do.
    page.goto(deskgate_base + "/admin/")
    assert _steps_done(page) == ["yes", "yes", "no", "no"]
    expect(page.locator("#checklist-step-3").get_by_role("link")).to_have_attribute("href", "/admin/jira")
    expect(page.locator("#idp-add")).to_be_visible()
    # Each IdP keeps its "register these URLs" page, linked from the list.
    page.get_by_role("link", name="Register URLs at OpenID Connect").click()
    expect(page.locator("#backchannel-url")).to_be_visible()
    browsing.shot(page, "register page from the list")
    assert_accessible(page)

    jsm = create_emulator("cloud").connection("http://127.0.0.1:9")
    server.call(lambda s: s.jira.save(jsm))
    page.goto(deskgate_base + "/admin/")
    assert _steps_done(page) == ["yes", "yes", "yes", "no"]
    browsing.shot(page, "checklist, three done")
    assert_accessible(page)
    signed_in = AuditEvent(event="login", outcome="success", idp="corp", subject="u-1")
    server.call(lambda s: s.audit.record(signed_in))
    page.goto(deskgate_base + "/admin/")
    expect(page.locator("#checklist")).to_have_count(0)  # all done: gone
