"""Test connection from the admin pages: a real sign-in whose claims are shown, never a customer session."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from deskgate.demo.oidc_peer import OidcPeer
from deskgate.identity.filters import FilterRules
from tests.flow.conftest import ServerFactory, gluu_idp
from tests.support.admin import continue_target, sign_in

pytestmark = pytest.mark.peer


def test_admin_test_shows_claims_mapping_and_verdict_without_a_session(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer, filters=FilterRules(allow_domains=("example.com",))))
    with httpx.Client() as admin:
        assert sign_in(admin, server.url).status_code == 303
        page = admin.get(server.url + "/admin/idps/gluu/test")
        assert page.status_code == 200
        assert "client_credentials" in page.text
        assert "the IdP accepted the client id/secret" in page.text
        start = admin.get(server.url + "/admin/idps/gluu/test/start")
        assert "prompt=login" in start.headers["location"]
        back = gluu_peer.login_over_http(admin, start.headers["location"], "alice", "alice")
        finished = admin.get(back.headers["location"])
        target = continue_target(finished)  # a page, not a redirect: the admin cookie is SameSite=Strict
        assert target.startswith("/admin/idps/gluu/test/result/")
        assert "deskgate_session" not in finished.cookies
        result = admin.get(server.url + target)
        assert admin.get(server.url + "/me").status_code == 401  # no customer session was started
    assert result.status_code == 200
    text = result.text
    assert 'id="test-outcome"' in text
    assert "alice@example.org" in text
    assert "Refused" in text  # alice is at example.org, the filter allows example.com only
    assert "allow_domains" in text
    with httpx.Client() as stranger:
        refused = stranger.get(server.url + target)
        assert refused.status_code == 303
        assert refused.headers["location"].startswith("/admin/login")


def test_wrong_client_secret_is_reported_by_the_probe_and_the_test_login(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer, client_secret=SecretStr("not-the-secret")))
    with httpx.Client() as admin:
        assert sign_in(admin, server.url).status_code == 303
        page = admin.get(server.url + "/admin/idps/gluu/test")
        assert "rejected the client id/secret" in page.text
        start = admin.get(server.url + "/admin/idps/gluu/test/start")
        back = gluu_peer.login_over_http(admin, start.headers["location"], "alice", "alice")
        finished = admin.get(back.headers["location"])
        result = admin.get(server.url + continue_target(finished))
    assert "The sign-in failed at check" in result.text
    assert "invalid_client" in result.text
