"""A customer signs in through a SAML IdP (the hostile test IdP, answering correctly here) to the
portal: the same pipeline, sessions and audit as OIDC, with the AuthnRequest bound to the browser."""

from __future__ import annotations

import base64
import zlib
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from lxml import etree
from pydantic import ValidationError

from deskgate.identity.filters import FilterRules
from deskgate.identity.provider import ProviderConfig
from deskgate.identity.saml.settings import ServiceProvider
from deskgate.services import Services
from tests.saml.hostile_idp import SSO_URL, HostileIdp, encode
from tests.support.admin import console_sign_in
from tests.support.inprocess import running_app

BASE = "http://127.0.0.1:8080"
SP = ServiceProvider.for_idp(BASE, "corp")
pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def idp() -> HostileIdp:
    return HostileIdp(SP)


async def add_idp(services: Services, idp: HostileIdp, **changes: object) -> None:
    values: dict[str, object] = {"name": "corp", "title": "Corp", "protocol": "saml", "saml": idp.settings()}
    await services.providers.save(ProviderConfig.model_validate(values | changes))


async def start(client: httpx.AsyncClient, next_url: str = "/account") -> tuple[str, str]:
    """Begin at /login as a customer would; the request id the IdP sees, and the RelayState."""
    sent = await client.get("/login", params={"idp": "corp", "next": next_url})
    assert sent.status_code == 302, sent.text
    location = sent.headers["location"]
    assert location.startswith(SSO_URL + "?")
    query = parse_qs(urlsplit(location).query)
    request = etree.fromstring(zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), wbits=-15))
    return str(request.get("ID")), query["RelayState"][0]


async def post(
    client: httpx.AsyncClient, response: etree._Element, relay_state: str, **extra: str
) -> httpx.Response:
    return await client.post(
        "/saml/corp/acs", data={"SAMLResponse": encode(response), "RelayState": relay_state, **extra}
    )


async def test_sign_in_through_saml(db_url: str, idp: HostileIdp) -> None:
    async with running_app(db_url, raise_app_exceptions=False) as (client, services):
        await add_idp(services, idp)
        metadata = await client.get("/saml/corp/metadata")
        assert metadata.status_code == 200 and SP.acs_url.encode() in metadata.content
        request_id, relay = await start(client)
        answer = idp.response(
            request_id,
            signed="both",
            attributes={"mail": ["Ana@Lumen.example"], "displayName": ["Ana Costa"]},
        )
        done = await post(client, answer, relay)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/account"
        me = (await client.get("/me")).json()
        assert me == {
            "idp": "corp",
            "subject": "ana@lumen.example",
            "email": "ana@lumen.example",
            "name": "Ana Costa",
        }
        # The same answer again (the binding cookie is gone, so as the resubmitted form): spent.
        again = await post(client, answer, relay, deskgate_resubmitted="1")
        assert again.status_code == 400


async def test_the_answer_must_come_back_to_the_browser_that_asked(db_url: str, idp: HostileIdp) -> None:
    async with running_app(db_url, raise_app_exceptions=False) as (victim, services):
        await add_idp(services, idp)
        transport = victim._transport
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as attacker:
            victim_request, victim_relay = await start(victim)
            attacker_request, attacker_relay = await start(attacker)
            # The victim's answer in the attacker's browser (login CSRF either way round): refused.
            stolen = await post(attacker, idp.response(victim_request), victim_relay)
            assert stolen.status_code == 400
            # The attacker's own RelayState with the victim's assertion: InResponseTo does not match.
            mixed = await post(attacker, idp.response(victim_request), attacker_relay)
            assert mixed.status_code == 400
            assert (await attacker.get("/me")).status_code == 401
            # The victim's sign-in was left where it was, and still completes.
            assert (await post(victim, idp.response(victim_request), victim_relay)).status_code == 303
            assert attacker_request != victim_request


async def test_without_the_binding_cookie_the_form_is_posted_again(db_url: str, idp: HostileIdp) -> None:
    async with running_app(db_url, raise_app_exceptions=False) as (client, services):
        await add_idp(services, idp)
        request_id, relay = await start(client)
        client.cookies.clear()  # what a cross-site POST looks like with a SameSite=Lax cookie
        page = await post(client, idp.response(request_id), relay)
        assert page.status_code == 200
        assert 'name="SAMLResponse"' in page.text and 'name="deskgate_resubmitted"' in page.text


async def test_filters_and_drafts_apply_as_for_oidc(db_url: str, idp: HostileIdp) -> None:
    async with running_app(db_url, raise_app_exceptions=False) as (client, services):
        await add_idp(services, idp, filters=FilterRules(deny_domains=("lumen.example",)))
        request_id, relay = await start(client)
        refused = await post(client, idp.response(request_id), relay)
        assert refused.status_code == 403, refused.status_code
        await add_idp(services, idp, draft=True)
        assert (await client.get("/login", params={"idp": "corp"})).status_code == 404
        assert (await client.get("/saml/corp/login")).status_code == 404


async def test_a_forged_answer_is_refused_and_nobody_is_signed_in(db_url: str, idp: HostileIdp) -> None:
    async with running_app(db_url, raise_app_exceptions=False) as (client, services):
        await add_idp(services, idp)
        request_id, relay = await start(client)
        refused = await post(client, idp.response(request_id, signed="none"), relay)
        assert refused.status_code == 400
        assert (await client.get("/me")).status_code == 401
        failure = (await services.audit.query())[0]
        assert (failure.event, failure.outcome, failure.idp) == ("login", "failure", "corp")
        assert failure.detail is not None and failure.detail.startswith("check=unsigned")
        assert failure.error_id is not None and failure.error_id in refused.text


async def test_the_console_does_not_edit_a_saml_idp_as_an_oidc_one(db_url: str, idp: HostileIdp) -> None:
    async with running_app(db_url, raise_app_exceptions=False) as (client, services):
        await add_idp(services, idp)
        token = await console_sign_in(client, services)
        assert (await client.get("/admin/")).status_code == 200
        form = await client.get("/admin/idps/corp/edit")  # the SAML form, never the OIDC one
        assert form.status_code == 200
        assert 'id="field-entity_id"' in form.text and 'id="field-client_id"' not in form.text
        posted = await client.post(
            "/admin/idps/corp/edit", data={"csrf_token": token, "title": "X", "issuer": "https://op.example"}
        )
        assert posted.status_code == 400
        stored = await services.providers.get("corp")
        assert stored.protocol == "saml" and stored.saml == idp.settings() and stored.issuer is None


def test_a_saml_provider_needs_its_settings(idp: HostileIdp) -> None:
    with pytest.raises(ValidationError, match="saml settings"):
        ProviderConfig.model_validate({"name": "corp", "title": "Corp", "protocol": "saml"})
    with pytest.raises(ValidationError, match="protocol: saml"):
        ProviderConfig.model_validate(
            {
                "name": "c",
                "title": "C",
                "issuer": "https://op.example",
                "client_id": "x",
                "client_secret": "s",
                "saml": idp.settings(),
            }
        )
    with pytest.raises(ValidationError, match="client_id is required"):
        ProviderConfig.model_validate({"name": "c", "title": "C", "issuer": "https://op.example"})
