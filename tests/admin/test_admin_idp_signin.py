"""Admin sign-in through an IdP restricted by a claim rule, and the console page that sets the rule.

The sign-ins run against the real oidc-provider (Gluu-shaped, as the flow tests use it): alice is in
the groups customers and agents, demo only in customers; the rule admits the agents group.
"""

from __future__ import annotations

import re

import httpx
import pytest
from pydantic import SecretStr

from deskgate.demo.oidc_peer import OidcPeer
from deskgate.identity.filters import ClaimRule, FilterRules
from deskgate.identity.provider import AdminAccess, ProviderConfig
from deskgate.services import CALLBACK_PATH, Services
from tests.flow.conftest import ServerFactory, deskgate, deskgate_base, deskgate_port, gluu_idp, gluu_peer
from tests.support.admin import ADMIN_USER, console_sign_in, csrf_token
from tests.support.inprocess import running_app
from tests.support.live import LiveServer

# The flow tests' provider and server factory, shared (not copied) as the browser tests do.
__all__ = ["deskgate", "deskgate_base", "deskgate_port", "gluu_peer"]

AGENTS_ONLY = AdminAccess(claim_rules=(ClaimRule(effect="allow", claim="groups", value="agents"),))
SCOPES = ("openid", "email", "profile", "groups")
ADMIN_COOKIE = "deskgate_admin"
CUSTOMER_COOKIE = "deskgate_session"


def _start(server: LiveServer, browser: httpx.Client, idp: str = "gluu") -> httpx.Response:
    page = browser.get(server.url + "/admin/login")
    return browser.post(
        server.url + f"/admin/login/idp/{idp}", data={"csrf_token": csrf_token(page.text), "next": "/admin/"}
    )


def _sign_in(server: LiveServer, peer: OidcPeer, browser: httpx.Client, user: str) -> httpx.Response:
    """The admin's whole journey: button on /admin/login → the IdP's form → back at Deskgate's callback."""
    started = _start(server, browser)
    assert started.status_code == 302, started.text
    back = peer.login_over_http(browser, started.headers["location"], user, user)
    assert back.headers["location"].startswith(server.url + CALLBACK_PATH)
    return browser.get(back.headers["location"])


async def _audit(services: Services) -> list[tuple[str, str | None, str | None, str | None]]:
    return [(e.outcome, e.idp, e.subject, e.detail) for e in await services.audit.query(event="admin.login")]


@pytest.mark.peer
def test_a_member_of_the_admin_group_gets_an_admin_session_and_no_customer_session(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer, scopes=SCOPES, admin_access=AGENTS_ONLY))
    with httpx.Client() as browser:
        assert "Sign in with Gluu" in browser.get(server.url + "/admin/login").text
        finished = _sign_in(server, gluu_peer, browser, "alice")
        assert finished.status_code == 200
        # A page of ours moves on to the console, so the SameSite=Strict cookie travels (see admin_idp_signin).
        assert 'action="/admin/"' in finished.text and re.search(
            r"/static/resubmit\.[0-9a-f]{12}\.js", finished.text
        )
        set_cookies = finished.headers.get_list("set-cookie")
        admin_cookie = next(c for c in set_cookies if c.startswith(ADMIN_COOKIE + "="))
        assert "samesite=strict" in admin_cookie.lower() and "httponly" in admin_cookie.lower()
        assert not any(c.startswith(CUSTOMER_COOKIE + "=") for c in set_cookies)
        console = browser.get(server.url + "/admin/")
        assert console.status_code == 200
        assert "gluu:alice@example.org" in console.text  # the layout shows who is signed in
        assert CUSTOMER_COOKIE not in browser.cookies
        assert browser.get(server.url + "/me").status_code == 401
    assert server.call(_audit) == [("success", "gluu", "gluu:alice@example.org", "through gluu")]


