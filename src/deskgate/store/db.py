"""Database engine, the start-up lock, and schema migrations (Alembic, run programmatically at start-up).

Any number of workers and instances may start together on one database. Each takes the start-up lock
(`startup_lock`) around migrating and seeding the settings file, so one does the work while the others
wait and then find it done: nobody creates a table or inserts a seeded row that another starter is
creating at that moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from deskgate.store import compat
from deskgate.store.sqlite_driver import one_trip_dbapi

MIGRATIONS = Path(__file__).with_name("migrations")
# pg_advisory_lock's key: one number every Deskgate agrees on ("deskgate" in ASCII, within a bigint).
STARTUP_LOCK_KEY = int.from_bytes(b"deskgate") & 0x7FFF_FFFF_FFFF_FFFF
LOCK_POLL_SECONDS = 0.05
# A pooled PostgreSQL connection idle longer than this is pinged before use (see `_postgresql_liveness`).
PING_AFTER_IDLE_SECONDS = 10.0

log = logging.getLogger("deskgate")


def create_engine(url: str, *, transactional_ddl: bool = False, pool_size: int = 10) -> AsyncEngine:
    """An engine for `url`. PostgreSQL: at most `pool_size` connections, each kept open once made.

    No overflow beyond the pool: SQLAlchemy closes an overflow connection as soon as it comes back, so
    under load every peak opened and closed connections again (the TCP and SSL negotiation, the start-up,
    and every statement prepared anew on the new connection), a large share of the CPU of the
    500-customer load test (bench/README.md, "No overflow connections").
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # The pool's usual reset (a ROLLBACK whenever a connection goes back) is a trip to the driver's
        # thread even when nothing is open, several times per request: `_sqlite_reset` rolls back only an
        # open transaction (a plain read opens none in the driver's default mode).
        engine = create_async_engine(
            url, module=one_trip_dbapi(), connect_args={"timeout": 30}, pool_reset_on_return=None
        )

        @event.listens_for(engine.sync_engine, "reset")
        def _sqlite_reset(dbapi_connection, _record, _state):  # type: ignore[no-untyped-def]
            if dbapi_connection.driver_connection.in_transaction:
                dbapi_connection.rollback()

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            # First: switching a fresh file to WAL takes a lock too, and starters come together.
            cursor.execute("PRAGMA busy_timeout=30000")
            # WAL lets readers run beside the writer; a busy timeout rather than "database is locked".
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL never corrupts the file; a power cut may lose the last commits, not a crash.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
            if transactional_ddl:
                # The driver leaves DDL outside transactions, so an interrupted migration could leave
                # tables without their revision: for migrations, SQLAlchemy issues BEGIN itself.
                # (Not for ordinary work: a deferred BEGIN before a read would turn a later write into
                # an immediate "database is locked" under concurrency, where the driver's way waits.)
                dbapi_connection.isolation_level = None

        if transactional_ddl:

            @event.listens_for(engine.sync_engine, "begin")
            def _sqlite_begin(connection):  # type: ignore[no-untyped-def]
                # IMMEDIATE: the write lock from the start, so the migration reads the current revision
                # and changes the schema with no other writer in between (and waits for it, busy_timeout).
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=0)
    _postgresql_liveness(engine)
    return engine


def _postgresql_liveness(engine: AsyncEngine) -> None:
    """Hand out no dead connection, without a round trip for each live one.

    SQLAlchemy's `pool_pre_ping` costs three round trips at every checkout with asyncpg (BEGIN, a ping,
    ROLLBACK): under load, more than the statements the connection was taken for. Instead: a connection
    the server closed (a restart, `pg_terminate_backend`, an idle timeout) is known to the driver
    without asking, and is replaced; one that sat idle in the pool longer than `PING_AFTER_IDLE_SECONDS`
    is pinged first (a network path that died without a word is only found by asking), and replaced if
    the ping fails. A connection in steady use is handed out as it is.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _idle_from(_dbapi_connection, record):  # type: ignore[no-untyped-def]
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _alive(dbapi_connection, record, _proxy):  # type: ignore[no-untyped-def]
        if dbapi_connection.driver_connection.is_closed():
            raise DisconnectionError("the server closed this pooled connection")
        idle_since = record.info.get("idle_since")
        if idle_since is not None and time.monotonic() - idle_since > PING_AFTER_IDLE_SECONDS:
            try:
                dbapi_connection.ping()
            except Exception as exc:
                raise DisconnectionError("a pooled connection did not answer its ping") from exc


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(engine, expire_on_commit=False)


@contextlib.asynccontextmanager
async def startup_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """Held by one starter at a time, across every process and instance that uses this database.

    PostgreSQL: a session-level advisory lock on a connection of its own, so that the migration and the
    seeds, which use other connections and several transactions, all run inside it. SQLite: an exclusive
    `flock` on a file beside the database (SQLite's own lock covers one transaction, the seeds take
    several). Either is released by the server or the kernel when its holder dies, so a starter killed
    half-way never blocks the next one.
    """
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": STARTUP_LOCK_KEY})
            try:
                yield
            finally:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": STARTUP_LOCK_KEY})
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield  # a private in-memory database has no other starter
        return
    fd = os.open(f"{database}.startup-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:  # polled, not blocking in a thread: a cancelled start must not take the lock later
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(LOCK_POLL_SECONDS)
        yield
    finally:
        os.close(fd)  # releases the lock


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(connection: Connection) -> None:
    """Migrate to this version's head, unless the schema is newer already: then run on it when it is
    compatible (see `deskgate.store.compat`), and never try to move it back."""
    found = compat.check(connection)
    if found.state == "compatible":
        log.info("not migrating: %s", found.reason())
        return
    if found.state == "incompatible":
        raise compat.SchemaIncompatible(found.reason())
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    compat.record(connection)


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to this version's head (idempotent), in one transaction, under the start-up lock.

    SchemaIncompatible when the schema is newer than this version can run on."""
    async with startup_lock(engine):
        await migrate_locked(engine)


async def migrate_locked(engine: AsyncEngine) -> None:
    """`migrate` for a caller that holds the start-up lock already (it is not re-entrant)."""
    if engine.dialect.name != "sqlite":
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade)
        return
    migrator = create_engine(engine.url.render_as_string(hide_password=False), transactional_ddl=True)
    try:
        async with migrator.begin() as connection:
            await connection.run_sync(_upgrade)
    finally:
        await migrator.dispose()
