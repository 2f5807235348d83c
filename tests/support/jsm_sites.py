"""Several JSM emulators behind one httpx transport, each answering for its own site: what Deskgate meets
when an admin points it at another site. Two emulators may share a host and differ in their service
account's credentials (a rotated token, another service account): a request goes to the one whose
credentials it carries."""

from __future__ import annotations

import base64

import httpx

from deskgate.jsm.emulator import EmulatorApp


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
