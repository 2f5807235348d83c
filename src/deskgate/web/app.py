"""`create_app(settings)`: the ASGI application. No import-time state; tests build their own app."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.templating import Jinja2Templates

from deskgate.background import Background
from deskgate.identity.saml import metadata_source
from deskgate.observability import multiprocess
from deskgate.services import HOUSEKEEPING_FIRST_AFTER, Services, build_services, secret_key_for
from deskgate.sessions.store import SessionStore
from deskgate.settings import Settings
from deskgate.web import (
    admin,
    admin_activity,
    admin_auth,
    admin_backup,
    admin_deliveries,
    admin_idps,
    admin_jira,
    admin_login_page,
    admin_policy,
    assets,
    auth,
    errors,
    formatting,
    health,
    metrics,
    portal,
)
from deskgate.web.body_limits import BodyLimits, Limits
from deskgate.web.context import TEMPLATES, WebContext
from deskgate.web.csrf import Csrf, Realm
from deskgate.web.fastpath import IdentityFastPath
from deskgate.web.request_id import RequestIds
from deskgate.web.security import (
    CookieNames,
    SecurityHeaders,
    filter_access_logs,
    trusted_networks,
)


def create_app(
    settings: Settings,
    *,
    http: httpx.AsyncClient | None = None,
    session_store: SessionStore | None = None,
) -> Starlette:
    """The Deskgate web app. `http` and `session_store` are seams for tests (real peers or in-process)."""
    templates = Jinja2Templates(
        directory=str(TEMPLATES), context_processors=[admin_login_page.branding_context]
    )
    formatting.install(templates.env)
    # Read once, at start; refuses to start, naming ./dev/setup, when the generated design tokens are missing.
    static = assets.StaticAssets.load()
    assets.install(templates.env.globals, static)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Here, not at import: the ASGI server has set its logging up by now, in every worker.
        filter_access_logs()
        multiprocess.worker_started()
        services = await build_services(settings, http=http, session_store=session_store)
        cookies = CookieNames(settings.is_https)
        app.state.services = services
        app.state.web = WebContext(
            services=services,
            templates=templates,
            cookies=cookies,
            csrf=_csrf(settings, Realm.CUSTOMER, cookies.session, cookies),
            admin_csrf=_csrf(settings, Realm.ADMIN, cookies.admin, cookies),
            https=settings.is_https,
            trusted_proxies=trusted_networks(settings),
        )
        await services.admin_setup.announce(settings.base_url)  # first start: the link to the first admin
        background = Background()
        # Not at once: nothing has expired in the first minute, and workers starting together would all
        # sweep the same tables at the same moment.
        background.start(services.housekeeping_round, first_after=HOUSEKEEPING_FIRST_AFTER)
        background.start(services.delivery_round)
        background.start(
            functools.partial(
                metadata_source.refresh_round, services.providers, services.http, services.audit
            )
        )
        try:
            yield
        finally:
            await background.stop()  # each loop ends its round first: nothing half-done is abandoned
            await services.aclose()
            multiprocess.worker_stopping()

    app = Starlette(
        routes=[
            *health.routes,
            *metrics.routes,
            *auth.routes,
            *admin_auth.routes,
            *admin.routes,
            *admin_idps.routes,
            *admin_policy.routes,
            *admin_login_page.routes,
            *admin_jira.routes,
            *admin_activity.routes,
            *admin_deliveries.routes,
            *admin_backup.routes,
            *portal.routes,
            *assets.routes(static),
        ],
        exception_handlers=errors.install(templates),  # type: ignore[arg-type]
        lifespan=lifespan,
    )
    app.add_middleware(IdentityFastPath)
    # Before any route reads a byte; inside the headers, so that a 413 carries them too.
    app.add_middleware(BodyLimits, limits=Limits.from_settings(settings), templates=templates)
    app.add_middleware(SecurityHeaders, https=settings.is_https)  # every answer gets the headers
    app.add_middleware(RequestIds)  # outermost: whatever logs anything for a request knows its id
    return app


def _csrf(settings: Settings, realm: Realm, session_cookie: str, cookies: CookieNames) -> Csrf:
    """The CSRF tokens of one realm, bound to the session behind `session_cookie`."""
    return Csrf(
        secret_key_for(settings),
        realm=realm,
        session_cookie=session_cookie,
        cookie_name=cookies.csrf,
        https=settings.is_https,
    )


def services_of(app: Starlette) -> Services:
    services: Services = app.state.services
    return services
