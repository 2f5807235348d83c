"""A real sign-in through the test IdP moves the sign-in counter and the callback histogram of its IdP, and
adds a session; a forged callback counts as a failure, and its audit line carries the request id."""

from __future__ import annotations

import io
import logging

import httpx
import pytest

from deskgate.demo.oidc_peer import OidcPeer
from deskgate.observability.logs import JsonFormatter, RequestIdFilter
from deskgate.services import CALLBACK_PATH
from tests.flow.browserless import login
from tests.flow.conftest import ServerFactory, gluu_idp
from tests.support.metrics import BEARER, TOKEN, sample

pytestmark = pytest.mark.peer


def scrape(browser: httpx.Client, url: str) -> str:
    answer = browser.get(url + "/metrics", headers=BEARER)
    assert answer.status_code == 200, answer.text
    return answer.text


def test_a_sign_in_and_a_forged_callback_are_counted(gluu_peer: OidcPeer, deskgate: ServerFactory) -> None:
    server = deskgate(gluu_idp(gluu_peer), metrics_token=TOKEN)
    with httpx.Client() as browser:
        before = scrape(browser, server.url)
        landed = login(browser, gluu_peer, server.url, "/account", "demo", "demo")
        assert landed.status_code == 303
        after = scrape(browser, server.url)
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RequestIdFilter())
        audit_log = logging.getLogger("deskgate.audit")
        audit_log.addHandler(handler)
        audit_log.setLevel(logging.INFO)
        try:
            forged = browser.get(
                server.url + CALLBACK_PATH + "?state=forged&code=x",
                headers={"X-Request-Id": "forged-0000000001"},
            )
        finally:
            audit_log.removeHandler(handler)
            audit_log.setLevel(logging.NOTSET)
        last = scrape(browser, server.url)
    assert forged.status_code == 400 and forged.headers["x-request-id"] == "forged-0000000001"
    assert '"request_id": "forged-0000000001"' in stream.getvalue()
    assert "audit event=login outcome=failure" in stream.getvalue()

    def grew(old: str, new: str, name: str, **labels: str) -> float:
        return sample(new, name, **labels) - sample(old, name, **labels)

    assert grew(before, after, "deskgate_sign_ins_total", idp="gluu", outcome="success") == 1
    assert grew(before, after, "deskgate_sign_in_callback_seconds_count", idp="gluu") == 1
    assert grew(before, after, "deskgate_sign_in_callback_seconds_sum", idp="gluu") > 0
    assert grew(before, after, "deskgate_sessions_active") == 1
    assert grew(after, last, "deskgate_sign_ins_total", idp="none", outcome="failure") == 1
    assert grew(after, last, "deskgate_sign_ins_total", idp="gluu", outcome="success") == 0
    assert grew(after, last, "deskgate_sign_in_callback_seconds_count", idp="none") == 1
