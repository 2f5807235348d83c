"""LemonLDAP::NG's SAML IdP as a second real peer: sign-in, and single logout both ways.

LemonLDAP::NG (Lasso underneath) checks the signatures of our AuthnRequests and logout messages
against the certificate in our SP metadata, signs its responses, assertions and logout messages with
its own key, and sends the demo user's e-mail as NameID with mail/cn/givenName/sn attributes. Two HTTP
clients play the browser: the in-process one at Deskgate, a real one (with the portal's cookies) at
LemonLDAP::NG.
"""

from __future__ import annotations

import base64
import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from deskgate.services import Services
from tests.peers.lemonldap import LemonLdapPeer
from tests.saml.lemonldap_saml import IDP, available, lemonldap_idp, post_to_sp
from tests.support.admin import csrf_token
from tests.support.inprocess import running_app

BASE = "http://127.0.0.1:8080"
SLO = f"{BASE}/saml/{IDP}/slo"
IFRAME = re.compile(r'<iframe[^>]*\ssrc="([^"]+)"')
pytestmark = [pytest.mark.anyio, pytest.mark.peer]


def peer_or_skip() -> None:
    missing = available()
    if missing:
        pytest.skip(missing)  # a failure under CI=true (tests/conftest.py)


def spoil(signature: str) -> str:
    """The same base64 signature with one byte of the RSA value changed."""
    raw = bytearray(base64.b64decode(signature))
    raw[len(raw) // 2] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def sign_in(
    deskgate: httpx.AsyncClient, browser_at_idp: httpx.AsyncClient, peer: LemonLdapPeer
) -> None:
    start = await deskgate.get("/login", params={"idp": IDP, "next": "/account"})
    assert start.status_code == 302 and start.headers["location"].startswith(peer.saml_sso_url + "?")
    assert "Signature=" in start.headers["location"]  # LemonLDAP::NG refuses unsigned requests
    action, answer = await post_to_sp(browser_at_idp, peer, start.headers["location"])
    assert action == f"{BASE}/saml/{IDP}/acs"
    done = await deskgate.post(f"/saml/{IDP}/acs", data=answer)
    assert done.status_code == 303, done.text[-3000:]
    assert done.headers["location"] == "/account"


async def session_attributes(services: Services) -> list[dict[str, object]]:
    now = datetime.now(UTC)
    page = await services.sessions.store.active(now=now, seen_after=now - timedelta(hours=1))
    return [record.attributes for record in page.records]


async def test_sign_in_through_lemonldap(db_url: str) -> None:
    peer_or_skip()
    async with (
        running_app(db_url, base_url=BASE, raise_app_exceptions=False) as (deskgate, services),
        lemonldap_idp(deskgate, services, BASE) as peer,
        httpx.AsyncClient() as browser_at_idp,
    ):
        await sign_in(deskgate, browser_at_idp, peer)
        me = (await deskgate.get("/me")).json()
        assert me == {
            "idp": IDP,
            "subject": "dwho@badwolf.org",
            "email": "dwho@badwolf.org",
            "name": "Doctor Who",
        }
        [attributes] = await session_attributes(services)
        assert (attributes["first_name"], attributes["last_name"]) == ("Doctor", "Who")
        events = await services.audit.query()
        assert any(e.event == "login" and e.outcome == "success" and e.idp == IDP for e in events)


async def test_sign_out_at_deskgate_signs_out_at_lemonldap(db_url: str) -> None:
    peer_or_skip()
    async with (
        running_app(db_url, base_url=BASE, raise_app_exceptions=False) as (deskgate, services),
        lemonldap_idp(deskgate, services, BASE) as peer,
        httpx.AsyncClient() as browser_at_idp,
    ):
        await sign_in(deskgate, browser_at_idp, peer)
        form = await deskgate.get("/logout")
        out = await deskgate.post("/logout", data={"csrf_token": csrf_token(form.text)})
        assert out.status_code == 302, out.text[-2000:]
        assert out.headers["location"].startswith(peer.saml_slo_url + "?")
        assert "SAMLRequest=" in out.headers["location"]
        assert (await deskgate.get("/me")).status_code == 401  # already, whatever the IdP says
        back = await at_idp_until_back(browser_at_idp, peer, out.headers["location"])
        assert back.startswith(SLO + "?") and "SAMLResponse=" in back, back
        done = await deskgate.get(local(back))
        assert done.status_code == 303 and done.headers["location"] == "/logged-out", done.text[-2000:]
        answered = next(e for e in await services.audit.query() if e.event == "logout.rp")
        assert (answered.outcome, answered.detail) == (
            "success",
            "IdP answered urn:oasis:names:tc:SAML:2.0:status:Success",
        )
        # LemonLDAP::NG's session ended too: a new sign-in asks for the password again.
        start = await deskgate.get("/login", params={"idp": IDP})
        again = await browser_at_idp.get(start.headers["location"], follow_redirects=True)
        assert 'name="password"' in again.text


