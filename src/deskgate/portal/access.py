"""The one authorization rule of the portal, as a capability: a customer may only touch a request they
reported or participate in, or one shared with an organization of theirs where JSM itself would show it
to them (the request's organizations meet the customer's, and its desk is associated with one of the
customer's organizations); the only way to touch one is the `AuthorizedRequest` that `authorize_request`
hands out after checking that rule.

Every request-scoped read and write (comments, files, downloads, new comments, participants,
transitions, approvals) is a method of that
object, bound to the request it was checked for; the portal's routes never name a request to JSM
themselves, so a new route cannot forget the check. Anything refused answers NotFound (404), never 403: a
403 would tell a stranger that the request exists.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from deskgate.errors import NotFound
from deskgate.jsm import AttachmentDownload, JsmAuthError, JsmBadRequest, JsmClient, JsmNotFound
from deskgate.jsm import request_actions as actions
from deskgate.jsm.endpoints import IssueRef, JsmId
from deskgate.jsm.models import Attachment, Comment, Customer, CustomerRequest
from deskgate.jsm.organizations import desk_organizations
from deskgate.portal.attachments import visible_attachments
from deskgate.portal.comment_markup import without_file_markup
from deskgate.portal.provisioning import ORG_PREFIX, CustomerLink
from deskgate.portal.recent import Recent

_NOT_FOUND = "We could not find this request."
_NO_FILE = "We could not find this file."
_NO_STEP = "This step is no longer available for this request."


T = TypeVar("T")


@dataclass(frozen=True)
class RequestReads:
    """The reads a request's page makes once the customer may see it: nothing that writes, and nothing
    that is shown before `authorize_request` (or `authorize_and_read`) passed for that customer."""

    key: IssueRef
    customer: CustomerLink
    _client: JsmClient

    async def comments_and_files(self) -> tuple[tuple[Comment, ...], tuple[Attachment, ...]]:
        """The public comments (internal ones are never asked for, see `JsmClient.comments`) and the
        attachments this customer may see (`visible_attachments`), asked of JSM at the same time."""
        comments, everything = await asyncio.gather(
            self._client.comments(self.key), self._client.attachments(self.key)
        )
        shown = visible_attachments(everything, comments, self.customer.jsm_user_id)
        # The files are listed as files: the wiki markup JSM appended for them is not shown as text.
        return tuple(_readable(c) for c in comments), shown

    async def transitions(self) -> tuple[actions.Transition, ...]:
        return await actions.transitions(self._client, self.key)

    async def approvals(self) -> tuple[actions.Approval, ...]:
        return await actions.approvals(self._client, self.key)


@dataclass(frozen=True)
class AuthorizedRequest(RequestReads):
    """What one customer may do with one request; made only by `authorize_request`."""

    request: CustomerRequest
    participants: tuple[Customer, ...]

    async def open_file(self, attachment_id: str) -> tuple[Attachment, AttachmentDownload]:
        """A visible attachment's content, by id; any other id reads as a file that does not exist."""
        _, shown = await self.comments_and_files()
        found = next((a for a in shown if a.id == attachment_id), None)
        if found is None:
            raise NotFound(f"{self.key}: no visible attachment {attachment_id[:40]!r}", user_message=_NO_FILE)
        return found, await self._client.download_attachment(JsmId(found.id))

    # --- sharing, customer transitions, approvals (`deskgate.jsm.request_actions`) -------------------

    async def share_with(self, email: str) -> None:
        """Add the customer whose e-mail is exactly `email` as a participant, if JSM lets them see the
        request (a customer of its desk). Whether anyone was added is never told: the caller answers
        the same either way, so sharing cannot be used to learn who is a customer."""
        desk = self.request.service_desk_id
        if not desk:
            return
        found = await self._client.find_customer_by_email(desk, email)
        if found is None or found.user_id == self.customer.jsm_user_id:
            return
        if found.user_id == self.request.reporter.user_id or any(
            p.user_id == found.user_id for p in self.participants
        ):
            return
        try:
            await actions.add_participants(self._client, self.key, [found.user_id])
        except JsmBadRequest:  # not a customer of this desk: the same answer as an unknown address
            return

    @property
    def is_participant(self) -> bool:
        """Taking part without being the reporter: the one who may stop taking part."""
        me = self.customer.jsm_user_id
        return self.request.reporter.user_id != me and any(p.user_id == me for p in self.participants)

    async def leave(self) -> None:
        """Stop taking part (a reporter cannot: the request stays theirs)."""
        if self.is_participant:
            await actions.remove_participants(self._client, self.key, [self.customer.jsm_user_id])

    async def transition(self, transition_id: str, attributed_comment: str) -> actions.Transition:
        """Perform one of the transitions JSM offers now (any other id is NotFound), with the comment
        already attributed to the customer (JSM posts it as the service account)."""
        offered = next((t for t in await self.transitions() if t.id == transition_id), None)
        if offered is None:
            raise NotFound(f"{self.key}: no transition {transition_id[:20]!r} offered", user_message=_NO_STEP)
        await actions.perform_transition(self._client, self.key, JsmId(offered.id), attributed_comment)
        return offered


