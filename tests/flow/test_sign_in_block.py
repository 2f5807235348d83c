"""Revoke and block: the sessions list shows where a sign-in came from; a blocked user is refused at their
next sign-in, through the same IdP and through another IdP with the same email, until unblocked.
Real OpenID providers over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import re

import httpx
import pytest

from deskgate.audit import AuditEvent
from deskgate.demo.oidc_peer import OidcPeer
from deskgate.services import Services
from deskgate.sessions.store import SessionRecord
from tests.flow.browserless import login
from tests.flow.conftest import ServerFactory, basic_idp, gluu_idp
from tests.support.admin import csrf_token, sign_in

pytestmark = pytest.mark.peer

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"


async def _sessions(services: Services) -> list[SessionRecord]:
    return (await services.sessions.active()).records


async def _audit(services: Services, event: str) -> list[AuditEvent]:
    return await services.audit.query(event=event)


def _signed_in(browser: httpx.Client, base: str) -> bool:
    return browser.get(base + "/me").status_code == 200


def test_revoke_and_block_refuses_the_user_through_every_idp_until_unblocked(
    gluu_peer: OidcPeer, userinfo_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer), basic_idp(userinfo_peer))
    base = server.url
    # Deskgate trusts no proxy here: a forwarded-for header the browser adds names nobody.
    forged = {"user-agent": FIREFOX, "x-forwarded-for": "203.0.113.9"}
    with httpx.Client(headers=forged) as customer, httpx.Client() as admin:
        assert (
            login(customer, gluu_peer, base, "/login?idp=gluu&next=/account", "demo", "demo").status_code
            == 303
        )
        (record,) = server.call(_sessions)
        assert record.client_ip == "127.0.0.1" and record.user_agent == FIREFOX

        sign_in(admin, base)
        listing = admin.get(base + "/admin/sessions")
        assert "Firefox 120 on Linux" in listing.text and f'title="{FIREFOX}"' in listing.text
        assert "127.0.0.1" in listing.text and "Nobody is blocked." in listing.text
        asked = admin.get(
            base + "/admin/sessions/revoke-user", params={"idp": "gluu", "subject": record.subject}
        )
        assert '<strong id="revoke-count">1 live session</strong>' in asked.text
        assert "demo@example.com" in asked.text
        form = {"idp": "gluu", "subject": record.subject, "confirm": "block"}

        for forged in ({}, {"csrf_token": "forged"}):  # no block without the console's token
            assert admin.post(base + "/admin/sessions/revoke-user", data=form | forged).status_code == 403
        assert _signed_in(customer, base)
        blocked = admin.post(
            base + "/admin/sessions/revoke-user", data=form | {"csrf_token": csrf_token(asked.text)}
        )
        assert blocked.status_code == 303 and blocked.headers["location"] == "/admin/sessions?ended=1"
        assert not _signed_in(customer, base)
        (audited,) = server.call(functools.partial(_audit, event="admin.sessions.block"))
        assert audited.subject == "admin" and "demo@example.com" in (audited.detail or "")

        again = login(customer, gluu_peer, base, "/login?idp=gluu&next=/account", "demo", "demo")
        assert again.status_code == 403 and 'id="blocked"' in again.text and "demo@example.com" in again.text
        assert "deskgate_session" not in again.cookies and not _signed_in(customer, base)
        # The same person through the second IdP: another subject, the same email address.
        elsewhere = login(customer, userinfo_peer, base, "/login?idp=basic", "demo", "demo")
        assert elsewhere.status_code == 403 and 'id="blocked"' in elsewhere.text
        assert not _signed_in(customer, base)
        refusals = [
            e for e in server.call(functools.partial(_audit, event="login")) if e.outcome == "refused"
        ]
        assert len(refusals) == 2 and all("blocked" in (e.detail or "") for e in refusals)
        # Others still sign in.
        with httpx.Client() as alice:
            assert login(alice, gluu_peer, base, "/login?idp=gluu", "alice", "alice").status_code == 303

        listing = admin.get(base + "/admin/sessions")
        (block_id,) = re.findall(r'name="block" value="(\d+)"', listing.text)
        unblock = {"block": block_id}
        assert admin.post(base + "/admin/sessions/unblock", data=unblock).status_code == 403  # no token
        assert (
            admin.post(base + "/admin/sessions/unblock", data=unblock | {"csrf_token": "x"}).status_code
            == 403
        )
        done = admin.post(
            base + "/admin/sessions/unblock", data=unblock | {"csrf_token": csrf_token(listing.text)}
        )
        assert done.status_code == 303
        assert "Nobody is blocked." in admin.get(base + "/admin/sessions").text
        assert len(server.call(functools.partial(_audit, event="admin.sessions.unblock"))) == 1
        gone = admin.post(
            base + "/admin/sessions/unblock", data=unblock | {"csrf_token": csrf_token(listing.text)}
        )
        assert gone.status_code == 404

        assert login(customer, userinfo_peer, base, "/login?idp=basic", "demo", "demo").status_code == 303
        assert _signed_in(customer, base)


def test_the_sessions_client_address_follows_the_trusted_proxy_rule(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer), trusted_proxies=["127.0.0.1/32"])
    # Through a trusted proxy (loopback here): the nearest hop it did not add is the client.
    hops = {"x-forwarded-for": "198.51.100.1, 203.0.113.9"}
    with httpx.Client(headers=hops) as customer:
        assert login(customer, gluu_peer, server.url, "/login?idp=gluu", "demo", "demo").status_code == 303
    (record,) = server.call(_sessions)
    assert record.client_ip == "203.0.113.9" and record.user_agent and "python-httpx" in record.user_agent
