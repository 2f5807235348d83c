"""Knowledge base pages: an article shown inside Deskgate, the help center's search over articles and
request types, and the JSON the create form's suggestions ask for while the summary is typed.

Every route is the signed-in customer's (`visitor`), and searches or opens only the knowledge bases of
the desks that customer may use (`deskgate.portal.articles`). The JSON route answers only a same-origin
request (a browser's `Sec-Fetch-Site` says where a request comes from; another site's page gets 403,
and no CORS header ever lets it read an answer), never caches, and is rate-limited per customer.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from deskgate.errors import NotFound
from deskgate.jsm import JsmError
from deskgate.jsm.knowledge import Highlighted
from deskgate.jsm.models import RequestType, ServiceDesk
from deskgate.portal import articles
from deskgate.portal.token_buckets import SqlTokenBuckets, Want, bucket_key
from deskgate.web.context import current_user, web
from deskgate.web.portal.common import SignInRequired, Visitor, guarded, open_desk, visitor
from deskgate.web.security import CSP, NO_STORE, image_origin

# Suggestions are asked while typing (the script waits for a pause): this many per customer a minute.
SUGGESTIONS_PER_MINUTE = 60
MAX_QUERY = articles.MAX_QUERY


def _query(request: Request) -> str:
    return " ".join(request.query_params.get("q", "").split())[:MAX_QUERY]


@guarded()
async def article_page(request: Request) -> Response:
    desk_id, page_ref = str(request.path_params["desk_id"]), str(request.path_params["page_id"])
    if await current_user(request) is None:
        raise SignInRequired("portal visit without a session")
    desk = await open_desk(web(request), desk_id)  # a desk the customer may not use is no desk
    who = await visitor(request)
    opened = await articles.open_article(await who.client(), desk, page_ref, _query(request))
    types = await _visible_types(who, desk)
    headers = dict(NO_STORE)
    if opened.images_from:  # the page's images come from its Confluence (the sanitiser let no other in)
        logo = image_origin(who.ctx.services.login_page.current().branding.logo_url)
        images = "".join(f" {o}" for o in dict.fromkeys((logo, opened.images_from)) if o)
        csp = CSP.format(images=images, forms="") + "; frame-ancestors 'none'"
        headers["Content-Security-Policy"] = csp
    return who.ctx.render(
        request,
        "portal/article.html",
        {"user": who.session, "desk": desk, "article": opened, "request_types": types[:6]},
        headers=headers,
    )


async def _visible_types(who: Visitor, desk: ServiceDesk) -> list[RequestType]:
    services = who.ctx.services
    types, setting = await asyncio.gather(
        services.catalogue.request_types(desk.id), services.desks.get(desk.id)
    )
    return setting.visible(types, lambda t: t.id)


@dataclass(frozen=True, slots=True)
class HelpCenterResults:
    """What a help-center search found: articles, request types and help centers by name."""

    query: str
    articles: articles.Search
    request_types: list[tuple[ServiceDesk, RequestType]]
    desks: list[ServiceDesk]

    @property
    def empty(self) -> bool:
        return not (self.articles.found or self.request_types or self.desks)


def _matches(query: str, *texts: str) -> bool:
    words = query.casefold().split()
    haystack = " ".join(texts).casefold()
    return all(word in haystack for word in words)


async def help_center_search(who: Visitor, desks: list[ServiceDesk], query: str) -> HelpCenterResults:
    """The help center's search: the desks' knowledge bases and request types, and desks by name, at once."""
    found, per_desk = await asyncio.gather(
        articles.search(await who.client(), desks, query),
        asyncio.gather(*(_visible_types(who, d) for d in desks)),
    )
    types = [
        (d, t)
        for d, ts in zip(desks, per_desk, strict=True)
        for t in ts
        if _matches(query, t.name, t.description)
    ]
    named = [d for d in desks if _matches(query, d.project_name)]
    return HelpCenterResults(query, found, types, named)


async def create_suggestions(who: Visitor, desk: ServiceDesk, text: str) -> articles.Search:
    """Articles for the create page as the server draws it (the request type's name): never in the way
    of the form, so any failure to search shows no suggestions rather than an error."""
    try:
        return await articles.search(await who.client(), [desk], text, limit=5)
    except JsmError:
        return articles.Search((), unavailable=True)


def _pieces(pieces: Highlighted) -> list[list[object]]:
    return [[p.text, p.matched] for p in pieces]


async def _rate_limited(who: Visitor) -> float | None:
    """Seconds to wait when this customer asked for suggestions too often, else None."""
    want = Want(
        bucket_key("article-suggestions", who.session.idp, who.session.subject),
        1,
        SUGGESTIONS_PER_MINUTE,
        60.0,
    )
    refusal = await SqlTokenBuckets(who.ctx.services.db).take([want], now=time.time())
    return None if refusal is None else max(1.0, math.ceil(refusal.retry_after))


@guarded(api=True)
async def suggestions(request: Request) -> Response:
    """`GET /portal/api/articles?q=…[&desk=…]`: articles for what the customer typed, as JSON."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return JSONResponse({"error": "same-origin requests only"}, status_code=403, headers=NO_STORE)
    who = await visitor(request)
    services = who.ctx.services
    desk_id = request.query_params.get("desk", "")
    try:
        desks = (
            [await open_desk(who.ctx, desk_id)]
            if desk_id
            else await articles.usable_desks(services.catalogue, services.desks)
        )
    except NotFound:
        return JSONResponse({"error": "no such help center"}, status_code=404, headers=NO_STORE)
    query = _query(request)
    if len(query) < 3:
        return JSONResponse({"query": query, "articles": [], "unavailable": False}, headers=NO_STORE)
    wait = await _rate_limited(who)
    if wait is not None:
        headers = {**NO_STORE, "Retry-After": str(int(wait))}
        return JSONResponse({"error": "too many searches, wait a moment"}, status_code=429, headers=headers)
    found = await articles.search(await who.client(), desks, query, limit=5)
    body = {
        "query": query,
        "articles": [
            {
                "title": f.article.plain_title,
                "excerpt": _pieces(f.article.excerpt),
                "desk": f.desk.project_name,
                "url": f.url,
            }
            for f in found.found
        ],
        "unavailable": found.unavailable,
    }
    return JSONResponse(body, headers=NO_STORE)
