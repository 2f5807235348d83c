"""What a configuration change changed, field by field, for the audit log: before → after, secrets masked.

`model_changes` compares two versions of a settings model (an IdP, the login page, the Jira connection)
and returns one `Change` per field that differs; nested models and mappings are walked and named by dotted
paths (`mapping.email`, `filters.allow_domains`). A secret (`SecretStr`) is never written down: a changed
secret reads "(changed)", and one set or removed reads "(set)" / "(none)". Values are kept as JSON data, as
the audit log stores them (its `changes` column) and the console shows them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypedDict

from pydantic import BaseModel, SecretStr

MASK_CHANGED = "(changed)"  # what a changed secret shows instead of itself
MASK_SET = "(set)"
NONE = "(none)"


class Change(TypedDict):
    field: str
    before: Any
    after: Any


def _plain(value: object) -> object:
    """A value as JSON data (tuples as lists, models and other objects as dicts or text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if _nested(value):  # a model or a dataclass: its fields, as a mapping
        return _plain(_fields(value))
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


def _fields(value: object) -> dict[str, object]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, BaseModel):
        return {name: getattr(value, name) for name in type(value).model_fields}
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return {}


def _nested(value: object) -> bool:
    """A value whose fields are compared one by one (a model, a dataclass, a mapping)."""
    is_record = dataclasses.is_dataclass(value) and not isinstance(value, type)
    return is_record or isinstance(value, BaseModel | Mapping)


def _walk(path: str, before: object, after: object, found: list[Change]) -> None:
    if isinstance(before, SecretStr) or isinstance(after, SecretStr):
        old = before.get_secret_value() if isinstance(before, SecretStr) else before
        new = after.get_secret_value() if isinstance(after, SecretStr) else after
        if old != new:
            shown_before = MASK_SET if old else NONE
            shown_after = (MASK_CHANGED if old else MASK_SET) if new else NONE
            found.append(Change(field=path, before=shown_before, after=shown_after))
        return
    if _nested(before) and _nested(after):
        old_fields, new_fields = _fields(before), _fields(after)
        for name in [*old_fields, *(n for n in new_fields if n not in old_fields)]:
            _walk(f"{path}.{name}" if path else name, old_fields.get(name), new_fields.get(name), found)
        return
    old_plain, new_plain = _plain(before), _plain(after)
    if old_plain != new_plain:
        found.append(Change(field=path, before=old_plain, after=new_plain))


def model_changes(before: object, after: object) -> list[Change]:
    """Every field that differs between two versions (None for "did not exist": every set field shows)."""
    found: list[Change] = []
    empty: dict[str, object] = {}
    _walk("", before if before is not None else empty, after if after is not None else empty, found)
    return found


def changed_fields(changes: list[Change]) -> str:
    """The names of the changed fields, for the audit line's text ("changed title, scopes")."""
    return ", ".join(change["field"] for change in changes) if changes else "nothing"
