"""Every request a project received since a moment, found by issue key rather than through the search index.

Jira numbers a project's issues from one counter (`ITH-1`, `ITH-2`, …), in the order they are created;
a number is never given out twice, and the only holes are issues deleted or moved away since. So the
requests made after a moment are the keys above the last one made before it, up to the newest:

1. The floor: the highest key that the search index shows (`project = P ORDER BY key DESC`) of a request
   created before `since`. A lagging index can only show an older floor, never a newer one: every
   request it shows exists, and one created before `since` was numbered before anything made after
   `since`. (The comparison is of two `created` times on JSM's own clock; `since` already allows for
   Deskgate's clock running ahead, `DeliveryPolicy.clock_skew`.) The requests the index shows above the
   floor come with this search.
2. The walk: each key above the floor in turn, the indexed ones as the search showed them and every
   other one read with `GET /rest/servicedeskapi/request/{key}` (`ServiceDeskApi.request`, which reads
   the issue itself, not the index), until `KEY_GAP` keys in a row, past the highest indexed one, answer
   404. The walk is then complete: no request made after the floor was left out.

`requests()` yields them in key order, which is creation order, so a reader looking for the oldest
match may stop at the first. It gives up (`complete` stays False) when the floor lies more than
`MAX_LISTED` indexed requests back, or the walk needs more than `max_probes` reads.

Limits: a run of `KEY_GAP` or more keys in a row that the service account cannot read as requests —
deleted or moved issues, issues hidden from it by an issue security level, and (depending on the site)
issues of the project that are not customer requests — ends the walk early, and a request numbered
after the run would be missed. The gap is counted only past the highest key the index shows, where new
issues are seconds old, which is why a longer run there is unlikely.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Iterable
from datetime import datetime

from deskgate.jsm import JsmClient, JsmNotFound
from deskgate.jsm.jql import project_clause
from deskgate.jsm.models import CustomerRequest

log = logging.getLogger(__name__)

MAX_KEY_PROBES = 200  # keys read one by one per walk, at most (`DeliveryPolicy.max_key_probes`)
KEY_GAP = 3  # keys in a row that answer 404 end the walk: steps over up to two deleted or moved issues
MAX_LISTED = 1000  # indexed requests read back to the floor, at most
PAGE = 50
WITH_MARKER = ("description", "labels")  # so that another submission's marker shows without a read


def newest_keys_jql(project_key: str) -> str:
    return f"{project_clause(project_key)} ORDER BY key DESC"


def key_number(issue_key: str, project_key: str) -> int | None:
    """The number of `PROJ-12` if it is a key of this project."""
    prefix, _, number = issue_key.rpartition("-")
    return int(number) if prefix.upper() == project_key.upper() and number.isdigit() else None


class KeyWalk:
    """One walk over the keys of `project_key` made since `since` (see the module docstring)."""

    def __init__(
        self,
        client: JsmClient,
        project_key: str,
        *,
        since: datetime,
        max_probes: int,
        also: Iterable[CustomerRequest] = (),
    ) -> None:
        self._client = client
        self.project_key = project_key
        self.since = since
        self.max_probes = max_probes
        self._also = tuple(also)  # found by another search: merged in, so the answer is their union
        self.complete = False  # every key above the floor has been yielded or answered 404
        self.probes = 0  # keys read one by one

    async def requests(self) -> AsyncGenerator[tuple[CustomerRequest, bool]]:
        """(request, read in full) in key order: indexed ones as search shows them (not in full)."""
        floor, listed = await self._floor()
        if floor is None:
            return
        for request in self._also:
            number = key_number(request.issue_key, self.project_key)
            if number is not None:
                listed.setdefault(number, request)
        for number in sorted(n for n in listed if n <= floor):  # newer than `since` by JSM's clock only
            yield listed[number], False
        top = max(listed, default=floor)
        number, misses = floor, 0
        while number < top or misses < KEY_GAP:
            number += 1
            if number in listed:
                misses = 0
                yield listed[number], False
                continue
            if self.probes >= self.max_probes:
                log.warning(
                    "key walk over %s gave up after %d reads at %s-%d (floor %d, highest indexed %d)",
                    self.project_key,
                    self.probes,
                    self.project_key,
                    number,
                    floor,
                    top,
                )
                return
            self.probes += 1
            try:
                found = await self._client.get_request(f"{self.project_key}-{number}")
            except JsmNotFound:
                misses += 1
                continue
            misses = 0
            yield found, True
        self.complete = True

    async def _floor(self) -> tuple[int | None, dict[int, CustomerRequest]]:
        """The highest indexed key made before `since` (0: none; None: too far back) and those above it."""
        listed: dict[int, CustomerRequest] = {}
        start = 0
        while start < MAX_LISTED:
            page = await self._client.pages.search(
                newest_keys_jql(self.project_key), start=start, limit=PAGE, extra_fields=WITH_MARKER
            )
            start += len(page.values)
            for request in page.values:
                number = key_number(request.issue_key, self.project_key)
                if number is None:
                    continue
                if request.created < self.since:
                    return number, listed
                listed[number] = request
            if page.is_last or not page.values:
                return 0, listed  # the project has nothing older: the walk starts at its first key
        log.warning(
            "key walk over %s: more than %d requests since %s", self.project_key, MAX_LISTED, self.since
        )
        return None, listed
