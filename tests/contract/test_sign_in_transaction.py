"""A sign-in's one transaction (SQLite and PostgreSQL): the session and its audit record are committed
together or not at all, and the blocks are asked twice — early from the worker's cached list, last inside
that transaction — so that a block made by another worker refuses the very next sign-in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.audit import AuditEvent, AuditLog
from deskgate.crypto import SecretBox
from deskgate.errors import LoginDenied
from deskgate.identity.claims import Claims
from deskgate.identity.provider import ProviderConfig
from deskgate.login.pipeline import BLOCKED, LoginContext, LoginPipeline
from deskgate.sessions.blocks import SignInBlocks
from deskgate.sessions.service import Sessions
from deskgate.sessions.store import SqlSessionStore
from deskgate.store.models import AuditEventRow, CustomerPreferenceRow, SessionRow
from tests.contract.test_session_store import migrated

pytestmark = pytest.mark.anyio
CORP = ProviderConfig(
    name="corp",
    title="Corp",
    issuer="https://idp.corp.test",
    client_id="dg",
    client_secret=SecretStr("x" * 20),
)
CACHE_SECONDS = 5.0


class Boom(Exception):
    """What a failing step (provisioning, say) raises in these tests."""


@dataclass
class Worker:
    """One worker's view: its own block cache (with a clock the test moves), pipeline and audit log."""

    db: async_sessionmaker[AsyncSession]
    steps_run: list[str] = field(default_factory=list)
    fail_in_step: bool = False
    now: list[float] = field(default_factory=lambda: [1000.0])
    write_meanwhile: bool = False  # the step notes the pooled connections out, then writes elsewhere
    connections_in_step: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.blocks = SignInBlocks(self.db, cache_seconds=CACHE_SECONDS, monotonic=lambda: self.now[0])
        self.sessions = Sessions(
            SqlSessionStore(self.db, SecretBox("k" * 48)),
            idle=timedelta(hours=1),
            absolute=timedelta(hours=8),
        )
        self.audit = AuditLog(self.db)
        self.pipeline = LoginPipeline(self.sessions, extra_steps=[self._provision], blocks=self.blocks)

    async def _provision(self, ctx: LoginContext) -> None:
        self.steps_run.append(ctx.claims.subject)
        if self.write_meanwhile:
            self.connections_in_step.append(self.db.kw["bind"].sync_engine.pool.checkedout())
            # While provisioning waits on JSM (100 ms a call or more), other sign-ins write: none may
            # wait for this one's connection or, on SQLite, its write lock.
            async with asyncio.timeout(2), self.db.begin() as other:
                other.add(
                    CustomerPreferenceRow(
                        idp="corp", subject=f"meanwhile-{ctx.claims.subject}", updated_at=datetime.now(UTC)
                    )
                )
        if self.fail_in_step:
            raise Boom("JSM refused the customer")

    async def sign_in(
        self,
        subject: str,
        email: str,
        *,
        fail_after: bool = False,
        before_commit: Callable[[], Awaitable[None]] | None = None,
    ) -> LoginContext:
        """As the callback does it: the pipeline and the audit record in one transaction."""
        claims = Claims(idp="corp", issuer=CORP.issuer or "", subject=subject, raw={"email": email})
        async with self.db.begin() as db:
            ctx = await self.pipeline.run(LoginContext(CORP, claims, None, db=db))
            assert ctx.session is not None
            await self.audit.stage(
                db, AuditEvent(event="login", outcome="success", idp="corp", subject=subject)
            )
            if fail_after:
                raise Boom("the commit never happens")
            if before_commit is not None:
                await before_commit()
        return ctx


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(request.param, tmp_path_factory) as sessions:
        yield sessions


