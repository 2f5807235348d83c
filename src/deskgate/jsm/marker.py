"""Idempotency markers: a label on a submission that lets a retry find the request an earlier try created.

A call that creates a request can time out after JSM created it. Before trying again, the caller asks JSM
for a request carrying the submission's marker (`JsmClient.find_request_by_marker`) and creates a new one
only when there is none. JSM's request API cannot set an issue's properties or labels directly, so the
marker travels in a field of the request itself:

- `description` (preferred): a last line `[deskgate:<marker>]` appended to the description. Jira indexes
  it for text search, so `description ~ "deskgate <marker>"` finds it; the client then checks the exact line
  (text search is fuzzy) and hides it when showing field values to customers.
- `labels`: when the request type has a labels field but no description, the label `deskgate-<marker>`,
  found with `labels = "deskgate-<marker>"` (an exact match).

A marker is 16 to 64 lowercase letters and digits, so the search index keeps it as one word.
Text search indexes are updated shortly after a write: look for the marker some seconds after the unclear
failure, not at once (the submission queue's retry delay covers it).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from deskgate.jsm.models import MarkerField

_MARKER = re.compile(r"^[a-z0-9]{16,64}$")
_LINE = re.compile(r"\[deskgate:([a-z0-9]{16,64})\]\s*$")
PREFIX = "deskgate"


def new_marker() -> str:
    return secrets.token_hex(16)


def check_marker(marker: str) -> str:
    if not _MARKER.match(marker):
        raise ValueError("a marker is 16 to 64 lowercase letters and digits")
    return marker


def marker_line(marker: str) -> str:
    return f"[{PREFIX}:{check_marker(marker)}]"


def marker_label(marker: str) -> str:
    return f"{PREFIX}-{check_marker(marker)}"


def search_term(marker: str) -> str:
    # The index splits "[deskgate:abc…]" into the words "deskgate" and "abc…": search that phrase.
    return f"{PREFIX} {check_marker(marker)}"


def apply_marker(field_values: Mapping[str, Any], marker: str, where: MarkerField) -> dict[str, Any]:
    """A copy of `field_values` carrying the marker in the `description` or `labels` field."""
    values = dict(field_values)
    if where == "description":
        text = str(values.get("description") or "").rstrip()
        values["description"] = f"{text}\n\n{marker_line(marker)}" if text else marker_line(marker)
    else:
        labels = [str(label) for label in values.get("labels") or ()]
        values["labels"] = [*labels, marker_label(marker)]
    return values


def split_description(text: str) -> tuple[str, str | None]:
    """(the description as the customer wrote it, the marker on its last line or None)."""
    found = _LINE.search(text)
    if found is None or (found.start() > 0 and text[found.start() - 1] != "\n"):
        return text, None
    return text[: found.start()].rstrip(), found.group(1)


def marker_in_labels(labels: Iterable[Any]) -> str | None:
    for label in labels:
        if isinstance(label, str) and label.startswith(PREFIX + "-"):
            candidate = label[len(PREFIX) + 1 :]
            if _MARKER.match(candidate):
                return candidate
    return None
