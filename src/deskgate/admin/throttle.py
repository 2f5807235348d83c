"""Failed admin sign-ins, counted per user name and per client address from the audit log.

Every password sign-in is audited (``admin.login``, without an IdP), so the log already holds what a
throttle needs — and holds it for every worker and process at once: `limit` refusals within `window`, for
one user name since its last successful sign-in or from one client address, refuse further attempts until
the oldest ages out. Refused attempts count too, so hammering a locked name keeps it locked; argon2 makes
each guess expensive as well.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.store.models import AuditEventRow

EVENT = "admin.login"


def _now() -> datetime:
    return datetime.now(UTC)


class SignInThrottle:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        limit: int = 5,
        window: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._sessions = sessions
        self._limit = limit
        self._window = window
        self._clock = clock

    async def blocked(self, username: str, client_ip: str) -> bool:
        row = AuditEventRow
        password = (row.event == EVENT, row.idp.is_(None))  # an IdP's admin sign-ins are its own business
        since = self._clock() - self._window
        name = func.lower(row.subject) == username.lower()
        last_success = (
            select(func.max(row.at)).where(*password, name, row.outcome == "success").scalar_subquery()
        )
        refused = (*password, row.outcome == "refused", row.at >= since)
        by_name = select(func.count()).where(*refused, name, row.at > func.coalesce(last_success, since))
        by_address = select(func.count()).where(*refused, row.client_ip == client_ip)
        async with self._sessions() as db:
            counts = [int(await db.scalar(q) or 0) for q in (by_name, by_address)]
        return any(count >= self._limit for count in counts)
