"""The time a customer's page may spend waiting for JSM, and what it learnt while waiting.

A slow JSM must not hold a browser for the minute that the patient retry policy of background work may
take (four tries of 10 s, or a 429 asking for 25 s). So a portal page runs inside `page_budget(seconds)`:
a hard deadline (`asyncio.timeout`, which becomes `PageTimeout`), and a record that the code below reads
without being handed it:

- the catalogue (`portal.catalogue`) waits for a refresh only part of what is left, then serves the
  data it has and notes here that it is stale, so the page can say so;
- the page's JSM client (`page_retry_policy`) retries little and never sleeps for a long Retry-After.

Background work (the outbox worker) runs outside any budget and keeps the patient policy: it honours
Retry-After instead of failing fast.

The record is a mutable object in a context variable: tasks started by `asyncio.gather` copy the context,
so they see the same object, and what they note reaches the page.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from deskgate.jsm import JsmUnavailable, RetryPolicy

T = TypeVar("T")
DEFAULT_SECONDS = 5.0
# A page waits for a catalogue refresh at most this share of what is left of its budget, so that the
# calls after it (and drawing the page) still have time.
REFRESH_SHARE = 0.5


class PageTimeout(JsmUnavailable):
    """The page's JSM calls did not finish within the page budget (`page_budget_seconds`)."""

    user_message = (
        "The help desk (Jira Service Management) is answering very slowly right now, so this page "
        "could not be loaded. Please try again in a minute."
    )

    def __init__(self, seconds: float) -> None:
        super().__init__(f"page budget of {seconds:g} s spent waiting for JSM", operation="page")


@dataclass
class PageBudget:
    """One page's deadline (event-loop time) and the age of the oldest stale data it was served."""

    seconds: float
    deadline: float
    stale_since: datetime | None = None

    def remaining(self) -> float:
        return max(0.0, self.deadline - asyncio.get_running_loop().time())

    def refresh_patience(self) -> float:
        """How long a cache holding older data waits for JSM's fresh answer before serving what it has."""
        return self.remaining() * REFRESH_SHARE

    def served_stale(self, fetched_at: datetime) -> None:
        if self.stale_since is None or fetched_at < self.stale_since:
            self.stale_since = fetched_at


_current: ContextVar[PageBudget | None] = ContextVar("deskgate_page_budget", default=None)


def current() -> PageBudget | None:
    """The budget of the page being served; None in background work (no deadline there)."""
    return _current.get()


@asynccontextmanager
async def page_budget(seconds: float) -> AsyncIterator[PageBudget]:
    """Run a page's work within `seconds`; PageTimeout when they are spent."""
    budget = PageBudget(seconds, asyncio.get_running_loop().time() + seconds)
    token = _current.set(budget)
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            yield budget
    except TimeoutError as exc:
        if not deadline.expired():  # a timeout of some inner call, not of the page: not ours to rename
            raise
        raise PageTimeout(seconds) from exc
    finally:
        _current.reset(token)


async def within_share(awaitable: Awaitable[T]) -> T:
    """Await a JSM call a page can do without for at most `REFRESH_SHARE` of what is left (all the time
    it needs outside a page); JsmUnavailable when that is spent, so that the page shows the rest."""
    budget = current()
    if budget is None:
        return await awaitable
    try:
        async with asyncio.timeout(budget.refresh_patience()):
            return await awaitable
    except TimeoutError as exc:
        raise JsmUnavailable("no answer within the page's share of its budget", operation="page") from exc


def page_retry_policy(seconds: float) -> RetryPolicy:
    """For calls a customer waits on: one quick second try (a dropped connection, a 502), and a 429 is
    waited out only when JSM asks for a moment; anything longer fails at once with JsmRateLimited."""
    return RetryPolicy(max_attempts=2, base_delay=0.2, max_delay=0.5, max_retry_after=min(1.0, seconds / 4))


def stale_notice_time() -> datetime | None:
    """When the oldest data shown on this page was fetched, if the page had to show stale data."""
    budget = current()
    return budget.stale_since if budget is not None else None
