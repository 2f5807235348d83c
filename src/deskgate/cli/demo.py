"""`deskgate demo`: Deskgate and a real OpenID provider on this machine, in one step.

The provider is the same oidc-provider peer the flow tests sign in against (Gluu-shaped paths, client
authentication with client_secret_post), with the demo users from `deskgate.demo.oidc_peer`.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
from types import FrameType
from typing import Annotated

import typer
import uvicorn
from pydantic import SecretStr

from deskgate.cli._shared import EXIT_PROBLEM, echo_problems
from deskgate.demo.oidc_peer import DEMO_ACCOUNTS, OidcPeer, PeerClient, PeerStartError
from deskgate.errors import ConfigError
from deskgate.identity.presets import get_preset
from deskgate.identity.provider import ProviderConfig
from deskgate.services import BACKCHANNEL_LOGOUT_PATH, CALLBACK_PATH, POST_LOGOUT_PATH
from deskgate.settings import Settings, load_settings
from deskgate.web.app import create_app
from deskgate.web.asgi import configure_logging

HOST = "127.0.0.1"
DEMO_DATABASE = "sqlite:///var/demo.db"
CLIENT_ID = "deskgate-demo"


def demo_peer(base_url: str, client_secret: str) -> OidcPeer:
    client = PeerClient(
        CLIENT_ID,
        client_secret,
        [base_url + CALLBACK_PATH],
        post_logout_redirect_uris=[base_url + POST_LOGOUT_PATH],
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name
        backchannel_logout_uri=base_url + BACKCHANNEL_LOGOUT_PATH,
    )
    return OidcPeer(clients=[client], accounts=DEMO_ACCOUNTS, gluu_paths=True, test_admin=False)


def demo_settings(base_url: str, peer: OidcPeer, client_secret: str, admin_password: str) -> Settings:
    idp = ProviderConfig(
        name="demo",
        title="Demo IdP (Gluu-like)",
        preset="gluu",
        issuer=peer.issuer,
        client_id=CLIENT_ID,
        client_secret=SecretStr(client_secret),
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name
        scopes=("openid", "email", "profile"),
        mapping=get_preset("gluu").default_mapping,
    )
    return load_settings(
        demo=True,
        base_url=base_url,
        database_url=DEMO_DATABASE,
        admin_password=admin_password,
        idps=[idp],
    )


def _banner(settings: Settings, peer: OidcPeer, admin_password: str) -> str:
    users = ", ".join(f"{account.id} / {account.password}" for account in DEMO_ACCOUNTS)
    return "\n".join(
        (
            "",
            f"Deskgate demo is running at {settings.url('/')}",
            f"  Sign in:          {settings.url('/login')}",
            f"  Demo users:       {users}",
            f"  Admin pages:      {settings.url('/admin/')}",
            f"  Admin user:       {settings.admin_user} / {admin_password}",
            f"  OpenID provider:  {peer.issuer}",
            "Press Ctrl-C to stop.",
            "",
        )
    )


async def _serve(server: uvicorn.Server, banner: str) -> None:
    task = asyncio.create_task(server.serve())
    # uvicorn offers a `started` flag, not an event to await.
    while not server.started and not task.done():  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    if server.started:
        typer.echo(banner)
    await task


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # uvicorn re-raises the signal it stopped on; exiting through Python runs the `finally` that stops the OP.
    raise SystemExit(0)


def demo(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port for Deskgate on 127.0.0.1.")] = 8080,
) -> None:
    """Try Deskgate: a demo OpenID provider with demo users, and Deskgate signed up to it."""
    base_url = f"http://{HOST}:{port}"
    client_secret = secrets.token_urlsafe(32)
    admin_password = secrets.token_urlsafe(12)
    peer = demo_peer(base_url, client_secret)
    typer.echo("Starting the demo OpenID provider (oidc-provider on Node.js)...")
    try:
        peer.start()
    except PeerStartError as exc:
        typer.echo(f"The demo OpenID provider did not start: {exc}", err=True)
        raise typer.Exit(EXIT_PROBLEM) from None
    try:
        settings = demo_settings(base_url, peer, client_secret, admin_password)
    except ConfigError as exc:
        peer.stop()
        echo_problems(exc.problems)
        raise typer.Exit(EXIT_PROBLEM) from None
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        configure_logging(settings.log_level)
        config = uvicorn.Config(
            create_app(settings), host=HOST, port=port, log_level="info", proxy_headers=False
        )
        asyncio.run(_serve(uvicorn.Server(config), _banner(settings, peer, admin_password)))
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        peer.stop()
        typer.echo("The demo OpenID provider has stopped.")
