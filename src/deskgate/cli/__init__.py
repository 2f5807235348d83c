"""The ``deskgate`` command line: thin commands over the same services the web app uses.

    deskgate serve | demo | audit
    deskgate admin create | list
    deskgate config check | export | import
    deskgate db upgrade
    deskgate jsm-sandbox
    deskgate idp list | presets | test
    deskgate jira connect | check | links | refresh
    deskgate saml keys list | rotate | promote | retire

One module per command group; `_shared` holds the --config option and the settings/services plumbing.
"""

from __future__ import annotations

import typer

from deskgate.cli import admin, audit, config, db, demo, idp, jira, jsm, saml, serve

# Locals stay out of tracebacks: they can hold client secrets (an import file) or the demo passwords.
app = typer.Typer(
    name="deskgate",
    help="Deskgate: a self-hosted single sign-on gateway.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command()(serve.serve)
app.command()(demo.demo)
app.command()(audit.audit)
app.command(name="jsm-sandbox")(jsm.jsm_sandbox)
app.add_typer(admin.app, name="admin")
app.add_typer(config.app, name="config")
app.add_typer(db.app, name="db")
app.add_typer(idp.app, name="idp")
app.add_typer(jira.app, name="jira")
app.add_typer(saml.app, name="saml")


def main() -> None:
    app()


__all__ = ["app", "main"]
