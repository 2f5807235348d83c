"""The JSM connection, stored in the database like the identity providers: the service account's secret
(Cloud API token or Data Center personal access token) only ever encrypted.

`JsmClients` hands out one `JsmClient` per connection configuration, on the shared httpx client; a changed
connection (CLI, admin page, another worker) is picked up within `CACHE_SECONDS`.

Customer links and desk settings belong to one site: an account id or Data Center username names another
person on another site, a desk id another desk. Saving a connection to another site (`site_identity`
differs) therefore deletes them in the same transaction, whichever way it comes (console, CLI, config
import, settings file); each link also carries its site, so that one made for another site is never used.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.audit import AuditEvent, AuditLog
from deskgate.crypto import SecretBox
from deskgate.errors import DeskgateError
from deskgate.jsm import JsmClient, JsmConnection
from deskgate.jsm.firewall import Refusal
from deskgate.jsm.transport import OnRefused
from deskgate.portal import page_budget
from deskgate.store.models import CustomerLinkRow, JsmConnectionRow, ServiceDeskSettingRow

CACHE_SECONDS = 5.0
_ROW_ID = 1
_SECRET_FIELDS = ("api_token", "personal_access_token")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class JsmNotConnected(DeskgateError):
    """No JSM connection is configured (`deskgate jira connect`, or the `jsm:` settings section)."""

    status_code = 503
    user_message = "The help desk is not connected yet. Please tell the administrator."

    def __init__(self) -> None:
        super().__init__(
            "JSM is not connected: run `deskgate jira connect` or add a `jsm:` section to the settings"
        )


def site_identity(connection: JsmConnection) -> str:
    """Which JSM site per-site data belongs to: the deployment type and the site URL (host in lower case,
    a default port dropped). Credentials are not part of it: a new token or another service account on
    the same site keeps the customer links and desk settings."""
    return _site(connection.site_url, connection.deployment)


def _site(site_url: str, deployment: str) -> str:
    parts = urlsplit(site_url.strip())
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == _DEFAULT_PORTS.get(parts.scheme) else f"{host}:{port}"
    return f"{deployment}:{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


@dataclass(frozen=True, slots=True)
class SiteSwitch:
    """A connection saved for another site than the stored one, and what of the previous site went."""

    previous_site_url: str
    customer_links: int  # rows deleted
    desk_settings: int


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
        # (read at, the connection, when the JSM caches were last cleared)
        self._cached: tuple[float, JsmConnection | None, datetime | None] | None = None
        # Bumped by every change: a read that began before one must not cache what it read.
        self._generation = 0

    async def get(self) -> JsmConnection | None:
        return (await self._read())[0]

    async def caches_cleared_at(self) -> datetime | None:
        """When `deskgate jira refresh` last ran, on any instance: a change tells every worker to drop its
        JSM caches (`Catalogue`). Read with the connection, from the same row and the same cache."""
        return (await self._read())[1]

    async def clear_caches(self) -> None:
        """Tell every worker of every instance to drop its JSM caches within `CACHE_SECONDS`."""
        async with self._sessions.begin() as db:
            await db.execute(
                update(JsmConnectionRow)
                .where(JsmConnectionRow.id == _ROW_ID)
                .values(caches_cleared_at=datetime.now(UTC))
            )
        self._generation += 1
        self._cached = None

    async def _read(self) -> tuple[JsmConnection | None, datetime | None]:
        if self._cached is not None and self._monotonic() - self._cached[0] < CACHE_SECONDS:
            return self._cached[1], self._cached[2]
        generation = self._generation
        async with self._sessions() as db:
            row = await db.get(JsmConnectionRow, _ROW_ID)
        connection = self._decode(row) if row is not None else None
        cleared = row.caches_cleared_at if row is not None else None
        if generation == self._generation:
            self._cached = (self._monotonic(), connection, cleared)
        return connection, cleared

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
        await self.replace(connection)

    async def replace(self, connection: JsmConnection) -> SiteSwitch | None:
        """Store the connection. When it is for another site than the stored one, that site's customer
        links and desk settings are deleted in the same transaction (links of any other site always
        are); the SiteSwitch says so. None: the same site, or the first connection."""
        secret: SecretStr | None = getattr(connection, _secret_field(connection))
        row = JsmConnectionRow(
            id=_ROW_ID,
            config=connection.model_dump(mode="json", exclude=set(_SECRET_FIELDS)),
            secret_encrypted=self._box.encrypt(secret.get_secret_value()) if secret else None,
            updated_at=datetime.now(UTC),
        )
        site = site_identity(connection)
        switch = None
        async with self._sessions.begin() as db:
            # Locked (PostgreSQL), so that two admins saving at once cannot both miss the change of site.
            stored = await db.get(JsmConnectionRow, _ROW_ID, with_for_update=True)
            links = await db.execute(delete(CustomerLinkRow).where(CustomerLinkRow.site != site))
            if stored is not None:
                previous_url = str(stored.config.get("site_url", ""))
                if _site(previous_url, str(stored.config.get("deployment", "cloud"))) != site:
                    # Desk settings carry no site: before the first connection they are the admin's
                    # preparation for it, so only a change from a known site drops them.
                    desks = await db.execute(delete(ServiceDeskSettingRow))
                    switch = SiteSwitch(
                        previous_url,
                        int(links.rowcount or 0),  # type: ignore[attr-defined]
                        int(desks.rowcount or 0),  # type: ignore[attr-defined]
                    )
            await db.merge(row)
        self.invalidate()
        return switch

    async def delete(self) -> None:
        async with self._sessions.begin() as db:
            await db.execute(delete(JsmConnectionRow).where(JsmConnectionRow.id == _ROW_ID))
        self.invalidate()

    def invalidate(self) -> None:
        self._cached = None
        self._generation += 1


def fingerprint(connection: JsmConnection) -> str:
    """Identifies one connection configuration, secrets included (never shown: it is a digest)."""
    data = connection.model_dump(mode="json")
    for field in _SECRET_FIELDS:
        secret: SecretStr | None = getattr(connection, field)
        data[field] = secret.get_secret_value() if secret else None
    return hashlib.sha256(repr(sorted(data.items())).encode()).hexdigest()


async def audit_refusal(audit: AuditLog, refusal: Refusal) -> None:
    """A request the JSM firewall refused is a security event: it means some input tried to steer the
    service account (or a bug would have let it), so it goes to the audit log as well as the log."""
    await audit.record(
        AuditEvent(
            event="jsm.firewall",
            outcome="refused",
            detail=f"{refusal.operation}: {refusal.method} {refusal.target} — {refusal.reason}",
        )
    )


class JsmClients:
    """One JsmClient per connection configuration, built on the shared httpx client; each reports what
    its firewall refuses to `on_refused`.

    Two kinds: `get()` is patient (the default RetryPolicy, for background work such as the outbox
    worker, which honours a long Retry-After), `page()` answers within a customer's page budget: each
    try is cut at `page_seconds` and a long Retry-After fails at once (`page_budget.page_retry_policy`).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        jira: JiraSettings,
        *,
        on_refused: OnRefused | None = None,
        page_seconds: float = page_budget.DEFAULT_SECONDS,
    ) -> None:
        self._http = http
        self._jira = jira
        self._on_refused = on_refused
        self._page_seconds = page_seconds
        # (the connection it was built for, its fingerprint, the client): `JiraSettings` hands out the same
        # connection object until it reads the row again, so the digest is only computed after a read.
        self._current: tuple[JsmConnection, str, JsmClient] | None = None
        self._current_page: tuple[JsmConnection, str, JsmClient] | None = None

    async def get(self) -> JsmClient:
        """The client for the stored connection; JsmNotConnected when there is none."""
        connection = await self._jira.require()
        current = self._current
        if current is not None and current[0] is connection:
            return current[2]
        key = fingerprint(connection)
        if current is None or current[1] != key:
            current = (connection, key, JsmClient(self._http, connection, on_refused=self._on_refused))
        self._current = (connection, key, current[2])
        return current[2]

    async def page(self) -> JsmClient:
        """The client for calls a customer's page waits on (JsmNotConnected when there is none)."""
        connection = await self._jira.require()
        current = self._current_page
        if current is not None and current[0] is connection:
            return current[2]
        key = fingerprint(connection)
        if current is None or current[1] != key:
            quick = connection.model_copy(
                update={"timeout_seconds": min(connection.timeout_seconds, self._page_seconds)}
            )
            retry = page_budget.page_retry_policy(self._page_seconds)
            client = JsmClient(self._http, quick, retry=retry, on_refused=self._on_refused)
            current = (connection, key, client)
        self._current_page = (connection, key, current[2])
        return current[2]
