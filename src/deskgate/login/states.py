"""Pending sign-ins: state, nonce and PKCE verifier, bound to the browser, short-lived and single-use.

A sign-in in progress is kept in the browser that started it, sealed: the login cookie carries the
pending sign-in encrypted and authenticated (Fernet, under a key of its own derived from the secret key)
together with the hash of its state and its expiry. Starting a sign-in therefore writes nothing, and the
callback knows the nonce and the PKCE verifier without a database trip. What the cookie cannot tell is
whether it was used already: `spend` records the state's hash (a primary key, so a second spend of the
same state fails, even when two callbacks race) until the sign-in would have expired anyway.

The checks, in order:
- `open` (no I/O): the cookie is there, opens under our key (nobody else can make or alter one), was
  made for this very state (a callback URL replayed in another browser meets that browser's own cookie,
  or none: login CSRF), and has not expired;
- `spend`: the state was not used before.

The OIDC callback spends the state in the sign-in's one transaction, last, so that nothing the IdP returned
is kept unless `spend` passed (the code is sent only after `open` passed; a failed sign-in is spent on its
own); every other caller uses `take`.

Sign-ins started by a version that kept them in the `login_states` table (a random binding in the cookie)
still finish here during a rolling upgrade: `take` falls back to that table when the cookie is not sealed.
Expired rows of both tables are deleted by `spend`, at most once every `PURGE_SECONDS` per worker.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.crypto import SecretBox, digest
from deskgate.errors import LoginStateError
from deskgate.store.models import LoginStateRow, SpentLoginStateRow

PURGE_SECONDS = 60.0
SEAL_PURPOSE = b"deskgate/login-cookie/v1"  # the sealing key's own derivation (never the at-rest key)
MAX_KEY_LENGTH = 512
# A browser keeps a cookie of up to 4,096 bytes (name, value and attributes): what is sealed stays below.
MAX_SEALED_LENGTH = 3800
HOME = "/"


@dataclass(frozen=True, slots=True)
class PendingLogin:
    idp: str
    purpose: str  # "login" for customers, "test" for an admin's test connection, "admin" for console sign-in
    nonce: str
    code_verifier: str | None
    next_url: str


def _now() -> datetime:
    return datetime.now(UTC)


_SPEND = insert(SpentLoginStateRow)  # built once: a sign-in binds its values


class LoginStates:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        *,
        lifetime: timedelta,
        clock: Callable[[], datetime] = _now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._lifetime = lifetime
        self._clock = clock
        self._monotonic = monotonic
        self._purged_at: float | None = None

    def seal(self, key: str, pending: PendingLogin) -> str:
        """The login cookie's value for a sign-in that `key` (OIDC's state, SAML's RelayState) comes back with."""
        fields = {
            "key": digest(key),
            "exp": (self._clock() + self._lifetime).timestamp(),
            "idp": pending.idp,
            "purpose": pending.purpose,
            "nonce": pending.nonce,
            "verifier": pending.code_verifier,
            "next": pending.next_url,
        }
        sealed = self._box.encrypt(json.dumps(fields, separators=(",", ":")))
        if len(sealed) > MAX_SEALED_LENGTH:
            # Only a pathological next URL gets here (2,048 characters at most, most of them escaped in
            # JSON): the browser would drop the cookie, and with it the sign-in. It lands on the home page.
            sealed = self._box.encrypt(json.dumps({**fields, "next": HOME}, separators=(",", ":")))
        return sealed

    def open(self, key: str | None, sealed: str | None) -> PendingLogin:
        """The pending sign-in this browser began for `key`; refuses without any I/O (not yet spent)."""
        if not key or len(key) > MAX_KEY_LENGTH:
            raise LoginStateError("state", "the callback carries no state")
        if not sealed:
            raise LoginStateError("browser", "this browser has no sign-in in progress (no login cookie)")
        try:
            fields = json.loads(self._box.decrypt(sealed))
        except ValueError:
            raise LoginStateError(
                "browser", "this browser's login cookie was not made here (or under another secret key)"
            ) from None
        if not hmac.compare_digest(str(fields.get("key", "")), digest(key)):
            raise LoginStateError(
                "browser", "the callback arrived in another browser than the one that began it"
            )
        if fields["exp"] <= self._clock().timestamp():
            raise LoginStateError("state", "the sign-in took longer than allowed")
        return PendingLogin(
            idp=fields["idp"],
            purpose=fields["purpose"],
            nonce=fields["nonce"],
            code_verifier=fields["verifier"],
            next_url=fields["next"],
        )

    async def spend(self, key: str, db: AsyncSession | None = None) -> None:
        """Mark the sign-in for `key` used; refuses the second time (`open` must have passed). In `db`'s
        transaction when given (the sign-in's own: rolled back with it), else in one of its own."""
        if db is None:
            async with self._sessions.begin() as own:
                await self.spend(key, own)
            return
        now = self._clock()
        purge = self._purged_at is None or self._monotonic() - self._purged_at >= PURGE_SECONDS
        connection = await db.connection()  # Core statements in the session's transaction: no ORM flush
        if purge:
            await connection.execute(delete(SpentLoginStateRow).where(SpentLoginStateRow.expires_at <= now))
            await connection.execute(delete(LoginStateRow).where(LoginStateRow.expires_at <= now))
        try:
            # Kept as long as a cookie for this state could still be opened. A primary key: of two callbacks
            # racing with one state, the second insert fails (PostgreSQL: once the first commits).
            await connection.execute(_SPEND, {"state_hash": digest(key), "expires_at": now + self._lifetime})
        except IntegrityError:
            raise LoginStateError("state", "unknown or already used state") from None
        if purge:
            self._purged_at = self._monotonic()

    async def take(self, key: str | None, sealed: str | None) -> PendingLogin:
        """`open`, then `spend`: the sign-in can be taken once, before it expires, by the browser that
        began it. Another browser's callback is refused and leaves the sign-in to its own browser."""
        try:
            pending = self.open(key, sealed)
        except LoginStateError as refused:
            if refused.check != "browser" or not key:
                raise
            legacy = await self._take_unsealed(key, sealed)
            if legacy is None:
                raise await self.refusal(key, refused) from None
            return legacy
        await self.spend(key or "")
        return pending

    async def refusal(self, key: str | None, refused: LoginStateError) -> LoginStateError:
        """What to say of a callback `open` refused: a state used already is told apart (for the audit log
        and the admin's diagnosis) from one this browser never began."""
        if refused.check != "browser" or not key or len(key) > MAX_KEY_LENGTH:
            return refused
        async with self._sessions() as db:
            spent = select(SpentLoginStateRow.state_hash).where(SpentLoginStateRow.state_hash == digest(key))
            if (await db.execute(spent)).first() is not None:
                return LoginStateError("state", "unknown or already used state")
        return refused

    async def _take_unsealed(self, key: str, binding: str | None) -> PendingLogin | None:
        """A sign-in kept in the table by an earlier version (its cookie is a random binding), or None."""
        if not binding or len(key) > MAX_KEY_LENGTH:
            return None
        async with self._sessions.begin() as db:
            # DELETE … RETURNING: single use even when two callbacks race; the binding in the WHERE makes it
            # take nothing when the callback comes from another browser.
            row = (
                await db.execute(
                    delete(LoginStateRow)
                    .where(LoginStateRow.state_hash == digest(key))
                    .where(LoginStateRow.browser_hash == digest(binding))
                    .returning(LoginStateRow)
                )
            ).scalar_one_or_none()
        if row is None:
            return None
        if row.expires_at <= self._clock():
            raise LoginStateError("state", "the sign-in took longer than allowed")
        return PendingLogin(
            idp=row.idp,
            purpose=row.purpose,
            nonce=row.nonce,
            code_verifier=row.code_verifier,
            next_url=row.next_url,
        )
