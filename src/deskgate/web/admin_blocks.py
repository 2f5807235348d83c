"""Ending every session of a user, blocking them, and lifting a block (the sessions page's actions).

"Revoke all sessions of this user" is confirmed on a page that says how many live sessions it ends; the
same page offers "revoke and block", which also refuses the user's next sign-ins, by IdP and subject and
by email through any IdP (`deskgate.sessions.blocks`), until an admin unblocks them from the sessions
page. A POST without the page's confirmation answers with that page (409) rather than a change, so a
script or a stale button cannot end sessions unseen. Every change is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from deskgate.errors import NotFound
from deskgate.sessions.service import Sessions
from deskgate.sessions.store import SessionRecord
from deskgate.web.console import admin_form, admin_only, audit_change, form_page
from deskgate.web.context import web
from deskgate.web.security import NO_STORE

# The confirmation's values: they name what the admin accepts, so no other field can stand in for them.
END = "end"
END_AND_BLOCK = "block"
SCAN_PAGE = 500


async def live_sessions(
    sessions: Sessions, needle: str, keep: Callable[[SessionRecord], bool]
) -> list[SessionRecord]:
    """The live sessions `keep` picks among those whose text matches `needle` (every page of them)."""
    found: list[SessionRecord] = []
    offset = 0
    while True:
        page = await sessions.active(needle, offset=offset, limit=SCAN_PAGE)
        found.extend(record for record in page.records if keep(record))
        offset += SCAN_PAGE
        if offset >= page.total or not page.records:
            return found


async def sessions_of_idp(sessions: Sessions, idp: str) -> int:
    """How many live customer sessions turning `idp` off or deleting it would end."""
    return len(await live_sessions(sessions, idp, lambda r: r.idp == idp))


async def _user_sessions(sessions: Sessions, idp: str, subject: str) -> list[SessionRecord]:
    return await live_sessions(sessions, subject, lambda r: r.idp == idp and r.subject == subject)


async def _sessions_by_email(sessions: Sessions, email: str | None) -> list[SessionRecord]:
    if not email:
        return []
    wanted = email.lower()
    return await live_sessions(sessions, wanted, lambda r: (r.email or "").lower() == wanted)


def _back(ended: int) -> Response:
    return RedirectResponse(f"/admin/sessions?ended={ended}", status_code=303, headers=NO_STORE)


async def _confirmation(
    request: Request, idp: str, subject: str, *, status_code: int, unconfirmed: bool = False
) -> Response:
    sessions = web(request).services.sessions
    own = await _user_sessions(sessions, idp, subject)
    if not own:
        raise NotFound("no live session for that user", user_message="That user has no session left.")
    email = next((r.email for r in own if r.email), None)
    others = [r for r in await _sessions_by_email(sessions, email) if (r.idp, r.subject) != (idp, subject)]
    context = {
        "section": "sessions",
        "idp": idp,
        "subject": subject,
        "record": own[0],
        "count": len(own),
        "email": email,
        "other_count": len(others),
        "unconfirmed": unconfirmed,
    }
    return form_page(request, "admin/revoke_user.html", context, status_code=status_code)


@admin_only
async def revoke_user_page(request: Request, admin: SessionRecord) -> Response:
    idp, subject = request.query_params.get("idp", ""), request.query_params.get("subject", "")
    return await _confirmation(request, idp[:63], subject[:255], status_code=200)


@admin_form
async def revoke_user(request: Request, admin: SessionRecord, form: Mapping[str, str]) -> Response:
    idp, subject, confirm = form.get("idp", ""), form.get("subject", ""), form.get("confirm")
    if confirm not in (END, END_AND_BLOCK):
        return await _confirmation(request, idp, subject, status_code=409, unconfirmed=True)
    services = web(request).services
    ended = await services.sessions.end_matching(idp=idp, subject=subject) if idp and subject else []
    if confirm == END:
        if not ended:
            raise NotFound("no live session for that user", user_message="That user has no session left.")
        detail = f"all {len(ended)} session(s) of {subject} ended"
        await audit_change(request, admin, "admin.sessions.revoke_user", idp=idp, detail=detail)
        return _back(len(ended))
    email = next((r.email for r in ended if r.email), None) or form.get("email") or None
    known = ended[0] if ended else None
    block = await services.blocks.block(
        idp=idp,
        subject=subject,
        email=email,
        display_name=known.display_name if known else subject,
        blocked_by=admin.subject,
    )
    # Once more now that the block is committed: a sign-in that did not see it has its session by now
    # (`sessions.blocks`). Then the same person's sessions through other IdPs, by email.
    ended += await services.sessions.end_matching(idp=idp, subject=subject)
    for record in await _sessions_by_email(services.sessions, block.email):
        if await services.sessions.revoke(record.id_hash) is not None:
            ended.append(record)
    detail = f"{subject} ({block.email or 'no email'}) blocked; {len(ended)} session(s) ended"
    await audit_change(request, admin, "admin.sessions.block", idp=idp, detail=detail)
    return _back(len(ended))


@admin_form
async def unblock(request: Request, admin: SessionRecord, form: Mapping[str, str]) -> Response:
    block_id = form.get("block", "")
    lifted = await web(request).services.blocks.unblock(int(block_id)) if block_id.isdigit() else None
    if lifted is None:
        raise NotFound("no such block", user_message="That user is not blocked any more.")
    detail = f"{lifted.subject} ({lifted.email or 'no email'}) unblocked"
    await audit_change(request, admin, "admin.sessions.unblock", idp=lifted.idp, detail=detail)
    return RedirectResponse("/admin/sessions?unblocked=1", status_code=303, headers=NO_STORE)


routes: list[BaseRoute] = [
    Route("/admin/sessions/revoke-user", revoke_user_page, methods=["GET"]),
    Route("/admin/sessions/revoke-user", revoke_user, methods=["POST"]),
    Route("/admin/sessions/unblock", unblock, methods=["POST"]),
]
