"""What a customer chose on their account page: for now their time zone, by which every `<time>` of the
portal is shown (`static/localtime.js`; without one, the browser's own zone). Kept by IdP and subject,
like the customer link, and read with one primary-key lookup per page."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import available_timezones

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.store.models import CustomerPreferenceRow


@cache
def time_zones() -> tuple[str, ...]:
    """The IANA zones a customer may choose, sorted (the legacy aliases left out)."""
    return tuple(
        sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    )


def valid_time_zone(name: str) -> bool:
    return name in time_zones()


async def time_zone(db: async_sessionmaker[AsyncSession], idp: str, subject: str) -> str | None:
    async with db() as session:
        row = await session.get(CustomerPreferenceRow, (idp, subject))
    return row.time_zone if row is not None and row.time_zone and valid_time_zone(row.time_zone) else None


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
