"""The SP's keys through the app: its metadata publishes the key the first request created, the sign-in
sends a request signed with it when the IdP wants one, and an assertion encrypted to it signs the
customer in (one encrypted to a key the SP retired does not)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from lxml import etree

from deskgate.identity.provider import ProviderConfig
from deskgate.identity.saml import bindings
from deskgate.identity.saml.keys import SpKeys
from deskgate.identity.saml.settings import SamlIdpSettings, ServiceProvider
from deskgate.identity.saml.xml import NS
from deskgate.services import Services
from tests.saml.hostile_idp import SSO_URL, HostileIdp
from tests.saml.test_saml_sign_in import post, start
from tests.support.inprocess import running_app

BASE = "http://127.0.0.1:8080"
SP = ServiceProvider.for_idp(BASE, "corp")
pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def idp() -> HostileIdp:
    return HostileIdp(SP)


async def add_idp(services: Services, idp: HostileIdp, **changes: object) -> None:
    saml = idp.settings(**changes)
    await services.providers.save(ProviderConfig(name="corp", title="Corp", protocol="saml", saml=saml))


async def test_encrypted_sign_in_with_a_signed_request(db_url: str, idp: HostileIdp) -> None:
    async with running_app(db_url, raise_app_exceptions=False) as (client, services):
        await add_idp(services, idp, sign_requests=True, require_encryption=True)
        metadata = etree.fromstring((await client.get("/saml/corp/metadata")).content)
        published = metadata.findall(
            "md:SPSSODescriptor/md:KeyDescriptor[@use='encryption']//ds:X509Certificate", NS
        )
        key = await services.saml_keys.current()
        assert [c.text for c in published] == [key.certificate_base64]

        sent = await client.get("/login", params={"idp": "corp", "next": "/account"})
        location = sent.headers["location"]
        assert location.startswith(SSO_URL + "?") and "&Signature=" in location
        as_idp = SamlIdpSettings(
            entity_id=SP.entity_id, sso_url=SSO_URL, signing_certificates=(key.certificate_pem,)
        )
        assert bindings.verify(urlsplit(location).query, as_idp).relay_state

        request_id, relay = await start(client)
        plain = await post(client, idp.response(request_id), relay)
        assert plain.status_code == 400  # require_encryption: a plaintext assertion is refused
        request_id, relay = await start(client)
        done = await post(client, idp.response(request_id, encrypt_to=key.certificate_pem), relay)
        assert done.status_code == 303, done.text
        assert (await client.get("/me")).json()["subject"] == "ana@lumen.example"


async def test_a_retired_key_no_longer_decrypts(db_url: str, idp: HostileIdp) -> None:
    async with running_app(db_url, raise_app_exceptions=False) as (client, services):
        await add_idp(services, idp)
        old = await services.saml_keys.current()
        keys = SpKeys(services.db, services.box, key_size=2048)  # the CLI, in another process
        await keys.rotate()
        await keys.promote()

        # Retiring: an IdP that has not reloaded the metadata still encrypts to the old key, and it works.
        request_id, relay = await start(client)
        done = await post(client, idp.response(request_id, encrypt_to=old.certificate_pem), relay)
        assert done.status_code == 303, done.text

        await keys.retire(old.id)
        request_id, relay = await start(client)
        refused = await post(client, idp.response(request_id, encrypt_to=old.certificate_pem), relay)
        assert refused.status_code == 400
        events = await services.audit.query()
        assert any(
            e.event == "login" and e.outcome == "failure" and "decryption" in (e.detail or "") for e in events
        )


async def test_the_first_saml_idp_brings_the_first_key(db_url: str, idp: HostileIdp) -> None:
    async with running_app(db_url, raise_app_exceptions=False) as (_, services):
        assert await services.saml_keys.all() == []  # no SAML IdP, no key
        config = ProviderConfig(name="corp", title="Corp", protocol="saml", saml=idp.settings())
        await services.save_provider(config)  # as the console, the import and the settings file do
        assert [k.state for k in await services.saml_keys.all()] == ["current"]
        assert [e.event for e in await services.audit.query()] == ["admin.saml_keys.create"]
