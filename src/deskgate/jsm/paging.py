"""Reading JSM's paged answers: service desk lists to their last page, and one page of a JQL search."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from deskgate.jsm import parsing
from deskgate.jsm.connection import JsmConnection
from deskgate.jsm.endpoints import Call
from deskgate.jsm.models import CustomerRequest, Page
from deskgate.jsm.transport import JsmTransport

T = TypeVar("T")
MAX_SEARCH_RESULTS = 100  # what Jira returns per search page at most; more is capped silently


class Pages:
    def __init__(self, transport: JsmTransport, connection: JsmConnection, page_size: int) -> None:
        self._t = transport
        self.connection = connection
        self.flavour = connection.flavour
        self.page_size = page_size

    async def read_all(
        self,
        call: Call,
        parse: Callable[[Any], T],
        *,
        params: Mapping[str, Any] | None = None,
        experimental: bool = False,
    ) -> tuple[T, ...]:
        """Every item of a paged service desk list: the server may cap `limit`, so follow `isLastPage`."""
        items: list[T] = []
        start = 0
        while True:
            page = await self._t.json(
                call,
                params={**(params or {}), "start": start, "limit": self.page_size},
                experimental=experimental,
            )
            values = page.get("values") or []
            items.extend(parse(v) for v in values)
            if page.get("isLastPage", True) or not values:
                return tuple(items)
            start += len(values)

    async def search(
        self, query: str, *, start: int, limit: int, extra_fields: Sequence[str] = ()
    ) -> Page[CustomerRequest]:
        """Issues [start, start + limit) of a JQL search. Data Center jumps to `start`; Cloud pages with
        tokens from the first issue on, asking for as many per call as the server gives (one call for
        the first pages, which are the ones people look at)."""
        field = self.connection.request_type_field
        fields = ["summary", "status", "created", "reporter", field, *extra_fields]
        end = start + limit
        first = 0 if self.flavour.token_paging else start  # index of found[0]
        position, token = first, None
        found: list[Any] = []
        while True:
            wanted = min(MAX_SEARCH_RESULTS, end - position)
            body = self.flavour.search_body(query, fields, wanted, start_at=position, token=token)
            answer = await self._t.json(self.flavour.platform.issue_search(), json=body)
            issues = answer.get("issues") or []
            token, is_last = self.flavour.search_next(answer, position)
            found.extend(issues)
            position += len(issues)
            if is_last or not issues or position >= end:
                break
        window = found[start - first : end - first]
        values = tuple(parsing.issue(i, self.flavour, field) for i in window)
        return Page(values=values, start=start, limit=limit, is_last=is_last or not issues)
