"""Token buckets in the database: the atomic store behind every per-customer limit.

A bucket holds up to `capacity` tokens and refills at `capacity / window` tokens a second; taking `n`
succeeds only while at least `n` are left. So a customer may use a whole limit at once and then one more
each `window / capacity` — a limit per window that never resets all at once at a window's edge.

Taking is one ``INSERT … ON CONFLICT DO UPDATE … WHERE <enough tokens> RETURNING`` (PostgreSQL, and
SQLite since 3.35): the database computes the refill and the take itself from the row it holds locked
(PostgreSQL locks the row, SQLite the whole database), so thirty requests racing for the last eight
tokens get exactly eight — a count read first and written later (the old design) let all thirty in.
The arithmetic is plain CASE over epoch-second floats, so one statement serves both databases.

One bucket alone (a comment without files) is that one statement, outside any transaction on
PostgreSQL (`deskgate.store.writes`). Several buckets taken together (a comment and its files) are taken
in one transaction, in a fixed
order: if one refuses, the transaction rolls back and none is spent; the fixed order means two requests
can never hold each other's rows (no deadlock on PostgreSQL).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Executable, case, delete, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.types import Float

from deskgate.store.models import TokenBucketRow as Row
from deskgate.store.reads import engine_of, read_first
from deskgate.store.writes import write_one


@dataclass(frozen=True, slots=True)
class Want:
    """`cost` tokens from the bucket `key`, which holds `capacity` and refills them in `window_seconds`."""

    key: str
    cost: int
    capacity: int
    window_seconds: float

    @property
    def rate(self) -> float:  # tokens per second
        return self.capacity / self.window_seconds


@dataclass(frozen=True, slots=True)
class Refusal:
    """The first `Want` that could not be met, and in how many seconds it could be."""

    want: Want
    retry_after: float


class TokenBuckets(Protocol):
    """Where buckets live (the database here; any store that can take atomically would do)."""

    async def take(self, wants: Sequence[Want], *, now: float) -> Refusal | None:
        """Take every want at `now` (epoch seconds), or none of them and say which refused."""
        ...

    async def purge(self, *, before: float) -> int:
        """Forget the buckets untouched since `before`; how many went."""
        ...


def bucket_key(*parts: str) -> str:
    """A fixed-length key for (limit name, customer…): the table holds no subjects, any length fits."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _refilled(want: Want, now: ColumnElement[float]) -> ColumnElement[float]:
    """The row's tokens after refilling up to `now`; a clock behind the row's (another instance's
    skew) refills nothing rather than taking tokens away."""
    elapsed = case((now > Row.updated_at, now - Row.updated_at), else_=literal(0.0, Float))
    grown = Row.tokens + elapsed * literal(want.rate, Float)
    return case((grown > want.capacity, literal(float(want.capacity), Float)), else_=grown)


def _take(want: Want, at: ColumnElement[float], *, postgres: bool) -> Executable:
    """Take `want` from its bucket (made full first if new); RETURNING a row only if there were enough."""
    insert = postgresql.insert if postgres else sqlite.insert
    refilled = _refilled(want, at)
    first = insert(Row).values(key=want.key, tokens=float(want.capacity - want.cost), updated_at=at)
    return first.on_conflict_do_update(
        index_elements=[Row.key],
        # Never backwards: a request whose clock reading is older than the row's (it waited for the lock,
        # or another instance's clock is behind) must not let the next one refill again the time already
        # refilled.
        set_={
            "tokens": refilled - want.cost,
            "updated_at": case((at > Row.updated_at, at), else_=Row.updated_at),
        },
        where=refilled >= want.cost,
    ).returning(Row.tokens)


def _left(want: Want, at: ColumnElement[float]) -> Executable:
    """What the bucket holds at `at`, refilled."""
    return select(_refilled(want, at)).where(Row.key == want.key)


def _refusal(want: Want, left: Any) -> Refusal:
    tokens = float(left[0] if left is not None and left[0] is not None else 0.0)
    return Refusal(want, retry_after=max(0.0, (want.cost - tokens) / want.rate))


class SqlTokenBuckets:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def take(self, wants: Sequence[Want], *, now: float) -> Refusal | None:
        for want in wants:
            if want.cost > want.capacity:  # could never be met: say so without touching anything
                return Refusal(want, retry_after=want.window_seconds)
        ordered = sorted(wants, key=lambda w: w.key)
        at = literal(now, Float)
        postgres = engine_of(self._sessions).dialect.name == "postgresql"
        if len(ordered) == 1:  # one statement, atomic alone: no transaction around it
            (want,) = ordered
            if (await write_one(self._sessions, _take(want, at, postgres=postgres))).rows:
                return None
            return _refusal(want, await read_first(self._sessions, _left(want, at)))
        async with self._sessions() as db:  # begins at the first statement; commits only if all were met
            for want in ordered:
                if (await db.execute(_take(want, at, postgres=postgres))).first() is not None:
                    continue
                # Refused: read what is left while the row is still ours, then undo the takes before it.
                left = (await db.execute(_left(want, at))).first()
                await db.rollback()
                return _refusal(want, left)
            await db.commit()
        return None

    async def purge(self, *, before: float) -> int:
        """Forget buckets untouched since `before` (epoch seconds) — full again by then, so a missing row
        means the same; how many went. `before` must be at least the longest window ago."""
        async with self._sessions.begin() as db:
            result = await db.execute(delete(Row).where(Row.updated_at < before))
        return int(result.rowcount)  # type: ignore[attr-defined]
