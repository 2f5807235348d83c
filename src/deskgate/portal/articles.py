"""Knowledge base articles in the portal, under the rule that decides which desks a customer sees.

A customer searches only the knowledge bases of the desks they may use (`usable_desks`: the desks of the
site with SSO on, the same list the help center shows), one search per desk, all at once. An article is
opened through one of those desks, by its page id, and only if that desk's knowledge base holds it: the
desk's search must return that very page id (for the words the link carries, else for the page's own
title). Anything else — an unknown id, another desk's article, a desk the customer may not use — is
NotFound (404), and no URL from a customer or from JSM is ever requested: a page is read by its numeric
id from the site's own Confluence (`deskgate.jsm.knowledge`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from markupsafe import Markup

from deskgate.errors import NotFound
from deskgate.jsm import JsmAuthError, JsmBadRequest, JsmClient, JsmNotFound, JsmRateLimited, JsmUnavailable
from deskgate.jsm.endpoints import JsmId
from deskgate.jsm.knowledge import Article, ConfluencePage, Highlighted, confluence_page, search_articles
from deskgate.jsm.models import ServiceDesk
from deskgate.portal.article_html import sanitise
from deskgate.portal.catalogue import Catalogue
from deskgate.portal.desks import DeskSettings
from deskgate.portal.page_budget import within_share

NO_ARTICLE = "We could not find this article."
MAX_QUERY = 200


@dataclass(frozen=True, slots=True)
class FoundArticle:
    """An article as a search found it, and the desk whose knowledge base holds it."""

    desk: ServiceDesk
    article: Article

    @property
    def url(self) -> str:
        query = urlencode({"q": self.article.plain_title})
        return f"/portal/{self.desk.id}/articles/{self.article.page_id}?{query}"


@dataclass(frozen=True, slots=True)
class Search:
    found: tuple[FoundArticle, ...]
    unavailable: bool = False  # JSM could not search now (busy or away): say so, show the rest


@dataclass(frozen=True, slots=True)
class OpenedArticle:
    desk: ServiceDesk
    page_id: str
    title: str
    excerpt: Highlighted
    body: Markup | None  # the sanitised page; None when the service account cannot read it
    images_from: str | None = None  # the Confluence origin the page's images load from


async def usable_desks(catalogue: Catalogue, settings: DeskSettings) -> list[ServiceDesk]:
    """The desks a customer may use: every desk of the site whose SSO is on."""
    desks, stored = await asyncio.gather(catalogue.service_desks(), settings.all())
    return [d for d in desks if d.id not in stored or stored[d.id].sso_enabled]


def _closed(outcome: object) -> bool:
    """A desk without a knowledge base, or one the service account may not search: nothing found."""
    if isinstance(outcome, JsmAuthError):
        return outcome.status == 403
    return isinstance(outcome, JsmNotFound | JsmBadRequest)


async def search(client: JsmClient, desks: Sequence[ServiceDesk], query: str, *, limit: int = 10) -> Search:
    """Up to `limit` articles from the knowledge bases of `desks`, each desk's best first, taken in turn.
    Articles are a help beside what a page shows: each search waits only a share of the page's budget
    (`within_share`), and JSM busy or away marks the search `unavailable` instead of failing the page."""
    query = " ".join(query.split())[:MAX_QUERY]
    if not query or not desks:
        return Search(())
    outcomes = await asyncio.gather(
        *(within_share(search_articles(client, query, desk_id=d.id, limit=limit)) for d in desks),
        return_exceptions=True,
    )
    per_desk: list[list[FoundArticle]] = []
    unavailable = False
    for desk, outcome in zip(desks, outcomes, strict=True):
        if isinstance(outcome, JsmUnavailable | JsmRateLimited | TimeoutError):
            unavailable = True
        elif isinstance(outcome, BaseException):
            if not _closed(outcome):
                raise outcome
        else:
            per_desk.append([FoundArticle(desk, a) for a in outcome])
    taken = (f for row in itertools.zip_longest(*per_desk) for f in row if f is not None)
    return Search(tuple(itertools.islice(taken, limit)), unavailable)


async def _in_knowledge_base(
    client: JsmClient, desk: ServiceDesk, page_id: str, query: str
) -> Article | None:
    if not query:
        return None
    try:
        found = await search_articles(client, query, desk_id=desk.id, limit=50)
    except (JsmNotFound, JsmBadRequest, JsmAuthError) as exc:
        if _closed(exc):
            return None
        raise
    return next((a for a in found if a.page_id == page_id), None)


async def open_article(client: JsmClient, desk: ServiceDesk, page_ref: str, hint: str) -> OpenedArticle:
    """The article `page_ref` of `desk`'s knowledge base, the page (where readable) and the search for it
    asked at once; NotFound unless the desk's search returns that page. `desk` must be one the customer
    may use (`usable_desks`), which the caller checked."""
    try:
        page_id = str(JsmId(page_ref))
    except JsmBadRequest:
        raise NotFound(f"article {page_ref[:40]!r}: not a page id", user_message=NO_ARTICLE) from None
    hint = " ".join(hint.split())[:MAX_QUERY]
    page, article = await asyncio.gather(
        confluence_page(client, page_id), _in_knowledge_base(client, desk, page_id, hint)
    )
    if article is None and isinstance(page, ConfluencePage) and page.title and page.title != hint:
        article = await _in_knowledge_base(client, desk, page_id, page.title)
    if article is None:
        raise NotFound(f"article {page_id}: not in desk {desk.id}'s knowledge base", user_message=NO_ARTICLE)
    body = Markup(sanitise(page.html, page.base_url)) if page is not None else None  # noqa: S704 - nh3
    title = article.plain_title or (page.title if page else "")
    images = _origin(page.base_url) if page is not None and "<img" in (body or "") else None
    return OpenedArticle(desk, page_id, title, article.excerpt, body, images)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
