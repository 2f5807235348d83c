"""Where a sign-in came from is kept by every session store; the block list (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.sessions.blocks import SignInBlocks
from deskgate.sessions.store import SessionStore
from tests.contract.test_session_store import migrated, record, store

pytestmark = pytest.mark.anyio
__all__ = ["store"]  # the contract's fixture: memory, SQLite, PostgreSQL and Redis

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"


async def test_every_store_keeps_the_client_address_and_user_agent(store: SessionStore) -> None:
    kept = dataclasses.replace(record("a"), client_ip="2001:db8::7", user_agent=FIREFOX)
    await store.save(kept)
    loaded = await store.load(kept.id_hash)
    assert loaded is not None and (loaded.client_ip, loaded.user_agent) == ("2001:db8::7", FIREFOX)
    listed = (await store.active(now=kept.created_at, seen_after=kept.created_at.replace(year=2000))).records
    assert [(r.client_ip, r.user_agent) for r in listed] == [("2001:db8::7", FIREFOX)]
    await store.save(record("b", subject="sub-2"))  # a session from before they were kept: none
    older = await store.load(record("b").id_hash)
    assert older is not None and (older.client_ip, older.user_agent) == (None, None)


@pytest.fixture(params=["sqlite", "postgresql"])
async def blocks(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SignInBlocks]:
    sessions: async_sessionmaker[AsyncSession]
    async with migrated(request.param, tmp_path_factory) as sessions:
        yield SignInBlocks(sessions)


async def test_a_block_names_the_account_and_the_email_in_any_case(blocks: SignInBlocks) -> None:
    block = await blocks.block(
        idp="gluu", subject="s-ada", email="Ada@Corp.Test", display_name="Ada", blocked_by="admin"
    )
    assert block.email == "ada@corp.test"
    assert await blocks.find(idp="gluu", subject="s-ada", email=None) == block
    assert await blocks.find(idp="okta", subject="other", email="ADA@corp.test") == block
    assert (
        await blocks.find(idp="okta", subject="s-ada", email="bob@corp.test") is None
    )  # same subject, other IdP
    assert await blocks.find(idp="gluu", subject="s-bob", email="bob@corp.test") is None
    again = await blocks.block(idp="gluu", subject="s-ada", email=None, display_name="Ada", blocked_by="x")
    assert again == block and await blocks.count() == 1


async def test_unblocking_lifts_the_block_once(blocks: SignInBlocks) -> None:
    block = await blocks.block(idp="gluu", subject="s", email=None, display_name="S", blocked_by="admin")
    other = await blocks.block(
        idp="gluu", subject="t", email="t@x.test", display_name="T", blocked_by="admin"
    )
    assert [b.id for b in await blocks.all()] == [other.id, block.id]
    assert await blocks.unblock(block.id) == block
    assert await blocks.unblock(block.id) is None
    assert await blocks.find(idp="gluu", subject="s", email=None) is None
    assert await blocks.all() == [other]
