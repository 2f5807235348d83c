"""Users an admin blocked: refused at their next sign-ins until an admin unblocks them.

A block names the user twice: by IdP and subject (the account the admin saw), and by email, so that the
same person signing in through a second IdP with the same address is refused too. Emails are compared in
lower case. Blocking ends the user's sessions as well (`deskgate.web.admin_blocks`); this module only keeps
the list and answers "is this sign-in blocked?" for the login pipeline.

The pipeline asks twice. Early, before the filters and before anything is provisioned in JSM, it asks
`find_cached`: each worker keeps the whole list for at most `CACHE_SECONDS` (a block or unblock made in this
worker clears it at once), which costs no query on most sign-ins. Last, inside the transaction that writes
the session, it asks `find` on that transaction: that answer is the database's, so a block committed before
the sign-in's session is never missed, whichever worker or instance made it. A block made elsewhere in the
last few seconds can therefore let a provisioning through (the customer exists in JSM, as after any earlier
sign-in) but never a session.

A block and a sign-in at the same moment: either the sign-in sees the block, or the admin's blocking ends
the session it made. Blocking writes the block, commits, and then ends the user's sessions; so a sign-in
that did not see the block must have its session where that ending finds it. The two are made to take
turns: on SQLite the sign-in writes its session before it asks (its write lock then keeps the block's
insert waiting until the session is committed); on PostgreSQL, whose transactions do not wait for each
other here, a sign-in asks holding a shared advisory lock to the end of its transaction and a block is
written holding it exclusively (`_take_turns`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from deskgate.store.models import SignInBlockRow
from deskgate.store.reads import read_first

CACHE_SECONDS = 5.0
# Above this many blocks the early check queries instead (the last check always does).
CACHE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class SignInBlock:
    id: int
    idp: str
    subject: str
    email: str | None
    display_name: str
    blocked_by: str
    created_at: datetime


def _block(row: SignInBlockRow | Row[Any]) -> SignInBlock:
    return SignInBlock(
        id=row.id,
        idp=row.idp,
        subject=row.subject,
        email=row.email,
        display_name=row.display_name,
        blocked_by=row.blocked_by,
        created_at=row.created_at,
    )


_ACCOUNT = (SignInBlockRow.idp == bindparam("idp")) & (SignInBlockRow.subject == bindparam("subject"))
_BLOCK = select(*SignInBlockRow.__table__.columns)
# Built once (they are asked at every sign-in): the values are bound at each call.
_BY_ACCOUNT = _BLOCK.where(_ACCOUNT).limit(1)
_BY_ACCOUNT_OR_EMAIL = _BLOCK.where(or_(_ACCOUNT, SignInBlockRow.email == bindparam("email"))).limit(1)


# pg_advisory_xact_lock's key for blocks and sign-ins ("dg-block" in ASCII, within a bigint).
BLOCKS_LOCK_KEY = int.from_bytes(b"dg-block") & 0x7FFF_FFFF_FFFF_FFFF


async def _take_turns(connection: AsyncConnection, *, exclusive: bool) -> None:
    """PostgreSQL: hold the blocks' advisory lock to the end of this transaction, exclusively to write a
    block, shared to ask in a sign-in (sign-ins never wait for each other). SQLite: nothing to do, its
    single writer already orders them."""
    if connection.dialect.name == "postgresql":
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        await connection.execute(text(f"SELECT {function}(:key)"), {"key": BLOCKS_LOCK_KEY})


def _email_key(email: str | None) -> str | None:
    return email.strip().lower() or None if email else None


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Every block, by account and by email, as one worker read them at `read_at` (monotonic)."""

    read_at: float
    by_account: dict[tuple[str, str], SignInBlock]
    by_email: dict[str, SignInBlock]


class SignInBlocks:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        cache_seconds: float = CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._snapshot: _Snapshot | None = None

    async def block(
        self, *, idp: str, subject: str, email: str | None, display_name: str, blocked_by: str
    ) -> SignInBlock:
        """Block a user; blocking one already blocked by IdP and subject returns the existing block.
        The caller ends the user's sessions afterwards (see the module's doc)."""
        async with self._sessions.begin() as db:
            await _take_turns(await db.connection(), exclusive=True)
            existing = await db.scalar(
                select(SignInBlockRow).where(SignInBlockRow.idp == idp, SignInBlockRow.subject == subject)
            )
            if existing is not None:
                return _block(existing)
            row = SignInBlockRow(
                idp=idp,
                subject=subject,
                email=_email_key(email),
                display_name=display_name[:255],
                blocked_by=blocked_by[:255],
                created_at=datetime.now(UTC),
            )
            db.add(row)
            await db.flush()
            blocked = _block(row)
        self._snapshot = None
        return blocked

    async def unblock(self, block_id: int) -> SignInBlock | None:
        """Lift a block; None when there was none with that id (lifted meanwhile)."""
        async with self._sessions.begin() as db:
            row = await db.get(SignInBlockRow, block_id)
            if row is None:
                return None
            lifted = _block(row)
            await db.execute(delete(SignInBlockRow).where(SignInBlockRow.id == block_id))
        self._snapshot = None
        return lifted

    async def find(
        self, *, idp: str, subject: str, email: str | None, db: AsyncSession | None = None
    ) -> SignInBlock | None:
        """The block that refuses this sign-in: one naming this IdP and subject, or this email.

        Asked on `db` when given (the sign-in's own transaction, after it wrote the session: see the
        module's doc), else on a connection of its own."""
        key = _email_key(email)
        statement = _BY_ACCOUNT if key is None else _BY_ACCOUNT_OR_EMAIL
        parameters = {"idp": idp, "subject": subject, "email": key}
        if db is not None:
            connection = await db.connection()
            await _take_turns(connection, exclusive=False)
            row = (await connection.execute(statement, parameters)).first()
        else:
            row = await read_first(self._sessions, statement, parameters)
        return _block(row) if row else None

    async def find_cached(self, *, idp: str, subject: str, email: str | None) -> SignInBlock | None:
        """`find` from this worker's copy of the list, at most `cache_seconds` old (see the module's doc)."""
        snapshot = self._snapshot
        if snapshot is None or self._monotonic() - snapshot.read_at >= self._cache_seconds:
            snapshot = await self._load()
            if snapshot is None:  # too many to keep: ask the database
                return await self.find(idp=idp, subject=subject, email=email)
        block = snapshot.by_account.get((idp, subject))
        key = _email_key(email)
        if block is None and key is not None:
            block = snapshot.by_email.get(key)
        return block

    async def _load(self) -> _Snapshot | None:
        read_at = self._monotonic()  # the age counts from before the read, never from after it
        async with self._sessions() as db:
            rows = (await db.scalars(select(SignInBlockRow).limit(CACHE_LIMIT + 1))).all()
        if len(rows) > CACHE_LIMIT:
            self._snapshot = None
            return None
        blocks = [_block(row) for row in rows]
        snapshot = _Snapshot(
            read_at=read_at,
            by_account={(b.idp, b.subject): b for b in blocks},
            by_email={b.email: b for b in blocks if b.email},
        )
        self._snapshot = snapshot
        return snapshot

    async def all(self, limit: int = 500) -> list[SignInBlock]:
        """The blocks, newest first."""
        statement = select(SignInBlockRow).order_by(SignInBlockRow.id.desc()).limit(limit)
        async with self._sessions() as db:
            return [_block(row) for row in (await db.scalars(statement)).all()]

    async def count(self) -> int:
        async with self._sessions() as db:
            return int(await db.scalar(select(func.count()).select_from(SignInBlockRow)) or 0)
