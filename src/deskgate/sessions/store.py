"""The session store protocol, the rules every store shares, and the SQL stores.

Every implementation passes the same contract test (tests/contract/test_session_store.py). Records
are keyed by the SHA-256 of the cookie value; the cookie value itself is never stored.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, NamedTuple, Protocol, Required, TypedDict, TypeVar, Unpack

from sqlalchemy import ColumnElement, SQLColumnExpression, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped

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
    id_token: str | None = None  # kept for logout: OIDC's id_token_hint, or SAML's NameID (`saml.nameid`)
    client_ip: str | None = None  # where the sign-in came from (the trusted-proxy rule's answer)
    user_agent: str | None = None  # the browser's User-Agent header at sign-in, cut to 512 characters


@dataclass(frozen=True, slots=True)
class SessionPage:
    """One page of a listing, and how many sessions match in all (for the pager)."""

    records: list[SessionRecord]
    total: int


class SessionMatch(TypedDict, total=False):
    """Which sessions `delete_matching` ends: those of one IdP with the subject and/or IdP session id given.

    Given neither, it matches none: a logout token naming no one must never end everyone. Ending every
    session of an IdP is `delete_idp`, asked for by name. `only_without_sid` limits a match by subject to
    sessions for which the IdP gave no `sid`.
    """

    idp: Required[str]
    subject: str | None
    idp_session_id: str | None
    only_without_sid: bool


class SessionStore(Protocol):
    async def save(self, record: SessionRecord) -> None:
        """Store a new session. Ids are fresh random values: saving an id twice raises `DuplicateSession`."""
        ...

    async def load(self, id_hash: str) -> SessionRecord | None: ...

    async def touch(self, id_hash: str, when: datetime) -> None: ...

    async def delete(self, id_hash: str) -> SessionRecord | None: ...

    async def delete_matching(self, **match: Unpack[SessionMatch]) -> list[SessionRecord]:
        """End the sessions `match` names (see `SessionMatch`), and return them."""
        ...

    async def delete_idp(self, idp: str) -> list[SessionRecord]:
        """End every session of one IdP (the admin turned it off or removed it), and return them."""
        ...

    async def purge_expired(self, now: datetime) -> int: ...

    async def count_unexpired(self, now: datetime) -> int:
        """How many sessions end after `now` (idle ones included): one cheap count, for metrics."""
        ...

    async def active(
        self, *, now: datetime, seen_after: datetime, text: str = "", offset: int = 0, limit: int = 50
    ) -> SessionPage:
        """The sessions still alive (ending after `now`, seen after `seen_after`), newest first.

        `text`, when given, keeps those whose email, subject, display name or IdP contains it, in any
        case (SQLite folds only ASCII letters; PostgreSQL and the memory store fold all).
        """
        ...


class DuplicateSession(Exception):
    """A session id was saved twice (never happens with random ids; refused rather than overwritten)."""


def matches(record: SessionRecord, match: SessionMatch) -> bool:
    """The rule of `delete_matching`, for the stores that read records rather than query them."""
    subject, sid = match.get("subject"), match.get("idp_session_id")
    if record.idp != match["idp"] or (subject is None and sid is None):
        return False
    if match.get("only_without_sid") and record.idp_session_id is not None:
        return False
    return (subject is None or record.subject == subject) and (sid is None or record.idp_session_id == sid)


def active_page(
    records: Iterable[SessionRecord],
    *,
    now: datetime,
    seen_after: datetime,
    text: str,
    offset: int,
    limit: int,
) -> SessionPage:
    """`SessionStore.active` over records read in full, for the stores that cannot query them."""
    needle = text.lower()

    def listed(r: SessionRecord) -> bool:
        searched = (r.email or "", r.subject, r.display_name, r.idp)
        alive = r.expires_at > now and r.last_seen_at > seen_after
        return alive and (not needle or any(needle in value.lower() for value in searched))

    found = sorted(filter(listed, records), key=lambda r: (r.created_at, r.id_hash), reverse=True)
    return SessionPage(found[offset : offset + limit], len(found))


class SessionColumns(NamedTuple):
    """What the shared queries read in a session table; a constant stands in for a column it lacks."""

    idp: SQLColumnExpression[str]
    subject: SQLColumnExpression[str]
    idp_session_id: SQLColumnExpression[str | None]
    searched: tuple[SQLColumnExpression[str | None], ...]  # what `active`'s text is looked for in


class SessionRows(Protocol):
    """The columns every session table has."""

    id_hash: Mapped[str]
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]


RowT = TypeVar("RowT", bound=SessionRows)


class SqlTableStore(ABC, Generic[RowT]):
    """The `SessionStore` protocol over one table (SQLite or PostgreSQL through SQLAlchemy).

    A subclass names its table and columns and says how a record becomes a row and back.
    """

    table: type[RowT]
    columns: ClassVar[SessionColumns]

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @abstractmethod
    def _to_record(self, row: RowT) -> SessionRecord: ...

    @abstractmethod
    def _values(self, record: SessionRecord) -> dict[str, Any]:
        """The row's columns for `record`, by name."""

    async def save(self, record: SessionRecord) -> None:
        try:
            async with self._sessions.begin() as db:
                await self.stage(db, record)
        except IntegrityError as exc:
            raise DuplicateSession(record.id_hash[:8]) from exc

    def shares(self, db: AsyncSession) -> bool:
        """Whether `db` works on this store's database (then `stage` can join its transaction)."""
        return db.bind is not None and db.bind is self._sessions.kw.get("bind")

    async def stage(self, db: AsyncSession, record: SessionRecord) -> None:
        """`save` as part of a transaction the caller commits (a sign-in's one commit, with its audit
        record): the session exists once that commit is done, and not at all if it is rolled back.
        A plain INSERT (no read first: the id is new), a Core statement on the session's connection: no
        ORM object, no flush."""
        await (await db.connection()).execute(insert(self.table), self._values(record))

    async def load(self, id_hash: str) -> SessionRecord | None:
        async with self._sessions() as db:
            row = await db.get(self.table, id_hash)
            return self._to_record(row) if row else None

    async def touch(self, id_hash: str, when: datetime) -> None:
        async with self._sessions.begin() as db:
            await db.execute(
                update(self.table).where(self.table.id_hash == id_hash).values(last_seen_at=when)
            )

    async def delete(self, id_hash: str) -> SessionRecord | None:
        ended = await self._delete_rows([self.table.id_hash == id_hash])
        return ended[0] if ended else None

    async def delete_matching(self, **match: Unpack[SessionMatch]) -> list[SessionRecord]:
        """`matches`, in SQL."""
        subject, sid = match.get("subject"), match.get("idp_session_id")
        if subject is None and sid is None:
            return []
        columns = self.columns
        conditions = [columns.idp == match["idp"]]
        if match.get("only_without_sid"):
            conditions.append(columns.idp_session_id.is_(None))
        if subject is not None:
            conditions.append(columns.subject == subject)
        if sid is not None:
            conditions.append(columns.idp_session_id == sid)
        return await self._delete_rows(conditions)

    async def delete_idp(self, idp: str) -> list[SessionRecord]:
        return await self._delete_rows([self.columns.idp == idp])

    async def _delete_rows(self, conditions: Iterable[ColumnElement[bool]]) -> list[SessionRecord]:
        async with self._sessions.begin() as db:
            rows = (await db.scalars(select(self.table).where(*conditions).with_for_update())).all()
            ended = [self._to_record(row) for row in rows]
            if rows:
                await db.execute(
                    delete(self.table).where(or_(*(self.table.id_hash == r.id_hash for r in rows)))
                )
            return ended

    async def purge_expired(self, now: datetime) -> int:
        async with self._sessions.begin() as db:
            result = await db.execute(delete(self.table).where(self.table.expires_at <= now))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def count_unexpired(self, now: datetime) -> int:
        statement = select(func.count()).select_from(self.table).where(self.table.expires_at > now)
        async with self._sessions() as db:
            return int(await db.scalar(statement) or 0)

    async def active(
        self, *, now: datetime, seen_after: datetime, text: str = "", offset: int = 0, limit: int = 50
    ) -> SessionPage:
        conditions: list[ColumnElement[bool]] = [
            self.table.expires_at > now,
            self.table.last_seen_at > seen_after,
        ]
        if text:
            needle = text.lower()
            # autoescape: a % or _ typed by the admin is a character, not a wildcard.
            searched = (func.lower(c).contains(needle, autoescape=True) for c in self.columns.searched)
            conditions.append(or_(*searched))
        listing = (
            select(self.table)
            .where(*conditions)
            .order_by(self.table.created_at.desc(), self.table.id_hash.desc())
            .offset(offset)
            .limit(limit)
        )
        async with self._sessions() as db:
            total = await db.scalar(select(func.count()).select_from(self.table).where(*conditions))
            rows = (await db.scalars(listing)).all()
            return SessionPage([self._to_record(row) for row in rows], int(total or 0))


class SqlSessionStore(SqlTableStore[SessionRow]):
    """Customer sessions in the `sessions` table; the ID token is encrypted at rest."""

    table = SessionRow
    columns = SessionColumns(
        idp=SessionRow.idp,
        subject=SessionRow.subject,
        idp_session_id=SessionRow.idp_session_id,
        searched=(SessionRow.email, SessionRow.subject, SessionRow.display_name, SessionRow.idp),
    )

    def __init__(self, sessions: async_sessionmaker[AsyncSession], box: SecretBox) -> None:
        super().__init__(sessions)
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
            client_ip=row.client_ip,
            user_agent=row.user_agent,
        )

    def _values(self, record: SessionRecord) -> dict[str, Any]:
        return {
            "id_hash": record.id_hash,
            "idp": record.idp,
            "subject": record.subject,
            "idp_session_id": record.idp_session_id,
            "email": record.email,
            "display_name": record.display_name,
            "attributes": record.attributes,
            "id_token_encrypted": self._box.encrypt(record.id_token) if record.id_token else None,
            "created_at": record.created_at,
            "last_seen_at": record.last_seen_at,
            "expires_at": record.expires_at,
            "client_ip": record.client_ip,
            "user_agent": record.user_agent,
        }
