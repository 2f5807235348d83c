"""The per-customer submission limit, counted from the submissions table on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.portal.ratelimit import RateLimited, SubmissionLimit, SubmissionRateLimit
from deskgate.store.models import SubmissionRow
from tests.support.clock import START, Clock

pytestmark = pytest.mark.anyio


async def record(sessions: async_sessionmaker[AsyncSession], subject: str, at: datetime, n: int) -> None:
    async with sessions() as session, session.begin():
        session.add(
            SubmissionRow(
                id=f"{subject}-{n}",
                marker=f"{subject}marker{n:08d}",
                idp="oidc",
                subject=subject,
                jsm_user_id="u",
                desk_id="1",
                request_type_id="1",
                summary="s",
                field_values={},
                state="done",
                attempts=1,
                next_attempt_at=at,
                created_at=at,
                updated_at=at,
            )
        )


async def test_the_n_plus_first_in_the_window_is_refused_and_allowed_after_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    limit = SubmissionRateLimit(sessions, SubmissionLimit(3, timedelta(hours=1)), clock=clock)
    for n in range(3):
        await limit.check("oidc", "alice")
        await record(sessions, "alice", clock.now, n)
        clock.now += timedelta(minutes=10)
    with pytest.raises(RateLimited) as refused:
        await limit.check("oidc", "alice")
    # The first of the three (at 9:00) leaves the window at 10:00, thirty minutes from now (9:30).
    assert refused.value.status_code == 429 and refused.value.retry_after == 1800
    assert refused.value.user_message == (
        "You have sent 3 requests within 1 hour. Please try again in 30 minutes."
    )
    await limit.check("oidc", "bob")  # other customers are not affected
    clock.now = START + timedelta(hours=1, seconds=1)
    await limit.check("oidc", "alice")


async def test_a_limit_of_zero_turns_the_check_off(sessions: async_sessionmaker[AsyncSession]) -> None:
    await record(sessions, "alice", START, 0)
    await SubmissionRateLimit(sessions, SubmissionLimit(0), clock=Clock()).check("oidc", "alice")
