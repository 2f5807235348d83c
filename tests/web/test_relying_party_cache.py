"""The relying party of an IdP (with its cached discovery and keys) is kept while the IdP's configuration
is unchanged — also across the registry's reloads — and rebuilt as soon as it changes."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from deskgate.identity.provider import ProviderConfig
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio
CORP = ProviderConfig(
    name="corp",
    title="Corp",
    issuer="https://idp.corp.test",
    client_id="dg",
    client_secret=SecretStr("x" * 20),
    discovery=False,
    authorization_endpoint="https://idp.corp.test/authorize",
    token_endpoint="https://idp.corp.test/token",
    jwks_uri="https://idp.corp.test/jwks",
)


async def test_the_relying_party_is_rebuilt_only_when_the_configuration_changes(db_url: str) -> None:
    async with running_app(db_url, idps=[CORP]) as (_, services):
        party = await services.relying_party("corp")
        assert await services.relying_party("corp") is party
        services.providers.invalidate()  # a reload (as every few seconds) with nothing changed
        reloaded = await services.providers.get("corp")
        assert reloaded is not party.config
        assert await services.relying_party("corp") is party and party.config is reloaded
        await services.providers.save(CORP.model_copy(update={"client_id": "other"}))
        changed = await services.relying_party("corp")
        assert changed is not party and changed.config.client_id == "other"
        assert await services.relying_party("corp") is changed
