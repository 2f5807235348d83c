"""A Confluence page's HTML made safe to show inside Deskgate, by `nh3` (the Python binding of the Rust
`ammonia` sanitiser): an allow-list of tags and attributes, nothing else survives.

- Tags: text structure only (headings, paragraphs, lists, tables, code, emphasis, links, images). Scripts
  and styles go with their content; forms, frames, embeds and every other tag go, their text kept.
- Attributes: a link's `href` and `title`, an image's `src`, `alt`, `title`, `width`, `height`, table
  cells' spans. No `style`, no `class`, no event handler.
- Links: only http, https and mailto; a relative link is made absolute against the Confluence site, so it
  leads to Confluence rather than to a Deskgate path; every link opens with `rel="noopener noreferrer
  nofollow"`.
- Images: only from the same Confluence site (scheme, host, port and path below its base); any other
  `src` is dropped, so the page cannot make the customer's browser call elsewhere.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import nh3

TAGS = frozenset(
    [
        "a",
        "b",
        "blockquote",
        "br",
        "caption",
        "code",
        "dd",
        "div",
        "dl",
        "dt",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
    ]
)
ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start"},
}
LINK_SCHEMES = frozenset({"http", "https", "mailto"})


def _same_site(url: str, base: str) -> bool:
    target, site = urlsplit(url), urlsplit(base)
    below = site.path.rstrip("/") + "/"
    return (target.scheme, target.netloc) == (site.scheme, site.netloc) and target.path.startswith(below)


def sanitise(html: str, confluence_base: str) -> str:
    """`html` reduced to the allow-list above; `confluence_base` is the Confluence site it came from."""
    base = confluence_base.rstrip("/") + "/"

    def allowed(tag: str, attribute: str, value: str) -> str | None:
        if tag == "a" and attribute == "href":
            absolute = urljoin(base, value.strip())
            return absolute if urlsplit(absolute).scheme in LINK_SCHEMES else None
        if tag == "img" and attribute == "src":
            absolute = urljoin(base, value.strip())
            return absolute if _same_site(absolute, base) else None
        return value

    return nh3.clean(
        html,
        tags=set(TAGS),
        clean_content_tags={"script", "style"},
        attributes=ATTRIBUTES,
        attribute_filter=allowed,
        url_schemes=set(LINK_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
