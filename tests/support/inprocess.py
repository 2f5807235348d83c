"""Deskgate in-process: the ASGI app with its lifespan, and an httpx client talking to it directly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from deskgate.services import Services
from deskgate.settings import load_settings
from deskgate.web.app import create_app

SECRET_KEY = "in-process-secret-key-0123456789-abcdefgh"


@asynccontextmanager
async def running_app(
    db_url: str,
    *,
    base_url: str = "http://127.0.0.1:8080",
    client_ip: str = "127.0.0.1",
    idp_http: httpx.AsyncClient | None = None,
    raise_app_exceptions: bool = True,
    **overrides: Any,
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    """`idp_http` is the client Deskgate uses to reach IdPs (e.g. an in-process provider)."""
    settings = load_settings(base_url=base_url, secret_key=SECRET_KEY, database_url=db_url, **overrides)
    app = create_app(settings, http=idp_http)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(
            app=app, client=(client_ip, 50000), raise_app_exceptions=raise_app_exceptions
        )
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client, app.state.services
