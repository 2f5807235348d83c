"""`deskgate jsm-sandbox`: the JSM emulator on this machine, to point Deskgate (or curl) at.

It prints the site URL and the service account's credentials, which are fixed sandbox values: the
emulator serves 127.0.0.1 only and keeps everything in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from typing import Annotated

import typer
import uvicorn

from deskgate.jsm.emulator import EmulatorApp, FaultPlan, create_emulator

HOST = "127.0.0.1"


class Flavour(enum.StrEnum):
    cloud = "cloud"
    datacenter = "datacenter"


def sandbox_banner(app: EmulatorApp, site_url: str) -> str:
    credentials = app.credentials
    cloud = app.flavour == "cloud"
    if cloud:
        auth = [
            f"  Service account:  {credentials.email}",
            f"  API token:        {credentials.api_token}",
        ]
    else:
        auth = [
            f"  Service account:  {credentials.username}",
            f"  Access token:     {credentials.personal_access_token}",
        ]
    return "\n".join(
        (
            "",
            f"JSM sandbox ({'Jira Cloud' if cloud else 'Jira Data Center'}) at {site_url}",
            *auth,
            "  Service desks:    IT Help (ITH), HR Services (HRS), Facilities (FAC)",
            "  Customers:        alice@example.com, bob@example.com, carol@example.com",
            f"  Faults:           {site_url}/__emulator__/faults (GET, PUT JSON, DELETE)",
            f"  Added latency:    {app.faults.latency_ms} ms per call",
            "Everything is kept in memory. Press Ctrl-C to stop.",
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


def jsm_sandbox(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1.")] = 8081,
    flavour: Annotated[Flavour, typer.Option(help="Which JSM to behave like.")] = Flavour.cloud,
    latency_ms: Annotated[
        int, typer.Option(min=0, max=60_000, help="Delay added to every call (benchmarks use 100).")
    ] = 0,
) -> None:
    """Run an in-memory JSM (the emulator the tests use) with demo desks, customers and requests."""
    site_url = f"http://{HOST}:{port}"
    app = create_emulator(flavour.value, faults=FaultPlan(latency_ms=latency_ms))
    config = uvicorn.Config(app, host=HOST, port=port, log_level="warning", proxy_headers=False)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(uvicorn.Server(config), sandbox_banner(app, site_url)))