@pytest.mark.peer
def test_the_rule_alone_decides_even_when_the_customer_filters_refuse(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    customers_elsewhere = FilterRules(allow_domains=("corp.test",))  # would refuse alice as a customer
    idp = gluu_idp(gluu_peer, scopes=SCOPES, admin_access=AGENTS_ONLY, filters=customers_elsewhere)
    server = deskgate(idp)
    with httpx.Client() as browser:
        assert _sign_in(server, gluu_peer, browser, "alice").status_code == 200
        assert browser.get(server.url + "/admin/").status_code == 200


@pytest.mark.peer
def test_a_user_outside_the_admin_group_is_refused_with_the_rule_audited(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer, scopes=SCOPES, admin_access=AGENTS_ONLY))
    with httpx.Client() as browser:
        refused = _sign_in(server, gluu_peer, browser, "demo")
        assert refused.status_code == 403
        assert "may not sign in to the admin console" in refused.text
        error_id = re.search(r'class="error-id">([0-9a-f]{12,32})<', refused.text)
        assert error_id is not None
        assert 'href="/admin/login"' in refused.text
        assert ADMIN_COOKIE not in browser.cookies and CUSTOMER_COOKIE not in browser.cookies
        assert browser.get(server.url + "/admin/").status_code == 303
    events = server.call(lambda services: services.audit.query(event="admin.login"))
    assert [(e.outcome, e.idp, e.error_id) for e in events] == [("refused", "gluu", error_id.group(1))]
    assert events[0].email == "demo@example.com"
    detail = events[0].detail or ""
    assert "rule=admin_access.claim_rules" in detail and "claim 'groups' equals 'agents'" in detail


@pytest.mark.peer
def test_admin_access_removed_during_the_sign_in_refuses_it(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    idp = gluu_idp(gluu_peer, scopes=SCOPES, admin_access=AGENTS_ONLY)
    server = deskgate(idp)
    with httpx.Client() as browser:
        started = _start(server, browser)
        server.call(lambda services: services.providers.save(idp.model_copy(update={"admin_access": None})))
        back = gluu_peer.login_over_http(browser, started.headers["location"], "alice", "alice")
        refused = browser.get(back.headers["location"])
        assert refused.status_code == 403
        assert ADMIN_COOKIE not in browser.cookies
    [event] = server.call(lambda services: services.audit.query(event="admin.login"))
    assert event.outcome == "refused" and "rule=admin_access:" in (event.detail or "")


@pytest.mark.peer
def test_an_idp_without_admin_access_cannot_start_an_admin_sign_in(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer, scopes=SCOPES))
    with httpx.Client() as browser:
        assert "Sign in with" not in browser.get(server.url + "/admin/login").text
        assert _start(server, browser).status_code == 404
        assert _start(server, browser, idp="nope").status_code == 404
        assert browser.post(server.url + "/admin/login/idp/gluu", data={"csrf_token": "x"}).status_code == 403


# --- the console page that sets the rule (in-process, both databases) ----------------------------------


def _idp(**changes: object) -> ProviderConfig:
    config = ProviderConfig(
        name="corp",
        title="Corp",
        issuer="https://corp.test",
        client_id="deskgate",
        client_secret=SecretStr("s"),
    )
    return config.model_copy(update=changes)


async def _admin(client: httpx.AsyncClient, services: Services) -> str:
    return await console_sign_in(client, services, "/admin/idps/corp/admin-access")


PAGE = "/admin/idps/corp/admin-access"
RULE = {"enabled": "on", "claim": "groups", "match": "exact", "value": "deskgate-admins"}


