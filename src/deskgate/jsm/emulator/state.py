"""The emulator's in-memory JSM: users, service desks, request types, requests, comments and attachments.

Plain mutable records, independent of the client's models on purpose: the emulator is a second,
separate reading of the contract, so that the client and the emulator cannot share a mistake.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

EmulatorFlavour = Literal["cloud", "datacenter"]
CATEGORY_OF_STATUS = {
    "Waiting for support": "new",
    "Waiting for customer": "indeterminate",
    "In progress": "indeterminate",
    "Resolved": "done",
    "Closed": "done",
}


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class User:
    account_id: str  # Cloud's identifier
    username: str  # Data Center's identifier (for customers: their e-mail address)
    email: str
    display_name: str
    account_type: str = "customer"  # "atlassian" for agents and the service account
    active: bool = True
    # Cloud: the person hides their e-mail address (Atlassian profile visibility). The API then leaves
    # `emailAddress` out of every user it returns, and searches do not match on it.
    email_hidden: bool = False

    def shown_email(self, flavour: str) -> str | None:
        """The e-mail address the API may show (None: hidden; Data Center has no such setting per user)."""
        return None if self.email_hidden and flavour == "cloud" else self.email


@dataclass
class Field:
    field_id: str
    name: str
    schema: dict[str, Any]  # jiraSchema
    required: bool = False
    description: str = ""
    valid_values: list[dict[str, Any]] = field(default_factory=list)  # {value, label, children}
    default_values: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        custom = str(self.schema.get("custom", "")).rsplit(":", 1)[-1]
        return custom or str(self.schema.get("system") or self.schema.get("type"))


@dataclass
class RequestType:
    id: str
    desk_id: str
    name: str
    description: str
    help_text: str
    group_ids: list[str]
    fields: list[Field]
    issue_type_id: str = "10100"

    def field(self, field_id: str) -> Field | None:
        return next((f for f in self.fields if f.field_id == field_id), None)


@dataclass
class Desk:
    id: str
    project_id: str
    project_key: str
    project_name: str
    groups: list[tuple[str, str]] = field(default_factory=list)  # (id, name)
    request_types: list[RequestType] = field(default_factory=list)
    customers: set[str] = field(default_factory=set)  # account ids
    last_issue_number: int = 0  # the project's key counter: a key is never given out twice

    def request_type(self, request_type_id: str) -> RequestType | None:
        return next((rt for rt in self.request_types if rt.id == request_type_id), None)


@dataclass
class Organization:
    id: str
    name: str
    members: set[str] = field(default_factory=set)  # account ids
    desks: set[str] = field(default_factory=set)  # the service desks it is associated with


@dataclass
class KbArticle:
    """A knowledge base article: a Confluence page of the space linked to a desk. `body` is the page as
    Confluence renders it (`view`), `{confluence}` standing for the Confluence site's URL; `readable` is
    False for a page the service account may not read (Confluence answers 404)."""

    page_id: str
    desk_id: str
    space_key: str
    title: str
    body: str
    readable: bool = True


@dataclass
class Attachment:
    id: str
    filename: str
    mime_type: str
    content: bytes
    author: User
    created: datetime


@dataclass
class Comment:
    id: str
    body: str
    public: bool
    author: User
    created: datetime
    # As in JSM, a file is public or internal through the comment it was added with; a file added to
    # the issue directly (by an agent in Jira) belongs to no comment and is listed to agents only.
    attachments: list[Attachment] = field(default_factory=list)


@dataclass
class TemporaryFile:
    id: str
    desk_id: str
    filename: str
    mime_type: str
    content: bytes


@dataclass
class Issue:
    id: str
    key: str
    desk: Desk
    request_type: RequestType
    reporter: User
    values: dict[str, Any]  # requestFieldValues as stored (option values resolved to {id, value})
    created: datetime
    status: str = "Waiting for support"
    participants: list[User] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    organizations: list[str] = field(default_factory=list)  # ids of the organizations it is shared with

    @property
    def updated(self) -> datetime:
        """When the request last changed, as far as the emulator keeps track: its newest comment."""
        return max([self.created, *(c.created for c in self.comments)])

    @property
    def status_category(self) -> str:
        return CATEGORY_OF_STATUS.get(self.status, "new")

    @property
    def summary(self) -> str:
        return str(self.values.get("summary", ""))

    @property
    def description(self) -> str:
        return str(self.values.get("description") or "")

    @property
    def labels(self) -> list[str]:
        return [str(label) for label in self.values.get("labels") or ()]


@dataclass
class EmulatorStore:
    flavour: EmulatorFlavour
    service_account: User
    request_type_field: str = "customfield_10010"
    users: list[User] = field(default_factory=list)
    desks: list[Desk] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    organizations: list[Organization] = field(default_factory=list)
    temporary_files: dict[str, TemporaryFile] = field(default_factory=dict)
    articles: list[KbArticle] = field(default_factory=list)  # the desks' knowledge bases
    clock: Callable[[], float] = time.monotonic  # times the search index (see `searchable`)
    # The search index: per issue id, each version of the issue as it was written, and when.
    index: dict[str, list[tuple[float, Issue]]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(10001))

    def next_id(self) -> str:
        return str(next(self._ids))

    # --- users --------------------------------------------------------------------------------------

    def user_id(self, user: User) -> str:
        """The identifier this flavour uses in JSON, JQL and paths."""
        return user.account_id if self.flavour == "cloud" else user.username

    def find_user(self, user_id: str) -> User | None:
        return next((u for u in self.users if self.user_id(u) == user_id), None)

    def user_by_email(self, email: str) -> User | None:
        return next((u for u in self.users if u.email.casefold() == email.strip().casefold()), None)

    def add_user(
        self, email: str, display_name: str, *, username: str | None = None, account_type: str = "customer"
    ) -> User:
        seed = uuid.uuid5(uuid.NAMESPACE_URL, "mailto:" + email.casefold())
        prefix = "qm:" + str(seed) if account_type == "customer" else "557058:" + str(seed)
        user = User(prefix, username or email, email, display_name, account_type)
        self.users.append(user)
        return user

    # --- desks, requests ----------------------------------------------------------------------------

    def desk(self, desk_id: str) -> Desk | None:
        # A desk may also be named by its project's id or key ("project identifiers").
        return next((d for d in self.desks if desk_id in (d.id, d.project_id, d.project_key)), None)

    def issue(self, id_or_key: str) -> Issue | None:
        wanted = id_or_key.upper()
        return next((i for i in self.issues if wanted in (i.id, i.key.upper())), None)

    def add_issue(
        self,
        desk: Desk,
        request_type: RequestType,
        reporter: User,
        values: dict[str, Any],
        *,
        created: datetime | None = None,
        status: str = "Waiting for support",
    ) -> Issue:
        desk.last_issue_number += 1
        issue = Issue(
            id=self.next_id(),
            key=f"{desk.project_key}-{desk.last_issue_number}",
            desk=desk,
            request_type=request_type,
            reporter=reporter,
            values=values,
            created=created or now(),
            status=status,
        )
        self.issues.append(issue)
        self.reindex(issue)
        return issue

    def add_comment(
        self,
        issue: Issue,
        body: str,
        *,
        public: bool,
        author: User | None = None,
        attachments: list[Attachment] | None = None,
    ) -> Comment:
        """A comment, with the files it carries (they become attachments of the issue as well)."""
        files = list(attachments or ())
        comment = Comment(self.next_id(), body, public, author or self.service_account, now(), files)
        issue.comments.append(comment)
        issue.attachments.extend(files)
        self.reindex(issue)
        return comment

    def new_attachment(self, filename: str, mime_type: str, content: bytes, author: User) -> Attachment:
        return Attachment(self.next_id(), filename, mime_type, content, author, now())

    def attachment(self, attachment_id: str) -> tuple[Issue, Attachment] | None:
        for issue in self.issues:
            for attachment in issue.attachments:
                if attachment.id == attachment_id:
                    return issue, attachment
        return None

    # --- the search index ---------------------------------------------------------------------------

    def reindex(self, issue: Issue) -> None:
        """Record the issue as it is now (call after changing it), for searches once the lag has passed."""
        snapshot = dataclasses.replace(
            issue,
            values=dict(issue.values),
            participants=list(issue.participants),
            comments=list(issue.comments),
            attachments=list(issue.attachments),
            organizations=list(issue.organizations),
        )
        self.index.setdefault(issue.id, []).append((self.clock(), snapshot))

    def settle_index(self) -> None:
        """Every issue indexed as it is, since forever (the demo data exists before any search)."""
        self.index.clear()
        for issue in self.issues:
            self.reindex(issue)
            self.index[issue.id] = [(-math.inf, self.index[issue.id][-1][1])]

    def searchable(self, lag: float) -> list[tuple[Issue, Issue]]:
        """(the issue, the version of it JQL search sees) for the issues search can find: with a lag, the
        latest version written at least `lag` seconds ago; an issue younger than that is not found."""
        if lag <= 0:
            return [(issue, issue) for issue in self.issues]
        now = self.clock()
        found = []
        for issue in self.issues:
            versions = [v for at, v in self.index.get(issue.id, ()) if at + lag <= now]
            if versions:
                found.append((issue, versions[-1]))
        return found
