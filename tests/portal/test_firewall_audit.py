"""A request the JSM firewall refuses is a security event: the running app audits it (`jsm.firewall`)."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from deskgate.audit import AuditFilter
from deskgate.jsm.emulator import create_emulator
from deskgate.jsm.endpoints import IssueRef, ServiceDeskApi
from deskgate.jsm.firewall import JsmRefused
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio
SITE = "https://jsm.test"


async def test_a_refused_request_is_audited_and_never_reaches_jsm(db_url: str) -> None:
    jsm = create_emulator("cloud")
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=jsm)) as jsm_http,
        running_app(db_url, idp_http=jsm_http, jsm=jsm.connection(SITE)) as (_, services),
    ):
        client = await services.jsm_client()
        jsm.calls.clear()
        forged = replace(
            ServiceDeskApi.request(issue=IssueRef("ITH-1")),
            path="/rest/servicedeskapi/request/ITH-1/../../servicedesk",
        )
        with pytest.raises(JsmRefused):
            await client.transport.send(forged)
        assert jsm.calls == []
        (event,) = await services.audit.search(AuditFilter(event="jsm.firewall"))
        assert event.outcome == "refused"
        assert "get request" in (event.detail or "") and "does not fit its template" in (event.detail or "")
