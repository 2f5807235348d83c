"""Local admin accounts with argon2id password hashes.

`verify` costs one argon2 verification whether the user exists or not (an unknown name is checked against
a dummy hash), so the answer time does not tell which admin names exist. A hash made with older
parameters is replaced by one with the current parameters at the next successful sign-in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.errors import DeskgateError
from deskgate.store.models import AdminAccountRow

MIN_PASSWORD_LENGTH = 12
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class AdminAccountError(DeskgateError):
    """An admin account could not be created: the name is taken or invalid, or the password too weak."""

    status_code = 400


@dataclass(frozen=True, slots=True)
class AdminAccount:
    username: str
    created_at: datetime
    last_login_at: datetime | None


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        message = f"The password must be at least {MIN_PASSWORD_LENGTH} characters long."
        raise AdminAccountError(message, user_message=message)


class AdminAccounts:
    def __init__(self, db: async_sessionmaker[AsyncSession], hasher: PasswordHasher | None = None) -> None:
        self._db = db
        self._hasher = hasher or PasswordHasher()  # argon2id with the library's recommended parameters
        self._dummy_hash = self._hasher.hash("deskgate/no-such-admin")

    async def create(self, username: str, password: str, *, replace: bool = False) -> AdminAccount:
        """A new admin; `replace` sets a new password on an existing one instead of refusing."""
        self.check(username, password)
        now = datetime.now(UTC)
        password_hash = self._hasher.hash(password)
        try:
            async with self._db.begin() as db:
                row = await db.get(AdminAccountRow, username) if replace else None
                if row is not None:
                    row.password_hash = password_hash
                else:
                    row = AdminAccountRow(
                        username=username, password_hash=password_hash, created_at=now, last_login_at=None
                    )
                    db.add(row)
                return AdminAccount(row.username, row.created_at, row.last_login_at)
        except IntegrityError:
            message = f"An admin named {username!r} exists already."
            raise AdminAccountError(message, user_message=message) from None

    @staticmethod
    def check(username: str, password: str) -> None:
        """Refuse an invalid user name or a weak password (AdminAccountError) before anything is stored."""
        if not USERNAME.match(username):
            message = "The user name may hold letters, digits and . _ @ - (at most 64 characters)."
            raise AdminAccountError(f"invalid admin user name {username!r}", user_message=message)
        check_new_password(password)

    async def verify(self, username: str, password: str) -> bool:
        """True when the password is the admin's; the same work either way for unknown names."""
        async with self._db() as db:
            row = await db.get(AdminAccountRow, username) if len(username) <= 64 else None
        stored = row.password_hash if row is not None else self._dummy_hash
        try:
            self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        if row is None:
            return False
        now = datetime.now(UTC)
        values: dict[str, object] = {"last_login_at": now}
        if self._hasher.check_needs_rehash(stored):
            values["password_hash"] = self._hasher.hash(password)
        async with self._db.begin() as db:
            await db.execute(
                update(AdminAccountRow).where(AdminAccountRow.username == username).values(**values)
            )
        return True

    async def list(self) -> list[AdminAccount]:
        async with self._db() as db:
            rows = (await db.scalars(select(AdminAccountRow).order_by(AdminAccountRow.username))).all()
        return [AdminAccount(r.username, r.created_at, r.last_login_at) for r in rows]

    async def any_exist(self) -> bool:
        async with self._db() as db:
            return bool(await db.scalar(select(func.count()).select_from(AdminAccountRow)))
