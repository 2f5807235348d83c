"""Anonymous junk cannot flood the audit log: 500 forged callbacks from one address leave the budget's rows
and one summary with the right count, while another address is still audited one by one."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from deskgate.audit_budget import BUDGET, WINDOW
from deskgate.services import CALLBACK_PATH
from tests.support.idps import provider
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio
MALLORY, ALICE = "203.0.113.7", "198.51.100.9"


async def test_500_bad_callbacks_from_one_address(db_url: str) -> None:
    async with running_app(db_url, idps=[provider("corp")], client_ip=MALLORY) as (client, services):
        for n in range(500):
            answer = await client.get(CALLBACK_PATH, params={"state": f"forged-{n}", "code": "x"})
            assert answer.status_code == 400
        assert len(await services.audit.query(limit=1000)) == BUDGET

        app = client._transport.app  # type: ignore[attr-defined]
        other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ALICE, 50001)))
        async with other:
            await other.get("http://127.0.0.1:8080" + CALLBACK_PATH, params={"state": "stale", "code": "x"})
        assert [e.client_ip for e in (await services.audit.query(limit=1))] == [ALICE]

        await services.audit.settle(datetime.now(UTC) + WINDOW)  # what housekeeping does
        from_mallory = [e for e in await services.audit.query(limit=1000) if e.client_ip == MALLORY]
    assert len(from_mallory) == BUDGET + 1
    summary = from_mallory[0].detail or ""
    assert summary.startswith(f"{500 - BUDGET} more failed sign-in callbacks from {MALLORY}"), summary
