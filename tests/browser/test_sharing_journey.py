"""A real browser through sharing, on both JSM flavours: customer A raises a request with a file, comments
with another, shares it with customer B by e-mail and resolves it with a comment; B (signed in through the
IdP in a browser of her own) finds it under "Shared with me" in My requests, with the filter kept across a
reload, and reads the resolution and the comment; a third customer gets 404 on its URL. The account page
names the IdP by its title and its time-zone choice changes how a moment is shown.

The request page, My requests (filtered) and the account page are shot at 1280 and 390 px wide into
test-artifacts/screenshots/, and none of them scrolls sideways at 390 px."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from deskgate.demo.oidc_peer import OidcPeer
from deskgate.jsm.emulator import EmulatorApp
from tests.browser import single_site
from tests.browser.conftest import Browsing, status_of
from tests.browser.test_portal_e2e import _sign_in_at_provider
from tests.flow.conftest import ServerFactory, gluu_idp

pytestmark = [pytest.mark.browser, pytest.mark.peer]
db_url, jsm = single_site.db_url, single_site.jsm  # fixtures: SQLite only, both JSM flavours
SUMMARY = "Projector in room 4 shows no picture"
DESCRIPTION = "Since this morning.\nThe cable is plugged in.\n\n* HDMI tried\n* USB-C tried"
RESOLUTION = "It works again after a restart, thank you."
TOKYO = "Asia/Tokyo"


def _shots(page: Page, folder: Path, name: str) -> None:
    """The page at 1280 and 390 px (full length), and no sideways scrolling at either width."""
    folder.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=folder / f"{name}-{width}.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
            f"{name} at {width}"
        )
    page.set_viewport_size({"width": 1280, "height": 900})


def _signed_in(browsing: Browsing, peer: OidcPeer, base: str, login: str, **options: str) -> Page:
    page = browsing.context(**options).new_page()
    page.goto(base + "/portal/1")  # the IT desk's page: signing in there makes them its customer
    _sign_in_at_provider(page, peer, login, login)
    page.wait_for_url(base + "/portal/1")
    return page


def test_a_shared_request_is_resolved_and_seen_by_the_customer_it_was_shared_with(
    gluu_peer: OidcPeer,
    deskgate: ServerFactory,
    deskgate_base: str,
    jsm: tuple[EmulatorApp, str],
    browsing: Browsing,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    app, site = jsm
    deskgate(gluu_idp(gluu_peer), jsm=app.connection(site))
    shots = request.config.rootpath / "test-artifacts" / "screenshots" / app.flavour
    base = deskgate_base
    errors: list[str] = []

    # B signs in first: only a customer of the desk can be shared with.
    bee = _signed_in(browsing, gluu_peer, base, "alice", timezone_id="Europe/Paris")
    # A raises a request with a file.
    ay = _signed_in(browsing, gluu_peer, base, "demo", timezone_id="Europe/Paris")
    for page in (ay, bee):
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    ay.goto(base + "/portal/1/create/1")
    ay.get_by_label("What do you need help with?").fill(SUMMARY)
    ay.get_by_label("Tell us more").fill(DESCRIPTION)
    photo = tmp_path / "projector.txt"
    photo.write_text("Model PX-200, serial 4411\n")
    ay.locator("input[type=file][name=attachment]").first.set_input_files(str(photo))
    ay.get_by_role("button", name="Send").click()
    ay.wait_for_url(re.compile(re.escape(base) + r"/portal/requests/ITH-\d+\?created=1$"))
    key = ay.url.rsplit("/", 1)[1].split("?", 1)[0]
    (issue,) = [i for i in app.store.issues if i.key == key]
    description = ay.locator("dd.rich").first
    expect(description.locator("li")).to_have_text(["HDMI tried", "USB-C tried"])
    expect(description.locator("br")).to_have_count(1)  # its two lines stay two lines

    # A comments with a second file.
    ay.get_by_label("Add a comment").fill("The remote has new batteries too.")
    log = tmp_path / "remote.txt"
    log.write_text("batteries: AA\n")
    ay.locator("#comment-attachment").set_input_files(str(log))
    ay.get_by_role("button", name="Comment").click()
    expect(ay.locator("article.comment").filter(has_text="The remote has new batteries")).to_be_visible()
    expect(ay.get_by_role("link", name="remote.txt")).to_be_visible()

    # A shares it with B by e-mail; B is listed as taking part.
    ay.get_by_label(re.compile("^Share with")).fill("alice@example.org")
    ay.get_by_role("button", name="Share").click()
    expect(ay.get_by_role("status")).to_contain_text("they can now see this request")
    sharing = ay.locator("#sharing")
    expect(sharing).to_contain_text("Alice Liddell")
    assert [p.email for p in issue.participants] == ["alice@example.org"]
    ay.goto(base + f"/portal/requests/{key}")
    _shots(ay, shots, "request-page")

    # A resolves it with a comment, in A's name.
    actions = ay.locator("#actions")
    actions.get_by_label("Resolve this issue").check()
    actions.get_by_label(re.compile("^Comment")).fill(RESOLUTION)
    actions.get_by_role("button", name="Confirm").click()
    expect(ay.get_by_role("status")).to_contain_text("the help desk sees the change")
    expect(ay.locator(".status").first).to_have_text("Resolved")
    assert issue.status == "Resolved"
    _shots(ay, shots, "request-page-resolved")

    # B finds it under "Shared with me", and the filter survives a reload.
    bee.goto(base + "/portal/requests")
    bee.locator("#owner").select_option("shared")
    bee.locator("#status").select_option("closed")
    bee.get_by_role("button", name="Filter").click()
    bee.wait_for_url(re.compile(r"owner=shared"))
    row = bee.get_by_role("row").filter(has_text=SUMMARY)
    expect(row).to_have_count(1)
    bee.reload()
    expect(bee.locator("#owner")).to_have_value("shared")
    expect(bee.locator("#status")).to_have_value("closed")
    expect(bee.get_by_role("row").filter(has_text=SUMMARY)).to_have_count(1)
    _shots(bee, shots, "my-requests-filtered")
    # B's own requests, filtered to "Created by me", do not list it.
    bee.locator("#owner").select_option("mine")
    bee.get_by_role("button", name="Filter").click()
    bee.wait_for_url(re.compile(r"owner=mine"))
    expect(bee.get_by_role("row").filter(has_text=SUMMARY)).to_have_count(0)

    # B reads the resolution and the comment, in A's name.
    bee.goto(base + f"/portal/requests/{key}")
    expect(bee.locator(".status").first).to_have_text("Resolved")
    resolution = bee.locator("article.comment").filter(has_text=RESOLUTION)
    expect(resolution).to_be_visible()
    expect(resolution.locator(".author")).to_contain_text("Demo Customer")
    expect(bee.get_by_role("link", name="projector.txt")).to_be_visible()

    # C, signed in too, gets 404 on its URL and does not see it listed.
    sea = _signed_in(browsing, gluu_peer, base, "mallory")
    denied = sea.goto(base + f"/portal/requests/{key}")
    assert denied is not None and denied.status == 404
    expect(sea.get_by_text(SUMMARY)).to_have_count(0)
    assert status_of(sea.context, base + f"/portal/api/requests/{key}") == 404
    sea.goto(base + "/portal/requests?owner=shared")
    expect(sea.get_by_text(SUMMARY)).to_have_count(0)

    # The account page: the IdP by its title, and a zone that changes how a moment reads.
    ay.goto(base + "/account")
    expect(ay.locator("dd.idp")).to_have_text("Gluu")
    ay.goto(base + f"/portal/requests/{key}")
    moment = ay.locator("time[data-show=minute]").first
    expect(moment).to_have_text(re.compile(r" (CET|CEST|GMT\+[12])$"))  # the browser's zone
    ay.goto(base + "/account")
    ay.get_by_label("Time zone").select_option(TOKYO)
    ay.get_by_role("button", name="Save").click()
    expect(ay.get_by_role("status")).to_contain_text(TOKYO)
    expect(ay.get_by_label("Time zone")).to_have_value(TOKYO)
    _shots(ay, shots, "account")
    ay.goto(base + f"/portal/requests/{key}")
    expect(moment).to_have_text(re.compile(r" (JST|GMT\+9)$"))
    utc = moment.get_attribute("title") or ""
    shown = moment.text_content() or ""
    assert (int(shown[11:13]) - int(utc[11:13])) % 24 == 9, (shown, utc)
    assert not errors, errors
