"""What a customer chose on their account page: for now their time zone, by which every `<time>` of the
portal is shown (`static/localtime.js`; without one, the browser's own zone). Kept by IdP and subject,
like the customer link. Every page needs it, so `CustomerPreferences` keeps what it read for a few
seconds, as `CustomerLinks` does: a change shows at once on the worker that made it, and on the others
within `CACHE_SECONDS`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from zoneinfo import available_timezones

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.portal.recent import Recent
from deskgate.store.models import CustomerPreferenceRow
from deskgate.store.reads import read_first

CACHE_SECONDS = 5.0


@cache
def time_zones() -> tuple[str, ...]:
    """The IANA zones a customer may choose, sorted (the legacy aliases left out)."""
    return tuple(
        sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    )


def valid_time_zone(name: str) -> bool:
    return name in time_zones()


async def time_zone(db: async_sessionmaker[AsyncSession], idp: str, subject: str) -> str | None:
    row = await read_first(
        db,
        select(CustomerPreferenceRow.time_zone).where(
            CustomerPreferenceRow.idp == idp, CustomerPreferenceRow.subject == subject
        ),
    )
    zone = None if row is None else row.time_zone
    return zone if zone and valid_time_zone(zone) else None


async def set_time_zone(
    db: async_sessionmaker[AsyncSession], idp: str, subject: str, name: str | None
) -> None:
    """Store the customer's zone (None: follow the browser). A name that is no IANA zone is refused."""
    if name is not None and not valid_time_zone(name):
        raise ValueError(f"not a time zone: {name[:64]!r}")
    async with db() as session, session.begin():
        row = await session.get(CustomerPreferenceRow, (idp, subject))
        if row is None:
            row = CustomerPreferenceRow(
                idp=idp, subject=subject, time_zone=name, updated_at=datetime.now(UTC)
            )
            session.add(row)
        else:
            row.time_zone, row.updated_at = name, datetime.now(UTC)


class CustomerPreferences:
    """The customers' preferences as a service: `time_zone` cached per process, `stored_time_zone` fresh."""

    def __init__(
        self,
        db: async_sessionmaker[AsyncSession],
        *,
        ttl: float = CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._cache: Recent[tuple[str, str], str | None] = Recent(ttl, monotonic=monotonic)

    async def time_zone(self, idp: str, subject: str) -> str | None:
        """The zone pages are shown in (None: the browser's), at most `ttl` seconds old."""
        cached = self._cache.get((idp, subject))
        if cached is not None:
            return cached.value
        return await self.stored_time_zone(idp, subject)

    async def stored_time_zone(self, idp: str, subject: str) -> str | None:
        """The zone as stored now (the account page shows this one)."""
        zone = await time_zone(self._db, idp, subject)
        self._cache.put((idp, subject), zone)
        return zone

    def remember(self, idp: str, subject: str, stored: str | None) -> None:
        """A zone another read brought along (the customer link's: `CustomerLinks.load`), as stored:
        what `time_zone` then answers for the cache time, without a read of its own."""
        self._cache.put((idp, subject), stored if stored and valid_time_zone(stored) else None)

    async def set_time_zone(self, idp: str, subject: str, name: str | None) -> None:
        await set_time_zone(self._db, idp, subject, name)
        self._cache.put((idp, subject), name)
