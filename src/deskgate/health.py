"""Readiness: can this process do its work right now? Asked by a load balancer or an orchestrator.

`Readiness(services).failed_checks()` names the checks that failed (an empty list: ready):

- ``database``: a connection from the app's own pool answers ``SELECT 1``;
- ``schema``: the database is at the newest migration this version knows, or at a newer one that says
  it is compatible with this version (a rolling upgrade: see `deskgate.store.compat`); an older one
  means the start did not finish, a newer incompatible one that this version must be replaced;
- ``redis``: Redis answers PING, when customer sessions live there.

Each check has a short timeout, since a probe that hangs tells the operator less than one that says no.
The caller learns only which check failed. The log gets the exceptions' classes (and, for the schema, the
two revisions), never their messages: a driver's message may carry a host, a database name or a URL with
its password.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import text

from deskgate.services import Services
from deskgate.sessions.redis_store import RedisSessionStore
from deskgate.store import compat

CHECK_TIMEOUT_SECONDS = 2.0

log = logging.getLogger("deskgate.health")


def schema_head() -> str | None:
    """The newest revision among the migrations: the one `db.migrate` brought the schema to at start."""
    return compat.head()


def _failed(check: str, exc: BaseException) -> str:
    # The root cause's class too: SQLAlchemy's DBAPIError alone does not tell a database that is gone
    # (asyncpg's InvalidCatalogNameError) from a password that is wrong.
    root = exc
    while root.__cause__ is not None:
        root = root.__cause__
    cause = "" if root is exc else f", caused by {type(root).__name__}"
    log.warning("readiness: the %s check failed (%s%s)", check, type(exc).__name__, cause)
    return check


@dataclass(frozen=True)
class Readiness:
    """The checks for one running app, each given `seconds` at most."""

    services: Services
    seconds: float = CHECK_TIMEOUT_SECONDS

    async def failed_checks(self) -> list[str]:
        """The names of the failed checks, in a fixed order. The checks run side by side, so a probe
        waits one timeout at most."""
        checks = [self._database()]
        store = self.services.sessions.store
        if isinstance(store, RedisSessionStore):
            checks.append(self._redis(store))
        return [name for name in await asyncio.gather(*checks) if name is not None]

    async def _database(self) -> str | None:
        # One connection and one timeout for both: the schema cannot be read from a database that is away.
        check = "database"
        try:
            async with asyncio.timeout(self.seconds), self.services.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                check = "schema"
                found = await connection.run_sync(compat.check)
        except Exception as exc:
            return _failed(check, exc)
        if not found.usable:
            log.warning("readiness: %s", found.reason())
            return "schema"
        return None

    async def _redis(self, store: RedisSessionStore) -> str | None:
        try:
            async with asyncio.timeout(self.seconds):
                await store.ping()
        except Exception as exc:
            return _failed("redis", exc)
        return None
