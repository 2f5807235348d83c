"""The knowledge base of the emulator: JSM's article search, and the Confluence pages behind it.

JSM's side is the vendored contract (`GET /rest/servicedeskapi/knowledgebase/article` and
`GET /rest/servicedeskapi/servicedesk/{serviceDeskId}/knowledgebase/article`, both experimental: `query`
required, `highlight` wraps matched words as `@@@hl@@@word@@@endhl@@@`, an ArticleDTO is `{title,
excerpt, source: {type: "confluence", pageId, spaceKey}, content: {iframeSrc}}`).

Confluence's side is not in the 2020 snapshot; it follows Atlassian's current documentation:
- Cloud, Confluence REST API v2, "Page" → "Get page by id", `GET /wiki/api/v2/pages/{id}?body-format=view`
  (https://developer.atlassian.com/cloud/confluence/rest/v2/api-group-page/#api-pages-id-get): `{id,
  status, title, spaceId, body: {view: {representation, value}}, _links}`; 404 for a page the caller may
  not see, its body `{errors: [{status, code, title, detail}]}`.
- Data Center, Confluence REST API, "Content" → `GET /rest/api/content/{id}?expand=body.view,space`
  (https://docs.atlassian.com/ConfluenceServer/rest/latest/#api/content-getContentById): `{id, type,
  status, title, space: {key, name}, body: {view: {value, representation}}, _links}`; 404 `{statusCode,
  message}` likewise. The emulator serves this Confluence below `/confluence` of its own site
  (`CONFLUENCE_PREFIX`), so a test sets `confluence_url` to that.

Search, emulated closely enough: the words of the query (Lucene's words, `analysis.words`, without a few
English stop words, as Confluence's English analyser drops them) are looked for in each article's title
and text; an article matching any word is found, those matching more words and in the title first. The
excerpt is the text around the first match.
"""

from __future__ import annotations

import functools
import re
from html.parser import HTMLParser

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from deskgate.jsm.emulator import render
from deskgate.jsm.emulator.analysis import words
from deskgate.jsm.emulator.context import Refused, context, desk_of, experimental, page_of
from deskgate.jsm.emulator.state import EmulatorStore, KbArticle

SD = render.SD
CONFLUENCE_PREFIX = "/confluence"
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "so",
        "than",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "will",
        "with",
        "you",
    ]
)
EXCERPT_CHARS = 160
_WORD = re.compile(r"\w+", re.UNICODE)
_BLOCKS = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "ol",
        "ul",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "tr",
        "td",
        "th",
        "pre",
        "blockquote",
    ]
)


