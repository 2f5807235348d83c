"""Every answer that shows personal data is `Cache-Control: no-store`, whichever route made it: the rule
lives in the security-headers middleware, so a new page cannot forget it. Static files keep their
caching, and a route that chose its own Cache-Control keeps it."""

from __future__ import annotations

import httpx
import pytest

from deskgate.identity.provider import ProviderConfig
from tests.portal_web.conftest import Rig
from tests.support.admin import console_sign_in
from tests.support.idps import provider

pytestmark = pytest.mark.anyio

CUSTOMER_PAGES = (
    "/me",
    "/account",
    "/",
    "/logout",
    "/portal",
    "/portal/1",
    "/portal/requests",
    "/portal/requests?desk=1&status=all",
    "/portal/requests/ITH-1",
    "/portal/api/requests/ITH-1",
    "/portal/1/create/2",
    "/servicedesk/customer/portal/1",
    "/servicedesk/customer/portal/1/ITH-1",
)
CONSOLE_PAGES = (
    "/admin/",
    "/admin/idps/corp/edit",
    "/admin/idps/corp/setup",
    "/admin/idps/corp/mapping",
    "/admin/idps/corp/filters",
    "/admin/idps/corp/admin-access",
    "/admin/idps/corp/test",
    "/admin/idps/new",
    "/admin/sessions",
    "/admin/audit",
    "/admin/audit.csv",
    "/admin/login-page",
    "/admin/jira",
    "/admin/backup",
)


def assert_no_store(response: httpx.Response, path: str) -> None:
    assert response.status_code < 400, (path, response.status_code)
    assert "no-store" in response.headers.get("cache-control", ""), path


async def test_every_personal_answer_is_no_store(rig: Rig) -> None:
    customer = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    for path in CUSTOMER_PAGES:
        assert_no_store(await customer.browser.get(path), path)

    corp: ProviderConfig = provider("corp")
    await rig.services.providers.save(corp)
    await console_sign_in(rig.anonymous, rig.services)
    for path in CONSOLE_PAGES:
        assert_no_store(await rig.anonymous.get(path), path)


async def test_static_files_and_routes_with_their_own_cache_rule_keep_it(rig: Rig) -> None:
    asset = await rig.anonymous.get("/static/deskgate.css")  # a plain name: kept, revalidated
    assert asset.status_code == 200 and asset.headers["cache-control"] == "no-cache"
    assert "pragma" not in asset.headers and "expires" not in asset.headers
    css = await rig.anonymous.get("/branding.css")  # public, and versioned by its own rule
    assert css.headers["cache-control"] == "no-cache" and "pragma" not in css.headers
