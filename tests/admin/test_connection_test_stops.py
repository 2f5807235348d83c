"""The test page stops at a failed check (discovery, keys, client credentials): it explains the failure,
offers no sign-in that could only end on an error page, and keeps the failure where admins look for it
(the IdP list, the audit log, "recent SSO errors").

The IdP is an `httpx.MockTransport` answering as a broken IdP would, so each failure is exact.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from joserfc.jwk import RSAKey
from pydantic import SecretStr

from deskgate.identity.provider import ProviderConfig
from tests.support.admin import console_sign_in
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio

ISSUER = "https://idp.broken.test"
DISCOVERY = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/authorize",
    "token_endpoint": f"{ISSUER}/token",
    "jwks_uri": f"{ISSUER}/jwks",
}
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"}).as_dict(private=False)
CONFIG = ProviderConfig(
    name="broken",
    title="Broken IdP",
    issuer=ISSUER,
    client_id="deskgate",
    client_secret=SecretStr("wrong-secret-0123456789"),
    draft=True,
)
Answer = Callable[[httpx.Request], httpx.Response]


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("name or service not known", request=request)


def empty_jwks(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/jwks":
        return httpx.Response(200, json={"keys": []})
    if request.url.path == "/token":
        return httpx.Response(400, json={"error": "invalid_grant"})
    return httpx.Response(200, json=DISCOVERY)


def wrong_secret(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/jwks":
        return httpx.Response(200, json={"keys": [KEY]})
    if request.url.path == "/token":
        return httpx.Response(401, json={"error": "invalid_client"})
    return httpx.Response(200, json=DISCOVERY)


@pytest.mark.parametrize(
    ("answer", "check", "title"),
    [
        (unreachable, "discovery", "Identity provider unreachable"),
        (empty_jwks, "jwks", "Signing keys"),
        (wrong_secret, "client_credentials", "Client secret or client authentication method rejected"),
    ],
)
async def test_a_failed_check_stops_the_test_explains_it_and_is_recorded(
    db_url: str, answer: Answer, check: str, title: str
) -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    async with http, running_app(db_url, idps=[CONFIG], idp_http=http) as (client, services):
        await console_sign_in(client, services)
        # It worked once (a passed test is the latest), and broke since.
        await services.connection_tests.save("broken", {"ok": True, "mapped": {"email": "ann@corp.com"}})
        page = await client.get("/admin/idps/broken/test")
        assert page.status_code == 200
        blocked = page.text.split('id="test-blocked"', 1)[1]
        assert f'id="blocked-{check}"' in blocked and title in blocked and "How to fix it" in blocked
        assert 'id="run-test"' not in page.text and "/test/start" not in page.text
        again = await client.get("/admin/idps/broken/test")  # a reload records the same failure once
        assert "/test/start" not in again.text

        latest = await services.connection_tests.latest("broken")
        assert latest is not None and not latest["ok"] and latest["check"] == check
        (event,) = await services.audit.query(event="login.test")
        assert event.outcome == "failure" and event.idp == "broken" and event.error_id == latest["error_id"]
        assert [e.event for e in await services.audit.recent_errors()] == ["login.test"]
        listing = (await client.get("/admin/")).text
        assert "1 failed test (24 h)" in listing.split('id="last-test-broken"', 1)[1].split("</td>", 1)[0]
        if check == "discovery":
            # Started anyway (an old link), the sign-in comes back to the test page, not to an error page.
            start = await client.get("/admin/idps/broken/test/start")
            assert start.status_code == 303 and start.headers["location"] == "/admin/idps/broken/test"
