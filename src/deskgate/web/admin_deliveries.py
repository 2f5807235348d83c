"""The console's Deliveries page: every customer write JSM does not have yet, with its content, and the
admin's retry and cancel (`deskgate.portal.undelivered`, by the same rules as the customer's own).

A failed write links to the audit log filtered by its error id, where JSM's refusal is kept (the row holds
only the id; the customer is never shown JSM's words). File contents never reach the page: names, types
and sizes only. Each action is a CSRF-checked POST, audited with the admin's name; it changes one write,
named by its id in the URL, and goes back to the list as the admin left it (filters and page).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from deskgate.portal.undelivered import KINDS, UNDELIVERED, UndeliveredWrite, UndeliveredWrites
from deskgate.sessions.store import SessionRecord
from deskgate.web.admin_activity import PAGE_SIZE, _page_number, _pager
from deskgate.web.console import admin_form, admin_only, audit_change, form_page, see_other
from deskgate.web.context import web

PATH = "/admin/deliveries"
# What the page says after an action (the `done` query parameter of the redirect back to the list).
NOTICES = {
    "retried": ("ok", "The write is due now: the next delivery round, within seconds, sends it."),
    "cancelled": ("ok", "The write was cancelled. JSM never had it."),
    "not-retried": ("bad", "That write is being delivered right now. Wait for the attempt to end."),
    "not-cancelled": (
        "bad",
        "That write can no longer be cancelled: an attempt is under way or may have reached JSM. "
        "Its row says why.",
    ),
    "gone": ("bad", "That write is no longer waiting: it was delivered or cancelled meanwhile."),
}


def _filters(values: Mapping[str, str]) -> dict[str, str]:
    """The list's filters from a query or a form: only values the page offers (anything else: all)."""
    state, kind = values.get("state", ""), values.get("kind", "")
    return {"state": state if state in UNDELIVERED else "", "kind": kind if kind in KINDS else ""}


@admin_only
async def deliveries_page(request: Request, admin: SessionRecord) -> Response:
    query = _filters(request.query_params)
    page = _page_number(request.query_params.get("page"))
    listing = await UndeliveredWrites(web(request).services.db).listing(
        state=query["state"] or None,
        kind=query["kind"] or None,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    context = {
        "section": "deliveries",
        "query": query,
        "states": UNDELIVERED,
        "kinds": KINDS,
        "writes": listing.writes,
        "pager": _pager(PATH, query, page, listing.total),
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    return form_page(request, "admin/deliveries.html", context)


def _back_to_list(form: Mapping[str, str], done: str) -> Response:
    kept = {key: value for key, value in _filters(form).items() if value}
    return see_other(
        f"{PATH}?{urlencode({**kept, 'page': str(_page_number(form.get('page'))), 'done': done})}"
    )


def _described(write: UndeliveredWrite) -> str:
    """The write in an audit record: enough to recognise it, not its whole content."""
    what = f"comment on {write.issue_key}" if write.kind == "comment" else f"request on desk {write.desk_id}"
    text = write.summary if len(write.summary) <= 80 else write.summary[:80] + "…"
    return f"{what} of {write.subject} ({write.state}, {write.attempts} attempts, id {write.id}): “{text}”"


async def _act(request: Request, admin: SessionRecord, form: Mapping[str, str], action: str) -> Response:
    outbox = UndeliveredWrites(web(request).services.db)
    write = await outbox.get(str(request.path_params["submission_id"])[:64])
    if write is None:
        return _back_to_list(form, "gone")
    done = await (outbox.retry_now if action == "retry" else outbox.cancel)(write.id)
    past = {"retry": "retried", "cancel": "cancelled"}[action]
    if not done:
        return _back_to_list(form, f"not-{past}")
    verb = "made due now" if action == "retry" else "cancelled"
    detail = f"{_described(write)} {verb}"
    event = "admin.deliveries.retry" if action == "retry" else "admin.deliveries.cancel"
    await audit_change(request, admin, event, idp=write.idp, detail=detail)
    return _back_to_list(form, past)


@admin_form
async def retry(request: Request, admin: SessionRecord, form: Mapping[str, str]) -> Response:
    return await _act(request, admin, form, "retry")


@admin_form
async def cancel(request: Request, admin: SessionRecord, form: Mapping[str, str]) -> Response:
    return await _act(request, admin, form, "cancel")


routes: list[BaseRoute] = [
    Route(PATH, deliveries_page, methods=["GET"]),
    Route(PATH + "/{submission_id}/retry", retry, methods=["POST"]),
    Route(PATH + "/{submission_id}/cancel", cancel, methods=["POST"]),
]
