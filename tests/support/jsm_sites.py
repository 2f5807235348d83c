"""Several JSM emulators behind one httpx transport, each answering for its own site: what Deskgate meets
when an admin points it at another site. Two emulators may share a host and differ in their service
account's credentials (a rotated token, another service account): a request goes to the one whose
credentials it carries."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import httpx
from pydantic import SecretStr

from deskgate.jsm import JsmConnection
from deskgate.jsm.emulator import EmulatorApp
from deskgate.portal.connection import site_identity
from deskgate.portal.desks import DeskSetting
from deskgate.services import Services
from deskgate.store.models import CustomerLinkRow


def _authorization(app: EmulatorApp) -> str:
    credentials = app.credentials
    if app.flavour == "cloud":
        pair = f"{credentials.email}:{credentials.api_token}".encode()
        return "Basic " + base64.b64encode(pair).decode()
    return "Bearer " + credentials.personal_access_token


class JsmSites(httpx.AsyncBaseTransport):
    """Routes each request to the emulator of its host (and credentials, when a host has several)."""

    def __init__(self, sites: dict[str, list[EmulatorApp]]) -> None:
        self._sites = {
            host: [(_authorization(app), httpx.ASGITransport(app=app)) for app in apps]
            for host, apps in sites.items()
        }

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        apps = self._sites[request.url.host]
        given = request.headers.get("authorization")
        transport = next((t for auth, t in apps if auth == given), apps[0][1])
        return await transport.handle_async_request(request)


SITE_A, SITE_B = "https://jsm-a.test", "https://jsm-b.test"
SITE_A_TOKEN = "site-a-api-token-never-printed-31"
SITE_A_CONNECTION = JsmConnection(
    site_url=SITE_A, deployment="cloud", email="bot@example.com", api_token=SecretStr(SITE_A_TOKEN)
)


async def connect_site_a(services: Services) -> None:
    """Site A connected, with one customer link of it (subject "dave") and one desk setting (desk 1)."""
    await services.jira.replace(SITE_A_CONNECTION)
    async with services.db.begin() as db:
        db.add(
            CustomerLinkRow(
                idp="corp",
                subject="dave",
                jsm_user_id="qm:dave",
                email="dave@example.com",
                display_name="Dave",
                desks=["1"],
                site=site_identity(SITE_A_CONNECTION),
                updated_at=datetime.now(UTC),
            )
        )
    await services.desks.save(DeskSetting("1", sso_enabled=False))
