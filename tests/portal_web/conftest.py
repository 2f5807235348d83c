"""Portal web fixtures: Deskgate in-process against the in-process JSM emulator, on both databases, with
customers signed in by starting their sessions directly (the sign-in itself is tested elsewhere)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from deskgate.jsm.emulator import EmulatorApp, create_emulator
from deskgate.services import Services
from tests.support.inprocess import running_app

SITE = "https://jsm.test"
BASE_URL = "http://127.0.0.1:8080"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Customer:
    """One signed-in browser: its own cookie jar, on the shared app."""

    browser: httpx.AsyncClient
    jsm_user_id: str
    email: str
    name: str

    async def csrf(self, path: str) -> str:
        page = await self.browser.get(path)
        assert page.status_code == 200, page.text
        found = _CSRF.search(page.text)
        assert found, "no CSRF token on " + path
        return found.group(1)


@dataclass
class Rig:
    jsm: EmulatorApp
    services: Services
    anonymous: httpx.AsyncClient
    transport: httpx.AsyncBaseTransport

    def calls(self, suffix: str, method: str | None = None) -> int:
        return sum(1 for m, p in self.jsm.calls if p.endswith(suffix) and (method is None or m == method))

    async def sign_in(self, subject: str, email: str, name: str) -> Customer:
        session_id, _ = await self.services.sessions.start(
            idp="corp", subject=subject, email=email, display_name=name, attributes={}
        )
        link = await self.services.customers.provision(
            idp="corp", subject=subject, email=email, display_name=name, desk_id="1"
        )
        browser = httpx.AsyncClient(transport=self.transport, base_url=BASE_URL)
        browser.cookies.set("deskgate_session", session_id)
        return Customer(browser, link.jsm_user_id, email, name)


@pytest.fixture(params=["cloud", "datacenter"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def rig(db_url: str, flavour: str) -> AsyncIterator[Rig]:
    jsm = create_emulator(flavour)  # type: ignore[arg-type]
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=jsm)) as jsm_http,
        running_app(db_url, idp_http=jsm_http, jsm=jsm.connection(SITE)) as (client, services),
    ):
        jsm.calls.clear()
        yield Rig(jsm, services, client, client._transport)
