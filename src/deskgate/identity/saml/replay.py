"""Each SAML assertion is accepted once: its id is spent in a table whose primary key makes the second
insert fail, whichever worker or instance tries it (a per-process set would let a replay through on
the next worker)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.crypto import digest
from deskgate.identity.saml.errors import SamlRejected
from deskgate.store.models import SamlAssertionSeenRow


class AssertionLedger:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def spend(self, idp: str, assertion_id: str, *, until: datetime) -> None:
        """Record the assertion as used until `until`; `SamlRejected("replay")` when it already was."""
        now = datetime.now(UTC)
        try:
            async with self._sessions.begin() as db:
                await db.execute(delete(SamlAssertionSeenRow).where(SamlAssertionSeenRow.expires_at <= now))
                db.add(SamlAssertionSeenRow(key=digest(f"{idp}\n{assertion_id}"), expires_at=until))
        except IntegrityError:
            raise SamlRejected("replay", "this assertion was already used to sign in") from None
