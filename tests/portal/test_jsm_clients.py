"""`JsmClients` builds a JSM client once per connection configuration: the same object again costs no
digest (it was 1.5 % of a busy worker's CPU, at every page), the same settings read again keep the
client, and changed settings (a new token) get a new one at once."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from deskgate.jsm.connection import JsmConnection
from deskgate.portal import connection as connection_module
from deskgate.portal.connection import JsmClients

pytestmark = pytest.mark.anyio


class StoredConnection:
    """What `JiraSettings.require` hands out: one object until the row is read again."""

    def __init__(self, connection: JsmConnection) -> None:
        self.connection = connection

    async def require(self) -> JsmConnection:
        return self.connection


def site(token: str) -> JsmConnection:
    return JsmConnection(
        site_url="https://example.atlassian.net", email="bot@example.com", api_token=SecretStr(token)
    )


async def test_a_client_per_configuration_and_a_digest_only_after_a_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    digests: list[JsmConnection] = []
    real = connection_module.fingerprint

    def counted(connection: JsmConnection) -> str:
        digests.append(connection)
        return real(connection)

    monkeypatch.setattr(connection_module, "fingerprint", counted)
    stored = StoredConnection(site("token-1"))
    async with httpx.AsyncClient() as http:
        clients = JsmClients(http, stored)  # type: ignore[arg-type]
        first, first_page = await clients.get(), await clients.page()
        for _ in range(5):
            assert await clients.get() is first and await clients.page() is first_page
        assert len(digests) == 2  # once for each kind, then never again for the same object
        stored.connection = site("token-1")  # read again, unchanged
        assert await clients.get() is first and await clients.page() is first_page
        assert len(digests) == 4
        stored.connection = site("token-2")  # the admin saved a new token
        second, second_page = await clients.get(), await clients.page()
        assert second is not first and second_page is not first_page
        assert second.connection.api_token is not None
        assert second.connection.api_token.get_secret_value() == "token-2"
        assert second_page.connection.timeout_seconds <= second.connection.timeout_seconds