class _Text(HTMLParser):
    """The text a reader sees in a page (what Confluence indexes), without scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._hidden += tag in ("script", "style")
        self.parts.append(" " if tag in _BLOCKS else "")

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in ("script", "style") and self._hidden > 0
        self.parts.append(" " if tag in _BLOCKS else "")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


@functools.lru_cache(maxsize=1024)  # an article's text, parsed once per body (searches read every article)
def page_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return " ".join("".join(parser.parts).split())


def _terms(query: str) -> set[str]:
    return {w for w in words(query) if w not in STOP_WORDS}


def _score(article: KbArticle, terms: set[str]) -> tuple[int, int]:
    title, text = set(words(article.title)), set(words(page_text(article.body)))
    return len(terms & (title | text)), len(terms & title)


def _marked(text: str, terms: set[str], highlight: bool) -> str:
    if not highlight:
        return text
    return _WORD.sub(
        lambda m: f"@@@hl@@@{m.group(0)}@@@endhl@@@" if m.group(0).casefold() in terms else m.group(0), text
    )


def _excerpt(article: KbArticle, terms: set[str]) -> str:
    text = page_text(article.body)
    first = min((m.start() for m in _WORD.finditer(text) if m.group(0).casefold() in terms), default=0)
    start = text.rfind(" ", 0, max(0, first - 40)) + 1 if first > 40 else 0
    cut = text[start : start + EXCERPT_CHARS]
    if start + EXCERPT_CHARS < len(text):
        cut = cut.rsplit(" ", 1)[0] + " …"
    return ("… " if start else "") + cut


def found_articles(store: EmulatorStore, query: str, desk_id: str | None) -> list[KbArticle]:
    terms = _terms(query)
    scored = [
        (score, a)
        for a in store.articles
        if desk_id is None or a.desk_id == desk_id
        if (score := _score(a, terms))[0]
    ]
    scored.sort(key=lambda pair: (-pair[0][0], -pair[0][1], pair[1].title))
    return [a for _, a in scored]


def article_dto(article: KbArticle, query: str, highlight: bool, base: str) -> dict[str, object]:
    terms = _terms(query)
    return {
        "title": _marked(article.title, terms, highlight),
        "excerpt": _marked(_excerpt(article, terms), terms, highlight),
        "source": {"type": "confluence", "pageId": article.page_id, "spaceKey": article.space_key},
        "content": {"iframeSrc": f"{base}{SD}/knowledgebase/article/view/{article.page_id}"},
    }


def _search(request: Request, desk_id: str | None) -> Response:
    store, base = context(request)
    query = request.query_params.get("query", "")
    if not query.strip():
        raise Refused(render.error(400, "The query parameter is required."))
    highlight = request.query_params.get("highlight", "false").lower() == "true"
    hits = found_articles(store, query, desk_id)
    return page_of(request, [article_dto(a, query, highlight, base) for a in hits])


@experimental
async def articles(request: Request) -> Response:
    return _search(request, None)


@experimental
async def desk_articles(request: Request) -> Response:
    return _search(request, desk_of(request).id)


def _page(request: Request) -> KbArticle | None:
    store, _ = context(request)
    page_id = str(request.path_params["page"])
    return next((a for a in store.articles if a.page_id == page_id and a.readable), None)


async def cloud_page(request: Request) -> Response:
    _, base = context(request)
    article = _page(request)
    if article is None:
        error = {"status": 404, "code": "NOT_FOUND", "title": "Not Found", "detail": None}
        return JSONResponse({"errors": [error]}, status_code=404)
    confluence = f"{base}/wiki"
    body: dict[str, object] = {}
    if request.query_params.get("body-format") == "view":
        body["view"] = {"representation": "view", "value": article.body.replace("{confluence}", confluence)}
    return JSONResponse(
        {
            "id": article.page_id,
            "status": "current",
            "title": article.title,
            "spaceId": str(10000 + sum(map(ord, article.space_key))),
            "body": body,
            "_links": {"webui": f"/spaces/{article.space_key}/pages/{article.page_id}", "base": confluence},
        }
    )


async def datacenter_page(request: Request) -> Response:
    _, base = context(request)
    article = _page(request)
    if article is None:
        message = "No content found with id: " + str(request.path_params["page"])
        return JSONResponse({"statusCode": 404, "message": message}, status_code=404)
    confluence = base + CONFLUENCE_PREFIX
    expand = set(request.query_params.get("expand", "").split(","))
    dto: dict[str, object] = {
        "id": article.page_id,
        "type": "page",
        "status": "current",
        "title": article.title,
        "_links": {"webui": f"/pages/viewpage.action?pageId={article.page_id}", "base": confluence},
    }
    if "space" in expand:
        dto["space"] = {"key": article.space_key, "name": article.space_key, "type": "global"}
    if "body.view" in expand:
        html = article.body.replace("{confluence}", confluence)
        dto["body"] = {"view": {"value": html, "representation": "view"}}
    return JSONResponse(dto)


def routes(flavour: str) -> list[Route]:
    page = (
        Route("/wiki/api/v2/pages/{page:int}", cloud_page)
        if flavour == "cloud"
        else Route(CONFLUENCE_PREFIX + "/rest/api/content/{page:int}", datacenter_page)
    )
    return [
        Route(f"{SD}/knowledgebase/article", articles),
        Route(SD + "/servicedesk/{desk}/knowledgebase/article", desk_articles),
        page,
    ]
