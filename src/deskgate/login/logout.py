"""Back-channel logout bookkeeping: each logout token (`iss` + `jti`) is accepted once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.crypto import digest
from deskgate.store.models import LogoutTokenSeenRow

REMEMBER_FOR = timedelta(hours=1)  # longer than any logout token we accept may live


class LogoutReplayGuard:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def first_use(self, issuer: str, jti: str) -> bool:
        """True the first time this (issuer, jti) is seen; False for a replay."""
        now = datetime.now(UTC)
        try:
            async with self._sessions.begin() as db:
                await db.execute(delete(LogoutTokenSeenRow).where(LogoutTokenSeenRow.expires_at <= now))
                db.add(LogoutTokenSeenRow(key=digest(f"{issuer}\n{jti}"), expires_at=now + REMEMBER_FOR))
        except IntegrityError:
            return False
        return True
