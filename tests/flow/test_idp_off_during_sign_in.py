"""An IdP turned off while a customer is signing in there: the callback refuses, so that no session of it
starts after its sessions were ended (against a real OpenID provider, on SQLite and PostgreSQL)."""

from __future__ import annotations

import httpx
import pytest

from deskgate.audit import AuditEvent
from deskgate.demo.oidc_peer import OidcPeer
from deskgate.services import Services
from tests.flow.conftest import ServerFactory, gluu_idp

pytestmark = pytest.mark.peer


async def _audit(services: Services) -> list[AuditEvent]:
    return await services.audit.query(event="login")


def test_a_sign_in_finishing_after_its_idp_was_turned_off_starts_no_session(
    gluu_peer: OidcPeer, deskgate: ServerFactory
) -> None:
    server = deskgate(gluu_idp(gluu_peer))
    with httpx.Client() as browser:
        start = browser.get(server.url + "/login")
        assert start.status_code == 302
        ended = server.call(lambda s: s.save_provider(gluu_idp(gluu_peer, enabled=False)))
        assert ended == 0
        back = gluu_peer.login_over_http(browser, start.headers["location"], "demo", "demo")
        refused = browser.get(back.headers["location"])
        assert refused.status_code == 403
        assert "deskgate_session" not in refused.cookies
        assert browser.get(server.url + "/me").status_code == 401
        server.call(lambda s: s.save_provider(gluu_idp(gluu_peer)))
        assert browser.get(server.url + "/me").status_code == 401  # nothing to revive either
    events = server.call(_audit)
    assert [(e.event, e.outcome) for e in events] == [("login", "refused")]
    assert events[0].detail and events[0].detail.startswith("rule=idp_disabled")
    assert events[0].error_id and events[0].error_id in refused.text
