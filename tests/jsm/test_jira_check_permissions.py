"""`deskgate jira check` (and the console's check) names the permissions the contract requires of the
service account, Cloud and Data Center: the Jira Administrator global permission to create customers, each
desk's service desk administrator role to add customers to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from deskgate.jsm.emulator import EmulatorApp, create_emulator
from deskgate.portal.jira_setup import Check, check_connection

pytestmark = pytest.mark.anyio
SITE = "https://jsm.test"


@pytest.fixture(params=["cloud", "datacenter"])
async def emulator(request: pytest.FixtureRequest) -> AsyncIterator[tuple[EmulatorApp, httpx.AsyncClient]]:
    app = create_emulator(request.param)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        yield app, http


async def checks(emulator: tuple[EmulatorApp, httpx.AsyncClient]) -> dict[str, Check]:
    app, http = emulator
    return {c.name: c for c in await check_connection(http, app.connection(SITE))}


async def test_a_fully_permitted_account_passes_every_check(
    emulator: tuple[EmulatorApp, httpx.AsyncClient],
) -> None:
    found = await checks(emulator)
    assert all(c.ok is True for c in found.values()), found
    assert "Jira Administrator global permission" in found["create customers"].detail
    assert {"add customers: ITH", "add customers: HRS", "add customers: FAC"} <= set(found)


async def test_a_missing_jira_administrator_permission_fails_create_customers(
    emulator: tuple[EmulatorApp, httpx.AsyncClient],
) -> None:
    emulator[0].roles.update({"jira_administrator": False, "admin_of": ["1"]})
    found = await checks(emulator)
    create = found["create customers"]
    assert create.ok is False and "lacks the Jira Administrator global permission" in create.detail
    assert "Global permissions" in create.detail
    assert found["add customers: ITH"].ok is True
    for key in ("HRS", "FAC"):
        added = found[f"add customers: {key}"]
        assert added.ok is False and "service desk administrator role" in added.detail


async def test_an_account_that_is_no_agent_may_not_raise_on_behalf(
    emulator: tuple[EmulatorApp, httpx.AsyncClient],
) -> None:
    emulator[0].roles.update({"agent_of": ["2"]})
    found = await checks(emulator)
    assert found["raise on behalf: ITH"].ok is False and found["raise on behalf: HRS"].ok is True
