"""What a customer does to a request besides commenting: its participants, its customer transitions and
its approvals. Functions over a `JsmClient`, all through the service account.

- Participants: `POST`/`DELETE /request/{key}/participant` name users as desks do (accountIds on Cloud,
  usernames on Data Center). JSM has no call that shares a request with an organization: that is the
  issue's "Organizations" field, which only an agent edits in Jira (see README, "Sharing").
- Transitions: `GET /request/{key}/transition` lists the customer transitions of the request's workflow
  (what JSM's own portal offers a customer); `POST` performs one, with an optional comment that JSM
  posts as the caller, so the caller attributes it to the customer itself.
- Approvals: `GET /request/{key}/approval` is readable by anyone who may view the request, but the
  decision (`POST .../approval/{id}`) "is assumed to be owned by the user making the call": only an
  approver answers, never a service account acting for one. Deskgate therefore only reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from deskgate.jsm import parsing
from deskgate.jsm.client import SD, JsmClient
from deskgate.jsm.endpoints import IssueRef, JsmId
from deskgate.jsm.models import Customer

Decision = Literal["approved", "declined", "pending"]
_DECISIONS: tuple[Decision, ...] = ("approved", "declined", "pending")


@dataclass(frozen=True, slots=True)
class Transition:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Approver:
    who: Customer
    decision: Decision


@dataclass(frozen=True, slots=True)
class Approval:
    id: str
    name: str
    decision: Decision  # the final decision: pending until every approver needed has answered
    approvers: tuple[Approver, ...]
    created: datetime | None
    completed: datetime | None


def _decision(value: Any) -> Decision:
    return next((d for d in _DECISIONS if d == str(value).lower()), "pending")


def _transition(raw: Any) -> Transition:
    return Transition(id=str(raw.get("id") or ""), name=str(raw.get("name") or ""))


async def add_participants(client: JsmClient, issue: IssueRef, user_ids: Sequence[str]) -> None:
    await client.transport.send(
        SD.add_participants(issue=issue), json=client.flavour.add_customers_body(user_ids)
    )


async def remove_participants(client: JsmClient, issue: IssueRef, user_ids: Sequence[str]) -> None:
    await client.transport.send(
        SD.remove_participants(issue=issue), json=client.flavour.add_customers_body(user_ids)
    )


async def transitions(client: JsmClient, issue: IssueRef) -> tuple[Transition, ...]:
    found = await client.pages.read_all(SD.transitions(issue=issue), _transition)
    return tuple(t for t in found if t.id.isdigit() and t.name)


async def perform_transition(client: JsmClient, issue: IssueRef, transition: JsmId, comment: str) -> None:
    """Move the request along `transition`; `comment` (already attributed) goes with it when not empty.
    Never retried once it may have reached JSM: a second try could move the request twice."""
    body: dict[str, Any] = {"id": str(transition)}
    if comment.strip():
        body["additionalComment"] = {"body": comment}
    await client.transport.send(SD.transition(issue=issue), json=body, idempotent=False)


def _approval(raw: Any, client: JsmClient) -> Approval:
    approvers = tuple(
        Approver(parsing.customer(a.get("approver"), client.flavour), _decision(a.get("approverDecision")))
        for a in raw.get("approvers") or ()
    )
    return Approval(
        id=str(raw.get("id") or ""),
        name=str(raw.get("name") or ""),
        decision=_decision(raw.get("finalDecision")),
        approvers=approvers,
        created=parsing.jira_datetime(raw["createdDate"]) if raw.get("createdDate") else None,
        completed=parsing.jira_datetime(raw["completedDate"]) if raw.get("completedDate") else None,
    )


async def approvals(client: JsmClient, issue: IssueRef) -> tuple[Approval, ...]:
    return await client.pages.read_all(SD.approvals(issue=issue), lambda raw: _approval(raw, client))
