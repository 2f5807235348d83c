"""`deskgate idp`: list the identity providers, the presets, and test one provider's connection."""

from __future__ import annotations

from typing import Annotated

import typer

from deskgate.cli._shared import EXIT_PROBLEM, ConfigOption, print_table, settings_or_exit, with_services
from deskgate.errors import NotFound
from deskgate.identity.oidc.probe import Check, probe
from deskgate.identity.presets import PRESETS
from deskgate.identity.provider import ProviderConfig
from deskgate.identity.saml.probe import probe as saml_probe
from deskgate.services import Services

app = typer.Typer(help="Identity providers.", no_args_is_help=True)

VERDICTS = {True: "ok", False: "failed", None: "unknown"}


def _issuer(config: ProviderConfig) -> str:
    """The OIDC issuer, or the SAML IdP's entity id (its Issuer)."""
    return config.saml.entity_id if config.saml is not None else config.issuer or "-"


@app.command("list")
def list_command(config: ConfigOption = None) -> None:
    """The configured identity providers, in the order the sign-in page shows them."""
    providers = with_services(settings_or_exit(config), lambda s: s.providers.all())
    if not providers:
        typer.echo("No identity providers are configured.")
        return
    print_table(
        ("NAME", "PRESET", "PROTOCOL", "ENABLED", "ISSUER"),
        [(p.name, p.preset, p.protocol, "yes" if p.enabled else "no", _issuer(p)) for p in providers],
    )


@app.command()
def presets() -> None:
    """The presets an identity provider can be set up from."""
    print_table(
        ("NAME", "TITLE", "DESCRIPTION"),
        [(preset.name, preset.title, preset.description) for preset in PRESETS.values()],
    )


@app.command("test")
def probe_command(
    name: Annotated[str, typer.Argument(help="The identity provider's name (see `deskgate idp list`).")],
    config: ConfigOption = None,
) -> None:
    """Check discovery, signing keys and the client credentials (OIDC), or the metadata, certificates and
    SSO URL (SAML), without a user signing in."""

    async def run(services: Services) -> list[Check]:
        config = await services.providers.get(name)
        if config.saml is not None:
            return await saml_probe(services.http, config.saml)
        return await probe(await services.relying_party(name))

    try:
        checks = with_services(settings_or_exit(config), run)
    except NotFound as exc:
        typer.echo(exc.detail, err=True)
        raise typer.Exit(EXIT_PROBLEM) from None
    print_table(("CHECK", "RESULT", "DETAIL"), [(c.name, VERDICTS[c.ok], c.detail) for c in checks])
    # Only a clean pass exits 0: a check that could not be decided is no evidence the IdP will work, and
    # a script that gates on this command must not go ahead on it.
    failed = [check.name for check in checks if check.ok is False]
    unknown = [check.name for check in checks if check.ok is None]
    if failed or unknown:
        if failed:
            typer.echo(f"Failed: {', '.join(failed)}. The IdP is not ready for sign-ins.", err=True)
        if unknown:
            typer.echo(
                f"Could not tell: {', '.join(unknown)}. Check the detail above, then test a sign-in "
                "from the console before relying on this IdP.",
                err=True,
            )
        raise typer.Exit(EXIT_PROBLEM)
