"""What every route needs from the running app, reached through `web(request)`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from deskgate.portal import page_budget
from deskgate.services import Services
from deskgate.sessions.store import SessionRecord
from deskgate.web.csrf import Csrf
from deskgate.web.security import CookieNames, IpNetwork, client_ip

TEMPLATES = Path(__file__).with_name("templates")


@dataclass
class WebContext:
    services: Services
    templates: Jinja2Templates
    cookies: CookieNames
    csrf: Csrf  # customer forms (portal, sign-out): bound to the customer session
    admin_csrf: Csrf  # console forms, sign-in and setup included: bound to the admin session
    https: bool
    trusted_proxies: tuple[IpNetwork, ...]

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any],
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        # Set when JSM was too slow and cached data stood in for it: the portal layout says so.
        # The customer's chosen time zone (`deskgate.portal.preferences`), for `<time>` on the page.
        zone = getattr(request.state, "time_zone", None)
        full = {"user": None, "stale_since": page_budget.stale_notice_time(), "time_zone": zone, **context}
        return self.templates.TemplateResponse(
            request, template, full, status_code=status_code, headers=headers
        )

    def client_ip(self, request: Request) -> str | None:
        return client_ip(request, self.trusted_proxies)


def web(request: Request) -> WebContext:
    context: WebContext = request.app.state.web
    return context


async def current_user(request: Request) -> SessionRecord | None:
    """The signed-in customer's live session, or None."""
    ctx = web(request)
    return await ctx.services.sessions.resolve(request.cookies.get(ctx.cookies.session))
