"""`deskgate audit`: read the audit log (sign-ins, refusals, sign-outs)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from deskgate.audit import AuditEvent
from deskgate.cli._shared import ConfigOption, print_table, settings_or_exit, with_services

COLUMNS = ("at", "event", "outcome", "idp", "email", "subject", "client_ip", "error_id", "detail")


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            "use an ISO 8601 date or time, e.g. 2025-01-31 or 2025-01-31T08:00Z", param_hint="--since"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # the log is kept in UTC


def _as_dict(event: AuditEvent) -> dict[str, str | None]:
    values = {column: getattr(event, column) for column in COLUMNS}
    values["at"] = event.at.isoformat() if event.at else None
    return values


def audit(
    config: ConfigOption = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many events, newest first.")] = 50,
    event: Annotated[str | None, typer.Option(help="Only this event, e.g. login or logout.rp.")] = None,
    outcome: Annotated[
        str | None, typer.Option(help="Only this outcome: success, refused or failure.")
    ] = None,
    idp: Annotated[str | None, typer.Option(help="Only events of this identity provider.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only events at or after this ISO 8601 time (UTC unless given).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Show the audit log, newest first."""
    after = _since(since)
    events = with_services(
        settings_or_exit(config),
        lambda s: s.audit.query(event=event, outcome=outcome, idp=idp, since=after, limit=limit),
    )
    if as_json:
        for item in events:
            typer.echo(json.dumps(_as_dict(item)))
        return
    if not events:
        typer.echo("No audit events match.")
        return
    rows = [[value or "-" for value in _as_dict(item).values()] for item in events]
    print_table([column.upper() for column in COLUMNS], rows)
