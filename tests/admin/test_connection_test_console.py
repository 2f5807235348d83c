"""Test connection from the console: a new window, the callback URL shown first, and failures explained.

Driven against the real oidc-provider (Gluu-shaped) as the flow tests do: the admin signs in to the
console, opens the test, signs in at the provider, and reads the result page.
"""

from __future__ import annotations

import html

import httpx
import pytest
from pydantic import SecretStr

from deskgate.demo.oidc_peer import OidcPeer
from deskgate.identity.filters import FilterRules
from deskgate.services import CALLBACK_PATH
from tests.flow.conftest import ServerFactory, deskgate, deskgate_base, deskgate_port, gluu_idp, gluu_peer
from tests.support.admin import continue_target, sign_in
from tests.support.live import LiveServer

# The flow tests' provider and server factory, shared (not copied) as the browser tests do.
__all__ = ["deskgate", "deskgate_base", "deskgate_port", "gluu_peer"]

pytestmark = pytest.mark.peer


def _run_test(server: LiveServer, peer: OidcPeer, admin: httpx.Client) -> httpx.Response:
    """What the new window does: start, sign in at the provider as alice, come back, show the result."""
    start = admin.get(server.url + "/admin/idps/gluu/test/start")
    back = peer.login_over_http(admin, start.headers["location"], "alice", "alice")
    finished = admin.get(back.headers["location"])
    return admin.get(server.url + continue_target(finished))


def test_the_test_page_names_the_callback_url_and_opens_the_sign_in_in_a_new_window(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer))
    with httpx.Client() as admin:
        assert sign_in(admin, server.url).status_code == 303
        page = admin.get(server.url + "/admin/idps/gluu/test")
    assert f'<code id="callback-url">{server.url}{CALLBACK_PATH}</code>' in page.text
    assert "never comes back" in page.text  # the warning about the IdP's own error page
    link = page.text.split('id="run-test"', 1)[1].split("</a>", 1)[0]
    assert 'target="_blank"' in link and 'rel="noopener"' in link
    assert "Sign in at Gluu to test (opens in a new window)" in link
    assert "/admin/idps/gluu/admin-access" in page.text


def test_a_wrong_client_secret_is_explained_with_its_fix_and_remembered(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer, client_secret=SecretStr("not-the-secret")))
    with httpx.Client() as admin:
        assert sign_in(admin, server.url).status_code == 303
        result = _run_test(server, gluu_peer, admin)
        again = admin.get(server.url + "/admin/idps/gluu/test")
    text = result.text
    assert 'id="diagnosis"' in text
    assert "Client secret or client authentication method rejected" in text
    assert "client_secret_post in the form body" in text  # the explanation
    assert "Copy the client secret again from the IdP" in text  # the fix
    assert "invalid_client" in text  # the IdP's own words stay visible
    latest = server.call(lambda services: services.connection_tests.latest("gluu"))
    assert latest is not None and latest["diagnosis"]["title"].startswith("Client secret")
    assert "failed: Client secret or client authentication method rejected" in again.text


def test_a_working_sign_in_without_an_email_still_warns_about_the_email_scope(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer, scopes=("openid", "profile")))
    with httpx.Client() as admin:
        assert sign_in(admin, server.url).status_code == 303
        result = _run_test(server, gluu_peer, admin)
        again = admin.get(server.url + "/admin/idps/gluu/test")
    text = result.text
    assert "The sign-in worked" in text
    assert 'id="warning-1"' in text and "No email address" in text
    assert "does not request the `email` scope" in text and "Add the `email` scope" in text
    assert 'id="id-token-claims"' in text and 'id="userinfo-claims"' in text
    assert "alice@example.org" not in text
    assert "worked" in again.text.split('id="latest-test"', 1)[1]


def test_a_filter_refusal_is_explained_next_to_the_verdict(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer, filters=FilterRules(allow_domains=("corp.test",))))
    with httpx.Client() as admin:
        assert sign_in(admin, server.url).status_code == 303
        text = html.unescape(_run_test(server, gluu_peer, admin).text)
    assert "Refused by this IdP's user filters" in text
    assert "(rule: allow_domains)" in text
    assert "No email address" not in text  # alice has one: only the refusal is worth fixing


def test_a_draft_goes_live_when_its_test_sign_in_passes(gluu_peer: OidcPeer, deskgate: ServerFactory) -> None:
    server = deskgate(gluu_idp(gluu_peer, draft=True))
    with httpx.Client() as admin, httpx.Client() as customer:
        assert sign_in(admin, server.url).status_code == 303
        before = customer.get(server.url + "/login")
        assert before.status_code == 200 and "Gluu" not in before.text  # a draft: no button, no redirect
        result = _run_test(server, gluu_peer, admin)
        after = customer.get(server.url + "/login")
    assert 'id="went-live"' in result.text
    assert after.status_code == 302 and after.headers["location"].startswith(gluu_peer.issuer)
    config = server.call(lambda services: services.providers.get("gluu"))
    assert config.live
    events = server.call(lambda services: services.audit.query(event="admin.idp.live"))
    assert [e.idp for e in events] == ["gluu"]


def test_a_draft_whose_test_gives_no_email_stays_a_draft(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer, draft=True, scopes=("openid", "profile")))
    with httpx.Client() as admin:
        assert sign_in(admin, server.url).status_code == 303
        result = _run_test(server, gluu_peer, admin)
    assert "The sign-in worked" in result.text and 'id="still-draft"' in result.text
    assert server.call(lambda services: services.providers.get("gluu")).draft


def test_a_wrong_client_secret_stops_the_test_page_before_any_sign_in(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer, client_secret=SecretStr("not-the-secret")))
    with httpx.Client() as admin:
        assert sign_in(admin, server.url).status_code == 303
        page = admin.get(server.url + "/admin/idps/gluu/test")
    assert 'id="blocked-client_credentials"' in page.text
    assert "Copy the client secret again from the IdP" in page.text
    assert 'id="run-test"' not in page.text
