"""Front-channel logout: sessions named by iss + sid end; others, and other IdPs' sessions, do not."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from deskgate.crypto import digest
from deskgate.identity.provider import ProviderConfig
from deskgate.services import Services
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio

CORP = ProviderConfig(
    name="corp",
    title="Corp",
    issuer="https://idp.corp.test",
    client_id="dg",
    client_secret=SecretStr("x" * 20),
)
OTHER = ProviderConfig(
    name="other",
    title="Other",
    issuer="https://idp.other.test",
    client_id="dg",
    client_secret=SecretStr("y" * 20),
)
FRONT = "/plugins/servlet/oauth/logout"


async def session(services: Services, idp: str, subject: str, sid: str | None) -> str:
    session_id, _ = await services.sessions.start(
        idp=idp,
        subject=subject,
        email=f"{subject}@example.com",
        display_name=subject,
        attributes={},
        idp_session_id=sid,
    )
    return session_id


async def alive(services: Services, session_id: str) -> bool:
    return await services.sessions.store.load(digest(session_id)) is not None


async def test_iss_and_sid_end_exactly_the_matching_sessions(db_url: str) -> None:
    async with running_app(db_url, idps=[CORP, OTHER], session_cache_seconds=0) as (client, services):
        target = await session(services, "corp", "alice", "sid-1")
        same_user_other_sid = await session(services, "corp", "alice", "sid-2")
        other_idp_same_sid = await session(services, "other", "bob", "sid-1")
        response = await client.get(FRONT, params={"iss": "https://idp.corp.test", "sid": "sid-1"})
        assert response.status_code == 200
        assert not await alive(services, target)
        assert await alive(services, same_user_other_sid)
        assert await alive(services, other_idp_same_sid)
        events = await services.audit.query(event="logout.frontchannel")
    assert [(e.idp, e.subject) for e in events] == [("corp", "alice")]


async def test_wrong_issuer_ends_nothing(db_url: str) -> None:
    async with running_app(db_url, idps=[CORP], session_cache_seconds=0) as (client, services):
        kept = await session(services, "corp", "alice", "sid-1")
        response = await client.get(FRONT, params={"iss": "https://evil.test", "sid": "sid-1"})
        assert response.status_code == 200
        assert await alive(services, kept)


async def test_without_sid_the_cookie_session_ends_when_the_browser_sends_it(db_url: str) -> None:
    async with running_app(db_url, idps=[CORP], session_cache_seconds=0) as (client, services):
        mine = await session(services, "corp", "alice", None)
        other = await session(services, "corp", "bob", None)
        client.cookies.set("deskgate_session", mine)
        response = await client.get(FRONT)
        assert response.status_code == 200
        assert not await alive(services, mine)
        assert await alive(services, other)
        assert 'deskgate_session=""' in response.headers["set-cookie"]


async def test_lemonldap_style_sid_is_the_user_id(db_url: str) -> None:
    # LemonLDAP::NG 2.16 puts no sid in its ID tokens and sends the user id as the front-channel sid.
    async with running_app(db_url, idps=[CORP], session_cache_seconds=0) as (client, services):
        target = await session(services, "corp", "dwho", None)
        await client.get(FRONT, params={"iss": "https://idp.corp.test", "sid": "dwho"})
        assert not await alive(services, target)


async def test_subject_as_sid_never_ends_a_session_that_has_a_real_sid(db_url: str) -> None:
    async with running_app(db_url, idps=[CORP], session_cache_seconds=0) as (client, services):
        protected = await session(services, "corp", "alice", "opaque-sid")
        await client.get(FRONT, params={"iss": "https://idp.corp.test", "sid": "alice"})
        assert await alive(services, protected)
