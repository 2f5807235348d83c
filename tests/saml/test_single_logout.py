"""SAML single logout both ways, and IdP-initiated sign-in, against the in-process test IdP.

IdP-initiated logout must end exactly the sessions it names (this IdP, this NameID, these SessionIndexes)
and nothing at all when it is not signed by the IdP, stale, replayed or meant for someone else. The
SP-initiated one ends our session first, sends a LogoutRequest the IdP can verify with our metadata's
key, and accepts only the answer to this browser's request.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from deskgate.identity.provider import ProviderConfig
from deskgate.identity.saml import bindings
from deskgate.identity.saml.metadata import idp_settings
from deskgate.identity.saml.settings import SamlIdpSettings, ServiceProvider
from deskgate.identity.saml.xml import NS, SAML, SAMLP, qname
from deskgate.services import Services
from tests.saml.hostile_idp import HostileIdp, SigningKey, sign
from tests.saml.test_saml_sign_in import BASE, post, start
from tests.saml.test_simplesamlphp_peer import hidden_fields
from tests.support.admin import csrf_token
from tests.support.inprocess import running_app

SLO_URL = "https://idp.hostile.example/slo"
SP = ServiceProvider.for_idp(BASE, "corp")
OTHER_SP = ServiceProvider.for_idp(BASE, "other")
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def idp() -> HostileIdp:
    return HostileIdp(SP)


@pytest.fixture(scope="module")
def other() -> HostileIdp:
    return HostileIdp(OTHER_SP, entity_id="https://idp.other.example/saml")


def _instant(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def private(key: SigningKey) -> rsa.RSAPrivateKey:
    loaded = serialization.load_pem_private_key(key.key_pem, password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return loaded


async def add(services: Services, name: str, idp: HostileIdp, **saml: object) -> None:
    settings = idp.settings(**({"slo_url": SLO_URL} | saml))
    await services.providers.save(
        ProviderConfig.model_validate({"name": name, "title": name, "protocol": "saml", "saml": settings})
    )


def answer(idp: HostileIdp, request_id: str | None, name_id: str, session_index: str) -> etree._Element:
    assertion = idp.assertion(request_id, name_id=name_id, attributes={"mail": [name_id]})
    statement = assertion.find("saml:AuthnStatement", NS)
    assert statement is not None
    statement.set("SessionIndex", session_index)
    return idp.envelope(sign(assertion, idp.key), request_id)


async def sign_in(
    client: httpx.AsyncClient, idp: HostileIdp, name_id: str, session_index: str, name: str = "corp"
) -> None:
    sent = await client.get("/login", params={"idp": name, "next": "/account"})
    query = parse_qs(urlsplit(sent.headers["location"]).query)
    request_id = str(etree.fromstring(bindings.inflate(query["SAMLRequest"][0])).get("ID"))
    done = await client.post(
        f"/saml/{name}/acs",
        data={
            "SAMLResponse": bindings.post_value(
                etree.tostring(answer(idp, request_id, name_id, session_index))
            ),
            "RelayState": query["RelayState"][0],
        },
    )
    assert done.status_code == 303, done.text


def logout_request(
    idp: HostileIdp,
    name_id: str,
    *indexes: str,
    destination: str = SP.slo_url,
    issued: timedelta = timedelta(0),
    lifetime: timedelta | None = timedelta(minutes=5),
    issuer: str | None = None,
) -> bytes:
    now = datetime.now(UTC) + issued
    root = etree.Element(
        qname(SAMLP, "LogoutRequest"),
        nsmap={"samlp": SAMLP, "saml": SAML},
        ID="_lr" + secrets.token_hex(16),
        Version="2.0",
        IssueInstant=_instant(now),
        Destination=destination,
    )
    if lifetime is not None:
        root.set("NotOnOrAfter", _instant(now + lifetime))
    etree.SubElement(root, qname(SAML, "Issuer")).text = issuer or idp.entity_id
    etree.SubElement(root, qname(SAML, "NameID"), Format=EMAIL).text = name_id
    for index in indexes:
        etree.SubElement(root, qname(SAMLP, "SessionIndex")).text = index
    return bytes(etree.tostring(root))


async def sp_settings(services: Services) -> SamlIdpSettings:
    """Settings whose 'IdP certificate' is ours: what an IdP verifies our messages with."""
    key = await services.saml_keys.current()
    return SamlIdpSettings(
        entity_id=SP.entity_id, sso_url=SLO_URL, signing_certificates=(key.certificate_pem,)
    )


async def read_answer(services: Services, location: str) -> tuple[etree._Element, str | None]:
    """Our LogoutResponse (or request) sent back to the IdP: verified with our key, parsed."""
    assert location.startswith(SLO_URL + "?"), location
    message = bindings.verify(urlsplit(location).query, await sp_settings(services))
    return etree.fromstring(message.xml), message.relay_state


@asynccontextmanager
async def browsers(db_url: str, count: int) -> AsyncIterator[tuple[list[httpx.AsyncClient], Services]]:
    async with running_app(db_url, raise_app_exceptions=False) as (first, services):
        others = [httpx.AsyncClient(transport=first._transport, base_url=BASE) for _ in range(count - 1)]
        try:
            yield [first, *others], services
        finally:
            for client in others:
                await client.aclose()


async def signed_in(client: httpx.AsyncClient) -> str | None:
    me = await client.get("/me")
    return str(me.json()["subject"]) + "@" + str(me.json()["idp"]) if me.status_code == 200 else None


async def test_an_idp_logout_ends_exactly_the_sessions_it_names(
    db_url: str, idp: HostileIdp, other: HostileIdp
) -> None:
    async with browsers(db_url, 4) as ((ana1, ana2, bob, ana_other), services):
        await add(services, "corp", idp)
        await add(services, "other", other)
        await sign_in(ana1, idp, "ana@lumen.example", "_s1")
        await sign_in(ana2, idp, "ana@lumen.example", "_s2")
        await sign_in(bob, idp, "bob@lumen.example", "_s1")  # another user, same index: not named
        await sign_in(ana_other, other, "ana@lumen.example", "_s1", name="other")
        query = bindings.sign(
            "SAMLRequest",
            logout_request(idp, "ana@lumen.example", "_s1"),
            key=private(idp.key),
            relay_state="idp-state",
        )
        done = await ana1.get(f"/saml/corp/slo?{query}")
        assert done.status_code == 303, done.text
        response, relay = await read_answer(services, done.headers["location"])
        assert relay == "idp-state"
        assert response.tag == qname(SAMLP, "LogoutResponse")
        code = response.find("samlp:Status/samlp:StatusCode", NS)
        assert code is not None and code.get("Value") == "urn:oasis:names:tc:SAML:2.0:status:Success"
        assert response.get("InResponseTo") == etree.fromstring(
            bindings.verify(query, idp.settings()).xml
        ).get("ID")
        assert response.get("Destination") == SLO_URL
        assert [await signed_in(c) for c in (ana1, ana2, bob, ana_other)] == [
            None,
            "ana@lumen.example@corp",
            "bob@lumen.example@corp",
            "ana@lumen.example@other",
        ]
        # Without a SessionIndex: every session of that NameID at this IdP, and only there (POST binding).
        signed = etree.tostring(sign(etree.fromstring(logout_request(idp, "ana@lumen.example")), idp.key))
        posted = await bob.post("/saml/corp/slo", data={"SAMLRequest": bindings.post_value(signed)})
        assert posted.status_code == 303, posted.text
        assert [await signed_in(c) for c in (ana2, bob, ana_other)] == [
            None,
            "bob@lumen.example@corp",
            "ana@lumen.example@other",
        ]
        events = [e for e in await services.audit.query() if e.event == "logout.frontchannel"]
        assert [(e.outcome, e.idp, e.subject) for e in events] == [
            ("success", "corp", "ana@lumen.example")
        ] * 2


async def test_refused_logout_requests_end_nothing(db_url: str, idp: HostileIdp, other: HostileIdp) -> None:
    async with browsers(db_url, 1) as ((ana,), services):
        await add(services, "corp", idp)
        await sign_in(ana, idp, "ana@lumen.example", "_s1")
        key = private(idp.key)
        ana_request = logout_request(idp, "ana@lumen.example")
        unverifiable = {
            "unsigned": bindings.encode("SAMLRequest", ana_request),
            "wrong key": bindings.sign("SAMLRequest", ana_request, key=private(other.key)),
            "sha1": bindings.sign("SAMLRequest", ana_request, key=key, sig_alg=bindings.RSA_SHA1),
        }
        for why, query in unverifiable.items():
            refused = await ana.get(f"/saml/corp/slo?{query}")
            assert refused.status_code == 400, why
        unsigned_post = await ana.post(
            "/saml/corp/slo", data={"SAMLRequest": bindings.post_value(ana_request)}
        )
        assert unsigned_post.status_code == 400
        # Signed by the IdP but not acceptable: the IdP hears "Requester", and nothing ends.
        refused_by_checks = {
            "destination": logout_request(idp, "ana@lumen.example", destination=OTHER_SP.slo_url),
            "time": logout_request(idp, "ana@lumen.example", issued=timedelta(minutes=-20), lifetime=None),
            "expired": logout_request(idp, "ana@lumen.example", lifetime=timedelta(minutes=-3)),
            "issuer": logout_request(idp, "ana@lumen.example", issuer=other.entity_id),
        }
        for check, message in refused_by_checks.items():
            done = await ana.get(f"/saml/corp/slo?{bindings.sign('SAMLRequest', message, key=key)}")
            assert done.status_code == 303, check
            response, _ = await read_answer(services, done.headers["location"])
            code = response.find("samlp:Status/samlp:StatusCode", NS)
            assert code is not None and code.get("Value") == "urn:oasis:names:tc:SAML:2.0:status:Requester"
            assert await signed_in(ana) == "ana@lumen.example@corp", check
        failures = [e for e in await services.audit.query() if e.event == "logout.frontchannel"]
        assert {e.outcome for e in failures} == {"failure"} and len(failures) == 8
        details = " ".join(str(e.detail) for e in failures)
        for check in ("unsigned", "signature", "algorithm", "destination", "time", "expired", "issuer"):
            assert f"check={check}" in details, check
        # The same signed request twice: the first ends the session, the replay is refused.
        query = bindings.sign("SAMLRequest", ana_request, key=key)
        assert (await ana.get(f"/saml/corp/slo?{query}")).status_code == 303
        assert await signed_in(ana) is None
        await sign_in(ana, idp, "ana@lumen.example", "_s1")
        replayed = await ana.get(f"/saml/corp/slo?{query}")
        response, _ = await read_answer(services, replayed.headers["location"])
        assert response.xpath("string(samlp:Status/samlp:StatusCode/@Value)", namespaces=NS).endswith(
            ":Requester"
        )
        assert response.findtext("samlp:Status/samlp:StatusMessage", namespaces=NS) == "replay"
        assert await signed_in(ana) == "ana@lumen.example@corp"
        last = (await services.audit.query())[0]
        assert (last.event, last.outcome) == ("logout.frontchannel", "failure")
        assert last.detail is not None and last.detail.startswith("check=replay")
        assert last.detail.endswith("this LogoutRequest was already used")


async def test_sign_out_sends_a_signed_logout_request_and_takes_only_its_answer(
    db_url: str, idp: HostileIdp
) -> None:
    async with browsers(db_url, 2) as ((ana, mallory), services):
        await add(services, "corp", idp)
        await sign_in(ana, idp, "ana@lumen.example", "_s7")
        form = await ana.get("/logout")
        out = await ana.post("/logout", data={"csrf_token": csrf_token(form.text)})
        assert out.status_code == 302, out.text
        assert await signed_in(ana) is None  # ended before the IdP was even asked
        request, relay = await read_answer(services, out.headers["location"])
        assert request.tag == qname(SAMLP, "LogoutRequest")
        assert request.get("Destination") == SLO_URL
        assert request.findtext("saml:Issuer", namespaces=NS) == SP.entity_id
        name_id = request.find("saml:NameID", NS)
        assert name_id is not None and (name_id.text, name_id.get("Format")) == ("ana@lumen.example", EMAIL)
        assert request.findtext("samlp:SessionIndex", namespaces=NS) == "_s7"

        def logout_response(in_response_to: str, *, key: SigningKey = idp.key) -> str:
            root = etree.Element(
                qname(SAMLP, "LogoutResponse"),
                nsmap={"samlp": SAMLP, "saml": SAML},
                ID="_r" + secrets.token_hex(8),
                Version="2.0",
                IssueInstant=_instant(datetime.now(UTC)),
                Destination=SP.slo_url,
                InResponseTo=in_response_to,
            )
            etree.SubElement(root, qname(SAML, "Issuer")).text = idp.entity_id
            status = etree.SubElement(root, qname(SAMLP, "Status"))
            etree.SubElement(
                status, qname(SAMLP, "StatusCode"), Value="urn:oasis:names:tc:SAML:2.0:status:Success"
            )
            return bindings.sign("SAMLResponse", etree.tostring(root), key=private(key), relay_state=relay)

        request_id = str(request.get("ID"))
        # Another browser cannot spend this browser's pending sign-out; a wrong InResponseTo or key fails.
        assert (await mallory.get(f"/saml/corp/slo?{logout_response(request_id)}")).status_code == 400
        other_key = SigningKey.generate("not the IdP")
        assert (
            await ana.get(f"/saml/corp/slo?{logout_response(request_id, key=other_key)}")
        ).status_code == 400
        assert (await ana.get(f"/saml/corp/slo?{logout_response('_not-ours')}")).status_code == 400
        # The pending sign-out was spent by the refused answer above: sign out again, and answer rightly.
        await sign_in(ana, idp, "ana@lumen.example", "_s8")
        form = await ana.get("/logout")
        out = await ana.post("/logout", data={"csrf_token": csrf_token(form.text)})
        request, relay = await read_answer(services, out.headers["location"])
        done = await ana.get(f"/saml/corp/slo?{logout_response(str(request.get('ID')))}")
        assert done.status_code == 303 and done.headers["location"] == "/logged-out"
        events = [(e.event, e.outcome) for e in await services.audit.query() if e.event == "logout.rp"]
        assert events.count(("logout.rp", "success")) == 3  # two sign-outs, one answer accepted


async def test_idp_initiated_sign_in_is_off_unless_turned_on(db_url: str, idp: HostileIdp) -> None:
    async with browsers(db_url, 1) as ((ana,), services):
        await add(services, "corp", idp)
        unsolicited = answer(idp, None, "ana@lumen.example", "_s1")
        refused = await post(ana, unsolicited, "/account")
        assert refused.status_code == 400
        assert await signed_in(ana) is None
        failure = (await services.audit.query())[0]
        assert failure.detail is not None and failure.detail.startswith("idp_initiated: check=unsolicited")

        await add(services, "corp", idp, idp_initiated=True, idp_initiated_landing="/account?from=idp")
        landed = await post(ana, answer(idp, None, "ana@lumen.example", "_s2"), "https://evil.example/")
        assert landed.status_code == 303, landed.text
        assert landed.headers["location"] == "/account?from=idp"  # never the RelayState
        assert await signed_in(ana) == "ana@lumen.example@corp"
        success = (await services.audit.query())[0]
        assert (success.event, success.outcome, success.detail) == ("login", "success", "idp_initiated")
        # The same form again: the assertion is spent.
        replayed = await ana.post(
            "/saml/corp/acs",
            content=landed.request.content,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert replayed.status_code == 400
        # A response naming no request whose assertion answers one is refused (it was solicited elsewhere).
        request_id, _ = await start(ana)
        mixed = answer(idp, request_id, "ana@lumen.example", "_s3")
        del mixed.attrib["InResponseTo"]  # the envelope is not signed here: only the assertion is
        assert (await post(ana, mixed, "/")).status_code == 400
        checks = [e.detail for e in await services.audit.query() if e.outcome == "failure"]
        assert any(d is not None and d.startswith("idp_initiated: check=in_response_to") for d in checks)
        assert any(d is not None and d.startswith("idp_initiated: check=replay") for d in checks)


def test_the_landing_page_must_be_local(idp: HostileIdp) -> None:
    for bad in ("https://evil.example/", "//evil.example", "/\\evil.example", "account"):
        with pytest.raises(ValueError, match="must be a path on this site"):
            idp.settings(idp_initiated_landing=bad)
    assert idp.settings(idp_initiated_landing="/portal").idp_initiated_landing == "/portal"


async def test_the_sign_out_form_may_lead_to_the_idps_slo_location(db_url: str, idp: HostileIdp) -> None:
    """Chromium checks the redirect after POST /logout against the CSP's form-action."""
    async with browsers(db_url, 1) as ((client,), services):
        await add(services, "corp", idp, slo_url="https://slo.hostile.example/logout")
        page = await client.get("/logout")
    policy = page.headers["content-security-policy"]
    action = next(d for d in policy.split(";") if d.strip().startswith("form-action")).split()
    assert "https://slo.hostile.example" in action and "https://idp.hostile.example" in action


