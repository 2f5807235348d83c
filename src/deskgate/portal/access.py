"""The one authorization rule of the portal: a customer may only touch a request they reported or
participate in. Every read and write (page, comments, attachments, downloads, comment form, API) goes
through `authorize_request` first.

Anything else answers NotFound (404), never 403: a 403 would tell a stranger that the request exists.
"""

from __future__ import annotations

import asyncio

from deskgate.errors import NotFound
from deskgate.jsm import JsmAuthError, JsmBadRequest, JsmClient, JsmNotFound
from deskgate.jsm.models import Customer, CustomerRequest
from deskgate.portal.provisioning import CustomerLink

_NOT_FOUND = "We could not find this request."


async def authorize_request(
    client: JsmClient, customer: CustomerLink, issue_key_or_id: str
) -> CustomerRequest:
    """The request, if `customer` reported it or participates in it; otherwise NotFound."""
    # Both calls at once: the request detail page pays one JSM round trip for the check.
    results = await asyncio.gather(
        client.get_request(issue_key_or_id),
        client.request_participants(issue_key_or_id),
        return_exceptions=True,
    )
    request, participants = results
    for outcome in results:
        if _hidden(outcome):
            raise NotFound(f"request {issue_key_or_id!r}: {outcome}", user_message=_NOT_FOUND)
    for outcome in results:
        if isinstance(outcome, BaseException):
            raise outcome
    assert isinstance(request, CustomerRequest) and isinstance(participants, tuple)
    if may_access(customer, request, participants):
        return request
    raise NotFound(
        f"request {request.issue_key}: {customer.jsm_user_id!r} is neither its reporter nor a participant",
        user_message=_NOT_FOUND,
    )


def _hidden(outcome: object) -> bool:
    """JSM's answers that must read as "no such request" to the customer: not found, not a key or id at
    all (400), and forbidden to the service account (403: a project it may not browse) — else the answer
    would tell which keys exist. A 401 fails every call and stays the connection error it is."""
    if isinstance(outcome, JsmAuthError):
        return outcome.status == 403
    return isinstance(outcome, JsmNotFound | JsmBadRequest)


def may_access(customer: CustomerLink, request: CustomerRequest, participants: tuple[Customer, ...]) -> bool:
    """Reporter or participant, by JSM user id (never by name or e-mail, which others may share)."""
    me = customer.jsm_user_id
    if not me:
        return False
    return request.reporter.user_id == me or any(p.user_id == me for p in participants)
