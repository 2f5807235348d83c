"""What every portal page shows and rarely changes: service desks, request type groups, request types and
request forms, cached for `jsm_cache_seconds` (300 s by default).

Concurrent callers of one key share one fetch (no thundering herd when a cold cache meets a busy page); a
failed first fetch is not cached, so the next caller tries again. Once a key has a value, a refresh that
fails because JSM is away or slow keeps serving the old value (stale-while-error, see `TtlCache`): a
customer reads yesterday's list of desks rather than an error page. `refresh()` forgets everything (the
`deskgate jira refresh` command marks the connection's row, and every worker of every instance clears
its catalogue as soon as its connection cache (`connection.CACHE_SECONDS`) sees the mark).

Entries are keyed by the connection they were fetched with, and a new connection (another site, or other
credentials that may see other desks) empties the cache: every worker stops serving the previous
connection's catalogue as soon as its connection cache (`connection.CACHE_SECONDS`) sees the change, not
only after the TTL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from deskgate.errors import NotFound
from deskgate.jsm import JsmClient, JsmRateLimited, JsmUnavailable
from deskgate.jsm.models import RequestForm, RequestType, RequestTypeGroup, ServiceDesk
from deskgate.portal import page_budget
from deskgate.portal.connection import fingerprint

T = TypeVar("T")
DEFAULT_TTL = 300.0
MAX_STALE = 86_400.0  # past its TTL, a value stands in for a failing JSM this long at most
FAILURE_PAUSE = 10.0  # after a failed refresh, the old value is served this long before asking again
MAX_PAUSE = 300.0  # a Retry-After is honoured up to this


@dataclass
class _Entry:
    """One key: the fetch in flight, and the last good value (kept past its TTL for stale-while-error)."""

    fetching: asyncio.Future[Any] | None = None
    value: Any = None
    has_value: bool = False
    fresh_until: float = 0.0  # monotonic
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    retry_at: float = 0.0  # monotonic: no new fetch before this (JSM's Retry-After, or a short pause)


class TtlCache:
    """Values by key for `ttl` seconds; one fetch in flight per key, shared by everyone who asks.

    Stale-while-error: once a key has had a value, a refresh that fails because JSM is away or slow
    (`JsmUnavailable`, a timeout) keeps the old value, which is served, for up to `MAX_STALE` seconds;
    the next refresh waits for JSM's Retry-After (or `FAILURE_PAUSE`), so a struggling JSM is not asked
    again by every page. A page with a budget (`portal.page_budget`) waits for a refresh only part of
    what it has left and then serves the old value, noting it on the budget so the page says so.
    """

    def __init__(self, ttl: float, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._monotonic = monotonic
        self._entries: dict[Hashable, _Entry] = {}

    async def get(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> T:
        now = self._monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry.has_value and now >= entry.fresh_until + MAX_STALE:
            entry.has_value = False  # too old to stand in for JSM's answer
        if entry is not None and entry.has_value and now < entry.fresh_until:
            return cast(T, entry.value)
        if entry is None:
            entry = self._entries[key] = _Entry()
        if entry.fetching is None and (not entry.has_value or now >= entry.retry_at):
            task: asyncio.Future[Any] = asyncio.ensure_future(fetch())
            entry.fetching = task
            task.add_done_callback(lambda done: self._settle(key, entry, done))
        if not entry.has_value:
            assert entry.fetching is not None
            # shield: one caller giving up (a closed connection) must not cancel the others' fetch.
            return cast(T, await asyncio.shield(entry.fetching))
        if entry.fetching is not None:
            fetching = entry.fetching
            budget = page_budget.current()
            await asyncio.wait({fetching}, timeout=budget.refresh_patience() if budget else None)
            if fetching.done() and not fetching.cancelled():
                failure = fetching.exception()
                if failure is None:
                    return cast(T, fetching.result())
                if not _transient(failure):
                    raise failure
        budget = page_budget.current()
        if budget is not None:
            budget.served_stale(entry.fetched_at)
        return cast(T, entry.value)

    def _settle(self, key: Hashable, entry: _Entry, done: asyncio.Future[Any]) -> None:
        if self._entries.get(key) is not entry:
            return  # cleared meanwhile: what was fetched belongs to nobody now
        entry.fetching = None
        failure = None if done.cancelled() else done.exception()
        if done.cancelled() or failure is not None:
            if entry.has_value and _transient(failure):
                entry.retry_at = self._monotonic() + _pause(failure)
            else:
                del self._entries[key]
            return
        entry.value, entry.has_value = done.result(), True
        entry.fresh_until = self._monotonic() + self.ttl
        entry.fetched_at = datetime.now(UTC)

    def clear(self) -> None:
        self._entries.clear()


def _transient(failure: BaseException | None) -> bool:
    """JSM away, slow or busy: the old value is still the best answer. (Not a 404: that is news.)"""
    return isinstance(failure, JsmUnavailable | TimeoutError)


def _pause(failure: BaseException | None) -> float:
    retry_after = failure.retry_after if isinstance(failure, JsmRateLimited) else None
    return min(retry_after, MAX_PAUSE) if retry_after is not None else FAILURE_PAUSE


class Catalogue:
    """The cached JSM catalogue. Keys carry the connection, so a new one never sees the old one's data."""

    def __init__(
        self,
        clients: Callable[[], Awaitable[JsmClient]],
        *,
        cleared_at: Callable[[], Awaitable[datetime | None]] | None = None,
        ttl: float = DEFAULT_TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clients = clients
        self._cleared_at = cleared_at
        self._cache = TtlCache(ttl, monotonic=monotonic)
        self._connection: tuple[JsmClient, str] | None = None  # the client last seen, its fingerprint
        self._epoch: datetime | None = None  # the last `deskgate jira refresh` this worker saw

    async def _cached(self, key: tuple[str, ...], call: Callable[[JsmClient], Awaitable[T]]) -> T:
        client = await self._clients()
        seen = self._connection
        if seen is None or seen[0] is not client:
            seen = (client, fingerprint(client.connection))
            if self._connection is not None and self._connection[1] != seen[1]:
                self._cache.clear()  # the previous connection's entries would never be read again
            self._connection = seen
        epoch = await self._cleared_at() if self._cleared_at is not None else None
        if epoch != self._epoch:  # a refresh on any instance
            self._cache.clear()
            self._epoch = epoch
        # In the key as well: a fetch that began with the previous client (or before the refresh) cannot
        # fill the new one's entry.
        return await self._cache.get((seen[1], str(epoch), *key), lambda: call(client))

    async def service_desks(self) -> tuple[ServiceDesk, ...]:
        return await self._cached(("desks",), lambda c: c.service_desks())

    async def service_desk(self, desk_id: str) -> ServiceDesk:
        for desk in await self.service_desks():
            if desk.id == desk_id:
                return desk
        raise NotFound(f"no service desk {desk_id!r}")

    async def request_type_groups(self, desk_id: str) -> tuple[RequestTypeGroup, ...]:
        return await self._cached(("groups", desk_id), lambda c: c.request_type_groups(desk_id))

    async def request_types(self, desk_id: str) -> tuple[RequestType, ...]:
        return await self._cached(("types", desk_id), lambda c: c.request_types(desk_id))

    async def request_type(self, desk_id: str, request_type_id: str) -> RequestType:
        for request_type in await self.request_types(desk_id):
            if request_type.id == request_type_id:
                return request_type
        raise NotFound(f"no request type {request_type_id!r} in service desk {desk_id!r}")

    async def request_form(self, desk_id: str, request_type_id: str) -> RequestForm:
        return await self._cached(
            ("form", desk_id, request_type_id), lambda c: c.request_form(desk_id, request_type_id)
        )

    async def portal(
        self, desk_id: str
    ) -> tuple[ServiceDesk, tuple[RequestTypeGroup, ...], tuple[RequestType, ...]]:
        """Everything a desk's portal page needs, its independent fetches run concurrently."""
        desk, groups, types = await asyncio.gather(
            self.service_desk(desk_id), self.request_type_groups(desk_id), self.request_types(desk_id)
        )
        return desk, groups, types

    def refresh(self) -> None:
        self._cache.clear()
