"""``GET /metrics``: Prometheus's text format, for a scraper only.

Closed (404, as if there were no such page) until the settings open it: ``metrics_token`` (the scraper
sends ``Authorization: Bearer <token>``) and/or ``metrics_allow_networks`` (the client address, as
`trusted_proxies` reveal it, must be in one of them). With both set, a scrape needs both. A scrape reads
the session store and the outbox once each (two counts); no other request does any work for metrics.
"""

from __future__ import annotations

import hmac
import ipaddress
from datetime import UTC, datetime

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from deskgate.errors import NotFound
from deskgate.observability.metrics import Gauges, exposition
from deskgate.services import Services
from deskgate.store.models import SubmissionRow
from deskgate.web.context import web
from deskgate.web.security import IpNetwork

WAITING = ("pending", "sending")


async def gauges(services: Services) -> Gauges:
    now = datetime.now(UTC)
    sessions = await services.sessions.store.count_unexpired(now)
    statement = select(func.count(), func.min(SubmissionRow.created_at)).where(
        SubmissionRow.state.in_(WAITING)
    )
    async with services.db() as db:
        depth, oldest = (await db.execute(statement)).one()
    if oldest is not None and oldest.tzinfo is None:  # SQLite gives naive UTC back
        oldest = oldest.replace(tzinfo=UTC)
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return Gauges(sessions_active=sessions, outbox_depth=int(depth or 0), outbox_oldest_seconds=age)


def _refusal(request: Request) -> Response | None:
    """Why this scrape may not read the metrics (401/403), or None when it may; NotFound when closed."""
    ctx = web(request)
    settings = ctx.services.settings
    token = settings.metrics_token.get_secret_value() if settings.metrics_token is not None else None
    networks: tuple[IpNetwork, ...] = tuple(
        ipaddress.ip_network(n, strict=False) for n in settings.metrics_allow_networks
    )
    if token is None and not networks:
        raise NotFound("/metrics is closed: neither metrics_token nor metrics_allow_networks is set")
    if networks:
        address = ctx.client_ip(request)
        if address is None or not _allowed(address, networks):
            return PlainTextResponse("not from this address\n", status_code=403)
    if token is not None:
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), token.encode()):
            return PlainTextResponse(
                "a bearer token is needed\n", status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
    return None


def _allowed(address: str, networks: tuple[IpNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


async def metrics(request: Request) -> Response:
    refused = _refusal(request)
    if refused is not None:
        return refused
    body = exposition(await gauges(web(request).services))
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})


routes = [Route("/metrics", metrics)]
