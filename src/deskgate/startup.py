"""What each starting worker does to the database before it serves: migrate, then seed the settings file.

Both run under the start-up lock (`deskgate.store.db.startup_lock`), so any number of workers and
instances can start together on a fresh database: the first migrates and seeds, the others wait for it,
then find the schema at head and every seed's fingerprint already recorded, and write nothing.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING

from deskgate.identity.provider import ProviderConfig
from deskgate.store import db
from deskgate.store.seeds import SettingsFileSeeds

if TYPE_CHECKING:
    from deskgate.services import Services

log = logging.getLogger("deskgate")


async def prepare_database(services: Services, seeds: SettingsFileSeeds) -> None:
    """Migrate and seed, one starter at a time."""
    async with db.startup_lock(services.engine):
        await db.migrate_locked(services.engine)
        await seed_settings_file(services, seeds)


async def seed_settings_file(services: Services, seeds: SettingsFileSeeds) -> None:
    """The settings file's IdPs, JSM connection and login page, each applied when the file changed it,
    so that the console's edits in between survive restarts (see deskgate.store.seeds)."""
    settings = services.settings
    if settings.jsm is not None:
        await seeds.apply("jsm", settings.jsm, functools.partial(services.jira.save, settings.jsm))
    if settings.login_page is not None:
        save_page = functools.partial(services.login_page.save, settings.login_page)
        await seeds.apply("login_page", settings.login_page, save_page)
    for config in settings.idps:
        await seeds.apply(f"idp:{config.name}", config, functools.partial(_seed_provider, services, config))


async def _seed_provider(services: Services, config: ProviderConfig) -> None:
    if ended := await services.save_provider(config):
        log.info(
            "settings file: identity provider %s disabled, %d customer session(s) ended", config.name, ended
        )
