"""Pending sign-ins: state, nonce and PKCE verifier kept server-side, single-use, short-lived.

Each pending sign-in is also bound to the browser that started it (a random value in a cookie, minted
afresh at every start and stored hashed here), so a callback URL replayed in another browser — login
CSRF — is refused. The binding is part of the consuming DELETE's condition: a callback from another
browser takes nothing, so it cannot spend the rightful browser's sign-in either.

Expired rows are deleted by `put`, at most once every `PURGE_SECONDS` per worker rather than at every
start: an expired row is refused by `take` whatever its age, so purging is only about the table's size.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.crypto import digest
from deskgate.errors import LoginStateError
from deskgate.store.models import LoginStateRow

PURGE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class PendingLogin:
    idp: str
    purpose: str  # "login" for customers, "test" for an admin's test connection, "admin" for console sign-in
    nonce: str
    code_verifier: str | None
    next_url: str


def _now() -> datetime:
    return datetime.now(UTC)


class LoginStates:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        lifetime: timedelta,
        clock: Callable[[], datetime] = _now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._lifetime = lifetime
        self._clock = clock
        self._monotonic = monotonic
        self._purged_at: float | None = None

    async def put(self, state: str, browser_binding: str, pending: PendingLogin) -> None:
        now = self._clock()
        purge = self._purged_at is None or self._monotonic() - self._purged_at >= PURGE_SECONDS
        async with self._sessions.begin() as db:
            if purge:
                await db.execute(delete(LoginStateRow).where(LoginStateRow.expires_at <= now))
            db.add(
                LoginStateRow(
                    state_hash=digest(state),
                    browser_hash=digest(browser_binding),
                    idp=pending.idp,
                    purpose=pending.purpose,
                    nonce=pending.nonce,
                    code_verifier=pending.code_verifier,
                    next_url=pending.next_url,
                    expires_at=now + self._lifetime,
                )
            )
        if purge:
            self._purged_at = self._monotonic()

    async def take(self, state: str | None, browser_binding: str | None) -> PendingLogin:
        """Consume a pending sign-in: it can be taken once, before it expires, by the browser that began it.

        Another browser's callback (the victim's callback URL replayed by an attacker, or the attacker's
        opened in the victim's browser) is refused and leaves the pending sign-in where it was.
        """
        if not state or len(state) > 512:
            raise LoginStateError("state", "the callback carries no state")
        state_hash = digest(state)
        async with self._sessions.begin() as db:
            row = None
            if browser_binding:
                # DELETE … RETURNING makes "single use" atomic even when two callbacks race; the binding
                # in the WHERE makes it take nothing when the callback comes from another browser.
                row = (
                    await db.execute(
                        delete(LoginStateRow)
                        .where(LoginStateRow.state_hash == state_hash)
                        .where(LoginStateRow.browser_hash == digest(browser_binding))
                        .returning(LoginStateRow)
                    )
                ).scalar_one_or_none()
            # Only to tell the two refusals apart in the audit record: nothing is taken here.
            found = select(LoginStateRow.state_hash).where(LoginStateRow.state_hash == state_hash)
            elsewhere = row is None and (await db.execute(found)).first() is not None
        if elsewhere:
            raise LoginStateError(
                "browser", "the callback arrived in another browser than the one that began it"
            )
        if row is None:
            raise LoginStateError("state", "unknown or already used state")
        if row.expires_at <= self._clock():
            raise LoginStateError("state", "the sign-in took longer than allowed")
        return PendingLogin(
            idp=row.idp,
            purpose=row.purpose,
            nonce=row.nonce,
            code_verifier=row.code_verifier,
            next_url=row.next_url,
        )
