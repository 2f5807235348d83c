"""`deskgate demo`: Deskgate, a real OpenID provider and a JSM to raise requests in, on this machine, in one step.

The provider is the same oidc-provider peer the flow tests sign in against (Gluu-shaped paths, client
authentication with client_secret_post), presented as "Orbit ID" with its demo accounts on the sign-in page.
Its accounts are the people of `deskgate.demo.people`; the JSM is the emulator (Cloud flavour) with those same
people as customers and their history (`deskgate.demo.story`), served on a free loopback port from a thread
of this process. Deskgate is connected to it with the emulator's service account, and the banner lists the
people and each demo desk's substitute link.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import socket
import threading
import time
from types import FrameType
from typing import Annotated

import typer
import uvicorn
from pydantic import SecretStr
from sqlalchemy import delete
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deskgate.admin.accounts import AdminAccounts
from deskgate.cli._shared import EXIT_PROBLEM, assets_or_exit, echo_problems, port_free_or_exit
from deskgate.demo.oidc_peer import OidcPeer, PeerClient, PeerPages, PeerStartError
from deskgate.demo.people import DEMO_PEOPLE, peer_accounts
from deskgate.demo.story import seed_story
from deskgate.errors import ConfigError
from deskgate.identity.presets import get_preset
from deskgate.identity.provider import ProviderConfig
from deskgate.jsm.emulator import EmulatorApp, create_emulator
from deskgate.services import BACKCHANNEL_LOGOUT_PATH, CALLBACK_PATH, POST_LOGOUT_PATH
from deskgate.settings import Settings, load_settings
from deskgate.store import db
from deskgate.store.models import CustomerLinkRow, SessionRow, SubmissionFileRow, SubmissionRow
from deskgate.web.app import create_app
from deskgate.web.asgi import configure_logging

HOST = "127.0.0.1"
DEMO_DATABASE = "sqlite:///var/demo.db"
CLIENT_ID = "deskgate-demo"
IDP_PAGES = PeerPages("Orbit ID", "Demo identity provider", account_hints=True)
JSM_START_SECONDS = 20.0
JSM_LOG = logging.getLogger("deskgate.demo.jsm")


class DemoJsm:
    """The JSM emulator on a free loopback port, served by uvicorn on its own thread and event loop.

    A thread rather than a second server in Deskgate's loop: uvicorn installs signal handlers only on the
    main thread, so Ctrl-C stays with Deskgate's server, and the emulator's added latency or a slow call
    never holds Deskgate's loop up.
    """

    def __init__(self) -> None:
        self.app: EmulatorApp = create_emulator("cloud", seed=False)
        seed_story(self.app.store)
        self.port = _free_port()
        self.site_url = f"http://{HOST}:{self.port}"
        config = uvicorn.Config(
            _logged(self.app),
            host=HOST,
            port=self.port,
            log_level="warning",
            proxy_headers=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="demo-jsm", daemon=True)

    def _run(self) -> None:
        asyncio.run(self._server.serve())

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + JSM_START_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the JSM emulator did not start on {self.site_url}")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def desks(self) -> list[tuple[str, str, str]]:
        """(id, project key, name) of each seeded desk."""
        return [(desk.id, desk.project_key, desk.project_name) for desk in self.app.store.desks]


def _logged(app: ASGIApp) -> ASGIApp:
    """The emulator's requests in the demo's log under their own name and prefix ("demo JSM"), so that they
    read apart from Deskgate's lines: uvicorn's own access log would mix both servers in one logger."""

    async def logged(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        status = 0

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_status)
        finally:
            JSM_LOG.info("demo JSM: %s %s -> %s", scope["method"], scope["path"], status or "no answer")

    return logged


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def demo_peer(base_url: str, client_secret: str) -> OidcPeer:
    client = PeerClient(
        CLIENT_ID,
        client_secret,
        [base_url + CALLBACK_PATH],
        post_logout_redirect_uris=[base_url + POST_LOGOUT_PATH],
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name
        backchannel_logout_uri=base_url + BACKCHANNEL_LOGOUT_PATH,
        extra={"client_name": "Deskgate"},
    )
    return OidcPeer(
        clients=[client],
        accounts=peer_accounts(DEMO_PEOPLE),
        gluu_paths=True,
        test_admin=False,
        pages=IDP_PAGES,
    )


DEMO_ADMIN = "admin"


def demo_settings(base_url: str, peer: OidcPeer, client_secret: str, jsm: DemoJsm | None = None) -> Settings:
    idp = ProviderConfig(
        name="demo",
        title=f"{IDP_PAGES.name} (demo, Gluu-like)",
        preset="gluu",
        issuer=peer.issuer,
        client_id=CLIENT_ID,
        client_secret=SecretStr(client_secret),
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name
        scopes=("openid", "email", "profile", "organization"),
        # The IdP's organization claim puts each person in the JSM organization of that name.
        mapping=get_preset("gluu").default_mapping.model_copy(update={"organization": ("organization",)}),
    )
    return load_settings(
        demo=True,
        base_url=base_url,
        database_url=DEMO_DATABASE,
        idps=[idp],
        jsm=jsm.app.connection(jsm.site_url) if jsm is not None else None,
    )


def _banner(settings: Settings, peer: OidcPeer, admin_password: str, jsm: DemoJsm) -> str:
    who = [f"    {p.name} ({p.organization}):" for p in DEMO_PEOPLE]
    width = max(len(w) for w in who) + 1
    people = [w.ljust(width) + f"{p.email} / {p.password}" for w, p in zip(who, DEMO_PEOPLE, strict=True)]
    desks = [
        f"    {name} ({key}):".ljust(30) + f"{settings.url(f'/portal/{desk_id}')}"
        for desk_id, key, name in jsm.desks()
    ]
    return "\n".join(
        (
            "",
            f"Deskgate demo is running at {settings.url('/')}",
            f"  Sign in:          {settings.url('/login')}",
            "  Demo people (sign in as one of them; Ana Costa has the most history):",
            *people,
            f"  Admin pages:      {settings.url('/admin/')}",
            f"  Admin user:       {DEMO_ADMIN} / {admin_password}",
            f"  OpenID provider:  {peer.issuer}",
            f"  JSM (emulator):   {jsm.site_url} (Cloud flavour, in memory)",
            f"  Help center:      {settings.url('/portal')}",
            "  Substitute links (sign in, then raise a request):",
            *desks,
            "Press Ctrl-C to stop.",
            "",
        )
    )


async def forget_previous_jsm(settings: Settings) -> None:
    """Each demo starts a fresh in-memory JSM: drop what pointed into the last one.

    Customer links (IdP subject ↔ JSM account id), outbox rows and the sessions that carried them would
    name customers and requests the new emulator has never heard of.
    """
    engine = db.create_engine(settings.sqlalchemy_url)
    try:
        await db.migrate(engine)
        async with db.sessionmaker(engine).begin() as session:
            for table in (SubmissionFileRow, SubmissionRow, CustomerLinkRow, SessionRow):
                await session.execute(delete(table))
    finally:
        await engine.dispose()


async def ensure_demo_admin(settings: Settings, password: str) -> None:
    """The demo's admin account, with this run's fresh password (a local account like any other)."""
    engine = db.create_engine(settings.sqlalchemy_url)
    try:
        await db.migrate(engine)
        await AdminAccounts(db.sessionmaker(engine)).create(DEMO_ADMIN, password, replace=True)
    finally:
        await engine.dispose()


async def _serve(server: uvicorn.Server, banner: str, settings: Settings, admin_password: str) -> None:
    await forget_previous_jsm(settings)
    await ensure_demo_admin(settings, admin_password)
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
    port_free_or_exit(HOST, port)
    assets_or_exit()
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
    jsm = DemoJsm()
    try:
        jsm.start()
    except RuntimeError as exc:
        peer.stop()
        typer.echo(f"The demo JSM did not start: {exc}", err=True)
        raise typer.Exit(EXIT_PROBLEM) from None
    try:
        settings = demo_settings(base_url, peer, client_secret, jsm)
    except ConfigError as exc:
        jsm.stop()
        peer.stop()
        echo_problems(exc.problems)
        raise typer.Exit(EXIT_PROBLEM) from None
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        configure_logging(settings.log_level)
        config = uvicorn.Config(
            create_app(settings), host=HOST, port=port, log_level="info", proxy_headers=False
        )
        banner = _banner(settings, peer, admin_password, jsm)
        asyncio.run(_serve(uvicorn.Server(config), banner, settings, admin_password))
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        jsm.stop()
        typer.echo("The demo JSM has stopped.")
        peer.stop()
        typer.echo("The demo OpenID provider has stopped.")
