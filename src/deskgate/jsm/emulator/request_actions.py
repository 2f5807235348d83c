"""The emulator's participants, customer transitions and approvals of a request.

Sources (the vendored 2020 service desk spec, `../shared/jsm/servicedesk-cloud-openapi.json`, and
Atlassian's current "Jira Service Management Cloud REST API" reference, group "Request"; the same paths
exist on Data Center's servicedeskapi):

- `POST`/`DELETE /request/{issueIdOrKey}/participant` take a RequestParticipantUpdateDTO (`accountIds`;
  Data Center `usernames`) and answer the participants as a PagedDTOUserDTO (200).
- `GET /request/{issueIdOrKey}/transition` lists the customer transitions (CustomerTransitionDTO
  `{id, name}`) the workflow offers on the request now; `POST` takes a CustomerTransitionExecutionDTO
  (`id`, optional `additionalComment.body`) and answers 204; the comment is public and the caller's.
- `GET /request/{issueIdOrKey}/approval` answers a PagedDTOApprovalDTO; `POST .../approval/{approvalId}`
  (`{"decision": "approve"|"decline"}`) "is assumed to be owned by the user making the call": anyone
  who is not an approver of it gets 403, the service account included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deskgate.jsm.emulator import render
from deskgate.jsm.emulator.context import body_json, context, issue_of, page_of
from deskgate.jsm.emulator.state import EmulatorStore, Issue, User, now
from deskgate.jsm.emulator.values import date_dto

SD = render.SD

# The customer transitions of the emulator's one workflow: from a status, (id, name, the status reached).
OPEN = (("851", "Resolve this issue", "Resolved"), ("901", "Cancel request", "Closed"))
WORKFLOW: dict[str, tuple[tuple[str, str, str], ...]] = {
    "Waiting for support": OPEN,
    "Waiting for customer": OPEN,
    "In progress": OPEN,
    "Resolved": (("951", "Reopen", "Waiting for support"),),
    "Closed": (),
}


@dataclass
class ApprovalRecord:
    id: str
    name: str
    approvers: list[tuple[User, str]]  # (approver, "approved" | "declined" | "pending")
    created: datetime = field(default_factory=now)
    completed: datetime | None = None

    @property
    def final_decision(self) -> str:
        decisions = {d for _, d in self.approvers}
        if "declined" in decisions:
            return "declined"
        return "approved" if decisions == {"approved"} else "pending"


def approvals_of(store: EmulatorStore, issue: Issue) -> list[ApprovalRecord]:
    """The approvals of `issue` (kept beside the store's records: the emulator's other modules never
    need them)."""
    kept: dict[str, list[ApprovalRecord]] = store.__dict__.setdefault("_approvals", {})
    return kept.setdefault(issue.id, [])


def _user_ids(store: EmulatorStore, body: Any) -> list[str] | Response:
    key = "accountIds" if store.flavour == "cloud" else "usernames"
    ids = body.get(key) if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        return render.error(400, f"Provide the users as '{key}'.")
    return ids


async def add_participants(request: Request) -> Response:
    issue = issue_of(request)
    store, base = context(request)
    ids = _user_ids(store, await body_json(request))
    if isinstance(ids, Response):
        return ids
    users = [store.find_user(i) for i in ids]
    # A participant must be able to see the request: a customer of its desk (or an agent).
    refused = [
        i
        for i, u in zip(ids, users, strict=True)
        if u is None or (u.account_type == "customer" and u.account_id not in issue.desk.customers)
    ]
    if refused:
        return render.error(400, f"These users cannot be added as participants: {', '.join(refused)}")
    for user in users:
        if user is not None and user not in issue.participants and user is not issue.reporter:
            issue.participants.append(user)
    store.reindex(issue)
    return page_of(request, [render.user_dto(store, u, base) for u in issue.participants])


async def remove_participants(request: Request) -> Response:
    issue = issue_of(request)
    store, base = context(request)
    ids = _user_ids(store, await body_json(request))
    if isinstance(ids, Response):
        return ids
    issue.participants = [u for u in issue.participants if store.user_id(u) not in ids]
    store.reindex(issue)
    return page_of(request, [render.user_dto(store, u, base) for u in issue.participants])


async def transitions(request: Request) -> Response:
    issue = issue_of(request)
    return page_of(request, [{"id": i, "name": n} for i, n, _ in WORKFLOW.get(issue.status, ())])


async def perform_transition(request: Request) -> Response:
    issue = issue_of(request)
    store, _ = context(request)
    body = await body_json(request)
    wanted = str(body.get("id", "")) if isinstance(body, dict) else ""
    step = next((t for t in WORKFLOW.get(issue.status, ()) if t[0] == wanted), None)
    if step is None:
        return render.error(400, f"The transition '{wanted[:40]}' is not available for this request.")
    extra = body.get("additionalComment")
    text = extra.get("body") if isinstance(extra, dict) else None
    if extra is not None and not isinstance(text, str):
        return render.error(400, "additionalComment.body must be text.")
    issue.status = step[2]
    if text and text.strip():
        store.add_comment(issue, text, public=True)  # reindexes
    else:
        store.reindex(issue)
    return Response(status_code=204)


def approval_dto(store: EmulatorStore, issue: Issue, approval: ApprovalRecord, base: str) -> dict[str, Any]:
    dto: dict[str, Any] = {
        "id": approval.id,
        "name": approval.name,
        "finalDecision": approval.final_decision,
        # Asked by the service account, which is never one of the approvers here.
        "canAnswerApproval": any(u is store.service_account for u, _ in approval.approvers),
        "approvers": [
            {"approver": render.user_dto(store, u, base), "approverDecision": d}
            for u, d in approval.approvers
        ],
        "createdDate": date_dto(approval.created),
        "_links": {"self": f"{base}{SD}/request/{issue.id}/approval/{approval.id}"},
    }
    if approval.completed is not None:
        dto["completedDate"] = date_dto(approval.completed)
    return dto


async def approvals(request: Request) -> Response:
    issue = issue_of(request)
    store, base = context(request)
    return page_of(request, [approval_dto(store, issue, a, base) for a in approvals_of(store, issue)])


async def answer_approval(request: Request) -> Response:
    """Only an approver answers, as themselves: the service account is refused like JSM refuses it."""
    issue = issue_of(request)
    store, _ = context(request)
    approval = next((a for a in approvals_of(store, issue) if a.id == request.path_params["approval"]), None)
    if approval is None:
        return render.error(404, "The approval does not exist.")
    if not any(u is store.service_account for u, _ in approval.approvers):
        return render.error(403, "You are not an approver of this approval.")
    return render.error(400, "The approval cannot be answered.")


ROUTES = [
    Route(f"{SD}/request/{{key}}/participant", add_participants, methods=["POST"]),
    Route(f"{SD}/request/{{key}}/participant", remove_participants, methods=["DELETE"]),
    Route(f"{SD}/request/{{key}}/transition", transitions, methods=["GET"]),
    Route(f"{SD}/request/{{key}}/transition", perform_transition, methods=["POST"]),
    Route(f"{SD}/request/{{key}}/approval", approvals, methods=["GET"]),
    Route(f"{SD}/request/{{key}}/approval/{{approval}}", answer_approval, methods=["POST"]),
]
