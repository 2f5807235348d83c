"""A session store in this process's memory."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Unpack

from deskgate.sessions.store import (
    DuplicateSession,
    SessionMatch,
    SessionPage,
    SessionRecord,
    active_page,
    matches,
)


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

    async def delete_matching(self, **match: Unpack[SessionMatch]) -> list[SessionRecord]:
        return self._delete_where(lambda r: matches(r, match))

    async def delete_idp(self, idp: str) -> list[SessionRecord]:
        return self._delete_where(lambda r: r.idp == idp)

    def _delete_where(self, ends: Callable[[SessionRecord], bool]) -> list[SessionRecord]:
        ended = [r for r in self._records.values() if ends(r)]
        for record in ended:
            del self._records[record.id_hash]
        return ended

    async def purge_expired(self, now: datetime) -> int:
        expired = [key for key, record in self._records.items() if record.expires_at <= now]
        for key in expired:
            del self._records[key]
        return len(expired)

    async def count_unexpired(self, now: datetime) -> int:
        return sum(1 for record in self._records.values() if record.expires_at > now)

    async def active(
        self, *, now: datetime, seen_after: datetime, text: str = "", offset: int = 0, limit: int = 50
    ) -> SessionPage:
        records = self._records.values()
        return active_page(records, now=now, seen_after=seen_after, text=text, offset=offset, limit=limit)
