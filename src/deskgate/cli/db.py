"""`deskgate db`: the database schema."""

from __future__ import annotations

import asyncio

import typer

from deskgate.cli._shared import ConfigOption, settings_or_exit
from deskgate.settings import Settings
from deskgate.store import db

app = typer.Typer(help="Database schema.", no_args_is_help=True)


async def migrate(settings: Settings) -> None:
    engine = db.create_engine(settings.sqlalchemy_url)
    try:
        await db.migrate(engine)
    finally:
        await engine.dispose()


@app.command()
def upgrade(config: ConfigOption = None) -> None:
    """Bring the database schema to the newest revision (safe to run again)."""
    asyncio.run(migrate(settings_or_exit(config)))
    typer.echo("The database schema is up to date.")
