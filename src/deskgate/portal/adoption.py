"""Finding the effect of an earlier, unclear attempt in JSM, so that a retry adopts it instead of writing twice.

After a timeout, a 5xx or a dead worker the outbox does not know whether JSM carried the write out. It
looks, reading JSM directly where the search index could hide a recent write, and matches on content:

- A request: every request the project received since the first attempt started minus `clock_skew`,
  walked in key order (`deskgate.portal.key_walk`: the keys above the last one made before that moment,
  read with `GET /request/{key}`, which is not index-based, until a run of 404s), together with the
  customer's requests as the search index shows them (JQL `project = P AND reporter = U ORDER BY
  created DESC`); of the same request type and summary, reported by the customer, and — read with
  `GET /request/{key}` — with the same submitted field values as JSM returns them. A candidate that
  carries another submission's marker is never ours; one that carries ours is, whatever else differs
  (the marker is appended to the description or labels when the request type has one, see
  `deskgate.jsm.marker`).
- A comment: the request's comments (`GET /request/{key}/comment`, read directly, never through the
  search index), one whose body is the attributed text (a comment that carries files may have JSM's
  wiki markup for them appended), created since the first attempt minus `clock_skew`.

Why this is reliable on Cloud and Data Center: both number a project's issues from one counter, in
creation order, and never give a number out twice; both read the reporter, the request type and the
values from the request itself. The search index is used only where its lag is harmless: to find a
floor below which no new request can be (a lagging index shows an older floor: more keys to read,
nothing missed) and to save reads of requests it already shows. The index is eventually consistent
(seconds on Cloud, usually less on Data Center, minutes when it is rebuilt or struggling), but the
walk reads every key above the floor, so its answer is `Lookup.complete` however far the index lags,
and an empty answer is final (no waiting for the index to catch up). The searches ask only for `project`, `reporter` and key or `created`
order — fields both index exactly (no text search, so no tokenising of a marker or wiki markup), with
the time window checked here on the `created` JSM returns with its offset (no JQL date literal, whose
time zone would be the service account's). When the walk cannot finish (more than `max_probes` keys
to read, or the floor too far back) the answer rests on the search alone, and `Submissions` trusts an
empty one only `search_lag` after the unclear try. A failed search or read keeps the write unknown.

Limits: two identical writes by the same customer within the window (same request type, summary and
values; or the same comment text on the same request) are told apart by the marker where the request
type carries one; otherwise by order — each adopts the oldest match no other outbox row has adopted yet
(`taken`). A request the customer raised identically in JSM's own portal within the window would be
taken for ours. Other fields are compared as JSM renders them; a value whose rendering cannot be compared
(an option given by id, a date) is not held against a candidate. A run of `KEY_GAP` keys in a row that
cannot be read (deleted or moved issues, or ones hidden from the service account) past the newest
indexed key ends the walk early: a request numbered after such a run, not yet indexed, is missed
(`deskgate.portal.key_walk`). And JSM may carry out a call after the client gave up on it: no lookup
sees that in advance, so `Submissions` trusts finding nothing only `DeliveryPolicy.late_commit` after
the try (finding it is trusted at once).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from deskgate.jsm import JsmClient
from deskgate.jsm.jql import project_clause, quote
from deskgate.jsm.marker import split_description
from deskgate.jsm.models import Comment, CustomerRequest, RequestFieldValue
from deskgate.jsm.parsing import value_text
from deskgate.portal.key_walk import MAX_KEY_PROBES, WITH_MARKER, KeyWalk

log = logging.getLogger(__name__)

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


@dataclass(frozen=True, slots=True)
class Wanted:
    """What the earlier attempt of one submission looks like in JSM."""

    user_id: str
    request_type_id: str
    summary: str
    field_values: Mapping[str, Any]
    marker: str
    since: datetime
    taken: Collection[str]

    def may_be(self, found: CustomerRequest) -> bool:
        """Worth reading in full: what a search shows (or a full read) does not rule it out."""
        return (
            found.created >= self.since
            and found.issue_key not in self.taken
            and _norm(found.summary) == _norm(self.summary)
            and found.request_type_id in (None, self.request_type_id)
            and found.marker in (None, self.marker)  # another marker: another Deskgate submission's
        )

    def is_ours(self, full: CustomerRequest) -> bool:
        """The request read in full (`GET /request/{key}`) is this submission's."""
        if full.reporter.user_id != self.user_id or full.request_type_id not in (None, self.request_type_id):
            return False
        return full.marker == self.marker or (
            full.marker is None and same_values(self.field_values, full.field_values)
        )


@dataclass(frozen=True, slots=True)
class Lookup:
    found: CustomerRequest | None
    # Every key made since the window was read (`KeyWalk.complete`): no request is hidden by a lagging
    # index, so an empty answer is final. False: only the search answered, and it may lag.
    complete: bool


async def customer_recent_requests(
    client: JsmClient, project_key: str, user_id: str, since: datetime
) -> list[CustomerRequest]:
    """The customer's requests of the project as the search index shows them, newest first, back to `since`."""
    recent: list[CustomerRequest] = []
    while len(recent) < MAX_SEARCHED:  # newest first: read on until a page reaches before `since`
        page = await client.pages.search(
            recent_requests_jql(project_key, user_id),
            start=len(recent),
            limit=SEARCH_DEPTH,
            extra_fields=WITH_MARKER,
        )
        recent.extend(page.values)
        if page.is_last or not page.values or min(r.created for r in page.values) < since:
            break
    return recent


async def look_for_earlier_request(
    client: JsmClient, project_key: str, wanted: Wanted, *, max_probes: int = MAX_KEY_PROBES
) -> Lookup:
    """The oldest request since `wanted.since` that is this submission's, and whether None is final."""
    recent = await customer_recent_requests(client, project_key, wanted.user_id, wanted.since)
    walk = KeyWalk(client, project_key, since=wanted.since, max_probes=max_probes, also=recent)
    async with aclosing(walk.requests()) as found_in_key_order:  # creation order: the first match is oldest
        async for found, in_full in found_in_key_order:
            if not wanted.may_be(found):
                continue
            full = found if in_full else await client.get_request(found.issue_key)
            if wanted.is_ours(full):
                return Lookup(full, complete=True)
    if walk.complete:
        return Lookup(None, complete=True)
    log.warning(
        "the key walk over %s did not finish: looking by search alone, which may lag (an empty answer is "
        "trusted only DeliveryPolicy.search_lag after the unclear try)",
        project_key,
    )
    for found in sorted(filter(wanted.may_be, recent), key=lambda r: (r.created, r.issue_key)):
        full = await client.get_request(found.issue_key)
        if wanted.is_ours(full):
            return Lookup(full, complete=False)
    return Lookup(None, complete=False)


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
    max_probes: int = MAX_KEY_PROBES,
) -> CustomerRequest | None:
    """The oldest request of the customer since `since` that is this submission's, or None."""
    wanted = Wanted(user_id, request_type_id, summary, field_values, marker, since, taken)
    return (await look_for_earlier_request(client, project_key, wanted, max_probes=max_probes)).found


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
