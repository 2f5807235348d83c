"""Before the first admin: /admin says where the setup link is and how else to make an admin; a dead setup
link says why it is dead (used, expired, never issued)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import update

from deskgate.identity.filters import ClaimRule
from deskgate.identity.provider import AdminAccess, ProviderConfig
from deskgate.store.models import AdminSetupTokenRow
from tests.support.admin import create_admin, csrf_token
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio


async def test_before_any_admin_the_console_says_where_the_link_is(db_url: str) -> None:
    async with running_app(db_url) as (client, _):
        page = await client.get("/admin/login")
    assert page.status_code == 200
    assert 'data-state="waiting"' in page.text
    assert "No admin account exists yet." in page.text  # the start of the log line
    assert "deskgate admin create NAME" in page.text


async def test_once_an_admin_exists_or_an_idp_admits_admins_the_notice_goes(db_url: str) -> None:
    rule = ClaimRule(effect="allow", claim="groups", match="exact", value="admins")
    idp = ProviderConfig(
        name="corp",
        title="Corp",
        issuer="https://idp.corp.test",
        client_id="deskgate",
        client_secret=SecretStr("s3cret-0123456789"),
        admin_access=AdminAccess(claim_rules=(rule,)),
    )
    async with running_app(db_url, idps=[idp]) as (client, services):
        assert 'data-state="waiting"' not in (await client.get("/admin/login")).text
        await services.providers.delete("corp")
        assert 'data-state="waiting"' in (await client.get("/admin/login")).text
        await create_admin(services)
        assert 'data-state="waiting"' not in (await client.get("/admin/login")).text


async def test_a_dead_link_says_why(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="deskgate"):
        async with running_app(db_url) as (client, services):
            found = re.search(r"http://127\.0\.0\.1:8080(/admin/setup/\S+?)\s", caplog.text + " ")
            assert found
            link = found.group(1)
            unknown = await client.get("/admin/setup/never-issued")
            assert unknown.status_code == 404 and "This setup link is not valid" in unknown.text

            page = await client.get(link)
            assert page.status_code == 200 and 'id="create-admin"' in page.text
            past = datetime.now(UTC) - timedelta(minutes=1)
            async with services.db() as db, db.begin():
                await db.execute(update(AdminSetupTokenRow).values(expires_at=past))
            expired = await client.get(link)
            assert expired.status_code == 404 and "This setup link has expired" in expired.text
            assert "deskgate admin create NAME" in expired.text

            async with services.db() as db, db.begin():
                await db.execute(update(AdminSetupTokenRow).values(expires_at=past + timedelta(hours=1)))
            form = await client.get(link)
            data = {"csrf_token": csrf_token(form.text), "username": "root", "password": "p" * 16}
            created = await client.post(link, data=data | {"password_again": "p" * 16})
            assert created.status_code == 303
            used = await client.get(link)
            assert used.status_code == 404 and "This setup link was already used" in used.text
            # Posting it again says so too, and makes no second admin.
            token = csrf_token((await client.get("/admin/")).text)
            again = await client.post(
                link, data={**data, "csrf_token": token, "username": "eve", "password_again": "p" * 16}
            )
            assert again.status_code == 404 and "already used" in again.text
            assert [a.username for a in await services.admins.list()] == ["root"]
