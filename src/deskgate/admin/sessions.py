"""Admin sessions: the customer `Sessions` service over a store of its own table (`admin_sessions`).

A separate table and a separate cookie: an admin session id means nothing to the customer side and a
customer session id means nothing here. Only the user name is kept (as the record's subject).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import literal, null
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.sessions.service import Sessions
from deskgate.sessions.store import SessionColumns, SessionRecord, SqlTableStore
from deskgate.store.models import AdminSessionRow

ADMIN_REALM = "deskgate-admin"  # the record's `idp`: admins sign in to Deskgate itself
ADMIN_IDLE = timedelta(minutes=30)
ADMIN_ABSOLUTE = timedelta(hours=8)


class SqlAdminSessionStore(SqlTableStore[AdminSessionRow]):
    """The `SessionStore` protocol over `admin_sessions`."""

    table = AdminSessionRow
    # The table has no IdP (every admin signs in to the realm) and no IdP session id: constants in SQL, so
    # that matching and searching read them as they read the customer table's columns.
    columns = SessionColumns(
        idp=literal(ADMIN_REALM),
        subject=AdminSessionRow.username,
        idp_session_id=null(),
        searched=(AdminSessionRow.username, literal(ADMIN_REALM)),
    )

    def _to_record(self, row: AdminSessionRow) -> SessionRecord:
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

    async def delete_signed_in_through(self, idp: str) -> list[SessionRecord]:
        """End the sessions begun by signing in through `idp`: their user is `<idp>:…`, a name no local
        account can have (no colon in those)."""
        return await self._delete_rows([AdminSessionRow.username.startswith(f"{idp}:", autoescape=True)])

    def _values(self, record: SessionRecord) -> dict[str, Any]:
        return {
            "id_hash": record.id_hash,
            "username": record.subject,
            "created_at": record.created_at,
            "last_seen_at": record.last_seen_at,
            "expires_at": record.expires_at,
        }


async def end_admin_sessions_through(sessions: Sessions, idp: str) -> list[SessionRecord]:
    """End the admin sessions begun through `idp` (it was turned off, removed, or admits admins no more)."""
    store = sessions.store
    return await store.delete_signed_in_through(idp) if isinstance(store, SqlAdminSessionStore) else []


def admin_sessions(
    db: async_sessionmaker[AsyncSession],
    *,
    idle: timedelta = ADMIN_IDLE,
    absolute: timedelta = ADMIN_ABSOLUTE,
) -> Sessions:
    # No per-worker cache: admin traffic is light, and a sign-out or timeout must hold at once everywhere.
    return Sessions(SqlAdminSessionStore(db), idle=idle, absolute=absolute, cache_seconds=0)
