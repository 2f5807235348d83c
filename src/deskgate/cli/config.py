"""`deskgate config`: check a settings file; export and import the configuration (IdPs, JSM, desks)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from deskgate.cli._shared import EXIT_PROBLEM, ConfigOption, echo_problems, settings_or_exit, with_services
from deskgate.config_document import read_export_file
from deskgate.config_io import export_yaml, import_config
from deskgate.config_preview import deleted_names, preview_import, preview_lines
from deskgate.errors import ConfigError
from deskgate.portal.jira_setup import site_switch_summary
from deskgate.settings import load_settings

app = typer.Typer(help="Check the settings; export and import the configuration.", no_args_is_help=True)


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="The YAML settings file to check.", dir_okay=False)],
) -> None:
    """Check a settings file as the server would read it (with DESKGATE_* variables applied)."""
    try:
        load_settings(file)
    except ConfigError as exc:
        echo_problems(exc.problems)
        raise typer.Exit(EXIT_PROBLEM) from None
    typer.echo("OK")


@app.command("export")
def export_command(
    config: ConfigOption = None,
    include_secrets: Annotated[
        bool,
        typer.Option("--include-secrets", help="Include client secrets and the JSM token, in plain text."),
    ] = False,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Export the configuration as YAML (secrets left out unless asked for)."""
    settings = settings_or_exit(config)
    text = with_services(settings, lambda s: export_yaml(s, include_secrets=include_secrets))
    if include_secrets:
        typer.echo(
            "warning: the export contains client secrets (and the JSM token) in plain text; keep it private.",
            err=True,
        )
    if output is None:
        typer.echo(text, nl=False)
        return
    # Created owner-only before the secrets go in, rather than tightened afterwards.
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if include_secrets else 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        stream.write(text)
    typer.echo(f"Wrote the configuration to {output}", err=True)


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A file written by `deskgate config export`.", dir_okay=False)],
    config: ConfigOption = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Delete the identity providers the file does not list.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what the import would change; write nothing.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="With --replace: import without asking for confirmation.")
    ] = False,
) -> None:
    """Import a configuration; every problem is reported and nothing is written unless there are none.

    With --dry-run, prints what each item would become (new, changed with its fields, unchanged,
    deleted) and writes nothing. --replace shows that, then asks before it deletes (unless --yes)."""
    settings = settings_or_exit(config)
    try:
        data = read_export_file(file)
        if dry_run or (replace and not yes):
            items = with_services(settings, lambda s: preview_import(s, data, replace=replace))
            for line in preview_lines(items):
                typer.echo(line)
            if dry_run:
                typer.echo("Dry run: nothing was imported.")
                return
            doomed = deleted_names(items)
            question = "Replace the stored configuration" + (
                f", deleting {', '.join(doomed)}" if doomed else ""
            )
            if not typer.confirm(f"{question}?"):
                typer.echo("Nothing was imported.", err=True)
                raise typer.Exit(EXIT_PROBLEM)
        report = with_services(settings, lambda s: import_config(s, data, replace=replace))
    except ConfigError as exc:
        typer.echo("Nothing was imported:", err=True)
        echo_problems(f"  {problem}" for problem in exc.problems)
        raise typer.Exit(EXIT_PROBLEM) from None
    for label, names in (
        ("created", report.created),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
        ("deleted", report.deleted),
        ("kept the stored client secret of", report.kept_secrets),
        ("saved the settings of desk", report.desks),
    ):
        if names:
            typer.echo(f"{label}: {', '.join(names)}")
    if report.jsm:
        typer.echo(f"JSM connection: {report.jsm}")
    if report.site_switch is not None:
        typer.echo(f"Another site: {site_switch_summary(report.site_switch)}.")
    if report.login_page:
        typer.echo("Login page settings: saved")
    if report.sessions_ended:
        typer.echo(f"Customer sessions ended (of the IdPs disabled or deleted): {report.sessions_ended}")
    typer.echo("Running Deskgate servers pick the changes up within a few seconds.")
