"""A real browser through the customer portal: the Gluu-shaped OP, the JSM emulator and Deskgate, all live
on loopback.

A customer opens a desk's substitute link signed out, signs in at the IdP and lands on that desk; raises a
request with an attachment; finds it in "my requests"; comments on it. A second customer, signed in through
the same IdP, gets a 404 for that request by every path that leads to it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from deskgate.demo.oidc_peer import OidcPeer
from deskgate.jsm.emulator import EmulatorApp
from tests.browser.conftest import Browsing, status_of
from tests.flow.conftest import ServerFactory, gluu_idp

pytestmark = [pytest.mark.browser, pytest.mark.peer]

SUMMARY = "Monitor flickers since Monday"


def _sign_in_at_provider(page: Page, peer: OidcPeer, user: str, password: str) -> None:
    expect(page).to_have_url(re.compile("^" + re.escape(peer.origin) + "/"))
    page.locator("#login").fill(user)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_customer_signs_in_by_a_substitute_link_raises_a_request_and_only_they_can_see_it(
    gluu_peer: OidcPeer,
    deskgate: ServerFactory,
    deskgate_base: str,
    jsm: tuple[EmulatorApp, str],
    browsing: Browsing,
    page: Page,
    tmp_path: Path,
) -> None:
    app, site = jsm
    deskgate(gluu_idp(gluu_peer), jsm=app.connection(site))

    # 1. The substitute link, signed out: through the IdP and back to the same desk.
    page.goto(deskgate_base + "/portal/1")
    browsing.shot(page, "provider-login")
    _sign_in_at_provider(page, gluu_peer, "demo", "demo")
    page.wait_for_url(deskgate_base + "/portal/1")
    expect(page.get_by_role("heading", level=1)).to_have_text("IT Help")
    browsing.shot(page, "desk-portal")

    # 2. Raise a request with an attachment.
    page.get_by_role("link", name="Get IT help").click()
    page.wait_for_url(deskgate_base + "/portal/1/create/1")
    page.get_by_label("What do you need help with?").fill(SUMMARY)
    page.get_by_label("Tell us more").fill("It flickers every few seconds, worse in the afternoon.")
    screenshot = tmp_path / "flicker.png"
    screenshot.write_bytes(b"\x89PNG\r\n\x1a\n not really an image")
    page.locator("input[type=file][name=attachment]").first.set_input_files(str(screenshot))
    browsing.shot(page, "create-form-filled")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(re.compile(re.escape(deskgate_base) + r"/portal/requests/ITH-\d+\?created=1$"))
    key = page.url.rsplit("/", 1)[1].split("?", 1)[0]
    expect(page.get_by_role("heading", level=1)).to_have_text(SUMMARY)
    expect(page.get_by_role("link", name="flicker.png")).to_be_visible()
    browsing.shot(page, "request-created")

    (issue,) = [i for i in app.store.issues if i.summary == SUMMARY]
    assert issue.key == key
    assert issue.reporter.email == "demo@example.com"  # raised on the customer's behalf
    assert [a.filename for a in issue.attachments] == ["flicker.png"]

    # 3. It is listed in "my requests".
    page.goto(deskgate_base + "/portal/requests")
    row = page.get_by_role("row").filter(has_text=SUMMARY)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(key)
    browsing.shot(page, "my-requests")

    # 4. Comment on it; the comment shows as the customer's.
    row.get_by_role("link", name=key).click()
    page.wait_for_url(re.compile(re.escape(deskgate_base) + f"/portal/requests/{key}"))
    page.get_by_label("Add a comment").fill("Also happens on the second monitor.")
    page.get_by_role("button", name="Comment").click()
    comment = page.locator("article.comment").filter(has_text="Also happens on the second monitor.")
    expect(comment).to_be_visible()
    expect(comment.locator(".author")).to_contain_text("Demo Customer")
    browsing.shot(page, "commented")
    assert [c.body for c in issue.comments if c.public][-1].endswith("Also happens on the second monitor.")
    attachment_href = page.get_by_role("link", name="flicker.png").get_attribute("href")
    assert attachment_href and attachment_href.startswith("/portal/requests/")
    download = page.context.request.get(deskgate_base + attachment_href)
    assert download.status == 200 and download.body().startswith(b"\x89PNG")
    download.dispose()
    # A JSM link with the host swapped for Deskgate's lands on the same request.
    page.goto(deskgate_base + f"/servicedesk/customer/portal/1/{key}")
    page.wait_for_url(deskgate_base + f"/portal/requests/{key}")
    expect(page.get_by_role("heading", level=1)).to_have_text(SUMMARY)

    # 5. A second customer, signed in for real, cannot reach it by any path.
    other: BrowserContext = browsing.context()
    alice = other.new_page()
    alice.goto(deskgate_base + "/portal")
    _sign_in_at_provider(alice, gluu_peer, "alice", "alice")
    alice.wait_for_url(deskgate_base + "/portal")
    browsing.shot(alice, "second-customer-help-center")
    for path in (
        f"/portal/requests/{key}",
        f"/portal/requests/{issue.id}",
        f"/portal/api/requests/{key}",
        attachment_href,
    ):
        assert status_of(other, deskgate_base + path) == 404, path
    # The JSM-shaped link leads to Deskgate's request page, which is just as closed.
    jsm_shaped = other.request.get(deskgate_base + f"/servicedesk/customer/portal/1/{key}")
    assert jsm_shaped.status == 404 and jsm_shaped.url.endswith(f"/portal/requests/{key}")
    jsm_shaped.dispose()
    denied = alice.goto(deskgate_base + f"/portal/requests/{key}")
    assert denied is not None and denied.status == 404
    expect(alice.get_by_text(SUMMARY)).to_have_count(0)
    browsing.shot(alice, "second-customer-404")
    alice.goto(deskgate_base + "/portal/requests")
    expect(alice.get_by_text(SUMMARY)).to_have_count(0)
    # And a comment posted to it is refused without reaching JSM.
    comments_before = len(issue.comments)
    refused = other.request.post(
        deskgate_base + f"/portal/requests/{key}/comment", multipart={"body": "mine now"}, max_redirects=0
    )
    assert refused.status in (403, 404)
    refused.dispose()
    assert len(issue.comments) == comments_before
