"""Active customer sessions (search, revoke) and the audit log (filters, paging, CSV export).

Sessions are listed and ended through `services.sessions`, the service sign-out uses, so a revocation
drops the session from this worker's cache at once and from the others' within their cache time (≤ 1 s).
Only customer sessions are listed: admin sessions live in their own table behind their own store.

A session is named in the revoke form by the SHA-256 hash the store keys it by, in a hidden POST field
only, never printed on the page or put in a URL. The hash is not a cookie (the cookie is its preimage, 256
random bits), so the page holds nothing a visitor could sign in with; keeping it out of URLs keeps it out
of access logs and browser history as well.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from math import ceil
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from deskgate.audit import OUTCOMES, AuditFilter, csv_lines, parse_time
from deskgate.errors import NotFound
from deskgate.sessions.store import SessionRecord
from deskgate.web import admin_blocks
from deskgate.web.console import admin_form, admin_only, audit_change, form_page
from deskgate.web.context import web
from deskgate.web.security import NO_STORE

PAGE_SIZE = 50
RECENT_ERRORS = 20
ID_HASH = re.compile(r"[0-9a-f]{64}")
TIME_HINT = "Use a date such as 2026-01-31, or a date and time such as 2026-01-31 08:00 (UTC)."
AUDIT_FIELDS = ("from", "to", "idp", "outcome", "event", "user", "error_id")


def _page_number(value: object) -> int:
    text = value if isinstance(value, str) else ""
    return max(1, min(int(text), 1_000_000)) if text.isdigit() else 1


def _pager(path: str, query: Mapping[str, str], page: int, total: int) -> dict[str, object]:
    """Previous/next links that keep the query (only its non-empty fields, so the URLs stay short)."""
    pages = max(1, ceil(total / PAGE_SIZE))
    kept = {key: value for key, value in query.items() if value}

    def link(number: int) -> str:
        return f"{path}?{urlencode({**kept, 'page': str(number)})}"

    return {
        "page": page,
        "pages": pages,
        "total": total,
        "previous": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < pages else None,
    }


# --- sessions --------------------------------------------------------------------------------------


@admin_only
async def sessions_page(request: Request, admin: SessionRecord) -> Response:
    q = request.query_params.get("q", "").strip()[:200]
    page = _page_number(request.query_params.get("page"))
    services = web(request).services
    listing = await services.sessions.active(q, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    ended = request.query_params.get("ended", "")
    context = {
        "section": "sessions",
        "q": q,
        "records": listing.records,
        "pager": _pager("/admin/sessions", {"q": q}, page, listing.total),
        "ended": int(ended) if ended.isdigit() else None,
        "unblocked": request.query_params.get("unblocked") == "1",
        "blocks": await services.blocks.all(),
    }
    return form_page(request, "admin/sessions.html", context)


def _back_to_list(form: Mapping[str, str], ended: int) -> Response:
    """The list as the admin left it (same search and page), saying how many sessions were ended."""
    query = {"q": form.get("q", "").strip()[:200], "page": str(_page_number(form.get("page")))}
    target = "/admin/sessions?" + urlencode({**{k: v for k, v in query.items() if v}, "ended": ended})
    return RedirectResponse(target, status_code=303, headers=NO_STORE)


@admin_form
async def revoke(request: Request, admin: SessionRecord, form: Mapping[str, str]) -> Response:
    id_hash = form.get("session", "")
    record = await web(request).services.sessions.revoke(id_hash) if ID_HASH.fullmatch(id_hash) else None
    if record is None:
        raise NotFound("no live session with that hash", user_message="That session has already ended.")
    who = f"{record.subject} ({record.email or 'no email'})"
    await audit_change(
        request, admin, "admin.sessions.revoke", idp=record.idp, detail=f"session of {who} ended"
    )
    return _back_to_list(form, 1)


# --- audit log -------------------------------------------------------------------------------------


def _audit_filter(query: Mapping[str, str]) -> tuple[AuditFilter, dict[str, str]]:
    """The filter the query asks for, and an inline message for each field that could not be read."""
    errors: dict[str, str] = {}
    moments: dict[str, datetime | None] = {"from": None, "to": None}
    for name in moments:
        if query[name]:
            try:
                moments[name] = parse_time(query[name], end=name == "to")
            except ValueError:
                errors[name] = f"Not a date or time. {TIME_HINT}"
    if query["outcome"] and query["outcome"] not in OUTCOMES:
        errors["outcome"] = "Choose one of the outcomes in the list."
    where = AuditFilter(
        event=query["event"] or None,
        outcome=query["outcome"] or None,
        idp=query["idp"] or None,
        since=moments["from"],
        until=moments["to"],
        user=query["user"] or None,
        error_id=query["error_id"] or None,
    )
    return where, errors


def _audit_query(request: Request) -> dict[str, str]:
    return {name: request.query_params.get(name, "").strip()[:200] for name in AUDIT_FIELDS}


@admin_only
async def audit_page(request: Request, admin: SessionRecord) -> Response:
    return await _audit_view(request, _audit_query(request))


async def _audit_view(request: Request, query: dict[str, str]) -> Response:
    audit = web(request).services.audit
    where, errors = _audit_filter(query)
    page = _page_number(request.query_params.get("page"))
    context: dict[str, object] = {
        "section": "audit",
        "query": query,
        "errors": errors,
        "outcomes": OUTCOMES,
        "event_names": await audit.events(),
        "recent_errors": await audit.recent_errors(RECENT_ERRORS),
    }
    if errors:
        return form_page(request, "admin/audit.html", context, status_code=400)
    events = await audit.search(where, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    total = await audit.count(where)
    kept = {key: value for key, value in query.items() if value}
    context |= {
        "events": events,
        "pager": _pager("/admin/audit", query, page, total),
        "csv_url": "/admin/audit.csv" + (f"?{urlencode(kept)}" if kept else ""),
    }
    return form_page(request, "admin/audit.html", context)


@admin_only
async def audit_csv(request: Request, admin: SessionRecord) -> Response:
    query = _audit_query(request)
    where, errors = _audit_filter(query)
    if errors:  # the page explains; a CSV of an unreadable filter would silently export too much
        return await _audit_view(request, query)
    services = web(request).services
    shown = ", ".join(f"{k}={v}" for k, v in query.items() if v) or "no filter"
    # Not a change, but a copy of personal data leaving the server: who took it is worth keeping.
    await audit_change(request, admin, "admin.audit.export", detail=f"audit log exported ({shown})")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="deskgate-audit-{stamp}.csv"'}
    return StreamingResponse(
        csv_lines(services.audit.export(where)), media_type="text/csv; charset=utf-8", headers=headers
    )


routes: list[BaseRoute] = [
    Route("/admin/sessions", sessions_page, methods=["GET"]),
    Route("/admin/sessions/revoke", revoke, methods=["POST"]),
    *admin_blocks.routes,  # revoke all of a user's sessions (confirmed), block, unblock
    Route("/admin/audit", audit_page, methods=["GET"]),
    Route("/admin/audit.csv", audit_csv, methods=["GET"]),
]
