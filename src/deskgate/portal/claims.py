"""Claims: the short, renewed leases that make each delivery of the outbox single, and fence a stale worker.

A claim is a lease in the row itself, taken with one conditional UPDATE (compare-and-set on `attempts`,
which every claim increments): `state='sending'`, `next_attempt_at = now + lease_seconds`. Only one
worker's UPDATE matches. While the delivery runs, a heartbeat renews the lease every
`heartbeat_seconds`; a worker that dies (process killed, host gone) stops renewing, and another worker
takes the row over once the short lease has run out — within seconds, not minutes. A renewal that
finds the lease taken over cancels the delivery at once, and every write of the claimant (`_save`,
`_renew`) is fenced by its `attempts` value, so a stale worker can neither overwrite the new owner's work
nor start a new JSM write (each write first renews its lease, see `Submissions`).

A claim taken over from a dead worker counts as unclear: the dead worker may have sent its write and JSM
may have carried it out. So do the other unclear failures (`JsmUnavailable.outcome_unknown`). Unclear is
sticky (`outcome_unknown`): it stays set across every retry until the write is adopted or made, and each
retry first looks for the earlier attempt's effect (`deskgate.portal.adoption`).

Why not `SELECT … FOR UPDATE SKIP LOCKED`: that holds a transaction and a connection open across slow
JSM calls, a crash's lock would die with the connection but a hung one holds it, and SQLite has none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select, update

from deskgate.portal.outbox import LIVE_STATES, SubmissionOutbox
from deskgate.store.models import SubmissionFileRow, SubmissionRow
from deskgate.store.reads import read_first
from deskgate.store.writes import write_one

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Claim:
    row: SubmissionRow  # as it was when claimed
    attempts: int  # this claim's fencing token
    was_unclear: bool  # an earlier try may have reached JSM (it failed unclearly, or its worker died)
    unclear_at: datetime | None  # when that unclear try ended (nothing found is trusted `late_commit` after)
    first_attempt_at: datetime  # an earlier attempt's effect was made after this (minus clock skew)
    has_files: bool = True  # whether it was stored with files (they stay until it is done)


class ClaimingOutbox(SubmissionOutbox):
    """The outbox with claims: `lease_seconds` and `heartbeat_seconds` are set by the delivery policy."""

    lease_seconds: float = 15.0
    heartbeat_seconds: float = 5.0

    async def _claim(self, submission_id: str) -> Claim | None:
        """Take the submission for one lease if it is due and nobody else holds it.

        A read, then the compare-and-set: each one statement, atomic on its own, so neither needs a
        transaction around it. Whatever changed the row between them changed `attempts` (a claim), its
        state or its due time (the holder's outcome or renewal), or deleted it (a cancel): the update
        then matches nothing, and the claim is not taken. One change passes: a holder whose lease has
        lapsed saving its key meanwhile (it keeps state and due time). A takeover is unclear whatever it
        read, so the new holder looks in JSM for what the old one made before it makes anything
        (`deskgate.portal.adoption`), as it would if the old one had been killed before saving."""
        now = self._clock()
        has_files = exists().where(SubmissionFileRow.submission_id == SubmissionRow.id)
        query = select(*SubmissionRow.__table__.columns, has_files.label("has_files"))
        found = await read_first(self._sessions, query.where(SubmissionRow.id == submission_id))
        if found is None or found.state not in LIVE_STATES or found.next_attempt_at > now:
            return None
        seen, taken_over = found.attempts, found.state == "sending"
        first = found.first_attempt_at or now
        values: dict[str, Any] = {
            "state": "sending",
            "attempts": seen + 1,
            "next_attempt_at": now + timedelta(seconds=self.lease_seconds),
            "first_attempt_at": first,
            "updated_at": now,
        }
        if taken_over:  # its worker died holding it: what it sent may have been carried out
            values.update(outcome_unknown=True, unclear_at=now)
        taken = await write_one(
            self._sessions,
            update(SubmissionRow)
            .where(SubmissionRow.id == submission_id, SubmissionRow.attempts == seen)
            .where(SubmissionRow.state.in_(LIVE_STATES))
            .where(SubmissionRow.next_attempt_at <= now)
            .values(**values),
        )
        if taken.rowcount != 1:
            return None
        row = SubmissionRow(
            **{column.key: found._mapping[column.key] for column in SubmissionRow.__table__.columns}
        )
        if taken_over:
            log.warning("submission %s: taken over from a worker that stopped renewing its lease", row.id)
        unclear = taken_over or row.outcome_unknown
        return Claim(row, seen + 1, unclear, now if taken_over else row.unclear_at, first, found.has_files)

    async def _save(self, claim: Claim, **values: Any) -> bool:
        """Write the claimant's outcome; False (and nothing written) if its lease was taken over."""
        values["updated_at"] = self._clock()
        done = await write_one(
            self._sessions,
            update(SubmissionRow)
            .where(SubmissionRow.id == claim.row.id, SubmissionRow.state == "sending")
            .where(SubmissionRow.attempts == claim.attempts)
            .values(**values),
        )
        if done.rowcount != 1:
            log.warning("submission %s: lease lost before saving %s", claim.row.id, sorted(values))
            return False
        return True

    async def _renew(self, claim: Claim) -> bool:
        """Extend the lease by `lease_seconds` from now; False if another worker has taken it over."""
        return await self._save(claim, next_attempt_at=self._clock() + timedelta(seconds=self.lease_seconds))

    async def _finish(self, claim: Claim, note: str | None, **values: Any) -> bool:
        """Mark it done (JSM has it: no longer unclear); its files are in JSM now, so they go at once."""
        if not await self._save(claim, state="done", last_error=note, outcome_unknown=False, **values):
            return False
        if claim.has_files:
            await write_one(
                self._sessions,
                delete(SubmissionFileRow).where(SubmissionFileRow.submission_id == claim.row.id),
            )
        return True

    async def _while_held(self, claim: Claim, work: Awaitable[None]) -> None:
        """Run `work` while a heartbeat renews the claim; cancel it as soon as the claim is lost."""
        task = asyncio.ensure_future(work)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.heartbeat_seconds)
                if done:
                    task.result()
                    return
                try:
                    held = await self._renew(claim)
                except Exception:  # the database away for a moment: try again at the next beat
                    log.exception("submission %s: the lease could not be renewed", claim.row.id)
                    continue
                if not held:
                    log.warning("submission %s: lease taken over; stopping this delivery", claim.row.id)
                    return
        finally:
            if not task.done():
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
