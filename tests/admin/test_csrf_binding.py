"""Console CSRF tokens hold only for the admin session they were minted for (`deskgate.web.csrf`).

Each test gives the browser that submits the form the very CSRF cookie the token was minted with, as an
attacker who planted his cookie there could: so the refusals below come from the binding to the realm
and the session, not from the double-submit cookie, which alone would let every one of them through.
Every console form is found by walking the app's routes (`tests.support.console_routes`).
"""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from deskgate.config_io import export_config
from deskgate.identity.provider import ProviderConfig
from deskgate.services import Services
from deskgate.web.security import CookieNames
from tests.support.admin import ADMIN_PASSWORD, ADMIN_USER, console_sign_in, create_admin, csrf_token
from tests.support.console_routes import STATE_CHANGING, concrete
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio
COOKIES = CookieNames(https=False)
CORP = ProviderConfig(
    name="corp",
    title="Corp",
    issuer="https://corp.idp.test",
    client_id="deskgate",
    client_secret=SecretStr("corp-client-secret-0123"),
)


def _browser(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another browser (its own cookie jar) on the same app."""
    return httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))


def _plant(token_from: httpx.AsyncClient, into: httpx.AsyncClient) -> None:
    into.cookies.set(COOKIES.csrf, token_from.cookies[COOKIES.csrf])


async def _every_form_refuses(client: httpx.AsyncClient, services: Services, token: str) -> list[str]:
    """Each console form posted with `token`; the ones that did not answer with the refusal page, and
    any change or audit record the posts left behind."""
    before = await export_config(services, include_secrets=True)
    events = len(await services.audit.query())
    accepted = []
    for method, path in STATE_CHANGING:
        response = await client.request(method, concrete(path), data={"csrf_token": token})
        if response.status_code != 403 or "form had expired" not in response.text:
            accepted.append(f"{method} {path}: {response.status_code}")
    if await export_config(services, include_secrets=True) != before:
        accepted.append("the configuration changed")
    if len(await services.audit.query()) != events:
        accepted.append("something was audited")
    return accepted


async def _start_customer_session(client: httpx.AsyncClient, services: Services) -> None:
    session_id, _ = await services.sessions.start(
        idp="corp", subject="customer-1", email="c@corp.test", display_name="A Customer", attributes={}
    )
    client.cookies.set(COOKIES.session, session_id)


async def test_a_customer_token_opens_no_console_form(db_url: str) -> None:
    async with running_app(db_url, idps=[CORP]) as (client, services):
        # One browser, signed in as a customer and to the console: the customer's sign-out page has a
        # perfectly valid token for this browser and this customer session.
        await _start_customer_session(client, services)
        await console_sign_in(client, services)
        customer_token = csrf_token((await client.get("/logout")).text)
        assert await _every_form_refuses(client, services, customer_token) == []
        assert (await client.get("/admin/")).status_code == 200  # the refused sign-out ended nothing


async def test_an_admin_token_holds_only_for_its_own_admin_session(db_url: str) -> None:
    async with running_app(db_url, idps=[CORP]) as (first, services), _browser(first) as second:
        first_token = await console_sign_in(first, services)
        await services.admins.create("second-admin", "second-admin-password", replace=True)
        form = await second.get("/admin/login")
        data = {"username": "second-admin", "password": "second-admin-password"}
        signed_in = await second.post("/admin/login", data={**data, "csrf_token": csrf_token(form.text)})
        assert signed_in.status_code == 303
        _plant(first, second)
        assert await _every_form_refuses(second, services, first_token) == []
        # With its own session, the same browser's token is accepted.
        own = csrf_token((await second.get("/admin/")).text)
        signed_out = await second.post("/admin/logout", data={"csrf_token": own})
        assert signed_out.status_code == 303 and signed_out.headers["location"] == "/admin/login"
        assert (await first.get("/admin/")).status_code == 200


async def test_a_token_from_before_sign_in_holds_no_more_after_it(db_url: str) -> None:
    async with running_app(db_url, idps=[CORP]) as (client, services):
        await create_admin(services)
        form = await client.get("/admin/login")
        before = csrf_token(form.text)
        data = {"csrf_token": before, "username": ADMIN_USER, "password": ADMIN_PASSWORD}
        assert (await client.post("/admin/login", data=data)).status_code == 303
        # The session id is new after sign-in, and so are the tokens; the sign-in page's is spent.
        assert await _every_form_refuses(client, services, before) == []
        after = csrf_token((await client.get("/admin/")).text)
        assert after != before
        assert (await client.post("/admin/logout", data={"csrf_token": after})).status_code == 303