async def test_lemonldap_refuses_a_logout_request_whose_signature_is_spoiled(db_url: str) -> None:
    peer_or_skip()
    async with (
        running_app(db_url, base_url=BASE, raise_app_exceptions=False) as (deskgate, services),
        lemonldap_idp(deskgate, services, BASE) as peer,
        httpx.AsyncClient() as browser_at_idp,
    ):
        await sign_in(deskgate, browser_at_idp, peer)
        form = await deskgate.get("/logout")
        out = await deskgate.post("/logout", data={"csrf_token": csrf_token(form.text)})
        query = parse_qs(urlsplit(out.headers["location"]).query)
        spoiled = {k: v[0] for k, v in query.items()} | {"Signature": spoil(query["Signature"][0])}
        refused = await browser_at_idp.get(peer.saml_slo_url, params=spoiled)
        assert refused.status_code == 400 and "location" not in refused.headers
        # Its session lives on: a new sign-in through it needs no password.
        start = await deskgate.get("/login", params={"idp": IDP})
        again = await browser_at_idp.get(start.headers["location"], follow_redirects=True)
        assert 'name="password"' not in again.text and "SAMLResponse" in again.text, again.text[-2000:]


async def test_sign_out_at_lemonldap_signs_out_at_deskgate(db_url: str) -> None:
    peer_or_skip()
    async with (
        running_app(db_url, base_url=BASE, raise_app_exceptions=False) as (deskgate, services),
        lemonldap_idp(deskgate, services, BASE) as peer,
        httpx.AsyncClient() as browser_at_idp,
    ):
        await sign_in(deskgate, browser_at_idp, peer)
        # The portal's own logout: its page carries one iframe per SAML SP, each a signed LogoutRequest.
        page = await browser_at_idp.get(peer.portal_url, params={"logout": "1"}, follow_redirects=True)
        frames = [html.unescape(src) for src in IFRAME.findall(page.text)]
        requests = [src for src in frames if src.startswith(SLO + "?")]
        assert len(requests) == 1 and "SAMLRequest=" in requests[0], (frames, page.text[-3000:])
        # The same request with its signature spoiled ends nothing: Deskgate verifies LemonLDAP::NG's key.
        query = parse_qs(urlsplit(requests[0]).query)
        spoiled = query | {"Signature": [spoil(query["Signature"][0])]}
        refused = await deskgate.get(f"/saml/{IDP}/slo", params={k: v[0] for k, v in spoiled.items()})
        assert refused.status_code == 400, refused.headers
        assert (await deskgate.get("/me")).status_code == 200
        answered = await deskgate.get(local(requests[0]))
        assert answered.status_code == 303, answered.text[-2000:]
        # Our answer goes to the ResponseLocation its metadata names (singleLogoutReturn), not to Location.
        assert answered.headers["location"].startswith(peer.saml_slo_url + "Return?")
        assert "SAMLResponse=" in answered.headers["location"]
        assert (await deskgate.get("/me")).status_code == 401
        ended = [e for e in await services.audit.query() if e.event == "logout.frontchannel"]
        assert sorted((e.outcome, e.idp, e.subject or "") for e in ended) == [
            ("failure", IDP, ""),  # the spoiled request, audited as refused
            ("success", IDP, "dwho@badwolf.org"),
        ]
        # LemonLDAP::NG takes our signed LogoutResponse: the iframe's last hop is its "ok" image
        # (an unverifiable or failed answer gets "warning.png").
        finished = await browser_at_idp.get(answered.headers["location"])
        assert finished.status_code == 302, (finished.status_code, peer.output()[-3000:])
        assert finished.headers["location"].endswith("/static/common/icons/ok.png"), peer.output()[-3000:]


async def at_idp_until_back(browser_at_idp: httpx.AsyncClient, peer: LemonLdapPeer, url: str) -> str:
    """Follow the IdP's redirects until one leads back to Deskgate; that URL."""
    for _ in range(10):
        answer = await browser_at_idp.get(url)
        assert answer.status_code in (302, 303), (answer.text[-2000:], peer.output()[-3000:])
        url = urljoin(str(answer.url), answer.headers["location"])
        if url.startswith(BASE):
            return url
    raise AssertionError("the IdP never sent the browser back")
