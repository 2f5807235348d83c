"""Admins who signed in to the console through an IdP lose it when that IdP is disabled, deleted or no
longer admits admins — through the console, a configuration import or the settings file alike (all go
through `Services.save_provider` / `delete_provider`). Local admins and other IdPs' admins keep theirs, and
the audit log says which sessions ended and why.
"""

from __future__ import annotations

import pytest

from deskgate.admin.sessions import ADMIN_REALM
from deskgate.identity.filters import ClaimRule
from deskgate.identity.provider import AdminAccess, ProviderConfig
from deskgate.services import Services
from tests.support.admin import console_sign_in
from tests.support.idps import provider
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio
AGENTS = AdminAccess(claim_rules=(ClaimRule(effect="allow", claim="groups", value="agents"),))


def _idp(name: str) -> ProviderConfig:
    return provider(name, admin_access=AGENTS)


async def _admin_session(services: Services, subject: str) -> str:
    session_id, _ = await services.admin_sessions.start(
        idp=ADMIN_REALM, subject=subject, email=None, display_name=subject, attributes={}
    )
    return session_id


async def _live(services: Services, *session_ids: str) -> list[bool]:
    return [await services.admin_sessions.resolve(s) is not None for s in session_ids]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ("disable", "it was disabled"),
        ("no-admins", "it no longer admits admins"),
        ("delete", "it was deleted"),
    ],
)
async def test_turning_an_idp_off_for_admins_ends_the_admin_sessions_begun_through_it(
    db_url: str, change: str, why: str
) -> None:
    corp, other = _idp("corp"), _idp("corp2")  # "corp2:" must not match a prefix of "corp:"
    async with running_app(db_url, idps=[corp, other]) as (_, services):
        through_corp = await _admin_session(services, "corp:ada@example.com")
        through_other = await _admin_session(services, "corp2:bob@example.com")
        local = await _admin_session(services, "root")
        if change == "delete":
            await services.delete_provider("corp")
        elif change == "disable":
            await services.save_provider(corp.model_copy(update={"enabled": False}))
        else:
            await services.save_provider(corp.model_copy(update={"admin_access": None}))
        assert await _live(services, through_corp, through_other, local) == [False, True, True]
        events = await services.audit.query(event="admin.session.end")
        assert [(e.idp, e.detail) for e in events] == [
            ("corp", f"1 admin session(s) signed in through corp ended: {why}")
        ]


async def test_other_changes_keep_the_admins_signed_in_and_record_nothing(db_url: str) -> None:
    corp = _idp("corp")
    async with running_app(db_url, idps=[corp]) as (_, services):
        through_corp = await _admin_session(services, "corp:ada@example.com")
        await services.save_provider(corp.model_copy(update={"title": "Corp staff"}))
        assert await _live(services, through_corp) == [True]
        assert await services.audit.query(event="admin.session.end") == []


async def test_disabling_the_idp_in_the_console_signs_out_the_admin_who_came_through_it(db_url: str) -> None:
    async with running_app(db_url, idps=[_idp("corp")]) as (client, services):
        token = await console_sign_in(client, services)
        through_corp = await _admin_session(services, "corp:ada@example.com")
        disabled = await client.post(
            "/admin/idps/corp/disable", data={"csrf_token": token, "confirm": "disable"}
        )
        assert disabled.status_code == 303
        assert await _live(services, through_corp) == [False]
        assert (await client.get("/admin/")).status_code == 200  # the local admin who did it stays
        client.cookies.set("deskgate_admin", through_corp)  # an http base URL: no __Host- prefix
        assert (await client.get("/admin/")).headers["location"].startswith("/admin/login")
