"""The account page: name, e-mail, JSM organizations, the IdP by its title (never its internal name),
a time-zone preference kept per customer and used by every portal page, and sign-out."""

from __future__ import annotations

import re

import pytest

from deskgate.identity.provider import ProviderConfig
from tests.portal_web.conftest import Rig
from tests.portal_web.test_my_requests import alice, sign_in

pytestmark = pytest.mark.anyio


async def _with_idp(rig: Rig) -> None:
    config = ProviderConfig.model_validate(
        {
            "name": "corp",
            "title": "Lumen Staff Login",
            "issuer": "https://idp.example.com",
            "client_id": "deskgate",
            "token_endpoint_auth_method": "none",
        }
    )
    await rig.services.providers.save(config)


async def test_the_account_page_shows_who_and_where_from(rig: Rig) -> None:
    await _with_idp(rig)
    customer = await alice(rig)
    page = await customer.browser.get("/account")
    assert page.status_code == 200 and page.headers["cache-control"].startswith("no-store")
    assert '<dd class="display-name">Alice Adams</dd>' in page.text
    assert '<dd class="email">alice@example.com</dd>' in page.text
    assert '<dd class="organizations">Acme Corp</dd>' in page.text
    assert '<dd class="idp">Lumen Staff Login</dd>' in page.text and ">corp<" not in page.text
    assert 'href="/logout"' in page.text
    alone = await sign_in(rig, "carol-sub", "carol@example.com", "Carol Chen")
    assert '<dd class="organizations">—</dd>' in (await alone.browser.get("/account")).text


async def test_a_time_zone_is_kept_per_customer_and_used_by_portal_pages(rig: Rig) -> None:
    customer = await alice(rig)
    other = await sign_in(rig, "bob-sub", "bob@example.com", "Bob Brown")
    assert "data-time-zone" not in (await customer.browser.get("/portal/requests")).text
    token = await customer.csrf("/account")
    saved = await customer.browser.post(
        "/account/time-zone", data={"csrf_token": token, "time_zone": "Asia/Tokyo"}
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/account?saved=1"
    page = (await customer.browser.get("/account?saved=1")).text
    assert '<option value="Asia/Tokyo" selected>' in page and "Asia/Tokyo" in page
    assert 'data-time-zone="Asia/Tokyo"' in (await customer.browser.get("/portal/requests")).text
    assert 'data-time-zone="Asia/Tokyo"' in (await customer.browser.get("/portal/requests/ITH-1")).text
    assert "data-time-zone" not in (await other.browser.get("/portal/requests")).text  # Bob's is his own
    # Back to the browser's zone.
    await customer.browser.post("/account/time-zone", data={"csrf_token": token, "time_zone": ""})
    assert "data-time-zone" not in (await customer.browser.get("/portal/requests")).text


async def test_a_time_zone_must_be_one_of_the_list_and_the_form_needs_its_token(rig: Rig) -> None:
    customer = await alice(rig)
    token = await customer.csrf("/account")
    for wrong in ('Mars/Olympus"><script>', "UTC ", "../etc"):
        refused = await customer.browser.post(
            "/account/time-zone", data={"csrf_token": token, "time_zone": wrong}
        )
        assert refused.status_code == 400 and "Choose a time zone from the list." in refused.text
        assert "<script>" not in refused.text
    forged = await customer.browser.post(
        "/account/time-zone", data={"csrf_token": "x", "time_zone": "Asia/Tokyo"}
    )
    assert forged.status_code in (400, 403)
    assert "data-time-zone" not in (await customer.browser.get("/portal/requests")).text
    signed_out = await rig.anonymous.post("/account/time-zone", data={"time_zone": "Asia/Tokyo"})
    assert signed_out.status_code == 303 and re.match(r"/login\?", signed_out.headers["location"])
