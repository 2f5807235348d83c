"""Sign-in and sign-out against real OpenID providers, over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from deskgate.audit import AuditEvent
from deskgate.demo.oidc_peer import OidcPeer
from deskgate.identity.filters import FilterRules
from deskgate.services import Services
from tests.flow.browserless import csrf_token, forms, login, query
from tests.flow.conftest import GLUU_CLIENT, ServerFactory, basic_idp, gluu_idp

pytestmark = pytest.mark.peer


async def _audit(services: Services) -> list[AuditEvent]:
    return await services.audit.query(limit=50)


def test_deep_link_survives_login_and_session_is_server_side(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer))
    with httpx.Client() as browser:
        browser.cookies.set("deskgate_session", "planted-by-attacker", domain="127.0.0.1")
        landed = login(browser, gluu_peer, server.url, "/account", "demo", "demo")
        assert landed.status_code == 303
        assert landed.headers["location"] == "/account"
        cookie = landed.cookies.get("deskgate_session")
        assert cookie and cookie != "planted-by-attacker"  # rotated: never the id the browser brought
        set_cookie = landed.headers["set-cookie"].lower()
        assert "httponly" in set_cookie and "samesite=lax" in set_cookie
        page = browser.get(server.url + "/account")
        assert page.status_code == 200
        assert "demo@example.com" in page.text
        me = browser.get(server.url + "/me").json()
    assert me["email"] == "demo@example.com"
    assert me["subject"] != "demo"  # pairwise, opaque subject as at Gluu
    events = server.call(_audit)
    assert [(e.event, e.outcome, e.email) for e in events] == [("login", "success", "demo@example.com")]
    assert events[0].client_ip == "127.0.0.1"


def test_claims_only_in_userinfo_with_client_secret_basic(
    userinfo_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(basic_idp(userinfo_peer))
    with httpx.Client() as browser:
        login(browser, userinfo_peer, server.url, "/account", "alice", "alice")
        me = browser.get(server.url + "/me").json()
    assert me == {"idp": "basic", "subject": "alice", "email": "alice@example.org", "name": "Alice Liddell"}


def test_chooser_lists_idps_and_keeps_next(
    gluu_peer: OidcPeer, userinfo_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer), basic_idp(userinfo_peer))
    with httpx.Client() as browser:
        page = browser.get(server.url + "/login", params={"next": "/account?tab=1"})
        assert page.status_code == 200
        assert "/login?idp=gluu&amp;next=/account%3Ftab%3D1" in page.text
        assert "/login?idp=basic&amp;next=" in page.text
        hostile = browser.get(server.url + "/login", params={"next": "//evil.example/x", "idp": "gluu"})
        assert hostile.status_code == 302
        state = query(hostile.headers["location"])["state"]
        back = gluu_peer.login_over_http(browser, hostile.headers["location"], "demo", "demo")
        assert query(back.headers["location"])["state"] == state
        landed = browser.get(back.headers["location"])
        assert landed.headers["location"] == "/"  # the hostile next was replaced, not followed


def test_filter_refusal_shows_page_creates_nothing_and_is_audited(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer, filters=FilterRules(allow_domains=("example.com",))))
    with httpx.Client() as browser:
        refused = login(browser, gluu_peer, server.url, "/account", "mallory", "mallory")
        assert refused.status_code == 403
        assert "not allowed" in refused.text
        assert "deskgate_session" not in refused.cookies
        assert browser.get(server.url + "/me").status_code == 401
    events = server.call(_audit)
    assert [(e.event, e.outcome) for e in events] == [("login", "refused")]
    assert events[0].detail and "allow_domains" in events[0].detail
    assert events[0].error_id and events[0].error_id in refused.text
    assert events[0].email == "mallory@evil.example"


def test_state_is_single_use_and_bound_to_the_browser(gluu_peer: OidcPeer, deskgate: ServerFactory) -> None:
    server = deskgate(gluu_idp(gluu_peer))
    with httpx.Client() as victim, httpx.Client() as attacker:
        start = attacker.get(server.url + "/login")
        back = gluu_peer.login_over_http(attacker, start.headers["location"], "mallory", "mallory")
        callback_url = back.headers["location"]
        # Login CSRF: the attacker's callback URL opened in the victim's browser must not sign the victim in.
        forged = victim.get(callback_url)
        assert forged.status_code == 400
        assert "error id" in forged.text.lower()
        assert victim.get(server.url + "/me").status_code == 401
        # The refusal took nothing (tests/flow/test_login_binding.py): the sign-in is its own browser's
        # to finish, and then it is spent.
        assert attacker.get(callback_url).status_code == 303
        assert attacker.get(callback_url).status_code == 400
    events = server.call(_audit)
    assert {(e.event, e.outcome) for e in events} == {("login", "failure"), ("login", "success")}
    assert any("check=browser" in (e.detail or "") for e in events)
    assert any("check=state" in (e.detail or "") for e in events)


def test_idp_error_ends_on_error_page_with_id(gluu_peer: OidcPeer, deskgate: ServerFactory) -> None:
    server = deskgate(gluu_idp(gluu_peer))
    with httpx.Client() as browser:
        start = browser.get(server.url + "/login")
        state = query(start.headers["location"])["state"]
        page = browser.get(
            server.url + "/plugins/servlet/oauth/callback", params={"error": "access_denied", "state": state}
        )
    assert page.status_code == 400
    events = server.call(_audit)
    assert events[0].outcome == "failure" and "idp_error" in (events[0].detail or "")
    assert events[0].error_id and events[0].error_id in page.text


def test_rp_initiated_logout_ends_session_and_reaches_the_idp(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer))
    with httpx.Client() as browser:
        login(browser, gluu_peer, server.url, "/account", "demo", "demo")
        form = browser.get(server.url + "/logout")
        refused = browser.post(server.url + "/logout", data={"csrf_token": "forged"})
        assert refused.status_code == 400
        assert browser.get(server.url + "/me").status_code == 200  # a forged logout changed nothing
        out = browser.post(server.url + "/logout", data={"csrf_token": csrf_token(form.text)})
        assert out.status_code == 303
        end_session = out.headers["location"]
        assert end_session.startswith(gluu_peer.issuer + "/oxauth/restv1/end_session")
        params = query(end_session)
        assert params["post_logout_redirect_uri"] == server.url + "/logged-out"
        assert params["id_token_hint"].count(".") == 2 and params["state"]
        assert browser.get(server.url + "/me").status_code == 401
        done = gluu_peer.complete_logout_over_http(browser, end_session)
        assert done.headers["location"].startswith(server.url + "/logged-out")
    assert ("logout.rp", "success") in {(e.event, e.outcome) for e in server.call(_audit)}


def test_backchannel_logout_from_the_idp_ends_the_session(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer))
    with httpx.Client() as browser, httpx.Client() as idp_console:
        login(browser, gluu_peer, server.url, "/account", "demo", "demo")
        assert browser.get(server.url + "/me").status_code == 200
        # The user signs out at the IdP itself (another app's logout): the IdP tells Deskgate directly.
        for cookie in browser.cookies.jar:
            if cookie.port == str(gluu_peer.origin.rsplit(":", 1)[1]) or gluu_peer.origin.endswith(
                str(cookie.port)
            ):
                pass
        idp_console.cookies = browser.cookies
        done = gluu_peer.complete_logout_over_http(idp_console, gluu_peer.discovery["end_session_endpoint"])
        assert done.status_code in (200, 303)
        assert browser.get(server.url + "/me").status_code == 401
    events = server.call(_audit)
    assert ("logout.backchannel", "success") in {(e.event, e.outcome) for e in events}


def test_gluu_preset_matches_what_a_gluu_shaped_provider_publishes(gluu_peer: OidcPeer) -> None:
    config = gluu_idp(gluu_peer)
    assert config.token_endpoint_auth_method == "client_secret_post"
    assert config.scopes == ("openid", "email", "profile")
    for key in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
    ):
        assert getattr(config, key) == gluu_peer.discovery[key], key


def test_no_secret_or_token_reaches_the_logs(
    gluu_peer: OidcPeer, deskgate: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = deskgate(gluu_idp(gluu_peer))
    with httpx.Client() as browser:
        start = browser.get(server.url + "/login")
        back = gluu_peer.login_over_http(browser, start.headers["location"], "demo", "demo")
        code = query(back.headers["location"])["code"]
        landed = browser.get(back.headers["location"])
        session_cookie = landed.cookies["deskgate_session"]
        form = browser.get(server.url + "/logout")
        out = browser.post(server.url + "/logout", data={"csrf_token": csrf_token(form.text)})
        id_token = query(out.headers["location"])["id_token_hint"]
        browser.post(
            server.url + "/plugins/servlet/oauth/backchannel-logout", data={"logout_token": id_token}
        )
    # Only what Deskgate's own thread logged (the test's HTTP client logs URLs with codes, by design).
    logged = "\n".join(r.getMessage() for r in caplog.records if (r.threadName or "").startswith("deskgate-"))
    assert "audit event=login outcome=success" in logged  # the capture really saw Deskgate's logging
    for secret in (GLUU_CLIENT[1], code, session_cookie, id_token, id_token.split(".")[1]):
        assert secret not in logged


def test_form_post_response_mode_survives_samesite_lax(gluu_peer: OidcPeer, deskgate: ServerFactory) -> None:
    server = deskgate(gluu_idp(gluu_peer, response_mode="form_post"))
    with httpx.Client() as browser, httpx.Client() as cross_site:
        start = browser.get(server.url + "/login", params={"next": "/account"})
        assert query(start.headers["location"])["response_mode"] == "form_post"
        page = gluu_peer.login_over_http(browser, start.headers["location"], "demo", "demo")
        assert page.status_code == 200  # the IdP's auto-submitting form, not a redirect
        action, fields = forms(page.text)[0]
        assert action == server.url + "/plugins/servlet/oauth/callback"
        # The IdP's cross-site POST arrives without our SameSite=Lax login cookie…
        relay = cross_site.post(action, data=fields)
        assert relay.status_code == 200
        assert "deskgate_session" not in relay.cookies
        again_action, again_fields = forms(relay.text)[0]
        assert again_action == "/plugins/servlet/oauth/callback"
        assert again_fields["code"] == fields["code"]
        script = re.search(r'<script src="(/static/resubmit\.[0-9a-f]{12}\.js)"></script>', relay.text)
        assert script, "the page loads the script that posts it again"
        assert cross_site.get(server.url + script.group(1)).status_code == 200
        # …so our page posts the same fields again, same-site, and now the cookie comes along.
        landed = browser.post(server.url + again_action, data=again_fields)
        assert landed.status_code == 303
        assert landed.headers["location"] == "/account"
        assert browser.get(server.url + "/me").json()["email"] == "demo@example.com"
        # Replaying the relay without the cookie gets no session: the state is spent and bound to the browser.
        replay = cross_site.post(server.url + again_action, data=again_fields)
        assert replay.status_code == 400


def test_authorization_response_from_another_issuer_is_refused(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer))
    with httpx.Client() as browser:
        start = browser.get(server.url + "/login")
        back = gluu_peer.login_over_http(browser, start.headers["location"], "demo", "demo")
        callback = back.headers["location"]
        assert query(callback)["iss"] == gluu_peer.issuer  # RFC 9207: the provider names itself
        mixed_up = callback.replace("iss=http", "iss=https")
        refused = browser.get(mixed_up)
        assert refused.status_code == 400
        assert browser.get(server.url + "/me").status_code == 401
    events = server.call(_audit)
    assert events[0].detail is not None
    assert events[0].detail.startswith("check=iss")


def test_provider_key_rotation_is_followed(gluu_peer: OidcPeer, deskgate: ServerFactory) -> None:
    server = deskgate(gluu_idp(gluu_peer))
    with httpx.Client() as first:
        login(first, gluu_peer, server.url, "/account", "demo", "demo")
        assert first.get(server.url + "/me").status_code == 200
    new_kid = gluu_peer.rotate_keys()  # as Gluu does every 48 hours: the old key stays published a while
    with httpx.Client() as second:
        start = second.get(server.url + "/login")
        back = gluu_peer.login_over_http(second, start.headers["location"], "alice", "alice")
        landed = second.get(back.headers["location"])
        assert landed.status_code == 303, landed.text[:300]
        assert second.get(server.url + "/me").json()["email"] == "alice@example.org"
    jwks = httpx.get(gluu_peer.discovery["jwks_uri"]).json()
    assert new_kid in [key["kid"] for key in jwks["keys"]]
