"""The customer's account page: who they are (name, e-mail, JSM organizations), the identity provider
they came through (its title, never its internal name), their time zone, and sign-out.

Nothing here needs JSM: the organizations are those Deskgate recorded on the customer link when it put
the customer in them, and the page still opens while JSM is away or not connected.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from deskgate.portal.preferences import time_zones
from deskgate.portal.provisioning import ORG_PREFIX
from deskgate.sessions.store import SessionRecord
from deskgate.store.models import CustomerLinkRow
from deskgate.web.context import current_user, web
from deskgate.web.portal.common import SignInRequired, check_csrf, guarded, render_with_csrf
from deskgate.web.security import NO_STORE


async def _organizations(request: Request, user: SessionRecord) -> list[str]:
    async with web(request).services.db() as db:
        row = await db.get(CustomerLinkRow, (user.idp, user.subject))
    entries = row.desks if row is not None else []
    return sorted({e.split(":", 2)[2] for e in entries if e.startswith(ORG_PREFIX) and e.count(":") >= 2})


async def _idp_title(request: Request, user: SessionRecord) -> str:
    """The IdP's title (the sign-in button's label), never its internal name."""
    configs = await web(request).services.providers.all()
    return next((c.title for c in configs if c.name == user.idp), "an identity provider no longer set up")


async def account_page(
    request: Request, user: SessionRecord, *, error: str | None = None, status_code: int = 200
) -> Response:
    services = web(request).services
    chosen = await services.preferences.stored_time_zone(user.idp, user.subject)
    request.state.time_zone = chosen
    return render_with_csrf(
        web(request),
        request,
        "account.html",
        {
            "user": user,
            "organizations": await _organizations(request, user),
            "idp_title": await _idp_title(request, user),
            "time_zone": chosen,
            "time_zones": time_zones(),
            "saved": request.query_params.get("saved") == "1",
            "error": error,
        },
        status_code=status_code,
    )


@guarded()
async def save_time_zone(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        raise SignInRequired("time zone without a session")
    form = await request.form(max_files=0, max_fields=5)
    check_csrf(web(request), request, form.get("csrf_token"))
    wanted = str(form.get("time_zone") or "").strip()[:64]
    try:
        await web(request).services.preferences.set_time_zone(user.idp, user.subject, wanted or None)
    except ValueError:
        return await account_page(request, user, error="Choose a time zone from the list.", status_code=400)
    return RedirectResponse("/account?saved=1", 303, headers=NO_STORE)
