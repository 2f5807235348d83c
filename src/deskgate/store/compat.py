"""Which version of Deskgate may run on which schema: the rule that makes rolling upgrades possible.

During a rolling upgrade the first new instance migrates the shared database while old instances still
serve. They must keep serving (and an old instance must be able to restart) as long as the schema is one
they can work with. Hence expand/contract migrations:

- **Expand** (backward compatible): adds tables, indexes, nullable columns or columns with a server
  default, and changes no meaning the previous version relies on. The previous version runs unchanged
  on the new schema. Its revision file says ``backward_compatible = True``.
- **Contract** (not backward compatible): drops or renames, tightens a constraint, or changes what stored
  rows mean to the previous version. Its revision file says ``backward_compatible = False``; old
  instances are then refused by readiness, and an upgrade must first finish rolling out the code that
  stopped depending on what is contracted (one release later).

Code cannot load a revision file newer than itself, so the facts travel in the database: every migration
run writes one row per revision into ``deskgate_schema`` — the revision and `compatible_with`, the oldest
revision whose code may run on it (a revision's own, after a contract; its predecessor's, after an
expand). Code at head H may run on a schema at revision R when R == H, or when R is newer than H and
`compatible_with(R)` is H or older. An older schema is simply behind: the start migrates it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, String, Table, delete, insert, inspect, select

from deskgate.errors import DeskgateError
from deskgate.store.models import Base

SCHEMA_TABLE = Table(
    "deskgate_schema",
    Base.metadata,
    Column("revision", String(32), primary_key=True),
    Column("compatible_with", String(32), nullable=False),
)

State = Literal["current", "compatible", "behind", "incompatible"]


class SchemaIncompatible(DeskgateError):
    """The database's schema is newer than this version can run on; `reason` says so in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@functools.cache
def code_revisions() -> tuple[str, ...]:
    """This version's revisions, oldest first (the migrations form one line, never branches)."""
    from deskgate.store.db import alembic_config  # db imports this module

    scripts = ScriptDirectory.from_config(alembic_config())
    return tuple(reversed([script.revision for script in scripts.walk_revisions()]))


@functools.cache
def declared() -> dict[str, bool | None]:
    """Each revision's ``backward_compatible`` as its file declares it (None: not declared)."""
    from deskgate.store.db import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config())
    return {s.revision: getattr(s.module, "backward_compatible", None) for s in scripts.walk_revisions()}


@functools.cache
def compatible_with() -> dict[str, str]:
    """Revision → the oldest revision whose code may run on it. An undeclared revision counts as a
    contract: assuming compatibility where nobody checked would let old code misread new rows."""
    result: dict[str, str] = {}
    previous: str | None = None
    for revision in code_revisions():
        expand = previous is not None and declared()[revision] is True
        result[revision] = result[previous] if expand and previous is not None else revision
        previous = revision
    return result


def head() -> str:
    return code_revisions()[-1]


@dataclass(frozen=True)
class SchemaCheck:
    """What this version makes of the database's schema."""

    revision: str | None  # None: no schema yet
    state: State
    compatible_with: str | None = None  # for a revision newer than this version: as the database says

    @property
    def usable(self) -> bool:
        return self.state in ("current", "compatible")

    def reason(self) -> str:
        """One line for the log or the terminal."""
        if self.state == "compatible":
            return (
                f"the schema is at revision {self.revision}, newer than this version's {head()} "
                f"and compatible with it (it runs on code of revision {self.compatible_with} or newer)"
            )
        if self.state == "incompatible":
            needs = self.compatible_with or "unknown (no compatibility record)"
            return (
                f"the schema is at revision {self.revision}, newer than this version's {head()} and not "
                f"compatible with it (it needs code of revision {needs} or newer): upgrade Deskgate"
            )
        return f"the schema is at revision {self.revision}, this version needs {head()}"


def check(connection: Connection) -> SchemaCheck:
    """Judge the schema on `connection` (sync: run it with `run_sync`)."""
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision == head():
        return SchemaCheck(revision, "current")
    if revision is None or revision in code_revisions():
        return SchemaCheck(revision, "behind")
    # Newer than this version: only the database can say what it needs. (Looked for first, so that a
    # missing table does not abort a PostgreSQL transaction.)
    needs = None
    if inspect(connection).has_table(SCHEMA_TABLE.name):
        where = SCHEMA_TABLE.c.revision == revision
        needs = connection.execute(select(SCHEMA_TABLE.c.compatible_with).where(where)).scalar()
    state: State = "compatible" if needs in code_revisions() else "incompatible"
    return SchemaCheck(revision, state, needs)


def record(connection: Connection) -> None:
    """Write this version's compatibility facts, after migrating to its head (in the same transaction)."""
    facts = compatible_with()
    connection.execute(delete(SCHEMA_TABLE).where(SCHEMA_TABLE.c.revision.in_(list(facts))))
    connection.execute(
        insert(SCHEMA_TABLE), [{"revision": r, "compatible_with": c} for r, c in facts.items()]
    )
