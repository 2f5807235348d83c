"""What every portal page shows and rarely changes: service desks, request type groups, request types and
request forms, cached for `jsm_cache_seconds` (300 s by default).

Concurrent callers of one key share one fetch (no thundering herd when a cold cache meets a busy page); a
failed fetch is not cached, so the next caller tries again. `refresh()` forgets everything (the
`deskgate jira refresh` command clears the caches of the process it runs in; running servers follow
within the TTL).

Entries are keyed by the connection they were fetched with, and a new connection (another site, or other
credentials that may see other desks) empties the cache: every worker stops serving the previous
connection's catalogue as soon as its connection cache (`connection.CACHE_SECONDS`) sees the change, not
only after the TTL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar, cast

from deskgate.errors import NotFound
from deskgate.jsm import JsmClient
from deskgate.jsm.models import RequestForm, RequestType, RequestTypeGroup, ServiceDesk
from deskgate.portal.connection import fingerprint

T = TypeVar("T")
DEFAULT_TTL = 300.0


class TtlCache:
    """Values by key for `ttl` seconds; one fetch in flight per key, shared by everyone who asks."""

    def __init__(self, ttl: float, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._monotonic = monotonic
        self._entries: dict[Hashable, tuple[float, asyncio.Future[Any]]] = {}

    async def get(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> T:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self._monotonic() or _failed(entry[1]):
            task: asyncio.Future[Any] = asyncio.ensure_future(fetch())
            entry = (self._monotonic() + self.ttl, task)
            self._entries[key] = entry
            task.add_done_callback(lambda done: self._forget_failure(key, done))
        # shield: one caller giving up (a closed connection) must not cancel the others' fetch.
        return cast(T, await asyncio.shield(entry[1]))

    def _forget_failure(self, key: Hashable, done: asyncio.Future[Any]) -> None:
        if _failed(done) and self._entries.get(key, (0.0, None))[1] is done:
            del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()


def _failed(future: asyncio.Future[Any]) -> bool:
    return future.done() and (future.cancelled() or future.exception() is not None)


class Catalogue:
    """The cached JSM catalogue. Keys carry the connection, so a new one never sees the old one's data."""

    def __init__(
        self,
        clients: Callable[[], Awaitable[JsmClient]],
        *,
        ttl: float = DEFAULT_TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clients = clients
        self._cache = TtlCache(ttl, monotonic=monotonic)
        self._connection: tuple[JsmClient, str] | None = None  # the client last seen, its fingerprint

    async def _cached(self, key: tuple[str, ...], call: Callable[[JsmClient], Awaitable[T]]) -> T:
        client = await self._clients()
        seen = self._connection
        if seen is None or seen[0] is not client:
            seen = (client, fingerprint(client.connection))
            if self._connection is not None and self._connection[1] != seen[1]:
                self._cache.clear()  # the previous connection's entries would never be read again
            self._connection = seen
        # In the key as well: a fetch that began with the previous client cannot fill the new one's entry.
        return await self._cache.get((seen[1], *key), lambda: call(client))

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
