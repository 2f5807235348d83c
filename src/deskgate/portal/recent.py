"""What a worker learned lately about its customers, kept a few seconds: `Recent`.

Every portal page needs the customer's link and time zone, and a customer browsing asks for the same
ones page after page; the request pages remember which requests a customer was lately allowed to see
(`access.RecentGrants`). `Recent` keeps each value for `ttl` seconds and at most
`limit` keys in all: storing one more drops the key stored longest ago. A worker that serves a great
many customers over days keeps the last `limit` of them, never all (memory stays flat), and a value is
never served after its `ttl`, so a change made on another worker shows within it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

LIMIT = 50_000  # customers remembered per worker (each entry a few hundred bytes)


@dataclass(frozen=True, slots=True)
class Found(Generic[V]):
    """A value `Recent` holds (which may itself be None: "the customer chose no zone" is an answer)."""

    value: V


class Recent(Generic[K, V]):
    def __init__(
        self, ttl: float, *, limit: int = LIMIT, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl < 0 or limit < 1:
            raise ValueError("Recent needs a ttl of 0 or more (0: nothing is served) and a positive limit")
        self.ttl = ttl
        self.limit = limit
        self._monotonic = monotonic
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> Found[V] | None:
        """The value stored for `key` less than `ttl` seconds ago, or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._monotonic():
            del self._entries[key]  # expired: nobody may read it again
            return None
        return Found(entry[1])

    def put(self, key: K, value: V) -> None:
        self._entries[key] = (self._monotonic() + self.ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.limit:
            self._entries.popitem(last=False)

    def discard(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
