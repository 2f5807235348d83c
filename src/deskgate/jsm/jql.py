"""JQL built from values a customer or an IdP controls, quoted so that no value can change the query.

Every value goes into a double-quoted JQL string with backslash and double quote escaped, and control
characters removed, so `" OR reporter != "x` stays a string. Free text for `text ~` additionally loses
the characters Jira's text search treats as operators (`+ - & | ! ( ) { } [ ] ^ ~ * ? : \\ /` and quotes):
a customer's search words stay search words, never syntax.
"""

from __future__ import annotations

import re

from deskgate.jsm.models import StatusFilter

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TEXT_OPERATORS = re.compile(r"[+\-&|!(){}\[\]^~*?:\\/\"']")
MAX_TEXT_LENGTH = 200
_PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,254}$")

# The customer sees what they reported or were added to as a participant, nothing else.
PARTICIPANTS_FIELD = "Request participants"


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