async def _rows(db: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """(sessions, audit records) in the database."""
    async with db() as session:
        sessions = await session.scalar(select(func.count()).select_from(SessionRow))
        audited = await session.scalar(select(func.count()).select_from(AuditEventRow))
    return int(sessions or 0), int(audited or 0)


async def test_the_session_and_its_audit_record_are_committed_together(
    database: async_sessionmaker[AsyncSession],
) -> None:
    worker = Worker(database)
    ctx = await worker.sign_in("ada", "ada@corp.test")
    assert ctx.session_id and ctx.session is not None
    assert await _rows(database) == (1, 1)
    # Another worker (nothing cached) finds the session: it was committed, not only remembered.
    other = Worker(database)
    found = await other.sessions.resolve(ctx.session_id)
    assert found is not None and found.subject == "ada"
    (audited,) = await worker.audit.query(event="login")
    assert (audited.outcome, audited.subject) == ("success", "ada")


async def test_the_sign_in_takes_no_connection_while_its_steps_call_jsm(
    database: async_sessionmaker[AsyncSession],
) -> None:
    """Under load (bench/load.py), a sign-in that held its pooled connection through provisioning drained
    the pools: 43 of 500 customers failed at the callback. The transaction's first statement comes after
    the steps."""
    worker = Worker(database, write_meanwhile=True)
    ctx = await worker.sign_in("ada", "ada@corp.test")
    assert worker.connections_in_step == [0]
    assert ctx.session is not None and await _rows(database) == (1, 1)
    async with database() as session:
        assert await session.get(CustomerPreferenceRow, ("corp", "meanwhile-ada")) is not None


async def test_a_sign_in_that_fails_anywhere_leaves_neither_session_nor_audit_record(
    database: async_sessionmaker[AsyncSession],
) -> None:
    worker = Worker(database, fail_in_step=True)
    with pytest.raises(Boom):  # provisioning fails: before the session
        await worker.sign_in("ada", "ada@corp.test")
    assert await _rows(database) == (0, 0)
    worker.fail_in_step = False
    with pytest.raises(Boom):  # after the session and the audit record were added, before the commit
        await worker.sign_in("ada", "ada@corp.test", fail_after=True)
    assert await _rows(database) == (0, 0)


async def test_a_block_made_by_another_worker_refuses_the_next_sign_in_at_once(
    database: async_sessionmaker[AsyncSession],
) -> None:
    this, other = Worker(database), Worker(database)
    await this.sign_in("ada", "ada@corp.test")  # this worker's cache now holds the (empty) block list
    assert await _rows(database) == (1, 1)
    await other.blocks.block(
        idp="corp", subject="ada", email="ADA@corp.test", display_name="Ada", blocked_by="admin"
    )
    with pytest.raises(LoginDenied) as refused:
        await this.sign_in("ada", "ada@corp.test")
    assert refused.value.rule == BLOCKED
    # Refused by the last check, in the transaction: the early one read the cache, so provisioning ran
    # (the documented bound), but no session and no audit record of a success were written.
    assert this.steps_run == ["ada", "ada"] and await _rows(database) == (1, 1)
    # By email, through another account: the same.
    with pytest.raises(LoginDenied):
        await this.sign_in("ada-2", "ada@corp.test")
    assert await _rows(database) == (1, 1)
    # Once the cache is older than its bound, the early check refuses, before anything is provisioned.
    this.now[0] += CACHE_SECONDS
    with pytest.raises(LoginDenied):
        await this.sign_in("ada", "ada@corp.test")
    assert this.steps_run == ["ada", "ada", "ada-2"]


async def test_a_block_or_unblock_made_in_this_worker_reaches_its_early_check_at_once(
    database: async_sessionmaker[AsyncSession],
) -> None:
    worker = Worker(database)
    await worker.sign_in("bob", "bob@corp.test")
    block = await worker.blocks.block(
        idp="corp", subject="bob", email=None, display_name="Bob", blocked_by="admin"
    )
    with pytest.raises(LoginDenied):
        await worker.sign_in("bob", "bob@corp.test")
    assert worker.steps_run == ["bob"]  # refused before provisioning
    assert await worker.blocks.unblock(block.id) == block
    await worker.sign_in("bob", "bob@corp.test")
    assert worker.steps_run == ["bob", "bob"] and await _rows(database) == (2, 2)


async def test_unblocking_elsewhere_is_seen_within_the_bound(
    database: async_sessionmaker[AsyncSession],
) -> None:
    this, other = Worker(database), Worker(database)
    block = await other.blocks.block(
        idp="corp", subject="cy", email="cy@corp.test", display_name="Cy", blocked_by="admin"
    )
    with pytest.raises(LoginDenied):
        await this.sign_in("cy", "cy@corp.test")
    await other.blocks.unblock(block.id)
    with pytest.raises(LoginDenied):  # this worker's copy still has the block: refused early
        await this.sign_in("cy", "cy@corp.test")
    this.now[0] += CACHE_SECONDS
    await this.sign_in("cy", "cy@corp.test")
    assert await _rows(database) == (1, 1)


async def test_without_a_transaction_each_step_writes_and_blocks_are_asked_fresh(
    database: async_sessionmaker[AsyncSession],
) -> None:
    """The SAML assertion consumer runs the pipeline without one: nothing cached, each write its own."""
    this, other = Worker(database), Worker(database)
    claims = Claims(idp="corp", issuer="x", subject="dee", raw={"email": "dee@corp.test"})
    ctx = await this.pipeline.run(LoginContext(CORP, claims, None))
    assert ctx.session is not None and await _rows(database) == (1, 0)
    await other.blocks.block(idp="corp", subject="dee", email=None, display_name="Dee", blocked_by="admin")
    with pytest.raises(LoginDenied):
        await this.pipeline.run(LoginContext(CORP, claims, None))
    assert this.steps_run == ["dee"]  # refused before provisioning, without waiting for any cache


async def test_staging_an_anonymous_failure_is_refused(database: async_sessionmaker[AsyncSession]) -> None:
    """Those are counted by the audit budget, which `record` applies: `stage` must not bypass it."""
    worker = Worker(database)
    async with database() as db:
        with pytest.raises(ValueError, match="budget"):
            await worker.audit.stage(db, AuditEvent(event="login", outcome="failure"))


async def test_a_block_made_during_a_sign_in_is_seen_by_it_or_ends_its_session(
    database: async_sessionmaker[AsyncSession],
) -> None:
    """The admin blocks (block committed, then the user's sessions ended) while a sign-in has passed its
    last look at the blocks but not yet committed. Without turns taken, the block commits at once, the
    ending finds no session, and the sign-in then commits one: a blocked user signed in."""
    signing_in, admin = Worker(database), Worker(database)
    checked = asyncio.Event()
    order: list[str] = []

    async def pause() -> None:
        checked.set()
        await asyncio.sleep(0.3)  # the admin blocks meanwhile (or waits for this sign-in's turn to end)
        order.append("sign-in commits")

    async def block_and_end() -> list[str]:
        await checked.wait()
        await admin.blocks.block(
            idp="corp", subject="eve", email="eve@corp.test", display_name="Eve", blocked_by="admin"
        )
        order.append("block committed")
        return [r.id_hash for r in await admin.sessions.end_matching(idp="corp", subject="eve")]

    ctx, ended = await asyncio.gather(
        signing_in.sign_in("eve", "eve@corp.test", before_commit=pause), block_and_end()
    )
    assert order == ["sign-in commits", "block committed"]  # the block waited for the sign-in's turn
    assert ctx.session is not None and ended == [ctx.session.id_hash]  # and its ending found the session
    assert await Worker(database).sessions.resolve(ctx.session_id or "") is None
    with pytest.raises(LoginDenied) as refused:  # and the next sign-in is refused
        await signing_in.sign_in("eve", "eve@corp.test")
    assert refused.value.rule == BLOCKED


async def test_on_sqlite_the_sign_in_writes_its_session_before_its_last_look_at_the_blocks(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """SQLite's single writer orders a sign-in and a block only from the sign-in's first write: a look at
    the blocks before it could miss a block committed between the look and the write."""
    async with migrated("sqlite", tmp_path_factory) as database:
        worker = Worker(database)
        await worker.sign_in("warm", "warm@corp.test")  # the blocks' cache loaded: only the last look left
        statements: list[str] = []

        @event.listens_for(database.kw["bind"].sync_engine, "before_cursor_execute")
        def _seen(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
            statements.append(statement.split()[0] + " " + _table(statement))

        await worker.sign_in("ada", "ada@corp.test")
    assert statements[:2] == ["INSERT sessions", "SELECT sign_in_blocks"], statements


def _table(statement: str) -> str:
    words = statement.split()
    for keyword in ("INTO", "FROM"):
        if keyword in words:
            return words[words.index(keyword) + 1]
    return "?"