def test_metadata_gives_the_slo_location_redirect_first(idp: HostileIdp) -> None:
    def metadata(*services: tuple[str, str]) -> bytes:
        slo = "".join(f'<md:SingleLogoutService Binding="{b}" Location="{loc}"/>' for b, loc in services)
        cert = "".join(idp.key.cert_pem.strip().splitlines()[1:-1])
        return (
            f'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{idp.entity_id}">'
            f'<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            f'<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'
            f"<ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
            f"</md:KeyDescriptor>{slo}"
            f'<md:SingleSignOnService Binding="{bindings.REDIRECT_BINDING}" Location="https://idp.test/sso"/>'
            f"</md:IDPSSODescriptor></md:EntityDescriptor>"
        ).encode()

    both = idp_settings(
        metadata((bindings.POST_BINDING, "https://idp.test/slo-post"), (bindings.REDIRECT_BINDING, SLO_URL))
    )
    assert (both.slo_url, both.slo_binding) == (SLO_URL, "redirect")
    post_only = idp_settings(metadata((bindings.POST_BINDING, "https://idp.test/slo-post")))
    assert (post_only.slo_url, post_only.slo_binding) == ("https://idp.test/slo-post", "post")
    assert idp_settings(metadata()).slo_url is None


async def test_with_the_post_binding_both_messages_go_as_signed_xml_in_a_form(
    db_url: str, idp: HostileIdp
) -> None:
    async with browsers(db_url, 1) as ((ana,), services):
        await add(services, "corp", idp, slo_binding="post")
        ours = await sp_settings(services)
        await sign_in(ana, idp, "ana@lumen.example", "_s1")
        signed = etree.tostring(sign(etree.fromstring(logout_request(idp, "ana@lumen.example")), idp.key))
        page = await ana.post("/saml/corp/slo", data={"SAMLRequest": bindings.post_value(signed)})
        assert page.status_code == 200 and f'action="{SLO_URL}"' in page.text
        assert await signed_in(ana) is None
        fields = hidden_fields(page.text)
        response = bindings.verified_post_message(bindings.read_post(fields["SAMLResponse"]), ours)
        assert response.get("InResponseTo") == etree.fromstring(signed).get("ID")
        # And our sign-out: the LogoutRequest is posted, its answer posted back (cross-site: resubmitted).
        await sign_in(ana, idp, "ana@lumen.example", "_s2")
        form = await ana.get("/logout")
        out = await ana.post("/logout", data={"csrf_token": csrf_token(form.text)})
        assert out.status_code == 200 and f'action="{SLO_URL}"' in out.text
        fields = hidden_fields(out.text)
        request = bindings.verified_post_message(bindings.read_post(fields["SAMLRequest"]), ours)
        assert request.findtext("samlp:SessionIndex", namespaces=NS) == "_s2"
        answer = etree.Element(
            qname(SAMLP, "LogoutResponse"),
            nsmap={"samlp": SAMLP, "saml": SAML},
            ID="_r" + secrets.token_hex(8),
            Version="2.0",
            IssueInstant=_instant(datetime.now(UTC)),
            Destination=SP.slo_url,
            InResponseTo=str(request.get("ID")),
        )
        etree.SubElement(answer, qname(SAML, "Issuer")).text = idp.entity_id
        status = etree.SubElement(answer, qname(SAMLP, "Status"))
        etree.SubElement(
            status, qname(SAMLP, "StatusCode"), Value="urn:oasis:names:tc:SAML:2.0:status:Success"
        )
        posted = {"SAMLResponse": bindings.post_value(etree.tostring(sign(answer, idp.key))), **fields}
        del posted["SAMLRequest"]
        binding = ana.cookies.get("deskgate_login")
        ana.cookies.delete("deskgate_login")  # a cross-site POST leaves the SameSite=Lax cookie behind
        again = await ana.post("/saml/corp/slo", data=posted)
        assert again.status_code == 200 and 'name="deskgate_resubmitted"' in again.text
        assert binding is not None
        ana.cookies.set("deskgate_login", binding)
        done = await ana.post("/saml/corp/slo", data=hidden_fields(again.text))
        assert done.status_code == 303 and done.headers["location"] == "/logged-out", done.text


