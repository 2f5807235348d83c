"""Per-customer submission rate limit, counted from the submissions table.

The outbox already records every submission with its time, so the count is durable and shared by every
worker and process, and costs no extra store. A sliding window: at most `limit` submissions in the last
`window`; the refusal says when the oldest one in the window ages out. Two submissions racing past the
check at the same instant may both pass: the limit is spam control, not accounting.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.errors import DeskgateError
from deskgate.store.models import SubmissionRow


class RateLimited(DeskgateError):
    status_code = 429
    user_message = "You have sent many requests in a short time. Please try again later."

    def __init__(self, detail: str, *, retry_after: float, user_message: str) -> None:
        super().__init__(detail, user_message=user_message)
        self.retry_after = retry_after  # seconds; for a Retry-After header


@dataclass(frozen=True, slots=True)
class SubmissionLimit:
    limit: int = 10  # submissions per customer …
    window: timedelta = timedelta(hours=1)  # … in any window this long; limit 0 turns the check off


def _wait_text(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = math.ceil(minutes / 60)
    return f"{hours} hour{'s' if hours != 1 else ''}"


class SubmissionRateLimit:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: SubmissionLimit | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self.settings = settings or SubmissionLimit()
        self._clock = clock

    async def check(self, idp: str, subject: str) -> None:
        """Return if this customer may submit now; RateLimited (HTTP 429) with when to retry otherwise."""
        limit = self.settings.limit
        if limit <= 0:
            return
        now = self._clock()
        since = now - self.settings.window
        query = (
            select(func.count())
            .where(SubmissionRow.idp == idp, SubmissionRow.subject == subject)
            .where(SubmissionRow.created_at > since)
        )
        async with self._sessions() as session:
            count = int(await session.scalar(query) or 0)
            if count < limit:
                return
            # The (count - limit + 1)th oldest in the window must age out before there is room again.
            oldest = await session.scalar(
                select(SubmissionRow.created_at)
                .where(SubmissionRow.idp == idp, SubmissionRow.subject == subject)
                .where(SubmissionRow.created_at > since)
                .order_by(SubmissionRow.created_at)
                .offset(count - limit)
                .limit(1)
            )
        assert oldest is not None
        window = self.settings.window.total_seconds()
        retry_after = max(1.0, (oldest + self.settings.window - now).total_seconds())
        raise RateLimited(
            f"{idp}/{subject}: {count} submissions in {self.settings.window}",
            retry_after=retry_after,
            user_message=f"You have sent {limit} requests within {_wait_text(window)}. "
            f"Please try again in {_wait_text(retry_after)}.",
        )
