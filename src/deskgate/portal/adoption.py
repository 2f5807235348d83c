"""Finding the effect of an earlier, unclear attempt in JSM, so that a retry adopts it instead of writing twice.

After a timeout, a 5xx or a dead worker the outbox does not know whether JSM carried the write out. It
looks, by reading what JSM shows of the customer's own recent writes, and matches on content:

- A request: the customer's requests of the desk's project (JQL `project = P AND reporter = U ORDER BY
  created DESC`, newest page only), created since the first attempt started minus `clock_skew`, of the
  same request type, with the same summary, and — read per candidate with `GET /request/{key}`, which is
  not index-based — the same submitted field values as JSM returns them. A candidate that carries another
  submission's marker is never ours; one that carries ours is, whatever else differs (the marker is
  appended to the description or labels when the request type has one, see `deskgate.jsm.marker`).
- A comment: the request's comments (`GET /request/{key}/comment`, read directly, never through the
  search index), one whose body is the attributed text (a comment that carries files may have JSM's
  wiki markup for them appended), created since the first attempt minus `clock_skew`.

Why this is reliable on Cloud and Data Center: both read the reporter and the request type from the
request itself; the search asks only for `project`, `reporter` and `created` order — fields both index
exactly (no text search, so no tokenising of a marker or wiki markup is involved), with the time window
checked here on the `created` JSM returns with its offset (no JQL date literal, whose time zone would be
the service account's). The one weakness is the search index lagging behind writes (seconds on Cloud,
usually less on Data Center): so an empty answer is trusted only when asked at least `search_lag` after
the unclear attempt ended (`Submissions`), and a failed search keeps the write unknown.

Limits: two identical writes by the same customer within the window (same request type, summary and
values; or the same comment text on the same request) are told apart by the marker where the request
type carries one; otherwise by order — each adopts the oldest match no other outbox row has adopted yet
(`taken`). A request the customer raised identically in JSM's own portal within the window would be
taken for ours. Other fields are compared as JSM renders them; a value whose rendering cannot be compared
(an option given by id, a date) is not held against a candidate.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from deskgate.jsm import JsmClient
from deskgate.jsm.jql import project_clause, quote
from deskgate.jsm.marker import split_description
from deskgate.jsm.models import Comment, CustomerRequest, RequestFieldValue
from deskgate.jsm.parsing import value_text

SEARCH_DEPTH = 50  # the customer's newest requests read per page: more than anyone submits in the window
MAX_SEARCHED = 1000  # and at most this many in all, should a customer have raised more since `since`
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def recent_requests_jql(project_key: str, user_id: str) -> str:
    return f"{project_clause(project_key)} AND reporter = {quote(user_id)} ORDER BY created DESC"


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _comparable(field_id: str, value: Any) -> str | frozenset[str] | None:
    """What a submitted value must look like in JSM's answer, or None when it cannot be told."""
    if field_id == "description":
        return _norm(split_description(str(value or ""))[0])
    if field_id == "labels" and isinstance(value, list):
        return frozenset(str(v) for v in value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return None if _DATE_LIKE.match(value) else _norm(value)
    if isinstance(value, int | float):
        return _norm(str(value))
    if isinstance(value, Mapping) and any(value.get(k) for k in ("value", "name")):
        return _norm(value_text(value))
    return None


def same_values(submitted: Mapping[str, Any], shown: tuple[RequestFieldValue, ...]) -> bool:
    """Whether every comparable submitted value is what JSM shows (fields JSM does not show are skipped)."""
    by_id = {v.field_id: v.value_text for v in shown}
    for field_id, value in submitted.items():
        wanted = _comparable(field_id, value)
        if wanted is None or field_id not in by_id:
            continue
        text = by_id[field_id]
        got: str | frozenset[str] = (
            frozenset(t.strip() for t in text.split(",") if t.strip())
            if isinstance(wanted, frozenset)
            else _norm(split_description(text)[0] if field_id == "description" else text)
        )
        if got != wanted:
            return False
    return True


async def find_earlier_request(
    client: JsmClient,
    project_key: str,
    *,
    user_id: str,
    request_type_id: str,
    summary: str,
    field_values: Mapping[str, Any],
    marker: str,
    since: datetime,
    taken: Collection[str],
) -> CustomerRequest | None:
    """The oldest request of the customer since `since` that is this submission's, or None."""
    recent: list[CustomerRequest] = []
    while len(recent) < MAX_SEARCHED:  # newest first: read on until a page reaches before `since`
        page = await client.pages.search(
            recent_requests_jql(project_key, user_id),
            start=len(recent),
            limit=SEARCH_DEPTH,
            extra_fields=("description", "labels"),
        )
        recent.extend(page.values)
        if page.is_last or not page.values or min(r.created for r in page.values) < since:
            break
    candidates = [
        r
        for r in recent
        if r.created >= since
        and r.issue_key not in taken
        and _norm(r.summary) == _norm(summary)
        and r.request_type_id in (None, request_type_id)
    ]
    for found in sorted(candidates, key=lambda r: (r.created, r.issue_key)):
        if found.marker is not None and found.marker != marker:
            continue  # another Deskgate submission's request
        full = await client.get_request(found.issue_key)
        mark = full.marker
        if full.reporter.user_id != user_id or full.request_type_id not in (None, request_type_id):
            continue
        if mark == marker or (mark is None and same_values(field_values, full.field_values)):
            return full
    return None


def comment_matches(comment: Comment, body: str, *, with_files: bool) -> bool:
    """The comment JSM made of this body (with files, JSM may append its markup for them)."""
    text, wanted = comment.body.strip(), body.strip()
    if text == wanted:
        return True
    return with_files and text.startswith(wanted) and text[len(wanted) : len(wanted) + 1] in ("\n", " ")


async def find_earlier_comment(
    client: JsmClient, issue_key: str, body: str, *, with_files: bool, since: datetime, taken: Collection[str]
) -> Comment | None:
    """The oldest public comment of the request since `since` made of `body` not adopted already, or None."""
    comments = await client.comments(issue_key)
    found = [
        c
        for c in comments
        if c.created >= since and c.id not in taken and comment_matches(c, body, with_files=with_files)
    ]
    return min(found, key=lambda c: (c.created, c.id), default=None)
