"""Alembic environment: migrations run on a connection handed in by `deskgate.store.db.migrate`."""

from alembic import context

from deskgate.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `deskgate db upgrade` (deskgate.store.db.migrate)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
