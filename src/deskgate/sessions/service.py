"""Starting, resolving and ending customer sessions.

Resolving a session usually costs no I/O: each worker keeps the records it loaded for at most
`cache_seconds` (≤ 1 s). A logout in this worker drops the entry at once; other workers and other
instances see it when their entry ages out — so every revocation takes effect everywhere within a second.

A session is also refused while its IdP is turned off (`idp_allowed`): turning an IdP off ends its
sessions (`end_idp`), and the refusal covers what that cannot reach at once — another worker's cached
entry, or a sign-in at that IdP that finishes just after.

An entry's age counts from when its store read began, and nothing else restarts it: the periodic "last
seen" touch keeps the age of the record it updates, so a touch just after a revocation elsewhere cannot
serve the ended session for another full `cache_seconds`.

When an entry ages out under load, the requests that find it stale share one store lookup instead of each
making its own (a busy session would otherwise send a burst of identical queries to the store every second).
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Unpack

from sqlalchemy.ext.asyncio import AsyncSession

from deskgate.crypto import digest
from deskgate.sessions.store import SessionMatch, SessionPage, SessionRecord, SessionStore, SqlTableStore

# Writing last-seen on every request would cost a write per hit; idle timeouts do not need that precision.
TOUCH_INTERVAL = timedelta(seconds=60)
CACHE_LIMIT = 100_000
MAX_USER_AGENT = 512  # the column's size; a longer header is cut rather than refused


def _now() -> datetime:
    return datetime.now(UTC)


class Sessions:
    def __init__(
        self,
        store: SessionStore,
        *,
        idle: timedelta,
        absolute: timedelta,
        cache_seconds: float = 1.0,
        clock: Callable[[], datetime] = _now,
        monotonic: Callable[[], float] = time.monotonic,
        idp_allowed: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self.store = store
        self._idp_allowed = idp_allowed
        self._idle = idle
        self._absolute = absolute
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._monotonic = monotonic
        # id hash → (monotonic time its store read began, the record or None for "no such session").
        self._cache: OrderedDict[str, tuple[float, SessionRecord | None]] = OrderedDict()
        # One store lookup per session at a time; `_forget` drops it, so that a lookup begun before a
        # logout is never joined after it.
        self._loading: dict[str, asyncio.Task[tuple[float, SessionRecord | None]]] = {}

    async def start(
        self,
        *,
        idp: str,
        subject: str,
        email: str | None,
        display_name: str,
        attributes: dict[str, object],
        idp_session_id: str | None = None,
        id_token: str | None = None,
        client_ip: str | None = None,
        user_agent: str | None = None,
        db: AsyncSession | None = None,
    ) -> tuple[str, SessionRecord]:
        """A brand-new session id (never one the browser brought along: that is the rotation at login).

        With `db` (the sign-in's transaction) a SQL store adds the session to it, and it exists once the
        caller commits; another store saves it at once, and a rolled-back sign-in leaves it unreachable
        (its id was never sent to anyone) until it expires."""
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        record = SessionRecord(
            id_hash=digest(session_id),
            idp=idp,
            subject=subject,
            email=email,
            display_name=display_name,
            created_at=now,
            last_seen_at=now,
            expires_at=now + self._absolute,
            idp_session_id=idp_session_id,
            attributes=dict(attributes),
            id_token=id_token,
            client_ip=client_ip,
            user_agent=user_agent[:MAX_USER_AGENT] if user_agent else None,
        )
        if db is not None and isinstance(self.store, SqlTableStore) and self.store.shares(db):
            await self.store.stage(db, record)
        else:
            await self.store.save(record)
        # The redirect after sign-in usually lands on this worker. (A rolled-back sign-in leaves an entry
        # for an id nobody was given, which ages out like any other.)
        self._remember(record.id_hash, record)
        return session_id, record

    async def resolve(self, session_id: str | None) -> SessionRecord | None:
        """The live session for a cookie value, or None (absent, ended, idle too long, or past its end)."""
        if not session_id or len(session_id) > 128:
            return None
        id_hash = digest(session_id)
        entry = self._cache.get(id_hash)
        if entry is not None and self._monotonic() - entry[0] < self._cache_seconds:
            read_at, record = entry
        else:
            read_at, record = await self._load(id_hash)
        if record is None:
            return None
        now = self._clock()
        if now >= record.expires_at or now - record.last_seen_at >= self._idle:
            await self._end(id_hash)
            return None
        if self._idp_allowed is not None and not await self._idp_allowed(record.idp):
            return None  # refused, not ended: this worker's list of IdPs may lag behind a re-enabling
        if now - record.last_seen_at >= TOUCH_INTERVAL:
            record = dataclasses.replace(record, last_seen_at=now)
            # Cached before the write, so that the requests arriving meanwhile do not write it again; with
            # the age of the read it came from, or a revocation since that read would be hidden longer.
            self._remember(id_hash, record, read_at=read_at)
            await self.store.touch(id_hash, now)
        return record

    async def _load(self, id_hash: str) -> tuple[float, SessionRecord | None]:
        """The record from the store, through the lookup already under way for it if there is one, with
        the time that lookup began."""
        task = self._loading.get(id_hash)
        if task is None:
            task = asyncio.ensure_future(self._load_and_remember(id_hash))
            self._loading[id_hash] = task
            task.add_done_callback(lambda done: self._load_finished(id_hash, done))
        # Shielded: one waiting request going away (client disconnect) must not cancel the others' lookup.
        return await asyncio.shield(task)

    async def _load_and_remember(self, id_hash: str) -> tuple[float, SessionRecord | None]:
        # Timed from the start: the store answers as of some moment after it, never before.
        read_at = self._monotonic()
        record = await self.store.load(id_hash)
        if self._loading.get(id_hash) is asyncio.current_task():  # not ended while we were loading
            self._remember(id_hash, record, read_at=read_at)
        return read_at, record

    def _load_finished(self, id_hash: str, task: asyncio.Task[tuple[float, SessionRecord | None]]) -> None:
        if self._loading.get(id_hash) is task:
            del self._loading[id_hash]
        if not task.cancelled():
            task.exception()  # retrieved here too: every waiter may have gone before it failed

    async def end(self, session_id: str | None) -> SessionRecord | None:
        if not session_id or len(session_id) > 128:
            return None
        return await self._end(digest(session_id))

    async def revoke(self, id_hash: str) -> SessionRecord | None:
        """End a session the console picked from `active` (by its stored hash: the console has no cookie)."""
        return await self._end(id_hash)

    async def _end(self, id_hash: str) -> SessionRecord | None:
        self._forget(id_hash)
        return await self.store.delete(id_hash)

    async def end_matching(self, **match: Unpack[SessionMatch]) -> list[SessionRecord]:
        ended = await self.store.delete_matching(**match)
        for record in ended:
            self._forget(record.id_hash)
        return ended

    async def end_idp(self, idp: str) -> list[SessionRecord]:
        """End every session of one IdP, the way `end_matching` never does (the admin turned it off)."""
        ended = await self.store.delete_idp(idp)
        for record in ended:
            self._forget(record.id_hash)
        return ended

    async def active(self, text: str = "", *, offset: int = 0, limit: int = 50) -> SessionPage:
        """The live sessions, newest first, as `resolve` would judge them (not past their end, not idle)."""
        now = self._clock()
        return await self.store.active(
            now=now, seen_after=now - self._idle, text=text.strip(), offset=offset, limit=limit
        )

    def _forget(self, id_hash: str) -> None:
        """Ended here: no later request in this worker may see it, not even through a lookup under way."""
        self._loading.pop(id_hash, None)
        self._remember(id_hash, None)

    def _remember(self, id_hash: str, record: SessionRecord | None, *, read_at: float | None = None) -> None:
        """Cache what this worker knows: a record read from the store at `read_at`, or (by default) one
        it has just written or ended itself, which is as fresh as can be."""
        if self._cache_seconds <= 0:
            return
        self._cache[id_hash] = (self._monotonic() if read_at is None else read_at, record)
        self._cache.move_to_end(id_hash)
        while len(self._cache) > CACHE_LIMIT:
            self._cache.popitem(last=False)
