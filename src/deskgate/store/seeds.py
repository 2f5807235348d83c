"""The settings file as a seed: each entry is applied when it is new or has changed since last applied.

IdPs, the JSM connection and the login page can be declared in the settings file and edited in the
console or with the CLI. Were the file applied at every start, a restart would silently undo the console's
edits; were it applied only once, editing the file would do nothing. So each entry is applied when the file
says something new about it — and otherwise what the database holds (the last edit) stands.

Starters apply the file under the start-up lock (`deskgate.startup`), one after the other: the first
applies each entry and records its fingerprint, the others find it recorded and write nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from pydantic import BaseModel, SecretStr
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.store.models import SettingsFileSeedRow


def _revealed(value: object) -> object:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return str(value)


class SettingsFileSeeds:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], key: str) -> None:
        self._sessions = sessions
        # Keyed: the fingerprint covers secrets, and a plain hash of a short secret could be guessed.
        self._key = hashlib.sha256(f"settings-file-seed:{key}".encode()).digest()

    def fingerprint(self, entry: BaseModel) -> str:
        text = json.dumps(entry.model_dump(mode="python"), default=_revealed, sort_keys=True)
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    async def apply(self, key: str, entry: BaseModel, save: Callable[[], Awaitable[None]]) -> bool:
        """Run `save` when the file's `entry` differs from what was last applied under `key`."""
        fingerprint = self.fingerprint(entry)
        async with self._sessions() as db:
            row = await db.get(SettingsFileSeedRow, key)
        if row is not None and hmac.compare_digest(row.fingerprint, fingerprint):
            return False
        await save()
        async with self._sessions.begin() as db:
            # An upsert, not a read then an insert: applying the same entry twice writes one row.
            insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
            first = insert(SettingsFileSeedRow).values(
                key=key, fingerprint=fingerprint, applied_at=datetime.now(UTC)
            )
            await db.execute(
                first.on_conflict_do_update(
                    index_elements=[SettingsFileSeedRow.key],
                    set_={"fingerprint": first.excluded.fingerprint, "applied_at": first.excluded.applied_at},
                )
            )
        return True
