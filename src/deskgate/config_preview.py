"""A dry run of a configuration import: what importing a document would change, item by item, writing nothing.

The console's backup page shows it before the import (which then needs a second step, and for "replace"
a ticked confirmation), and `deskgate config import --dry-run` prints it. Each item is new, changed (with
its fields before → after, secrets masked: `deskgate.changes`), unchanged, or deleted (replace only). The
document is checked exactly as the import checks it (`config_io.check_document`), so a preview of a file
with problems raises the same `ConfigError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from deskgate.changes import Change, model_changes
from deskgate.config_io import check_document
from deskgate.services import Services

Status = Literal["new", "changed", "unchanged", "deleted"]


@dataclass(frozen=True, slots=True)
class ItemPreview:
    kind: str  # what the item is, in words: "Identity provider", "JSM connection", "Desk", "Login page"
    name: str
    status: Status
    changes: list[Change]


def _item(kind: str, name: str, before: object, after: object) -> ItemPreview:
    changes = model_changes(before, after)
    status: Status = "new" if before is None else ("changed" if changes else "unchanged")
    return ItemPreview(kind, name, status, changes if before is not None else [])


async def preview_import(services: Services, data: dict[str, Any], *, replace: bool) -> list[ItemPreview]:
    """What `import_config(services, data, replace=replace)` would do now; raises ConfigError as it does."""
    stored = {config.name: config for config in await services.providers.all()}
    stored_jsm = await services.jira.get()
    plan = check_document(data, stored, stored_jsm)
    items = [_item("Identity provider", c.name, stored.get(c.name), c) for c in plan.configs]
    if replace:
        listed = {c.name for c in plan.configs}
        items += [ItemPreview("Identity provider", n, "deleted", []) for n in sorted(set(stored) - listed)]
    if plan.jsm is not None:
        items.append(_item("JSM connection", plan.jsm.site_url, stored_jsm, plan.jsm))
    stored_desks = await services.desks.all()
    items += [_item("Desk", d.desk_id, stored_desks.get(d.desk_id), d) for d in plan.desks]
    if plan.login_page is not None:
        items.append(
            _item("Login page", "login page and branding", await services.login_page.get(), plan.login_page)
        )
    return items


def deleted_names(items: list[ItemPreview]) -> list[str]:
    return [item.name for item in items if item.status == "deleted"]


def preview_changes(items: list[ItemPreview]) -> list[Change]:
    """The audit record's changes of an import: each changed field, named with its item."""
    changes: list[Change] = []
    for item in items:
        where = f"{item.kind} {item.name}"
        if item.status in ("new", "deleted"):
            changes.append(
                Change(field=where, before=None if item.status == "new" else "present", after=item.status)
            )
        changes += [
            Change(field=f"{where}: {c['field']}", before=c["before"], after=c["after"]) for c in item.changes
        ]
    return changes


def preview_lines(items: list[ItemPreview]) -> list[str]:
    """The preview as text (the CLI's dry run)."""
    lines: list[str] = []
    for item in items:
        lines.append(f"{item.kind} {item.name}: {item.status}")
        lines += [f"    {c['field']}: {_shown(c['before'])} -> {_shown(c['after'])}" for c in item.changes]
    return lines or ["The file holds nothing to import."]


def _shown(value: object) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return str(value)