def test_metadata_keeps_a_separate_response_location(idp: HostileIdp) -> None:
    cert = "".join(idp.key.cert_pem.strip().splitlines()[1:-1])
    document = (
        f'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{idp.entity_id}">'
        f'<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f'<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'
        f"<ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
        f'</md:KeyDescriptor><md:SingleLogoutService Binding="{bindings.POST_BINDING}" '
        f'Location="https://idp.test/slo-post" ResponseLocation="https://idp.test/slo-post-return"/>'
        f'<md:SingleLogoutService Binding="{bindings.REDIRECT_BINDING}" Location="https://idp.test/slo" '
        f'ResponseLocation="https://idp.test/slo-return"/>'
        f'<md:SingleSignOnService Binding="{bindings.REDIRECT_BINDING}" Location="https://idp.test/sso"/>'
        f"</md:IDPSSODescriptor></md:EntityDescriptor>"
    ).encode()
    read = idp_settings(document)
    assert (read.slo_url, read.slo_response_url) == ("https://idp.test/slo", "https://idp.test/slo-return")


async def test_answers_to_the_idps_logout_go_to_its_response_location(db_url: str, idp: HostileIdp) -> None:
    # Metadata §2.2.2: our LogoutResponse goes to ResponseLocation; our own LogoutRequest to Location.
    answers_at = "https://idp.test/slo-return"
    async with browsers(db_url, 1) as ((ana,), services):
        await add(services, "corp", idp, slo_response_url=answers_at)
        await sign_in(ana, idp, "ana@lumen.example", "_s1")
        query = bindings.sign(
            "SAMLRequest", logout_request(idp, "ana@lumen.example", "_s1"), key=private(idp.key)
        )
        done = await ana.get(f"/saml/corp/slo?{query}")
        assert done.status_code == 303 and done.headers["location"].startswith(answers_at + "?")
        answered = bindings.verify(urlsplit(done.headers["location"]).query, await sp_settings(services))
        assert etree.fromstring(answered.xml).get("Destination") == answers_at
        assert await signed_in(ana) is None

        await sign_in(ana, idp, "ana@lumen.example", "_s2")
        form = await ana.get("/logout")
        sent = await ana.post("/logout", data={"csrf_token": csrf_token(form.text)})
        assert sent.status_code == 302 and sent.headers["location"].startswith(SLO_URL + "?")


