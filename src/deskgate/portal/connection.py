"""The JSM connection, stored in the database like the identity providers: the service account's secret
(Cloud API token or Data Center personal access token) only ever encrypted.

`JsmClients` hands out one `JsmClient` per connection configuration, on the shared httpx client; a changed
connection (CLI, admin page, another worker) is picked up within `CACHE_SECONDS`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.crypto import SecretBox
from deskgate.errors import DeskgateError
from deskgate.jsm import JsmClient, JsmConnection
from deskgate.store.models import JsmConnectionRow

CACHE_SECONDS = 5.0
_ROW_ID = 1
_SECRET_FIELDS = ("api_token", "personal_access_token")


class JsmNotConnected(DeskgateError):
    """No JSM connection is configured (`deskgate jira connect`, or the `jsm:` settings section)."""

    status_code = 503
    user_message = "The help desk is not connected yet. Please tell the administrator."

    def __init__(self) -> None:
        super().__init__(
            "JSM is not connected: run `deskgate jira connect` or add a `jsm:` section to the settings"
        )


def _secret_field(connection: JsmConnection) -> str:
    return "api_token" if connection.deployment == "cloud" else "personal_access_token"


class JiraSettings:
    """The one JSM connection (row id 1), cached per process for a few seconds."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._monotonic = monotonic
        self._cached: tuple[float, JsmConnection | None] | None = None

    async def get(self) -> JsmConnection | None:
        if self._cached is not None and self._monotonic() - self._cached[0] < CACHE_SECONDS:
            return self._cached[1]
        async with self._sessions() as db:
            row = await db.get(JsmConnectionRow, _ROW_ID)
        connection = self._decode(row) if row is not None else None
        self._cached = (self._monotonic(), connection)
        return connection

    async def require(self) -> JsmConnection:
        connection = await self.get()
        if connection is None:
            raise JsmNotConnected()
        return connection

    def _decode(self, row: JsmConnectionRow) -> JsmConnection:
        data: dict[str, Any] = dict(row.config)
        if row.secret_encrypted:
            field = "api_token" if data.get("deployment", "cloud") == "cloud" else "personal_access_token"
            data[field] = SecretStr(self._box.decrypt(row.secret_encrypted))
        return JsmConnection.model_validate(data)

    async def save(self, connection: JsmConnection) -> None:
        secret: SecretStr | None = getattr(connection, _secret_field(connection))
        row = JsmConnectionRow(
            id=_ROW_ID,
            config=connection.model_dump(mode="json", exclude=set(_SECRET_FIELDS)),
            secret_encrypted=self._box.encrypt(secret.get_secret_value()) if secret else None,
            updated_at=datetime.now(UTC),
        )
        async with self._sessions.begin() as db:
            await db.merge(row)
        self._cached = None

    async def delete(self) -> None:
        async with self._sessions.begin() as db:
            await db.execute(delete(JsmConnectionRow).where(JsmConnectionRow.id == _ROW_ID))
        self._cached = None

    def invalidate(self) -> None:
        self._cached = None


def fingerprint(connection: JsmConnection) -> str:
    """Identifies one connection configuration, secrets included (never shown: it is a digest)."""
    data = connection.model_dump(mode="json")
    for field in _SECRET_FIELDS:
        secret: SecretStr | None = getattr(connection, field)
        data[field] = secret.get_secret_value() if secret else None
    return hashlib.sha256(repr(sorted(data.items())).encode()).hexdigest()


class JsmClients:
    """One JsmClient per connection configuration, built on the shared httpx client."""

    def __init__(self, http: httpx.AsyncClient, jira: JiraSettings) -> None:
        self._http = http
        self._jira = jira
        self._current: tuple[str, JsmClient] | None = None

    async def get(self) -> JsmClient:
        """The client for the stored connection; JsmNotConnected when there is none."""
        connection = await self._jira.require()
        key = fingerprint(connection)
        if self._current is None or self._current[0] != key:
            self._current = (key, JsmClient(self._http, connection))
        return self._current[1]
