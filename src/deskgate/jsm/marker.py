"""Idempotency markers: a mark on a submission's request that tells it apart from any other.

A call that creates a request can time out after JSM created it. Before trying again, the outbox reads the
customer's recent requests back and adopts the one that is this submission's (`deskgate.portal.adoption`:
by content, which works for every request type). Where the request type has a field to carry it, the
marker makes that certain: a request with this submission's marker is adopted, one with another
submission's marker never is. JSM's request API cannot set an issue's properties, so the marker travels in
a field of the request itself, and is read back with the request (`GET /request/{key}`), never searched
for (Jira's text index splits `[deskgate:<marker>]` as it likes and lags behind writes):

- `description` (preferred): a last line `[deskgate:<marker>]`, hidden when field values are shown to
  customers. (On Data Center, wiki markup shows it to agents as a broken link.)
- `labels`: when the request type has a labels field but no description, the label `deskgate-<marker>`.

A marker is 16 to 64 lowercase letters and digits.
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


def without_marker_html(html: str, marker: str) -> str:
    """JSM's rendered HTML of a description without its marker line, or "" (then the page shows the
    plain text, which `split_description` cleaned) when the marker cannot be taken out for certain: the
    renderer may escape the brackets or, on Data Center, wrap them as a broken link."""
    bracket_open, bracket_close = (
        r"(?:\[|&#91;|&#x5b;|&lsqb;|&lbrack;)",
        r"(?:\]|&#93;|&#x5d;|&rsqb;|&rbrack;)",
    )
    line = re.compile(
        rf"(?:\s*<br\s*/?>)?\s*{bracket_open}{PREFIX}:{re.escape(marker)}{bracket_close}\s*", re.IGNORECASE
    )
    cleaned = re.sub(r"<p>\s*</p>", "", line.sub("", html, count=1))
    return "" if marker in cleaned else cleaned


def marker_in_labels(labels: Iterable[Any]) -> str | None:
    for label in labels:
        if isinstance(label, str) and label.startswith(PREFIX + "-"):
            candidate = label[len(PREFIX) + 1 :]
            if _MARKER.match(candidate):
                return candidate
    return None
