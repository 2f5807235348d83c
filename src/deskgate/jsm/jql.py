"""JQL built from values a customer or an IdP controls, quoted so that no value can change the query.

Every value goes into a double-quoted JQL string with backslash and double quote escaped, and control
characters removed, so `" OR reporter != "x` stays a string. Free text for `text ~` additionally loses
the characters Jira's text search treats as operators (`+ - & | ! ( ) { } [ ] ^ ~ * ? : \\ /` and quotes):
a customer's search words stay search words, never syntax.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from deskgate.jsm.models import Ownership, RequestOrder, StatusFilter

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TEXT_OPERATORS = re.compile(r"[+\-&|!(){}\[\]^~*?:\\/\"']")
MAX_TEXT_LENGTH = 200
_PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,254}$")

# The customer sees what they reported or were added to as a participant, nothing else.
PARTICIPANTS_FIELD = "Request participants"
ORGANIZATIONS_FIELD = "Organizations"  # the organizations a request is shared with, by id or name
REQUEST_TYPE_FIELD = "Customer Request Type"  # by the request type's name (Cloud also says "Request Type")
_ORDERS: dict[RequestOrder, str] = {
    "created": "created DESC",
    "updated": "updated DESC",
    "updated-asc": "updated ASC",
}
_ORG_ID = re.compile(r"^[0-9]{1,18}$")


def quote(value: str) -> str:
    """A JQL string literal holding exactly `value` (without control characters)."""
    cleaned = _CONTROL.sub(" ", value)
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def search_words(text: str) -> str:
    """Free text reduced to words for `text ~`: operators become spaces, runs of space collapse."""
    words = _TEXT_OPERATORS.sub(" ", _CONTROL.sub(" ", text))
    return " ".join(words.split())[:MAX_TEXT_LENGTH].strip()


def project_clause(project_key: str) -> str:
    if not _PROJECT_KEY.match(project_key):
        raise ValueError(f"not a Jira project key: {project_key!r}")
    return f"project = {quote(project_key)}"


def customer_requests(project_key: str, user_id: str, status: StatusFilter, text: str | None) -> str:
    """The requests of one project that `user_id` reported or participates in, newest first."""
    if not user_id:
        raise ValueError("a user id is required")
    user = quote(user_id)
    clauses = [project_clause(project_key), f'(reporter = {user} OR "{PARTICIPANTS_FIELD}" = {user})']
    if status == "open":
        clauses.append("statusCategory != Done")
    elif status == "closed":
        clauses.append("statusCategory = Done")
    words = search_words(text or "")
    if words:
        clauses.append(f"text ~ {quote(words)}")
    return " AND ".join(clauses) + " ORDER BY created DESC"


@dataclass(frozen=True, slots=True)
class RequestSearch:
    """What "My requests" lists: the requests of `project_keys` that `user_id` reported (`mine`), takes
    part in (`shared`), or that are shared with one of `organization_ids` (`organization`, the customer's
    own organizations); `all` is any of these."""

    project_keys: Sequence[str]
    user_id: str
    organization_ids: Sequence[str] = ()
    ownership: Ownership = "all"
    status: StatusFilter = "all"
    text: str | None = None
    request_type: str | None = None  # a request type's name; with one project only
    order: RequestOrder = "created"

    def jql(self) -> str | None:
        """The query, or None when it cannot find anything (no project, or no organization to look in)."""
        if not self.user_id:
            raise ValueError("a user id is required")
        if not self.project_keys:
            return None
        user = quote(self.user_id)
        organizations = [o for o in self.organization_ids if _ORG_ID.match(o)]
        owners = {
            "mine": [f"reporter = {user}"],
            "shared": [f'"{PARTICIPANTS_FIELD}" = {user}'],
            "organization": [],
            "all": [f"reporter = {user}", f'"{PARTICIPANTS_FIELD}" = {user}'],
        }[self.ownership]
        if organizations and self.ownership in ("organization", "all"):
            owners.append(f"{ORGANIZATIONS_FIELD} in ({', '.join(organizations)})")
        if not owners:
            return None
        for key in self.project_keys:
            project_clause(key)  # checks each key
        projects = ", ".join(quote(k) for k in self.project_keys)
        clauses = [f"project in ({projects})", "(" + " OR ".join(owners) + ")"]
        if self.status == "open":
            clauses.append("statusCategory != Done")
        elif self.status == "closed":
            clauses.append("statusCategory = Done")
        if self.request_type:
            clauses.append(f'"{REQUEST_TYPE_FIELD}" = {quote(self.request_type)}')
        words = search_words(self.text or "")
        if words:
            clauses.append(f"text ~ {quote(words)}")
        return " AND ".join(clauses) + " ORDER BY " + _ORDERS[self.order]


def shared_with_organizations(issue: str, organization_ids: Sequence[str]) -> str | None:
    """Finds the request `issue` (a checked key or id) only if it is shared with one of the
    organizations; None when there is none to look in."""
    organizations = [o for o in organization_ids if _ORG_ID.match(o)]
    if not organizations:
        return None
    return f"issuekey = {quote(issue)} AND {ORGANIZATIONS_FIELD} in ({', '.join(organizations)})"
