"""Failed admin sign-ins, counted per user name and per client address, in memory per worker.

After `limit` failures within `window` the key is refused until the oldest failure ages out. Counting
per worker is enough to make guessing slow; argon2 makes each guess expensive as well.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SignInThrottle:
    def __init__(
        self, *, limit: int = 5, window_seconds: float = 900.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._window = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.get(key, deque())
        cutoff = self._clock() - self._window
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            self._failures.pop(key, None)
        return failures

    def blocked(self, *keys: str) -> bool:
        return any(len(self._recent(key)) >= self._limit for key in keys)

    def failed(self, *keys: str) -> None:
        now = self._clock()
        for key in keys:
            self._recent(key)
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username_key: str) -> None:
        self._failures.pop(username_key, None)
