"""Users an admin blocked: refused at their next sign-ins until an admin unblocks them.

A block names the user twice: by IdP and subject (the account the admin saw), and by email, so that the
same person signing in through a second IdP with the same address is refused too. Emails are compared in
lower case. Blocking ends the user's sessions as well (`deskgate.web.admin_blocks`); this module only keeps
the list and answers "is this sign-in blocked?" for the login pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.store.models import SignInBlockRow


@dataclass(frozen=True, slots=True)
class SignInBlock:
    id: int
    idp: str
    subject: str
    email: str | None
    display_name: str
    blocked_by: str
    created_at: datetime


def _block(row: SignInBlockRow) -> SignInBlock:
    return SignInBlock(
        id=row.id,
        idp=row.idp,
        subject=row.subject,
        email=row.email,
        display_name=row.display_name,
        blocked_by=row.blocked_by,
        created_at=row.created_at,
    )


def _email_key(email: str | None) -> str | None:
    return email.strip().lower() or None if email else None


class SignInBlocks:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def block(
        self, *, idp: str, subject: str, email: str | None, display_name: str, blocked_by: str
    ) -> SignInBlock:
        """Block a user; blocking one already blocked by IdP and subject returns the existing block."""
        async with self._sessions.begin() as db:
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
            return _block(row)

    async def unblock(self, block_id: int) -> SignInBlock | None:
        """Lift a block; None when there was none with that id (lifted meanwhile)."""
        async with self._sessions.begin() as db:
            row = await db.get(SignInBlockRow, block_id)
            if row is None:
                return None
            lifted = _block(row)
            await db.execute(delete(SignInBlockRow).where(SignInBlockRow.id == block_id))
            return lifted

    async def find(self, *, idp: str, subject: str, email: str | None) -> SignInBlock | None:
        """The block that refuses this sign-in: one naming this IdP and subject, or this email."""
        conditions: list[ColumnElement[bool]] = [
            (SignInBlockRow.idp == idp) & (SignInBlockRow.subject == subject)
        ]
        key = _email_key(email)
        if key is not None:
            conditions.append(SignInBlockRow.email == key)
        async with self._sessions() as db:
            row = await db.scalar(select(SignInBlockRow).where(or_(*conditions)).limit(1))
            return _block(row) if row else None

    async def all(self, limit: int = 500) -> list[SignInBlock]:
        """The blocks, newest first."""
        statement = select(SignInBlockRow).order_by(SignInBlockRow.id.desc()).limit(limit)
        async with self._sessions() as db:
            return [_block(row) for row in (await db.scalars(statement)).all()]

    async def count(self) -> int:
        async with self._sessions() as db:
            return int(await db.scalar(select(func.count()).select_from(SignInBlockRow)) or 0)
