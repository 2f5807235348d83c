"""Admin sessions: the customer `Sessions` service over a store of its own table (`admin_sessions`).

A separate table and a separate cookie: an admin session id means nothing to the customer side and a
customer session id means nothing here. Only the user name is kept (as the record's subject).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.sessions.service import Sessions
from deskgate.sessions.store import DuplicateSession, SessionPage, SessionRecord
from deskgate.store.models import AdminSessionRow

ADMIN_REALM = "deskgate-admin"  # the record's `idp`: admins sign in to Deskgate itself
ADMIN_IDLE = timedelta(minutes=30)
ADMIN_ABSOLUTE = timedelta(hours=8)


def _record(row: AdminSessionRow) -> SessionRecord:
    return SessionRecord(
        id_hash=row.id_hash,
        idp=ADMIN_REALM,
        subject=row.username,
        email=None,
        display_name=row.username,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
    )


class SqlAdminSessionStore:
    """The `SessionStore` protocol over `admin_sessions`."""

    def __init__(self, db: async_sessionmaker[AsyncSession]) -> None:
        self._db = db

    async def save(self, record: SessionRecord) -> None:
        row = AdminSessionRow(
            id_hash=record.id_hash,
            username=record.subject,
            created_at=record.created_at,
            last_seen_at=record.last_seen_at,
            expires_at=record.expires_at,
        )
        try:
            async with self._db.begin() as db:
                db.add(row)
        except IntegrityError as exc:
            raise DuplicateSession(record.id_hash[:8]) from exc

    async def load(self, id_hash: str) -> SessionRecord | None:
        async with self._db() as db:
            row = await db.get(AdminSessionRow, id_hash)
            return _record(row) if row else None

    async def touch(self, id_hash: str, when: datetime) -> None:
        async with self._db.begin() as db:
            await db.execute(
                update(AdminSessionRow).where(AdminSessionRow.id_hash == id_hash).values(last_seen_at=when)
            )

    async def delete(self, id_hash: str) -> SessionRecord | None:
        async with self._db.begin() as db:
            row = await db.get(AdminSessionRow, id_hash)
            if row is None:
                return None
            record = _record(row)
            await db.delete(row)
            return record

    async def delete_matching(
        self,
        *,
        idp: str,
        subject: str | None = None,
        idp_session_id: str | None = None,
        only_without_sid: bool = False,
    ) -> list[SessionRecord]:
        if idp != ADMIN_REALM or subject is None:
            return []
        async with self._db.begin() as db:
            rows = (
                await db.scalars(select(AdminSessionRow).where(AdminSessionRow.username == subject))
            ).all()
            ended = [_record(row) for row in rows]
            await db.execute(delete(AdminSessionRow).where(AdminSessionRow.username == subject))
            return ended

    async def purge_expired(self, now: datetime) -> int:
        async with self._db.begin() as db:
            result = await db.execute(delete(AdminSessionRow).where(AdminSessionRow.expires_at <= now))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def active(
        self, *, now: datetime, seen_after: datetime, text: str = "", offset: int = 0, limit: int = 50
    ) -> SessionPage:
        conditions: list[ColumnElement[bool]] = [
            AdminSessionRow.expires_at > now,
            AdminSessionRow.last_seen_at > seen_after,
        ]
        if text and text.lower() not in ADMIN_REALM:  # the realm is every record's IdP: it matches all
            conditions.append(func.lower(AdminSessionRow.username).contains(text.lower(), autoescape=True))
        listing = (
            select(AdminSessionRow)
            .where(*conditions)
            .order_by(AdminSessionRow.created_at.desc(), AdminSessionRow.id_hash.desc())
            .offset(offset)
            .limit(limit)
        )
        async with self._db() as db:
            total = await db.scalar(select(func.count()).select_from(AdminSessionRow).where(*conditions))
            rows = (await db.scalars(listing)).all()
            return SessionPage([_record(row) for row in rows], int(total or 0))


def admin_sessions(
    db: async_sessionmaker[AsyncSession],
    *,
    idle: timedelta = ADMIN_IDLE,
    absolute: timedelta = ADMIN_ABSOLUTE,
) -> Sessions:
    # No per-worker cache: admin traffic is light, and a sign-out or timeout must hold at once everywhere.
    return Sessions(SqlAdminSessionStore(db), idle=idle, absolute=absolute, cache_seconds=0)
