"""How values are shown on every page: formatted once here, as Jinja filters, never ad hoc in a template.

when        a moment: `<time datetime="…Z">2026-12-05 01:02 UTC</time>`, to the minute; the static
            script `localtime.js` rewrites the text into the viewer's own time zone
day         the same, the date alone
claim_json  a claim's value as JSON (`true`, `null`, `["staff"]`), never a Python repr
plain       a value for a person: yes/no, "—" for nothing, a list joined with commas
epoch_claim the moment an epoch claim (`exp`, `iat`, `auth_time`, `nbf`, `updated_at`) stands for
event_words an audit event code in words ("Customer sign-in" for `login`), outcome_words its outcome
user_agent  a browser's User-Agent header in short ("Firefox 120 on Linux")
preset_title a preset's name as its title ("Keycloak" for `keycloak`)
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from jinja2 import Environment
from markupsafe import Markup

from deskgate.audit_words import event_words, outcome_words
from deskgate.identity.presets import PRESETS
from deskgate.sessions.user_agent import short_user_agent

EPOCH_CLAIMS = frozenset({"exp", "iat", "auth_time", "nbf", "updated_at"})
NOTHING = "—"


def _moment(value: object) -> datetime | None:
    """A datetime from what the code keeps moments as: datetimes (UTC when naive) and ISO 8601 text."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _time_element(value: object, shown: str, kind: str) -> Markup | str:
    moment = _moment(value)
    if moment is None:
        return NOTHING if value is None or value == "" else str(value)
    stamp = moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return Markup('<time datetime="{}" data-show="{}">{}</time>').format(stamp, kind, moment.strftime(shown))


def when(value: object) -> Markup | str:
    """A moment to the minute, in UTC until the viewer's browser shows it in their own zone."""
    return _time_element(value, "%Y-%m-%d %H:%M UTC", "minute")


def day(value: object) -> Markup | str:
    """A moment's date (a request's creation day in a list)."""
    return _time_element(value, "%Y-%m-%d", "day")


def claim_json(value: object) -> str:
    """A claim as the IdP sent it, in JSON: what an IdP admin reads in their own console."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    except ValueError:  # a circular structure never comes from JSON; shown rather than failing the page
        return str(value)


def plain(value: object) -> str:
    """A value for a person rather than a programmer."""
    if value is None or value == "" or value == [] or value == {}:
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(plain(item) for item in value)
    if isinstance(value, dict):
        return claim_json(value)
    return str(value)


def epoch_claim(name: str, value: object) -> datetime | None:
    """The moment an epoch claim stands for, or None for any other claim (or a value that is no epoch)."""
    if name not in EPOCH_CLAIMS or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def claim_cell(name: str, value: object) -> Markup:
    """A claim's table cell: its JSON, and for an epoch claim the date it stands for beside the number."""
    shown = Markup('<code class="claim">{}</code>').format(claim_json(value))
    moment = epoch_claim(name, value)
    return (
        shown if moment is None else shown + Markup(' <span class="small">({})</span>').format(when(moment))
    )


def preset_title(name: str) -> str:
    """The preset's title; a name no preset has (from a newer version's file) as it is."""
    preset = PRESETS.get(name)
    return preset.title if preset is not None else name


def install(env: Environment) -> None:
    """Make the filters available to every template of `env`."""
    env.filters.update(
        when=when,
        day=day,
        claim_json=claim_json,
        plain=plain,
        event_words=event_words,
        outcome_words=outcome_words,
        user_agent=short_user_agent,
        preset_title=preset_title,
    )
    env.globals["claim_cell"] = claim_cell
