"""The one-time link that creates the first admin in the browser.

Issued at start-up while no admin exists and written to the log; the token is stored hashed, expires,
and is spent by the first admin it creates. Once any admin exists every link is dead, used or not.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.admin.accounts import AdminAccount, AdminAccounts
from deskgate.crypto import digest
from deskgate.store.models import AdminSetupTokenRow

SETUP_PATH = "/admin/setup/"
SETUP_LIFETIME = timedelta(hours=24)
# The start of the log line that carries the link (`announce`): what the console tells an admin to look for.
LOG_LINE_START = "No admin account exists yet."

SetupLinkState = Literal["usable", "used", "expired", "unknown"]

log = logging.getLogger("deskgate")


class AdminSetup:
    def __init__(
        self,
        db: async_sessionmaker[AsyncSession],
        accounts: AdminAccounts,
        lifetime: timedelta = SETUP_LIFETIME,
    ) -> None:
        self._db = db
        self._accounts = accounts
        self._lifetime = lifetime

    async def issue(self) -> str | None:
        """A fresh setup token, or None when an admin exists already (then no link is ever needed)."""
        if await self._accounts.any_exist():
            return None
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        async with self._db.begin() as db:
            await db.execute(delete(AdminSetupTokenRow).where(AdminSetupTokenRow.expires_at <= now))
            db.add(AdminSetupTokenRow(token_hash=digest(token), expires_at=now + self._lifetime))
        return token

    async def state(self, token: str) -> SetupLinkState:
        """What a link is now. Once an admin exists every link is spent ("used"): the one that made the
        admin, and the others with it; "unknown" is a link never issued (mistyped, or purged after expiry)."""
        if await self._accounts.any_exist():
            return "used"
        if len(token) > 128:
            return "unknown"
        async with self._db() as db:
            row = await db.get(AdminSetupTokenRow, digest(token))
        if row is None:
            return "unknown"
        return "usable" if row.expires_at > datetime.now(UTC) else "expired"

    async def usable(self, token: str) -> bool:
        return await self.state(token) == "usable"

    async def redeem(self, token: str, username: str, password: str) -> AdminAccount | None:
        """The first admin, created with the token; None when the link is spent, expired or unknown."""
        if not await self.usable(token):
            return None
        self._accounts.check(username, password)  # a typo must not spend the link
        async with self._db.begin() as db:
            # Deleting the row is the claim: of two browsers racing with the same link, one wins.
            result = await db.execute(
                delete(AdminSetupTokenRow).where(AdminSetupTokenRow.token_hash == digest(token))
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return None
        account = await self._accounts.create(username, password)
        async with self._db.begin() as db:
            await db.execute(delete(AdminSetupTokenRow))  # an admin exists: every other link dies too
        return account

    async def announce(self, base_url: str) -> str | None:
        """Issue a link and log it when no admin exists (first start); the URL, or None."""
        token = await self.issue()
        if token is None:
            return None
        url = base_url.rstrip("/") + SETUP_PATH + token
        log.warning(
            LOG_LINE_START + " Create the first one within %d h at %s (or run `deskgate admin create NAME`).",
            int(self._lifetime.total_seconds() // 3600),
            url,
        )
        return url