@pytest.mark.anyio
async def test_the_admin_access_page_saves_audits_and_offers_the_button(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await services.providers.save(_idp())
        token = await _admin(client, services)
        page = await client.get(PAGE)
        assert 'for="field-claim"' in page.text and "nobody may sign in" in page.text
        saved = await client.post(PAGE, data={**RULE, "csrf_token": token})
        assert saved.status_code == 303
        access = (await services.providers.get("corp")).admin_access
        assert access == AdminAccess(
            claim_rules=(ClaimRule(effect="allow", claim="groups", value="deskgate-admins"),)
        )
        [event] = await services.audit.query(event="admin.idp.admin_access")
        assert event.subject == ADMIN_USER and event.idp == "corp"
        assert "claim 'groups' equals 'deskgate-admins'" in (event.detail or "")
        shown = await client.get(saved.headers["location"])
        assert 'id="saved"' in shown.text and 'value="deskgate-admins"' in shown.text
        await client.post("/admin/logout", data={"csrf_token": token})
        assert "Sign in with Corp" in (await client.get("/admin/login")).text


@pytest.mark.anyio
async def test_turning_admin_access_off_is_saved_and_audited(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await services.providers.save(_idp(admin_access=AGENTS_ONLY))
        token = await _admin(client, services)
        assert 'value="agents"' in (await client.get(PAGE)).text
        off = await client.post(PAGE, data={"csrf_token": token, "claim": "groups", "value": "agents"})
        assert off.status_code == 303
        assert (await services.providers.get("corp")).admin_access is None
        [event] = await services.audit.query(event="admin.idp.admin_access")
        assert "turned off" in (event.detail or "")


@pytest.mark.anyio
@pytest.mark.parametrize("token", [None, "forged-token"])
async def test_the_admin_access_page_refuses_a_missing_or_wrong_csrf_token(
    db_url: str, token: str | None
) -> None:
    async with running_app(db_url) as (client, services):
        await services.providers.save(_idp())
        await _admin(client, services)
        data = RULE if token is None else {**RULE, "csrf_token": token}
        refused = await client.post(PAGE, data=data)
        assert refused.status_code == 403
        assert (await services.providers.get("corp")).admin_access is None
        assert await services.audit.query(event="admin.idp.admin_access") == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"value": ""}, "value", "Enter the value"),
        ({"claim": "org..role"}, "claim", "is not a claim path"),
        ({"match": "regex", "value": "admins("}, "value", "invalid regular expression"),
    ],
)
async def test_bad_input_is_shown_inline_with_the_input_kept(
    db_url: str, changes: dict[str, str], field: str, message: str
) -> None:
    async with running_app(db_url) as (client, services):
        await services.providers.save(_idp())
        token = await _admin(client, services)
        form = {**RULE, **changes}
        answer = await client.post(PAGE, data={**form, "csrf_token": token})
        assert answer.status_code == 400
        assert 'role="alert"' in answer.text
        assert f'id="error-{field}"' in answer.text and message in answer.text
        assert 'aria-invalid="true"' in answer.text
        assert f'value="{form["claim"]}"' in answer.text
        assert (await services.providers.get("corp")).admin_access is None


@pytest.mark.anyio
async def test_an_unknown_idp_has_no_admin_access_page(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await services.providers.save(_idp())
        token = await _admin(client, services)
        assert (await client.get("/admin/idps/nope/admin-access")).status_code == 404
        assert (
            await client.post("/admin/idps/nope/admin-access", data={**RULE, "csrf_token": token})
        ).status_code == 404


def test_admin_access_needs_an_allow_rule_and_travels_in_the_stored_json() -> None:
    with pytest.raises(ValueError, match="at least one allow rule"):
        AdminAccess(claim_rules=(ClaimRule(effect="deny", claim="groups", value="contractors"),))
    with pytest.raises(ValueError, match="at least 1 item"):
        AdminAccess(claim_rules=())
    stored = _idp(admin_access=AGENTS_ONLY).model_dump(mode="json", exclude={"client_secret"})
    assert stored["admin_access"] == {
        "claim_rules": [{"effect": "allow", "claim": "groups", "match": "exact", "value": "agents"}]
    }
    assert ProviderConfig.model_validate({**stored, "client_secret": "s"}).admin_access == AGENTS_ONLY