def _readable(comment: Comment) -> Comment:
    body = without_file_markup(comment.body, (a.filename for a in comment.attachments))
    return comment if body == comment.body else replace(comment, body=body)


def organization_ids(customer: CustomerLink) -> tuple[str, ...]:
    """The ids of the customer's JSM organizations, as provisioning recorded them ("org:<id>:<name>")."""
    found = (entry.split(":", 2)[1] for entry in customer.desks if entry.startswith(ORG_PREFIX))
    return tuple(dict.fromkeys(i for i in found if i.isdigit()))


async def _no() -> bool:
    return False


async def authorize_request(client: JsmClient, customer: CustomerLink, ref: str) -> AuthorizedRequest:
    """The request named `ref`, if `customer` reported it, participates in it, or it is shared with one
    of their organizations (see the module's docstring); otherwise NotFound."""
    try:
        key = IssueRef(ref)
    except JsmBadRequest as exc:
        raise NotFound(f"request {ref[:40]!r}: {exc}", user_message=_NOT_FOUND) from None
    organizations = organization_ids(customer)
    # The calls at once: the check costs one JSM round trip (two for a request seen through an organization).
    results = await asyncio.gather(
        client.get_request(key),
        client.request_participants(key),
        client.shared_with_organizations(key, organizations) if organizations else _no(),
        return_exceptions=True,
    )
    request, participants, shared = results
    # The organization search only matters when the customer is neither reporter nor participant.
    for outcome in (request, participants):
        if _hidden(outcome):
            raise NotFound(f"request {key!r}: {outcome}", user_message=_NOT_FOUND)
    for outcome in (request, participants):
        if isinstance(outcome, BaseException):
            raise outcome
    assert isinstance(request, CustomerRequest) and isinstance(participants, tuple)
    if may_access(customer, request, participants):
        return AuthorizedRequest(IssueRef(request.issue_key), customer, client, request, participants)
    if isinstance(shared, BaseException) and not _hidden(shared):
        raise shared
    if shared is True and await _desk_shares_with(client, request, organizations):
        return AuthorizedRequest(IssueRef(request.issue_key), customer, client, request, participants)
    raise NotFound(
        f"request {request.issue_key}: {customer.jsm_user_id!r} is neither its reporter nor a participant"
        " nor in an organization it is shared with",
        user_message=_NOT_FOUND,
    )


class RecentGrants:
    """Which customers passed the check for which request lately, in this process (bounded, LRU).

    Only a hint for `authorize_and_read`: it decides whether a page's reads may leave with the check
    instead of after it, never whether anything is shown.
    """

    def __init__(self, seconds: float = 60.0, size: int = 10_000) -> None:
        self._granted: Recent[tuple[str, str], bool] = Recent(seconds, limit=size)

    def recent(self, customer: CustomerLink, key: IssueRef) -> bool:
        return self._granted.get((customer.jsm_user_id, str(key))) is not None

    def note(self, customer: CustomerLink, *keys: IssueRef) -> None:
        for key in keys:
            self._granted.put((customer.jsm_user_id, str(key)), True)

    def forget(self, customer: CustomerLink, key: IssueRef) -> None:
        self._granted.discard((customer.jsm_user_id, str(key)))


async def authorize_and_read(
    client: JsmClient,
    customer: CustomerLink,
    ref: str,
    read: Callable[[RequestReads], Awaitable[T]],
    grants: RecentGrants,
) -> tuple[AuthorizedRequest, T]:
    """`authorize_request`, then `read`, in one JSM round trip where that is safe.

    The check always runs on JSM's current answer. When this customer passed it for this request within
    the last minute in this process, `read` (reads only) leaves at the same time as the check and its
    answers are kept only if the check passes again; a refused check drops them and ends the hint. A
    request never granted to this customer is read only after the check, as before.
    """
    try:
        key = IssueRef(ref)
    except JsmBadRequest as exc:
        raise NotFound(f"request {ref[:40]!r}: {exc}", user_message=_NOT_FOUND) from None
    if not grants.recent(customer, key):
        granted = await authorize_request(client, customer, ref)
        grants.note(customer, key, granted.key)
        return granted, await read(granted)
    reading = asyncio.ensure_future(read(RequestReads(key, customer, client)))
    try:
        granted = await authorize_request(client, customer, ref)
    except BaseException:
        grants.forget(customer, key)
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)  # its answers are never looked at
        raise
    grants.note(customer, key, granted.key)
    return granted, await reading


async def _desk_shares_with(
    client: JsmClient, request: CustomerRequest, organizations: tuple[str, ...]
) -> bool:
    """Whether the request's desk is associated with one of the customer's organizations: JSM's portal
    shows a request shared with an organization only to its members on a desk that organization uses."""
    if not request.service_desk_id:
        return False
    linked = await desk_organizations(client, request.service_desk_id)
    return any(o.id in organizations for o in linked)


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
