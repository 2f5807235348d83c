"""`deskgate db`: the database schema."""

from __future__ import annotations

import asyncio

import typer

from deskgate.cli._shared import ConfigOption, settings_or_exit
from deskgate.settings import Settings
from deskgate.store import db
from deskgate.store.compat import SchemaIncompatible

app = typer.Typer(help="Database schema.", no_args_is_help=True)


# The schema is newer than this version can run on (a rolling upgrade past a contracting migration).
EXIT_SCHEMA_TOO_NEW = 3


async def _migrate(settings: Settings) -> None:
    engine = db.create_engine(settings.sqlalchemy_url)
    try:
        await db.migrate(engine)
    finally:
        await engine.dispose()


def migrate(settings: Settings) -> None:
    """Migrate, or say in one line why this version cannot run on the database's schema, and exit 3."""
    try:
        asyncio.run(_migrate(settings))
    except SchemaIncompatible as exc:
        typer.echo(f"Deskgate cannot start: {exc.reason}.", err=True)
        raise typer.Exit(EXIT_SCHEMA_TOO_NEW) from None


@app.command()
def upgrade(config: ConfigOption = None) -> None:
    """Bring the database schema to the newest revision (safe to run again; a newer schema that is
    compatible with this version is left as it is)."""
    migrate(settings_or_exit(config))
    typer.echo("The database schema is up to date.")
