"""`deskgate audit`: read the audit log (sign-ins, refusals, sign-outs), with the console's filters."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from deskgate.audit import CSV_COLUMNS, AuditEvent, AuditFilter, csv_lines, parse_time
from deskgate.cli._shared import ConfigOption, print_table, settings_or_exit, with_services
from deskgate.services import Services

COLUMNS = CSV_COLUMNS


def _moment(value: str | None, option: str, *, end: bool = False) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value, end=end)
    except ValueError:
        raise typer.BadParameter(
            "use an ISO 8601 date or time, e.g. 2025-01-31 or 2025-01-31T08:00Z", param_hint=option
        ) from None


def _as_dict(event: AuditEvent) -> dict[str, str | None]:
    values = {column: getattr(event, column) for column in COLUMNS}
    values["at"] = event.at.isoformat() if event.at else None
    return values


async def _csv(services: Services, where: AuditFilter) -> None:
    async for line in csv_lines(services.audit.export(where)):
        typer.echo(line, nl=False)


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
    until: Annotated[
        str | None,
        typer.Option(help="Only events before this ISO 8601 time; a date alone includes that whole day."),
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="Only events whose subject or email contains this (any case).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    as_csv: Annotated[
        bool,
        typer.Option(
            "--csv", help="Every matching event as CSV (--limit does not apply), as the console exports it."
        ),
    ] = False,
) -> None:
    """Show the audit log, newest first."""
    where = AuditFilter(
        event=event,
        outcome=outcome,
        idp=idp,
        since=_moment(since, "--since"),
        until=_moment(until, "--until", end=True),
        user=user,
    )
    settings = settings_or_exit(config)
    if as_csv:
        with_services(settings, lambda s: _csv(s, where))
        return
    events = with_services(settings, lambda s: s.audit.search(where, limit=limit))
    if as_json:
        for item in events:
            typer.echo(json.dumps(_as_dict(item)))
        return
    if not events:
        typer.echo("No audit events match.")
        return
    rows = [[value or "-" for value in _as_dict(item).values()] for item in events]
    print_table([column.upper() for column in COLUMNS], rows)
