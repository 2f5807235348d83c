"""The closed list of calls Deskgate may make to JSM, and the typed values that fill their paths.

The service account can read every request of the site, so whatever a customer types must never choose
which JSM resource it reaches. Every outbound request is therefore an `Endpoint` of this module (method,
path template, the query names it takes), called with typed values: an `IssueRef` (an issue key or id, as
JSM writes them) or a `JsmId` (a number). A value is one path segment of safe characters by construction:
no `/`, `\\`, `%`, `.` or empty segment can be expressed, so nothing can climb to another path.

No URL from a JSM answer or from a customer is ever requested as it is (attachment content is fetched by
id, see `attachment_content`). The transport checks every request again against the same list just
before it leaves (`Firewall.check`), independently of how it was built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal
from urllib.parse import quote

from deskgate.jsm.errors import JsmBadRequest

Method = Literal["GET", "POST", "DELETE"]

# Jira project keys start with a letter and hold letters, digits and underscores; issue numbers start at 1.
_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,254}-[1-9][0-9]{0,17}")
_ID = re.compile(r"[0-9]{1,18}")


class IssueRef(str):
    """A request named by its issue key (`ITH-12`, upper-cased) or numeric issue id (`10012`).

    Anything else raises `JsmBadRequest` (the portal answers it as "no such request")."""

    __slots__ = ()

    def __new__(cls, value: object) -> IssueRef:
        if isinstance(value, IssueRef):
            return value
        text = str(value).strip()
        upper = text.upper() if text.isascii() else text
        if not (_KEY.fullmatch(upper) or _ID.fullmatch(upper)):
            raise JsmBadRequest(f"not an issue key or id: {text[:40]!r}", status=None)
        return super().__new__(cls, upper)


class JsmId(str):
    """A numeric JSM id (desk, request type, comment, attachment, organization): ASCII digits only."""

    __slots__ = ()

    def __new__(cls, value: object) -> JsmId:
        if isinstance(value, JsmId):
            return value
        text = str(value).strip()
        if not _ID.fullmatch(text):
            raise JsmBadRequest(f"not a numeric id: {text[:40]!r}", status=None)
        return super().__new__(cls, str(int(text)))


# The type of each path parameter, by its name in a template; the pattern the firewall expects there.
PARAMETERS: Mapping[str, type[IssueRef] | type[JsmId]] = {
    "issue": IssueRef,
    "desk": JsmId,
    "request_type": JsmId,
    "comment": JsmId,
    "attachment": JsmId,
    "organization": JsmId,
    "page": JsmId,  # a Confluence page (a knowledge base article), by its numeric id
}
_SEGMENT_PATTERN = {IssueRef: _KEY.pattern + "|" + _ID.pattern, JsmId: _ID.pattern}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Endpoint:
    """One JSM operation Deskgate uses: `endpoint(issue=IssueRef(...))` gives the `Call` to send."""

    operation: str  # for logs and errors, e.g. "get request"
    method: Method
    template: str  # the path below the site URL, with `{name}` parameters from PARAMETERS
    query: frozenset[str] = frozenset()
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = _PLACEHOLDER.findall(self.template)
        unknown = [n for n in names if n not in PARAMETERS]
        if unknown or len(set(names)) != len(names):
            raise ValueError(f"{self.template}: bad parameters {names}")
        regex, last = "", 0
        for match in _PLACEHOLDER.finditer(self.template):
            kind = PARAMETERS[match.group(1)]
            regex += re.escape(self.template[last : match.start()]) + f"(?:{_SEGMENT_PATTERN[kind]})"
            last = match.end()
        regex += re.escape(self.template[last:])
        object.__setattr__(self, "pattern", re.compile(regex))

    def __call__(self, **values: IssueRef | JsmId) -> Call:
        wanted = set(_PLACEHOLDER.findall(self.template))
        if set(values) != wanted:
            raise TypeError(f"{self.operation}: parameters {sorted(values)}, expected {sorted(wanted)}")
        path = self.template
        for name, value in values.items():
            kind = PARAMETERS[name]
            if type(value) is not kind:  # a plain str never fills a path: only a checked value does
                raise TypeError(f"{self.operation}: {name} must be a {kind.__name__}")
            path = path.replace("{" + name + "}", quote(str(value), safe=""))
        return Call(self, path)


@dataclass(frozen=True)
class Call:
    """A request to make: the endpoint and its path with the parameters filled in."""

    endpoint: Endpoint
    path: str

    @property
    def operation(self) -> str:
        return self.endpoint.operation

    @property
    def method(self) -> Method:
        return self.endpoint.method


def _sd(operation: str, method: Method, path: str, *query: str) -> Endpoint:
    return Endpoint(operation, method, "/rest/servicedeskapi" + path, frozenset(query))


PAGED = ("start", "limit")


class ServiceDeskApi:
    """The service desk API (the same paths on Cloud and Data Center)."""

    service_desks = _sd("service desks", "GET", "/servicedesk", *PAGED)
    request_type_groups = _sd("request type groups", "GET", "/servicedesk/{desk}/requesttypegroup", *PAGED)
    request_types = _sd("request types", "GET", "/servicedesk/{desk}/requesttype", *PAGED)
    request_form = _sd("request type fields", "GET", "/servicedesk/{desk}/requesttype/{request_type}/field")
    desk_customers = _sd("desk customers", "GET", "/servicedesk/{desk}/customer", "query", *PAGED)
    add_desk_customers = _sd("add customers", "POST", "/servicedesk/{desk}/customer")
    create_customer = _sd("create customer", "POST", "/customer", "strictConflictStatusCode")
    create_request = _sd("create request", "POST", "/request")
    request = _sd("get request", "GET", "/request/{issue}")
    participants = _sd("participants", "GET", "/request/{issue}/participant", *PAGED)
    add_participants = _sd("add participants", "POST", "/request/{issue}/participant")
    remove_participants = _sd("remove participants", "DELETE", "/request/{issue}/participant")
    # The customer transitions JSM offers on a request, and performing one (with an optional comment).
    transitions = _sd("customer transitions", "GET", "/request/{issue}/transition", *PAGED)
    transition = _sd("perform transition", "POST", "/request/{issue}/transition")
    # Read only: JSM lets only an approver answer an approval (see `deskgate.jsm.request_actions`).
    approvals = _sd("approvals", "GET", "/request/{issue}/approval", *PAGED)
    comments = _sd("comments", "GET", "/request/{issue}/comment", "public", "internal", "expand", *PAGED)
    add_comment = _sd("add comment", "POST", "/request/{issue}/comment")
    upload = _sd("upload attachment", "POST", "/servicedesk/{desk}/attachTemporaryFile")
    attach = _sd("attach files", "POST", "/request/{issue}/attachment")
    attachments = _sd("attachments", "GET", "/request/{issue}/attachment", *PAGED)
    comment_attachments = _sd(
        "comment attachments", "GET", "/request/{issue}/comment/{comment}/attachment", *PAGED
    )
    organizations = _sd("organizations", "GET", "/organization", *PAGED)
    desk_organizations = _sd("desk organizations", "GET", "/servicedesk/{desk}/organization", *PAGED)
    add_to_organization = _sd("add to organization", "POST", "/organization/{organization}/user")
    # Knowledge base search (experimental): across every desk, or in the knowledge base linked to one.
    articles = _sd("articles", "GET", "/knowledgebase/article", "query", "highlight", *PAGED)
    desk_articles = _sd(
        "desk articles", "GET", "/servicedesk/{desk}/knowledgebase/article", "query", "highlight", *PAGED
    )


class PlatformApi:
    """The Jira platform calls, whose paths differ between Cloud and Data Center (see `flavour`)."""

    myself: ClassVar[Endpoint]
    server_info: ClassVar[Endpoint]
    my_permissions: ClassVar[Endpoint]
    user_search: ClassVar[Endpoint]
    issue_search: ClassVar[Endpoint]
    attachment_content: ClassVar[Endpoint]


class CloudPlatform(PlatformApi):
    myself = Endpoint("myself", "GET", "/rest/api/3/myself")
    server_info = Endpoint("serverInfo", "GET", "/rest/api/3/serverInfo")
    # "Get my permissions" (Jira Cloud platform REST API v3, Permissions): what `deskgate jira check` asks.
    my_permissions = Endpoint(
        "my permissions", "GET", "/rest/api/3/mypermissions", frozenset({"permissions", "projectKey"})
    )
    user_search = Endpoint(
        "user search", "GET", "/rest/api/3/user/search", frozenset({"query", "maxResults"})
    )
    issue_search = Endpoint("issue search", "POST", "/rest/api/3/search/jql")  # /search is deprecated
    # Documented "Get attachment content": with redirect=false JSM sends the bytes itself instead of a
    # 303 to a media URL, so no URL from an answer is ever followed.
    attachment_content = Endpoint(
        "download attachment", "GET", "/rest/api/3/attachment/content/{attachment}", frozenset({"redirect"})
    )


class DataCenterPlatform(PlatformApi):
    myself = Endpoint("myself", "GET", "/rest/api/2/myself")
    server_info = Endpoint("serverInfo", "GET", "/rest/api/2/serverInfo")
    my_permissions = Endpoint(
        "my permissions", "GET", "/rest/api/2/mypermissions", frozenset({"permissions", "projectKey"})
    )
    user_search = Endpoint(
        "user search", "GET", "/rest/api/2/user/search", frozenset({"username", "maxResults"})
    )
    issue_search = Endpoint("issue search", "POST", "/rest/api/2/search")
    # Data Center's attachment servlet, the `content` link of its attachment answers, by id alone.
    attachment_content = Endpoint("download attachment", "GET", "/secure/attachment/{attachment}/")


class ConfluenceApi:
    """The Confluence page behind a knowledge base article, by id, below the Confluence site's URL (see
    `deskgate.jsm.knowledge`): a closed list of its own, checked by a firewall of its own."""

    page: ClassVar[Endpoint]


class CloudConfluence(ConfluenceApi):
    # Confluence Cloud REST API v2, "Page" → "Get page by id" (GET /wiki/api/v2/pages/{id}), its body in
    # the rendered `view` format. The site's Confluence lives below /wiki of the same site.
    page = Endpoint("confluence page", "GET", "/wiki/api/v2/pages/{page}", frozenset({"body-format"}))


class DataCenterConfluence(ConfluenceApi):
    # Confluence Data Center REST API, "Content" → GET /rest/api/content/{id}?expand=body.view,space.
    page = Endpoint("confluence page", "GET", "/rest/api/content/{page}", frozenset({"expand"}))


def endpoints_of(*apis: type) -> tuple[Endpoint, ...]:
    """Every Endpoint declared on the given classes."""
    return tuple(v for api in apis for v in vars(api).values() if isinstance(v, Endpoint))
