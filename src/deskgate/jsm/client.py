"""`JsmClient`: what the portal asks of Jira Service Management, as typed async calls.

The client holds no state but its connection: no cache, no session. Callers cache what they want (desks,
request types, forms) and run independent calls concurrently. Lists the service desk API pages are read
to the end (`isLastPage`), since servers cap `limit` silently; the customer's request list pages like the
portal does (`search_customer_requests(start, limit)`), in one JQL search without a call per request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from deskgate.jsm import jql, parsing
from deskgate.jsm.attachments import AttachmentCalls
from deskgate.jsm.client_base import SD
from deskgate.jsm.endpoints import IssueRef, JsmId
from deskgate.jsm.errors import JsmConflict, JsmError
from deskgate.jsm.marker import apply_marker
from deskgate.jsm.models import (
    Comment,
    Customer,
    CustomerRequest,
    MarkerField,
    Page,
    RequestForm,
    RequestType,
    RequestTypeGroup,
    ServerInfo,
    ServiceAccount,
    ServiceDesk,
    StatusFilter,
)
from deskgate.jsm.paging import MAX_SEARCH_RESULTS

# SD stays importable from here (`deskgate.jsm.organizations`).
__all__ = ["EXISTS_BUT_NOT_FOUND", "SD", "JsmClient", "same_email"]


# What a conflict on POST /customer means when no lookup then finds the address, and what the admin does.
EXISTS_BUT_NOT_FOUND = (
    "JSM says a customer with this e-mail exists, but no user search shows that address. On Jira Cloud the "
    "account hides its e-mail address: its owner must set the e-mail's visibility to 'Anyone' (Atlassian "
    "account → Profile and visibility → Contact), or their organization admin for a managed account. On "
    "Data Center the service account needs the 'Browse users and groups' global permission"
)


def same_email(a: str, b: str) -> bool:
    """Exact e-mail equality, ignoring case and surrounding space (never a prefix or substring match)."""
    return bool(a.strip()) and a.strip().casefold() == b.strip().casefold()


class JsmClient(AttachmentCalls):
    """Every call the portal makes; the file operations come from `AttachmentCalls`, the connection
    (`transport`, `pages`) from `JsmClientBase`."""

    # --- the site and the service account -------------------------------------------------------------

    async def myself(self) -> ServiceAccount:
        raw = await self._t.json(self.api.myself())
        return parsing.service_account(raw, self.flavour)

    async def server_info(self) -> ServerInfo:
        raw = await self._t.json(self.api.server_info())
        return ServerInfo(
            base_url=str(raw.get("baseUrl") or ""),
            version=str(raw.get("version") or ""),
            deployment_type=str(raw.get("deploymentType") or ""),
            title=str(raw.get("serverTitle") or ""),
        )

    async def my_permissions(self, *keys: str, project_key: str | None = None) -> dict[str, bool]:
        """Which of Jira's permission `keys` the service account holds, in the project `project_key` or
        (without one) anywhere: Jira's "Get my permissions". A key Jira leaves out reads as not held."""
        params = {"permissions": ",".join(keys)} | ({"projectKey": project_key} if project_key else {})
        raw = await self._t.json(self.api.my_permissions(), params=params)
        held = (raw or {}).get("permissions") or {}
        return {key: (held.get(key) or {}).get("havePermission") is True for key in keys}

    # --- desks, request types, forms ------------------------------------------------------------------

    async def service_desks(self) -> tuple[ServiceDesk, ...]:
        return await self._pages.read_all(SD.service_desks(), parsing.service_desk)

    async def request_type_groups(self, desk_id: str) -> tuple[RequestTypeGroup, ...]:
        call = SD.request_type_groups(desk=JsmId(desk_id))
        return await self._pages.read_all(call, parsing.request_type_group)

    async def request_types(self, desk_id: str) -> tuple[RequestType, ...]:
        return await self._pages.read_all(SD.request_types(desk=JsmId(desk_id)), parsing.request_type)

    async def request_form(self, desk_id: str, request_type_id: str) -> RequestForm:
        call = SD.request_form(desk=JsmId(desk_id), request_type=JsmId(request_type_id))
        return parsing.request_form(await self._t.json(call))

    # --- customers --------------------------------------------------------------------------------------

    async def find_customer_by_email(self, desk_id: str, email: str) -> Customer | None:
        """The customer whose e-mail is exactly `email` (any case), or None. JSM only searches loosely
        (by prefix or substring), so every candidate's e-mail is compared in full here. A Cloud account
        that hides its e-mail is never found (no answer shows the address, and the name proves nothing):
        creating it then conflicts, see `EXISTS_BUT_NOT_FOUND`."""
        if not email.strip():
            return None
        candidates = await self._pages.read_all(
            SD.desk_customers(desk=JsmId(desk_id)),
            lambda raw: parsing.customer(raw, self.flavour),
            params={"query": email.strip()},
            experimental=True,
        )
        found = next((c for c in candidates if same_email(c.email, email)), None)
        if found is not None:
            return found
        # Not (yet) a customer of this desk: the platform's user search sees customers of every desk.
        users = await self._t.json(
            self.api.user_search(),
            params={self.flavour.user_search_param: email.strip(), "maxResults": 50},
        )
        matches = (parsing.customer(u, self.flavour) for u in users or ())
        return next((c for c in matches if same_email(c.email, email) and c.user_id), None)

    async def create_customer(self, email: str, display_name: str) -> Customer:
        """Create a JSM customer. JsmConflict if one with this e-mail exists (perhaps created a moment ago
        by a concurrent sign-in): look it up again with `find_customer_by_email`."""
        try:
            raw = await self._t.json(
                SD.create_customer(),
                params=self.flavour.create_customer_params,
                json=self.flavour.create_customer_body(email.strip(), display_name),
                idempotent=False,
            )
        except JsmError as exc:
            if exc.status and self.flavour.is_customer_conflict(exc.status, exc.error_message or ""):
                raise JsmConflict(
                    "a customer with this e-mail exists",
                    status=exc.status,
                    error_message=exc.error_message,
                    operation="create customer",
                ) from exc
            raise
        return parsing.customer(raw, self.flavour)

    async def add_customers(self, desk_id: str, user_ids: Sequence[str]) -> None:
        """Make users customers of a desk (also fine when they already are)."""
        await self._t.send(
            SD.add_desk_customers(desk=JsmId(desk_id)), json=self.flavour.add_customers_body(user_ids)
        )

    # --- requests ---------------------------------------------------------------------------------------

    async def create_request(
        self,
        desk_id: str,
        request_type_id: str,
        field_values: Mapping[str, Any],
        *,
        raise_on_behalf_of: str,
        marker: str | None = None,
        marker_field: MarkerField = "description",
    ) -> CustomerRequest:
        """Raise a request with the customer as its reporter. `field_values` are JSM's requestFieldValues.

        Never retried after it may have reached JSM: a timeout or 5xx raises
        `JsmUnavailable(outcome_unknown=True)`. A `marker` (see `deskgate.jsm.marker`) lets the caller tell
        its own request apart when it reads the customer's requests back (`deskgate.portal.adoption`).
        """
        values = apply_marker(field_values, marker, marker_field) if marker else dict(field_values)
        body = {
            "serviceDeskId": str(JsmId(desk_id)),
            "requestTypeId": str(JsmId(request_type_id)),
            "requestFieldValues": values,
            "raiseOnBehalfOf": raise_on_behalf_of,
        }
        raw = await self._t.json(SD.create_request(), json=body, idempotent=False)
        return parsing.customer_request(raw, self.flavour)

    async def get_request(self, issue: IssueRef | str) -> CustomerRequest:
        raw = await self._t.json(SD.request(issue=IssueRef(issue)))
        return parsing.customer_request(raw, self.flavour)

    async def request_participants(self, issue: IssueRef | str) -> tuple[Customer, ...]:
        return await self._pages.read_all(
            SD.participants(issue=IssueRef(issue)), lambda raw: parsing.customer(raw, self.flavour)
        )

    async def search_customer_requests(
        self,
        project_key: str,
        user_id: str,
        status: StatusFilter = "all",
        text: str | None = None,
        start: int = 0,
        limit: int = 20,
    ) -> Page[CustomerRequest]:
        """The requests of a project that the user reported or participates in, newest first."""
        query = jql.customer_requests(project_key, user_id, status, text)
        return await self._pages.search(
            query, start=max(0, start), limit=max(1, min(limit, MAX_SEARCH_RESULTS))
        )

    async def search_requests(
        self, search: jql.RequestSearch, start: int = 0, limit: int = 20
    ) -> Page[CustomerRequest]:
        """One page of "My requests" (see `jql.RequestSearch`), with when each was last updated."""
        query = search.jql()
        if query is None:
            return Page(values=(), start=max(0, start), limit=limit, is_last=True)
        return await self._pages.search(
            query,
            start=max(0, start),
            limit=max(1, min(limit, MAX_SEARCH_RESULTS)),
            extra_fields=("updated",),
        )

    async def shared_with_organizations(self, issue: IssueRef, organization_ids: Sequence[str]) -> bool:
        """Whether the request is shared with one of the organizations (a JQL search for its key)."""
        query = jql.shared_with_organizations(str(issue), organization_ids)
        if query is None:
            return False
        found = await self._pages.search(query, start=0, limit=1)
        return any(r.issue_key == issue or r.issue_id == issue for r in found.values)

    # --- comments ---------------------------------------------------------------------------------------

    async def comments(self, issue: IssueRef | str) -> tuple[Comment, ...]:
        """The request's public comments, each with the files it carries (`expand=attachment`), so that
        the same call tells which attachments a customer may see, and JSM's HTML of it (`renderedBody`). Internal comments are never asked for
        (`internal=false`) and, should JSM send one anyway, dropped here: a customer must never read one."""
        key = IssueRef(issue)
        found = await self._pages.read_all(
            SD.comments(issue=key),
            lambda raw: (parsing.comment(raw, self.flavour), parsing.comment_attachments_complete(raw)),
            params={"public": "true", "internal": "false", "expand": "attachment,renderedBody"},
        )
        shown: list[Comment] = []
        for comment, complete in found:
            if comment.public and not complete:  # more files than JSM put in one page: read them all
                comment = replace(comment, attachments=await self.comment_attachments(key, comment.id))
            if comment.public:
                shown.append(comment)
        return tuple(shown)

    async def add_comment(self, issue: IssueRef | str, body: str) -> Comment:
        """A public comment, authored by the service account (the caller says whose words they are)."""
        raw = await self._t.json(
            SD.add_comment(issue=IssueRef(issue)), json={"body": body, "public": True}, idempotent=False
        )
        return parsing.comment(raw, self.flavour)
