"""The loops every worker runs beside the server (housekeeping, the outbox's delivery, SAML metadata), and
how they stop: between two rounds, not in the middle of one.

A loop cancelled mid-round would abandon what it holds: a claimed outbox write (taken over only once its
lease runs out, and then as "outcome unknown", with a lookup in JSM before it is sent again), a database
connection in the middle of a statement (the pool can then only drop it without closing it, its driver's
thread finishing after the event loop has gone). So at shutdown each loop is asked to stop, and waited
for while it finishes its round, up to `grace` seconds; only a round still running then is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

GRACE_SECONDS = 5.0

Round = Callable[[], Awaitable[float]]  # one round; how long to wait before the next


class Background:
    def __init__(self) -> None:
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, round_: Round, *, first_after: float = 0.0) -> None:
        """Run `round_` again and again, waiting what it says between rounds, until `stop`; the first
        round `first_after` seconds after the start."""
        self._tasks.append(asyncio.create_task(self._loop(round_, first_after)))

    async def _loop(self, round_: Round, wait: float) -> None:
        while not await self._stopped_within(wait):
            wait = await round_()

    async def _stopped_within(self, seconds: float) -> bool:
        if seconds <= 0:
            await asyncio.sleep(0)  # busy rounds back to back still let everything else run
            return self._stopping.is_set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    async def stop(self, grace: float = GRACE_SECONDS) -> None:
        """Let each loop end its round (cancel it if it takes longer than `grace`), then return."""
        self._stopping.set()
        if not self._tasks:
            return
        _, late = await asyncio.wait(self._tasks, timeout=grace)
        for task in late:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
