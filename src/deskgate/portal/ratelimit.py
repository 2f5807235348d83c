"""Per-customer limits on what the portal sends to JSM: requests raised, comments posted, files uploaded.

Each limit is a token bucket per customer (`deskgate.portal.token_buckets`), kept in the database so that
every worker and instance shares it, and taken atomically *before* anything is stored or sent: a refused
create stores nothing, a refused comment reaches no one. What one action costs is taken together — a
request and its files, a comment and its files — so a refusal spends nothing.

A refusal is `RateLimited` (HTTP 429): its `retry_after` feeds the Retry-After header, and its message
tells the customer the limit and when there is room again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.errors import DeskgateError
from deskgate.observability import metrics
from deskgate.portal.token_buckets import Refusal, SqlTokenBuckets, TokenBuckets, Want, bucket_key
from deskgate.settings import Settings


class RateLimited(DeskgateError):
    status_code = 429
    user_message = "You have sent many requests in a short time. Please try again later."

    def __init__(self, detail: str, *, retry_after: float, user_message: str) -> None:
        super().__init__(detail, user_message=user_message)
        self.retry_after = retry_after  # seconds, whole

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(int(self.retry_after))}


LimitName = Literal["submissions", "comments", "files"]


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `count` per customer in any `window` (0 turns it off); `what` words it for the customer."""

    name: LimitName
    count: int
    window: timedelta
    what: str  # "send at most 10 requests"

    @property
    def off(self) -> bool:
        return self.count <= 0


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def _duration(seconds: float) -> str:
    """A wait or a window in words: whole minutes below two hours, whole hours above (rounded up)."""
    minutes = max(1, math.ceil(seconds / 60 - 1e-9))
    if minutes < 120 and (minutes < 60 or minutes % 60):
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = math.ceil(minutes / 60)
    return f"{hours} hour{'s' if hours != 1 else ''}"


class CustomerLimits:
    """The portal's three limits, taken per customer (identity provider and subject) from `buckets`."""

    def __init__(
        self,
        buckets: TokenBuckets,
        limits: dict[LimitName, Limit],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._buckets = buckets
        self.limits = limits
        self._clock = clock

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], float] = time.time,
    ) -> CustomerLimits:
        minutes = timedelta(minutes=1)
        limits: dict[LimitName, Limit] = {
            "submissions": Limit(
                "submissions",
                settings.submission_limit,
                settings.submission_window_minutes * minutes,
                f"send at most {_counted(settings.submission_limit, 'request')}",
            ),
            "comments": Limit(
                "comments",
                settings.comment_limit,
                settings.comment_window_minutes * minutes,
                f"post at most {_counted(settings.comment_limit, 'comment')}",
            ),
            "files": Limit(
                "files",
                settings.upload_limit,
                settings.upload_window_minutes * minutes,
                f"attach at most {_counted(settings.upload_limit, 'file')}",
            ),
        }
        return cls(SqlTokenBuckets(sessions), limits, clock=clock)

    async def take(
        self, idp: str, subject: str, *, submissions: int = 0, comments: int = 0, files: int = 0
    ) -> None:
        """Spend what one action costs, all or nothing; RateLimited (429) with when to retry otherwise."""
        costs: dict[LimitName, int] = {"submissions": submissions, "comments": comments, "files": files}
        wants = {
            bucket_key(name, idp, subject): self.limits[name]
            for name, cost in costs.items()
            if cost > 0 and not self.limits[name].off
        }
        if not wants:
            return
        refusal = await self._buckets.take(
            [
                Want(key, costs[limit.name], limit.count, limit.window.total_seconds())
                for key, limit in wants.items()
            ],
            now=self._clock(),
        )
        if refusal is not None:
            metrics.rate_limited(wants[refusal.want.key].name)
            raise _refused(idp, subject, wants[refusal.want.key], refusal)

    async def forget_full(self) -> int:
        """Drop the buckets untouched for the longest window: they are full again, which is what a
        missing row means too, so the table holds only customers active lately. Run by housekeeping."""
        longest = max(limit.window.total_seconds() for limit in self.limits.values())
        return await self._buckets.purge(before=self._clock() - longest)


def _refused(idp: str, subject: str, limit: Limit, refusal: Refusal) -> RateLimited:
    window = _duration(limit.window.total_seconds())
    if refusal.want.cost > limit.count:  # more at once than the limit allows at all
        message = f"You can {limit.what} within {window}. Please attach fewer files."
    else:
        message = (
            f"You can {limit.what} within {window}. Please try again in {_duration(refusal.retry_after)}."
        )
    return RateLimited(
        f"{idp}/{subject}: {limit.name} limit ({limit.count} per {limit.window}) reached; "
        f"{refusal.want.cost} wanted",
        retry_after=max(1.0, math.ceil(refusal.retry_after)),
        user_message=message,
    )
