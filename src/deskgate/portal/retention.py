"""How long the outbox keeps what it no longer needs to deliver; run by the housekeeping loop.

- The files of a done submission are in JSM: their contents (up to several 10 MB uploads each) go. The
  delivery deletes them itself right after JSM has them; the sweep here catches a worker that stopped
  between marking a submission done and deleting its files.
- Done and failed rows go once they are older than the retention period. Until then a failed one is still
  shown to its customer ("may or may not have reached the help desk"). The submission limit does not read
  this table (it keeps its own token buckets, `deskgate.portal.ratelimit`), so any retention is safe.
- Pending and sending rows, and their files, are never touched, however old: they are still to be
  delivered (a retry after the issue was created uploads the stored files).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.portal.outbox import FINAL_STATES
from deskgate.store.models import SubmissionFileRow, SubmissionRow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Purged:
    files: int  # file rows deleted (those of done submissions, and of the expired rows)
    submissions: int  # done or failed rows older than the retention period


async def purge_submissions(
    sessions: async_sessionmaker[AsyncSession], *, keep: timedelta, now: datetime | None = None
) -> Purged:
    """Delete the files of done submissions, and done or failed submissions older than `keep`."""
    cutoff = (now or datetime.now(UTC)) - keep
    # Both times: a submission that failed only lately (after days of retries) stays visible to its
    # customer for the whole period too.
    old = and_(
        SubmissionRow.state.in_(FINAL_STATES),
        SubmissionRow.created_at < cutoff,
        SubmissionRow.updated_at < cutoff,
    )
    delivered = SubmissionRow.state == "done"
    async with sessions() as session, session.begin():
        # Files first and explicitly: the foreign key cascades, but not every connection enforces it.
        files = await session.execute(
            delete(SubmissionFileRow)
            .where(SubmissionFileRow.submission_id.in_(select(SubmissionRow.id).where(or_(delivered, old))))
            .execution_options(synchronize_session=False)
        )
        rows = await session.execute(
            delete(SubmissionRow).where(old).execution_options(synchronize_session=False)
        )
    purged = Purged(files.rowcount, rows.rowcount)  # type: ignore[attr-defined]
    if purged.files or purged.submissions:
        log.info(
            "retention: %d submission(s) older than %s and %d stored file(s) removed",
            purged.submissions,
            keep,
            purged.files,
        )
    return purged
