"""My requests, the way JSM's own portal lists them: one list across every desk the customer may use,
filtered by desk, status, request type and ownership (created by me, shared with me, my organizations'),
sorted by created or updated, paged; every filter lives in the URL, so a reload or a bookmark keeps it.

The list is one JQL search through the service account (`JsmClient.search_requests`), limited to the
desks with SSO on and to the customer's own id and organizations: nothing a customer types chooses whose
requests are searched. Opening one goes through `deskgate.portal.access` again. A pending submission (kept
while JSM was away) is listed above, and opens on a page of its own where it can be cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from deskgate.errors import NotFound
from deskgate.jsm import JsmUnavailable
from deskgate.jsm.jql import RequestSearch
from deskgate.jsm.models import CustomerRequest, Ownership, Page, RequestOrder, RequestType, StatusFilter
from deskgate.portal.access import organization_ids
from deskgate.portal.page_budget import within_share
from deskgate.portal.submissions import Submissions
from deskgate.web.portal.common import PAGE_SIZE, Visitor, guarded, render_with_csrf, visitor
from deskgate.web.portal.pending import pending_views

STATUSES: tuple[tuple[StatusFilter, str], ...] = (
    ("all", "All requests"),
    ("open", "Open requests"),
    ("closed", "Closed requests"),
)
OWNERSHIPS: tuple[tuple[Ownership, str], ...] = (
    ("all", "Any"),
    ("mine", "Created by me"),
    ("shared", "Shared with me"),
    ("organization", "My organizations"),
)
ORDERS: tuple[tuple[RequestOrder, str], ...] = (
    ("created", "Newest first"),
    ("updated", "Recently updated"),
    ("updated-asc", "Least recently updated"),
)
MAX_START = 10_000
T = TypeVar("T", bound=str)


def _choice(raw: str | None, choices: tuple[tuple[T, str], ...]) -> T:
    return next((value for value, _ in choices if value == raw), choices[0][0])


async def _usable_desks(who: Visitor) -> list[Any]:
    services = who.ctx.services
    desks, settings = await asyncio.gather(services.catalogue.service_desks(), services.desks.all())
    return [d for d in desks if settings.get(d.id) is None or settings[d.id].sso_enabled]


async def _types_by_desk(who: Visitor, desks: list[Any]) -> dict[str, tuple[RequestType, ...]]:
    """Each usable desk's request types (cached by the catalogue), to name each row's type."""
    catalogue = who.ctx.services.catalogue
    found = await asyncio.gather(*(catalogue.request_types(d.id) for d in desks), return_exceptions=True)
    return {d.id: f for d, f in zip(desks, found, strict=True) if not isinstance(f, BaseException)}


class Filters:
    """The list's filters, read from the query string; anything unknown falls back to its default."""

    def __init__(self, query: Mapping[str, str], desks: list[Any], types: dict[str, tuple[RequestType, ...]]):
        self.desk = next((d for d in desks if d.id == query.get("desk")), None)
        self.status = _choice(query.get("status"), STATUSES)
        self.owner = _choice(query.get("owner"), OWNERSHIPS)
        self.sort = _choice(query.get("sort"), ORDERS)
        self.q = " ".join(query.get("q", "").split())[:200]
        offered = types.get(self.desk.id, ()) if self.desk else ()
        self.type = next((t for t in offered if t.id == query.get("type")), None)
        raw = query.get("start", "0")
        self.start = min(int(raw), MAX_START) if raw.isdigit() else 0

    def params(self, **changes: object) -> dict[str, str]:
        values: dict[str, object] = {
            "desk": self.desk.id if self.desk else "",
            "type": self.type.id if self.type else "",
            "status": self.status,
            "owner": self.owner,
            "sort": self.sort,
            "q": self.q,
            "start": self.start,
        } | changes
        return {k: str(v) for k, v in values.items() if v not in ("", 0, None)}

    def url(self, **changes: object) -> str:
        """This list's URL with some filters changed (a new filter starts again at the first page)."""
        query = urlencode(self.params(**changes))
        return "/portal/requests" + (f"?{query}" if query else "")


@guarded()
async def my_requests(request: Request) -> Response:
    who = await visitor(request)
    desks = await _usable_desks(who)
    types = await _types_by_desk(who, desks)
    filters = Filters(request.query_params, desks, types)
    search = RequestSearch(
        project_keys=[filters.desk.project_key] if filters.desk else [d.project_key for d in desks],
        user_id=who.link.jsm_user_id,
        organization_ids=organization_ids(who.link),
        ownership=filters.owner,
        status=filters.status,
        text=filters.q or None,
        request_type=filters.type.name if filters.type else None,
        order=filters.sort,
    )
    client = await who.client()
    outbox = Submissions(who.ctx.services.db, client)
    # A slow search must leave time to show the pending submissions.
    searching = within_share(client.search_requests(search, filters.start, PAGE_SIZE))
    found, pending = await asyncio.gather(
        searching, outbox.pending_for(who.session.idp, who.session.subject), return_exceptions=True
    )
    if isinstance(pending, BaseException):
        raise pending
    page: Page[CustomerRequest] | None = None
    jsm_down = False
    if isinstance(found, JsmUnavailable):
        jsm_down = True  # JSM is away: the pending submissions (kept by Deskgate) are still worth showing
    elif isinstance(found, BaseException):
        raise found
    else:
        page = found
    first = filters.start == 0
    desk_names = {d.id: d.project_name for d in desks}
    type_names = {(desk, t.id): t.name for desk, listed in types.items() for t in listed}
    rows = [
        {
            "request": r,
            "desk": desk_names.get(r.service_desk_id or "", ""),
            "type": type_names.get((r.service_desk_id or "", r.request_type_id or ""), ""),
        }
        for r in (page.values if page else ())
    ]
    return render_with_csrf(
        who.ctx,
        request,
        "portal/requests.html",
        {
            "user": who.session,
            "desks": desks,
            "types": types.get(filters.desk.id, ()) if filters.desk else (),
            "f": filters,
            "rows": rows,
            "page": page,
            "statuses": STATUSES,
            "ownerships": OWNERSHIPS,
            "orders": ORDERS,
            "pending": pending if first else [],
            "pending_views": pending_views(pending if first else []),
            "notice": request.query_params.get("notice"),
            "jsm_down": jsm_down,
            "page_size": PAGE_SIZE,
        },
    )


@guarded()
async def pending_page(request: Request) -> Response:
    """One pending submission of this customer's, with what can still be done with it; anyone else's
    (or one JSM already has) is not found."""
    who = await visitor(request)
    outbox = Submissions(who.ctx.services.db, await who.client())
    wanted = str(request.path_params["submission_id"])[:64]
    mine = await outbox.pending_for(who.session.idp, who.session.subject)
    found = [p for p in mine if p.id == wanted]
    if not found:
        raise NotFound(f"no pending submission {wanted!r} of this customer", user_message="Not found.")
    return render_with_csrf(
        who.ctx,
        request,
        "portal/pending.html",
        {"user": who.session, "p": pending_views(found)[0]},
    )
