"""`deskgate saml keys list | rotate | promote | retire`: the SAML SP's own keys (`identity.saml.keys`).

A rotation is three steps with time between them, so that no IdP ever encrypts to a key we dropped or
checks our requests against a certificate it does not have yet:

    rotate    a next key appears in every SP metadata document (signing and encryption)
              … wait until every IdP has read the metadata again (or re-upload it there) …
    promote   the next key signs; the old one is retiring, still published and still decrypting
              … wait until answers encrypted to the old key can no longer arrive …
    retire    the old key leaves the metadata and is used no more
"""

from __future__ import annotations

from typing import Annotated

import typer

from deskgate.cli._shared import EXIT_PROBLEM, ConfigOption, print_table, settings_or_exit, with_services
from deskgate.errors import NotFound
from deskgate.identity.saml.keys import SpKey
from deskgate.services import Services

app = typer.Typer(help="The SAML service provider.", no_args_is_help=True)
keys_app = typer.Typer(help="The SAML SP's signing and decryption keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _show(keys: list[SpKey]) -> None:
    print_table(
        ("ID", "STATE", "CREATED", "CERTIFICATE SHA-256"),
        [(k.id, k.state, k.created_at.strftime("%Y-%m-%d %H:%M"), k.fingerprint) for k in keys],
    )


@keys_app.command("list")
def list_command(config: ConfigOption = None) -> None:
    """Every key, oldest first (the first one is created here if there is none yet)."""

    async def run(services: Services) -> list[SpKey]:
        await services.saml_keys.current()
        return await services.saml_keys.all()

    _show(with_services(settings_or_exit(config), run))


@keys_app.command()
def rotate(config: ConfigOption = None) -> None:
    """Add the next key: published at once, signing only once promoted."""
    try:
        key = with_services(settings_or_exit(config), lambda s: s.saml_keys.rotate())
    except ValueError as exc:
        typer.echo(f"{exc}.", err=True)
        raise typer.Exit(EXIT_PROBLEM) from None
    typer.echo(f"Key {key.id} added as next. When every IdP has the new metadata: deskgate saml keys promote")


@keys_app.command()
def promote(config: ConfigOption = None) -> None:
    """The next key signs from now on; the current one is retiring (still decrypts)."""
    try:
        key = with_services(settings_or_exit(config), lambda s: s.saml_keys.promote())
    except NotFound as exc:
        typer.echo(f"{exc.detail}.", err=True)
        raise typer.Exit(EXIT_PROBLEM) from None
    typer.echo(f"Key {key.id} is current. Retire the old one later: deskgate saml keys retire <id>")


@keys_app.command()
def retire(
    key_id: Annotated[str, typer.Argument(help="The retiring key's id (see `deskgate saml keys list`).")],
    config: ConfigOption = None,
) -> None:
    """A retiring key leaves the metadata and decrypts no more."""
    try:
        key = with_services(settings_or_exit(config), lambda s: s.saml_keys.retire(key_id))
    except NotFound as exc:
        typer.echo(f"{exc.detail}.", err=True)
        raise typer.Exit(EXIT_PROBLEM) from None
    typer.echo(f"Key {key.id} retired.")
