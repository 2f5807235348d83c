"""The help center (the desks a customer may use; its search finds articles and request types too), a
desk's portal page, and JSM's own URL shapes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from deskgate.jsm.models import RequestType, RequestTypeGroup
from deskgate.portal.articles import usable_desks
from deskgate.web.context import current_user, web
from deskgate.web.portal.articles import help_center_search
from deskgate.web.portal.common import SignInRequired, guarded, open_desk, visitor
from deskgate.web.security import NO_STORE

MAX_QUERY = 200


def _query(request: Request) -> str:
    return " ".join(request.query_params.get("q", "").split())[:MAX_QUERY]


def _matches(query: str, *texts: str) -> bool:
    words = query.casefold().split()
    haystack = " ".join(texts).casefold()
    return all(word in haystack for word in words)


@guarded()
async def help_center(request: Request) -> Response:
    who = await visitor(request)
    services = who.ctx.services
    desks = await usable_desks(services.catalogue, services.desks)
    query = _query(request)
    results = await help_center_search(who, desks, query) if query else None
    return who.ctx.render(
        request,
        "portal/help_center.html",
        {"user": who.session, "desks": desks, "q": query, "results": results},
    )


def grouped(
    groups: tuple[RequestTypeGroup, ...], types: list[RequestType]
) -> list[tuple[RequestTypeGroup, list[RequestType]]]:
    """Request types under their groups, in JSM's order; a type in several groups shows in each."""
    out = [(g, [t for t in types if g.id in t.group_ids]) for g in groups]
    loose = [t for t in types if not any(g.id in t.group_ids for g in groups)]
    if loose:
        out.append((RequestTypeGroup("", "Other requests"), loose))
    return [(g, ts) for g, ts in out if ts]


@guarded()
async def desk_page(request: Request) -> Response:
    desk_id = str(request.path_params["desk_id"])
    if await current_user(request) is None:
        raise SignInRequired("portal visit without a session")
    desk = await open_desk(web(request), desk_id)  # before provisioning: never into a closed desk
    who = await visitor(request, desk.id)  # provisions into this desk on the first visit
    services = who.ctx.services
    _, groups, types = await services.catalogue.portal(desk.id)
    setting = await services.desks.get(desk.id)
    query = _query(request)
    visible = [
        t
        for t in setting.visible(types, lambda t: t.id)
        if _matches(query, t.name, t.description, t.help_text)
    ]
    return who.ctx.render(
        request,
        "portal/desk.html",
        {"user": who.session, "desk": desk, "groups": grouped(groups, visible), "q": query},
    )


@guarded()
async def jsm_desk(request: Request) -> Response:
    """`/servicedesk/customer/portal/<id>`: a JSM link with its host swapped lands on the desk's page.
    Signed-out visitors keep the JSM-shaped URL through sign-in (the login step provisions from it)."""
    if await current_user(request) is None:
        raise SignInRequired("portal visit without a session")
    return RedirectResponse(f"/portal/{int(request.path_params['desk_id'])}", 303, headers=NO_STORE)


@guarded()
async def jsm_request(request: Request) -> Response:
    """`/servicedesk/customer/portal/<id>/<ISSUE-KEY>`: the request's page (authorized there)."""
    if await current_user(request) is None:
        raise SignInRequired("portal visit without a session")
    key = str(request.path_params["issue_key"]).upper()
    return RedirectResponse(f"/portal/requests/{key}", 303, headers=NO_STORE)
