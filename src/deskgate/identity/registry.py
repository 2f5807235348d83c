"""The configured identity providers, stored in the database with their client secrets encrypted.

The same service serves the YAML config loader, the CLI and the web layer, so there is one way to
add, change or remove an IdP. Each process caches the list for `CACHE_SECONDS`, so a change made by the
CLI or another worker is seen everywhere within that time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.crypto import SecretBox
from deskgate.errors import NotFound
from deskgate.identity.provider import ProviderConfig
from deskgate.store.models import IdentityProviderRow

CACHE_SECONDS = 5.0


class ProviderRegistry:
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
        self._cache: dict[str, ProviderConfig] | None = None
        self._loaded_at = 0.0
        # Bumped by every change: a list read while a change was saved is not kept as the cache.
        self._generation = 0

    def _decode(self, row: IdentityProviderRow) -> ProviderConfig:
        data: dict[str, Any] = dict(row.config)
        if row.client_secret_encrypted:
            data["client_secret"] = SecretStr(self._box.decrypt(row.client_secret_encrypted))
        return ProviderConfig.model_validate(data)

    async def _by_name(self) -> dict[str, ProviderConfig]:
        if self._cache is None or self._monotonic() - self._loaded_at >= CACHE_SECONDS:
            generation, loaded_at = self._generation, self._monotonic()
            async with self._sessions() as db:
                rows = (await db.scalars(select(IdentityProviderRow))).all()
            configs = sorted((self._decode(row) for row in rows), key=lambda c: (c.order, c.name))
            loaded = {c.name: c for c in configs}
            if generation == self._generation:  # else a save landed meanwhile: this read may predate it
                self._cache, self._loaded_at = loaded, loaded_at
            return loaded
        return self._cache

    async def all(self) -> list[ProviderConfig]:
        return list((await self._by_name()).values())

    async def turned_off(self, name: str) -> bool:
        """Whether `name` is a configured IdP that is disabled (asked for every session resolved)."""
        config = (await self._by_name()).get(name)
        return config is not None and not config.enabled

    async def enabled(self) -> list[ProviderConfig]:
        """Turned on, drafts included: what may still send logout requests or be tested by an admin."""
        return [c for c in await self.all() if c.enabled]

    async def live(self) -> list[ProviderConfig]:
        """What sign-in may use: enabled and out of draft, so an IdP nobody has seen work is never offered."""
        return [c for c in await self.all() if c.live]

    async def get(self, name: str) -> ProviderConfig:
        for config in await self.all():
            if config.name == name:
                return config
        raise NotFound(f"no identity provider named {name!r}", user_message="Unknown identity provider.")

    async def save(self, config: ProviderConfig) -> None:
        data = config.model_dump(mode="json", exclude={"client_secret"})
        secret = config.client_secret.get_secret_value() if config.client_secret else None
        async with self._sessions.begin() as db:
            await db.merge(
                IdentityProviderRow(
                    name=config.name,
                    position=config.order,
                    config=data,
                    client_secret_encrypted=self._box.encrypt(secret) if secret else None,
                    updated_at=datetime.now(UTC),
                )
            )
        self.invalidate()

    async def delete(self, name: str) -> None:
        async with self._sessions.begin() as db:
            result = await db.execute(delete(IdentityProviderRow).where(IdentityProviderRow.name == name))
        self.invalidate()
        if not result.rowcount:  # type: ignore[attr-defined]
            raise NotFound(f"no identity provider named {name!r}")

    def invalidate(self) -> None:
        self._generation += 1
        self._cache = None
