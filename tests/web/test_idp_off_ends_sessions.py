"""Turning an IdP off ends the customer sessions it vouched for, on every path that can: the console's
disable and delete buttons, a configuration import, the settings file at start. Another IdP's customers
stay signed in, and a session refused while its IdP is off (before its ending reached this worker) is
refused everywhere, /me and /account included.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis.asyncio as aioredis

from deskgate.config_io import export_config, import_config
from deskgate.crypto import SecretBox, digest
from deskgate.identity.provider import ProviderConfig
from deskgate.services import Services
from deskgate.sessions.redis_store import RedisSessionStore
from deskgate.sessions.store import SessionRecord
from tests.support.admin import ADMIN_USER, console_sign_in
from tests.support.idps import provider
from tests.support.inprocess import running_app
from tests.support.redis import REDIS_URL, redis_prefix

pytestmark = pytest.mark.anyio
COOKIE = "deskgate_session"


def _idp(name: str, *, enabled: bool = True) -> ProviderConfig:
    return provider(name, enabled=enabled)


async def _customer(services: Services, idp: str, subject: str) -> str:
    """A customer signed in through `idp`: the session the login pipeline would start."""
    session_id, _ = await services.sessions.start(
        idp=idp, subject=subject, email=f"{subject}@example.com", display_name=subject, attributes={}
    )
    return session_id


async def _get(
    client: httpx.AsyncClient, session_id: str, path: str, *, method: str = "GET"
) -> httpx.Response:
    client.cookies.set(COOKIE, session_id)
    try:
        return await client.request(method, path)
    finally:
        client.cookies.delete(COOKIE)


async def _signed_in(client: httpx.AsyncClient, session_id: str) -> bool:
    """What /me says (its GET is answered beneath the router); /account must agree."""
    me = (await _get(client, session_id, "/me")).status_code
    account = await _get(client, session_id, "/account")
    assert me in (200, 401)
    assert (account.status_code == 200) == (me == 200), (me, account.status_code)
    if me == 401:
        assert account.headers["location"] == "/login?next=%2Faccount"
    return me == 200


async def _stored(services: Services, session_id: str) -> bool:
    return await services.sessions.store.load(digest(session_id)) is not None


async def _admin(client: httpx.AsyncClient, services: Services) -> str:
    return await console_sign_in(client, services)


async def _details(services: Services, event: str) -> list[str | None]:
    return [e.detail for e in await services.audit.query(event=event)]


async def test_disabling_an_idp_in_the_console_ends_its_sessions_for_good(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        for name in ("corp", "partner"):
            await services.providers.save(_idp(name))
        x_first, x_second = await _customer(services, "corp", "ada"), await _customer(services, "corp", "bob")
        y = await _customer(services, "partner", "grace")
        token = await _admin(client, services)
        assert await _signed_in(client, x_first) and await _signed_in(client, y)  # now cached here too

        disabled = await client.post(
            "/admin/idps/corp/disable", data={"csrf_token": token, "confirm": "disable"}
        )
        assert disabled.status_code == 303
        assert not await _signed_in(client, x_first) and not await _signed_in(client, x_second)
        portal = await _get(client, x_first, "/portal")
        assert portal.status_code == 303 and portal.headers["location"] == "/login?next=%2Fportal"
        assert not await _stored(services, x_first) and not await _stored(services, x_second)  # ended
        assert await _signed_in(client, y)
        assert await _details(services, "admin.idp.disable") == [
            f"disabled; 2 customer sessions ended by {ADMIN_USER}"
        ]

        enabled = await client.post("/admin/idps/corp/enable", data={"csrf_token": token})
        assert enabled.status_code == 303
        assert not await _signed_in(client, x_first)  # turning it on again revives nothing
        assert await _signed_in(client, y)
        assert await _details(services, "admin.idp.enable") == [f"enabled by {ADMIN_USER}"]


async def test_deleting_an_idp_in_the_console_ends_its_sessions(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        for name in ("corp", "partner"):
            await services.providers.save(_idp(name))
        x, y = await _customer(services, "corp", "ada"), await _customer(services, "partner", "grace")
        token = await _admin(client, services)
        assert await _signed_in(client, x)  # cached in this worker: the ending must forget it

        deleted = await client.post(
            "/admin/idps/corp/delete", data={"csrf_token": token, "confirm": "delete"}
        )
        assert deleted.status_code == 303
        assert not await _signed_in(client, x) and not await _stored(services, x)
        assert await _signed_in(client, y)
        assert await _details(services, "admin.idp.delete") == [
            f"deleted; 1 customer session ended by {ADMIN_USER}"
        ]
        gone = await client.post("/admin/idps/corp/delete", data={"csrf_token": token, "confirm": "delete"})
        assert gone.status_code == 404
        assert await _signed_in(client, y)


async def test_an_import_ends_the_sessions_of_the_idps_it_drops_or_disables(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        for name in ("corp", "partner", "vendor"):
            await services.providers.save(_idp(name))
        x, y = await _customer(services, "corp", "ada"), await _customer(services, "partner", "grace")
        z = await _customer(services, "vendor", "alan")
        document = await export_config(services, include_secrets=True)
        document["idps"] = [entry for entry in document["idps"] if entry["name"] != "corp"]

        merged = await import_config(services, document)  # merge: corp stays, nothing changes
        assert merged.sessions_ended == 0 and await _signed_in(client, x)

        replaced = await import_config(services, document, replace=True)
        assert replaced.deleted == ["corp"] and replaced.sessions_ended == 1
        assert not await _signed_in(client, x) and not await _stored(services, x)
        assert await _signed_in(client, y) and await _signed_in(client, z)

        for entry in document["idps"]:
            entry["enabled"] = entry["name"] != "vendor"
        disabling = await import_config(services, document)
        # Only vendor changes (partner stays on, as stored): the report says so.
        assert disabling.updated == ["vendor"] and disabling.unchanged == ["partner"]
        assert disabling.sessions_ended == 1
        assert not await _stored(services, z) and await _signed_in(client, y)


async def test_the_settings_file_disabling_an_idp_ends_its_sessions_at_start(db_url: str) -> None:
    async with running_app(db_url, idps=[_idp("corp"), _idp("partner")]) as (client, services):
        x, y = await _customer(services, "corp", "ada"), await _customer(services, "partner", "grace")
    async with running_app(db_url, idps=[_idp("corp", enabled=False), _idp("partner")]) as (
        client,
        services,
    ):
        assert not await _stored(services, x)
        assert await _signed_in(client, y)
        await services.providers.save(_idp("corp"))  # on again, in the console
        assert not await _signed_in(client, x)


async def test_a_session_is_refused_while_its_idp_is_off_even_before_it_ends(db_url: str) -> None:
    """What the ending cannot reach at once: another worker's cache, or a sign-in that finishes just after
    the IdP was turned off. Refused, not ended: the IdP may be on again before this worker knows."""
    async with running_app(db_url) as (client, services):
        await services.providers.save(_idp("corp"))
        x = await _customer(services, "corp", "ada")
        assert await _signed_in(client, x)
        await services.providers.save(_idp("corp", enabled=False))  # the registry alone: nothing ended
        assert not await _signed_in(client, x)
        assert (await _get(client, x, "/me", method="HEAD")).status_code == 401  # the router's /me
        portal = await _get(client, x, "/portal/requests")
        assert portal.status_code == 303 and portal.headers["location"].startswith("/login?")
        assert await _stored(services, x)
        await services.providers.save(_idp("corp"))
        assert await _signed_in(client, x)


async def test_ending_a_whole_idp_in_redis_leaves_nothing_behind() -> None:
    now = datetime.now(UTC).replace(microsecond=0)

    def record(name: str, idp: str, sid: str | None) -> SessionRecord:
        return SessionRecord(
            id_hash=digest(name),
            idp=idp,
            subject=f"s-{name}",
            email=None,
            display_name=name,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=1),
            idp_session_id=sid,
        )

    async with redis_prefix() as prefix:
        store = RedisSessionStore.from_url(REDIS_URL, SecretBox("k" * 40), prefix=prefix)
        raw = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
        try:
            mine = [record("a", "corp", "sid-a"), record("b", "corp", None)]
            other = record("c", "partner", "sid-a")
            for r in (*mine, other):
                await store.save(r)
            assert sorted(r.id_hash for r in await store.delete_idp("corp")) == sorted(
                r.id_hash for r in mine
            )
            assert await store.delete_matching(idp="partner") == []  # no criterion: still nothing
            assert await store.load(other.id_hash) == other
            assert [r.id_hash for r in await store.delete_idp("partner")] == [other.id_hash]
            left = [key async for key in raw.scan_iter(match=prefix + "*")]
        finally:
            await raw.aclose()
            await store.aclose()
    assert left == []
