"""The session store protocol and its implementations.

Every implementation passes the same contract test (tests/contract/test_session_store.py). Records
are keyed by the SHA-256 of the cookie value; the cookie value itself is never stored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.crypto import SecretBox
from deskgate.store.models import SessionRow


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id_hash: str
    idp: str
    subject: str
    email: str | None
    display_name: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime  # absolute end, whatever the activity
    idp_session_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    id_token: str | None = None  # kept for logout's id_token_hint


@dataclass(frozen=True, slots=True)
class SessionPage:
    """One page of a listing, and how many sessions match in all (for the pager)."""

    records: list[SessionRecord]
    total: int


class SessionStore(Protocol):
    async def save(self, record: SessionRecord) -> None:
        """Store a new session. Ids are fresh random values: saving an id twice raises `DuplicateSession`."""
        ...

    async def load(self, id_hash: str) -> SessionRecord | None: ...

    async def touch(self, id_hash: str, when: datetime) -> None: ...

    async def delete(self, id_hash: str) -> SessionRecord | None: ...

    async def delete_matching(
        self,
        *,
        idp: str,
        subject: str | None = None,
        idp_session_id: str | None = None,
        only_without_sid: bool = False,
    ) -> list[SessionRecord]:
        """End the sessions of one IdP matching the subject and/or IdP session id given (at least one).

        `only_without_sid` limits a match by subject to sessions for which the IdP gave no `sid`.
        """
        ...

    async def purge_expired(self, now: datetime) -> int: ...

    async def active(
        self, *, now: datetime, seen_after: datetime, text: str = "", offset: int = 0, limit: int = 50
    ) -> SessionPage:
        """The sessions still alive (ending after `now`, seen after `seen_after`), newest first.

        `text`, when given, keeps those whose email, subject, display name or IdP contains it, in any
        case (SQLite folds only ASCII letters; PostgreSQL and the memory store fold all).
        """
        ...


def _alive(record: SessionRecord, now: datetime, seen_after: datetime) -> bool:
    return record.expires_at > now and record.last_seen_at > seen_after


def _contains(record: SessionRecord, text: str) -> bool:
    needle = text.lower()
    fields = (record.email or "", record.subject, record.display_name, record.idp)
    return not needle or any(needle in value.lower() for value in fields)


def _newest_first(record: SessionRecord) -> tuple[datetime, str]:
    return record.created_at, record.id_hash


def _matches(
    record: SessionRecord, idp: str, subject: str | None, idp_session_id: str | None, only_without_sid: bool
) -> bool:
    if record.idp != idp or (subject is None and idp_session_id is None):
        return False
    if only_without_sid and record.idp_session_id is not None:
        return False
    return (subject is None or record.subject == subject) and (
        idp_session_id is None or record.idp_session_id == idp_session_id
    )


class DuplicateSession(Exception):
    """A session id was saved twice (never happens with random ids; refused rather than overwritten)."""


class MemorySessionStore:
    """For tests and single-process demos: nothing survives a restart."""

    def __init__(self) -> None:
        self._records: dict[str, SessionRecord] = {}

    async def save(self, record: SessionRecord) -> None:
        if record.id_hash in self._records:
            raise DuplicateSession(record.id_hash[:8])
        self._records[record.id_hash] = record

    async def load(self, id_hash: str) -> SessionRecord | None:
        return self._records.get(id_hash)

    async def touch(self, id_hash: str, when: datetime) -> None:
        if (record := self._records.get(id_hash)) is not None:
            self._records[id_hash] = dataclasses.replace(record, last_seen_at=when)

    async def delete(self, id_hash: str) -> SessionRecord | None:
        return self._records.pop(id_hash, None)

    async def delete_matching(
        self,
        *,
        idp: str,
        subject: str | None = None,
        idp_session_id: str | None = None,
        only_without_sid: bool = False,
    ) -> list[SessionRecord]:
        ended = [
            r for r in self._records.values() if _matches(r, idp, subject, idp_session_id, only_without_sid)
        ]
        for record in ended:
            del self._records[record.id_hash]
        return ended

    async def purge_expired(self, now: datetime) -> int:
        expired = [key for key, record in self._records.items() if record.expires_at <= now]
        for key in expired:
            del self._records[key]
        return len(expired)

    async def active(
        self, *, now: datetime, seen_after: datetime, text: str = "", offset: int = 0, limit: int = 50
    ) -> SessionPage:
        found = [r for r in self._records.values() if _alive(r, now, seen_after) and _contains(r, text)]
        found.sort(key=_newest_first, reverse=True)
        return SessionPage(found[offset : offset + limit], len(found))


class SqlSessionStore:
    """SQLite or PostgreSQL through SQLAlchemy; the ID token is encrypted at rest."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], box: SecretBox) -> None:
        self._sessions = sessions
        self._box = box

    def _to_record(self, row: SessionRow) -> SessionRecord:
        return SessionRecord(
            id_hash=row.id_hash,
            idp=row.idp,
            subject=row.subject,
            email=row.email,
            display_name=row.display_name,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            idp_session_id=row.idp_session_id,
            attributes=dict(row.attributes),
            id_token=self._box.decrypt(row.id_token_encrypted) if row.id_token_encrypted else None,
        )

    async def save(self, record: SessionRecord) -> None:
        row = SessionRow(
            id_hash=record.id_hash,
            idp=record.idp,
            subject=record.subject,
            idp_session_id=record.idp_session_id,
            email=record.email,
            display_name=record.display_name,
            attributes=record.attributes,
            id_token_encrypted=self._box.encrypt(record.id_token) if record.id_token else None,
            created_at=record.created_at,
            last_seen_at=record.last_seen_at,
            expires_at=record.expires_at,
        )
        try:
            async with self._sessions.begin() as db:
                db.add(row)  # a plain INSERT: no read first, the id is new
        except IntegrityError as exc:
            raise DuplicateSession(record.id_hash[:8]) from exc

    async def load(self, id_hash: str) -> SessionRecord | None:
        async with self._sessions() as db:
            row = await db.get(SessionRow, id_hash)
            return self._to_record(row) if row else None

    async def touch(self, id_hash: str, when: datetime) -> None:
        async with self._sessions.begin() as db:
            await db.execute(
                update(SessionRow).where(SessionRow.id_hash == id_hash).values(last_seen_at=when)
            )

    async def delete(self, id_hash: str) -> SessionRecord | None:
        ended = await self._delete_rows([SessionRow.id_hash == id_hash])
        return ended[0] if ended else None

    async def delete_matching(
        self,
        *,
        idp: str,
        subject: str | None = None,
        idp_session_id: str | None = None,
        only_without_sid: bool = False,
    ) -> list[SessionRecord]:
        if subject is None and idp_session_id is None:
            return []
        conditions = [SessionRow.idp == idp]
        if only_without_sid:
            conditions.append(SessionRow.idp_session_id.is_(None))
        if subject is not None:
            conditions.append(SessionRow.subject == subject)
        if idp_session_id is not None:
            conditions.append(SessionRow.idp_session_id == idp_session_id)
        return await self._delete_rows(conditions)

    async def _delete_rows(self, conditions: Iterable[Any]) -> list[SessionRecord]:
        async with self._sessions.begin() as db:
            rows = (await db.scalars(select(SessionRow).where(*conditions).with_for_update())).all()
            ended = [self._to_record(row) for row in rows]
            if rows:
                await db.execute(
                    delete(SessionRow).where(or_(*(SessionRow.id_hash == r.id_hash for r in rows)))
                )
            return ended

    async def purge_expired(self, now: datetime) -> int:
        async with self._sessions.begin() as db:
            result = await db.execute(delete(SessionRow).where(SessionRow.expires_at <= now))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def active(
        self, *, now: datetime, seen_after: datetime, text: str = "", offset: int = 0, limit: int = 50
    ) -> SessionPage:
        conditions: list[ColumnElement[bool]] = [
            SessionRow.expires_at > now,
            SessionRow.last_seen_at > seen_after,
        ]
        if text:
            columns = (SessionRow.email, SessionRow.subject, SessionRow.display_name, SessionRow.idp)
            needle = text.lower()
            # autoescape: a % or _ typed by the admin is a character, not a wildcard.
            conditions.append(or_(*(func.lower(c).contains(needle, autoescape=True) for c in columns)))
        listing = (
            select(SessionRow)
            .where(*conditions)
            .order_by(SessionRow.created_at.desc(), SessionRow.id_hash.desc())
            .offset(offset)
            .limit(limit)
        )
        async with self._sessions() as db:
            total = await db.scalar(select(func.count()).select_from(SessionRow).where(*conditions))
            rows = (await db.scalars(listing)).all()
            return SessionPage([self._to_record(row) for row in rows], int(total or 0))
