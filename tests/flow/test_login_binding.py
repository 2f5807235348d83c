"""The browser binding of a pending sign-in, against a real OpenID provider: another browser's callback
takes nothing, and every sign-in starts with a binding cookie of its own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.pool import QueuePool

from deskgate.audit import AuditEvent
from deskgate.demo.oidc_peer import OidcPeer
from deskgate.login.pipeline import LoginContext
from deskgate.services import Services
from deskgate.store.models import CustomerPreferenceRow
from tests.flow.conftest import ServerFactory, gluu_idp

pytestmark = pytest.mark.peer
LOGIN_COOKIE = "deskgate_login"


async def _logins(services: Services) -> list[AuditEvent]:
    return await services.audit.query(event="login", limit=50)


def test_a_callback_from_another_browser_leaves_the_sign_in_to_its_own(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer))
    with httpx.Client() as victim, httpx.Client() as attacker:
        start = victim.get(server.url + "/login", params={"next": "/account"})
        back = gluu_peer.login_over_http(victim, start.headers["location"], "demo", "demo")
        callback_url = back.headers["location"]
        # The attacker got hold of the victim's callback URL (a leaked log, a referrer) and has a binding
        # cookie of his own, from a sign-in he started himself.
        assert attacker.get(server.url + "/login").status_code == 302
        assert attacker.cookies.get(LOGIN_COOKIE)
        stolen = attacker.get(callback_url)
        assert stolen.status_code == 400
        assert attacker.get(server.url + "/me").status_code == 401
        [refused] = server.call(_logins)
        assert (refused.outcome, (refused.detail or "").split(":")[0]) == ("failure", "check=browser")
        # The refusal took nothing: the victim still finishes the sign-in, once.
        landed = victim.get(callback_url)
        assert landed.status_code == 303, landed.text[:300]
        assert landed.headers["location"] == "/account"
        assert victim.get(server.url + "/me").json()["email"] == "demo@example.com"
        assert victim.get(callback_url).status_code == 400
    outcomes = [(e.outcome, (e.detail or "").split(":")[0]) for e in server.call(_logins)]
    assert outcomes == [("failure", "check=state"), ("success", ""), ("failure", "check=browser")]


def test_every_sign_in_starts_with_a_fresh_binding_cookie(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer))
    with httpx.Client() as browser:
        # A value someone else knows (planted, or left behind by an earlier sign-in) is never taken over.
        planted = "planted-by-attacker-0123456789abcdef"
        browser.cookies.set(LOGIN_COOKIE, planted, domain="127.0.0.1")
        first = browser.get(server.url + "/login")
        second = browser.get(server.url + "/login")
        values = [response.cookies.get(LOGIN_COOKIE) for response in (first, second)]
        assert None not in values
        assert len({planted, *values}) == 3
        # The last sign-in started is the one this browser can finish.
        back = gluu_peer.login_over_http(browser, second.headers["location"], "demo", "demo")
        assert browser.get(back.headers["location"]).status_code == 303
        assert browser.get(server.url + "/me").status_code == 200


def test_a_callback_replayed_with_the_login_cookie_kept_is_refused_as_a_replay(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    """The sealed cookie is deleted at sign-in, but a browser (or a thief) may keep a copy: the state was
    spent at the first callback, so the copy opens and is refused all the same."""
    server = deskgate(gluu_idp(gluu_peer))
    with httpx.Client() as browser:
        start = browser.get(server.url + "/login", params={"next": "/account"})
        kept = browser.cookies.get(LOGIN_COOKIE)
        assert kept is not None
        back = gluu_peer.login_over_http(browser, start.headers["location"], "demo", "demo")
        callback_url = back.headers["location"]
        assert browser.get(callback_url).status_code == 303
        assert browser.cookies.get(LOGIN_COOKIE) is None
        browser.cookies.set(LOGIN_COOKIE, kept, domain="127.0.0.1")
        browser.cookies.delete("deskgate_session")
        replayed = browser.get(callback_url)
        assert replayed.status_code == 400
        assert browser.get(server.url + "/me").status_code == 401
    outcomes = [(e.outcome, (e.detail or "").split(":")[0]) for e in server.call(_logins)]
    assert outcomes == [("failure", "check=state"), ("success", "")]


def test_the_callback_takes_its_connection_only_after_the_pipeline(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    """The pipeline may call JSM (provisioning, 100 ms a call or more). A sign-in that took its pooled
    connection (and on SQLite the write lock) before it, to spend the state first, drained the pools under
    load: 43 of 500 customers failed at the callback (bench/load.py). Spent last, nothing is held."""
    server = deskgate(gluu_idp(gluu_peer))
    seen: list[int] = []

    async def install(services: Services) -> None:
        async def meanwhile(ctx: LoginContext) -> None:  # where provisioning runs, just before the session
            pool = services.engine.sync_engine.pool
            assert isinstance(pool, QueuePool)
            seen.append(pool.checkedout())
            async with asyncio.timeout(5), services.db.begin() as other:  # another sign-in writes meanwhile
                other.add(CustomerPreferenceRow(idp="other", subject="other", updated_at=datetime.now(UTC)))

        pipeline = services.pipeline
        pipeline.steps = (*pipeline.steps[:-1], meanwhile, pipeline.steps[-1])

    server.call(install)
    with httpx.Client() as browser:
        start = browser.get(server.url + "/login", params={"next": "/account"})
        back = gluu_peer.login_over_http(browser, start.headers["location"], "demo", "demo")
        landed = browser.get(back.headers["location"])
        assert landed.status_code == 303, landed.text[:300]
        assert browser.get(server.url + "/me").json()["email"] == "demo@example.com"
    assert seen == [0]