async def test_with_a_subject_attribute_the_session_index_names_the_session(
    db_url: str, idp: HostileIdp
) -> None:
    # Transient NameIDs, users named by their mail: the IdP's LogoutRequest repeats the transient NameID,
    # which is no session's subject, so its SessionIndex finds the session; without one nothing ends.
    async def transient_sign_in(client: httpx.AsyncClient, transient: str, mail: str, index: str) -> None:
        sent = await client.get("/login", params={"idp": "corp", "next": "/account"})
        query = parse_qs(urlsplit(sent.headers["location"]).query)
        request_id = str(etree.fromstring(bindings.inflate(query["SAMLRequest"][0])).get("ID"))
        assertion = idp.assertion(request_id, name_id=transient, attributes={"mail": [mail]})
        node = assertion.find("saml:Subject/saml:NameID", NS)
        assert node is not None
        node.set("Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:transient")
        statement = assertion.find("saml:AuthnStatement", NS)
        assert statement is not None
        statement.set("SessionIndex", index)
        envelope = etree.tostring(idp.envelope(sign(assertion, idp.key), request_id))
        data = {"SAMLResponse": bindings.post_value(envelope), "RelayState": query["RelayState"][0]}
        assert (await client.post("/saml/corp/acs", data=data)).status_code == 303

    async with browsers(db_url, 2) as ((ana, bob), services):
        await add(services, "corp", idp, subject_attribute="mail")
        await transient_sign_in(ana, "_t-ana", "ana@lumen.example", "_s-ana")
        await transient_sign_in(bob, "_t-bob", "bob@lumen.example", "_s-bob")
        assert await signed_in(ana) == "ana@lumen.example@corp"

        unindexed = bindings.sign("SAMLRequest", logout_request(idp, "_t-ana"), key=private(idp.key))
        refused = await ana.get(f"/saml/corp/slo?{unindexed}")
        answer_xml, _ = await read_answer(services, refused.headers["location"])
        code = answer_xml.find("samlp:Status/samlp:StatusCode", NS)
        assert code is not None and code.get("Value") == "urn:oasis:names:tc:SAML:2.0:status:Requester"
        assert await signed_in(ana) == "ana@lumen.example@corp"

        indexed = bindings.sign("SAMLRequest", logout_request(idp, "_t-ana", "_s-ana"), key=private(idp.key))
        assert (await ana.get(f"/saml/corp/slo?{indexed}")).status_code == 303
        assert [await signed_in(c) for c in (ana, bob)] == [None, "bob@lumen.example@corp"]
