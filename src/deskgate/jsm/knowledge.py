"""The knowledge base: JSM's article search, and the Confluence page behind an article. Functions over a
`JsmClient`, as `deskgate.jsm.organizations`.

JSM searches the Confluence spaces linked to its desks (`GET /knowledgebase/article`, or per desk
`GET /servicedesk/{id}/knowledgebase/article`, both experimental) and answers each article with its
title, an excerpt, and its Confluence page id. With `highlight=true` the words that matched are wrapped
as `@@@hl@@@word@@@endhl@@@`; `highlighted` splits such text into plain and matched pieces, so that
nothing of it is ever read as markup.

The page itself is read from Confluence, through a transport of its own whose firewall knows one
endpoint: the page by its (numeric) id, below the site's Confluence (Cloud: `/wiki` of the JSM site,
Data Center: `JsmConnection.confluence_url`). A page the service account may not read, or a Confluence
that is not configured, gives None: the portal then shows the excerpt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from deskgate.jsm.client import SD, JsmClient
from deskgate.jsm.endpoints import CloudConfluence, ConfluenceApi, DataCenterConfluence, JsmId
from deskgate.jsm.errors import JsmAuthError, JsmBadRequest, JsmNotFound
from deskgate.jsm.transport import JsmTransport

_MARKED = re.compile(r"@@@hl@@@(.*?)@@@endhl@@@", re.DOTALL)
_STRAY = re.compile(r"@@@(?:end)?hl@@@")
MAX_RESULTS = 50


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of text, and whether the search matched it."""

    text: str
    matched: bool = False


Highlighted = tuple[Piece, ...]


def highlighted(raw: object) -> Highlighted:
    """`raw` split at JSM's highlight markers; a stray marker is dropped rather than shown."""
    text = str(raw or "")
    pieces: list[Piece] = []
    last = 0
    for match in _MARKED.finditer(text):
        if match.start() > last:
            pieces.append(Piece(_STRAY.sub("", text[last : match.start()])))
        pieces.append(Piece(_STRAY.sub("", match.group(1)), matched=True))
        last = match.end()
    if last < len(text):
        pieces.append(Piece(_STRAY.sub("", text[last:])))
    return tuple(p for p in pieces if p.text)


def plain(pieces: Highlighted) -> str:
    return "".join(p.text for p in pieces)


@dataclass(frozen=True, slots=True)
class Article:
    """One article as the search found it. `page_id` names its Confluence page (digits only)."""

    page_id: str
    title: Highlighted
    excerpt: Highlighted
    space_key: str

    @property
    def plain_title(self) -> str:
        return plain(self.title)


@dataclass(frozen=True, slots=True)
class ConfluencePage:
    """A Confluence page as Confluence renders it (`view`): HTML to sanitise before showing it."""

    page_id: str
    title: str
    html: str
    base_url: str  # the Confluence site the page's relative links and images belong to


def _article(raw: Any) -> Article | None:
    source = raw.get("source") or {}
    page_id = str(source.get("pageId") or "")
    if source.get("type", "confluence") != "confluence" or not page_id.isdigit():
        return None  # only Confluence pages can be opened here, and only by a numeric id
    return Article(
        page_id=page_id,
        title=highlighted(raw.get("title")),
        excerpt=highlighted(raw.get("excerpt")),
        space_key=str(source.get("spaceKey") or ""),
    )


async def search_articles(
    client: JsmClient, query: str, *, desk_id: str | None = None, limit: int = 10
) -> tuple[Article, ...]:
    """The first `limit` articles matching `query`, in JSM's order: of one desk's knowledge base, or (no
    `desk_id`) of every desk's. One page only: a search is read like a person reads it, from the top."""
    query = " ".join(query.split())
    if not query:
        return ()
    call = SD.desk_articles(desk=JsmId(desk_id)) if desk_id is not None else SD.articles()
    params = {"query": query[:200], "highlight": "true", "start": 0, "limit": max(1, min(limit, MAX_RESULTS))}
    page = await client.transport.json(call, params=params, experimental=True)
    found = (_article(raw) for raw in (page or {}).get("values") or ())
    return tuple(a for a in found if a is not None)[:limit]


def confluence_transport(client: JsmClient) -> tuple[JsmTransport, type[ConfluenceApi]] | None:
    """The transport to the site's Confluence and its endpoints, None when there is none configured."""
    connection = client.connection
    if connection.deployment == "cloud":
        return client.transport_to(connection, (CloudConfluence.page,)), CloudConfluence
    if not connection.confluence_url:
        return None
    other = connection.model_copy(update={"site_url": connection.confluence_url})
    return client.transport_to(other, (DataCenterConfluence.page,)), DataCenterConfluence


async def confluence_page(
    client: JsmClient, page_id: str, transport: tuple[JsmTransport, type[ConfluenceApi]] | None = None
) -> ConfluencePage | None:
    """The page as Confluence renders it, or None when the service account may not read it (401, 403,
    404, or no Confluence configured). Confluence being away raises, as any JSM call does."""
    reach = transport or confluence_transport(client)
    if reach is None:
        return None
    t, api = reach
    cloud = api is CloudConfluence
    params = {"body-format": "view"} if cloud else {"expand": "body.view,space"}
    try:
        raw = await t.json(api.page(page=JsmId(page_id)), params=params)
    except (JsmNotFound, JsmAuthError, JsmBadRequest):
        return None
    body = ((raw or {}).get("body") or {}).get("view") or {}
    html = body.get("value")
    if not isinstance(html, str):
        return None
    base = t.connection.site_url + ("/wiki" if cloud else "")
    return ConfluencePage(str(raw.get("id") or page_id), str(raw.get("title") or ""), html, base)
