"""Per service desk settings (SSO on or off, which request types the portal shows), the desk's substitute
link, and the URL shapes that lead to a desk: Deskgate's own `/portal/<id>` and JSM's
`/servicedesk/customer/portal/<id>[/<ISSUE-KEY>]`, so that a JSM link with its host swapped lands right.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.settings import Settings
from deskgate.store.models import ServiceDeskSettingRow

CACHE_SECONDS = 5.0
T = TypeVar("T")

_PORTAL_PATH = re.compile(
    r"^/(?:portal|servicedesk/customer/portal)/(?P<desk>\d{1,18})"
    r"(?:/(?P<issue>[A-Za-z][A-Za-z0-9_]*-\d{1,18}))?(?:/.*)?$"
)


@dataclass(frozen=True, slots=True)
class PortalTarget:
    """Where a portal URL leads: a desk, and perhaps one request of it."""

    desk_id: str
    issue_key: str | None = None


def portal_target(url: str | None) -> PortalTarget | None:
    """The desk (and request) a URL or path points at, or None when it is not a portal URL."""
    if not url:
        return None
    match = _PORTAL_PATH.match(urlsplit(url).path)
    if match is None:
        return None
    issue = match.group("issue")
    return PortalTarget(match.group("desk"), issue.upper() if issue else None)


@dataclass(frozen=True, slots=True)
class DeskSetting:
    desk_id: str
    sso_enabled: bool = True
    visible_request_types: tuple[str, ...] | None = None  # None: all of them

    def shows(self, request_type_id: str) -> bool:
        return self.visible_request_types is None or request_type_id in self.visible_request_types

    def visible(self, items: Iterable[T], key: Callable[[T], str]) -> list[T]:
        return [item for item in items if self.shows(key(item))]


class DeskSettings:
    """ServiceDeskSettingRow as a service; a desk without a row has SSO on and shows every request type."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._monotonic = monotonic
        self._cached: tuple[float, dict[str, DeskSetting]] | None = None

    async def all(self) -> dict[str, DeskSetting]:
        """The stored settings by desk id (desks without a row are absent; `get` gives their defaults)."""
        if self._cached is None or self._monotonic() - self._cached[0] >= CACHE_SECONDS:
            async with self._sessions() as db:
                rows = (await db.scalars(select(ServiceDeskSettingRow))).all()
            found = {
                row.desk_id: DeskSetting(
                    row.desk_id,
                    row.sso_enabled,
                    tuple(row.visible_request_types) if row.visible_request_types is not None else None,
                )
                for row in rows
            }
            self._cached = (self._monotonic(), found)
        return self._cached[1]

    async def get(self, desk_id: str) -> DeskSetting:
        return (await self.all()).get(desk_id) or DeskSetting(desk_id)

    async def save(self, setting: DeskSetting) -> None:
        row = ServiceDeskSettingRow(
            desk_id=setting.desk_id,
            sso_enabled=setting.sso_enabled,
            visible_request_types=(
                list(setting.visible_request_types) if setting.visible_request_types is not None else None
            ),
            updated_at=datetime.now(UTC),
        )
        async with self._sessions.begin() as db:
            await db.merge(row)
        self._cached = None

    def forget(self) -> None:
        """Read the settings again on next use (after a connection to another site deleted them)."""
        self._cached = None

    def substitute_link(self, desk_id: str) -> str:
        """The stable Deskgate URL of a desk's portal, to hand out instead of JSM's."""
        return self._settings.url(f"/portal/{desk_id}")
