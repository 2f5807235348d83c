"""Request values and comments as JSM shows them: JSM's own HTML where it sends one, made safe; plain text
otherwise, its line breaks and lists kept and its links clickable.

- `rendered`: JSM's HTML (a field's `renderedValue.html`, a comment's `renderedBody.html`) through the
  knowledge base's allow-list (`deskgate.portal.article_html`: the same tags, attributes and link
  schemes, the same `nh3` setup) minus images: an image JSM renders points at JSM itself, which the
  customer cannot reach (files are shown through Deskgate's own attachment route instead). A link into
  the JSM site (an attachment, an agent's view) loses its target for the same reason; its text stays.
- `plain`: text typed by a person, escaped, paragraphs at blank lines, line breaks kept, `* `/`- `/`# `
  lines as lists, and bare http(s) URLs as links.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import nh3
from markupsafe import Markup

from deskgate.portal.article_html import ATTRIBUTES, LINK_SCHEMES, TAGS

_URL = re.compile(r"\b(?:https?://|mailto:)[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
_ITEM = re.compile(r"^\s*([*#-]) +(.*)$")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})")


def rendered(markup: str, jsm_site: str) -> Markup:
    """JSM's HTML reduced to the allow-list; `jsm_site` is the JSM site's URL."""
    site = urlsplit(jsm_site)

    def allowed(tag: str, attribute: str, value: str) -> str | None:
        if tag == "a" and attribute == "href":
            target = urlsplit(value.strip())
            if target.scheme not in LINK_SCHEMES or (target.scheme, target.netloc) == (
                site.scheme,
                site.netloc,
            ):
                return None
        return value

    clean = nh3.clean(
        markup,
        tags=set(TAGS - {"img"}),
        clean_content_tags={"script", "style"},
        attributes={tag: names for tag, names in ATTRIBUTES.items() if tag != "img"},
        attribute_filter=allowed,
        url_schemes=set(LINK_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(clean)  # noqa: S704 - the output of nh3's allow-list


def _links(text: str) -> str:
    """Escaped `text` with its URLs as links (the URL is escaped as an attribute value too)."""
    out, last = [], 0
    for match in _URL.finditer(text):
        url = match.group(0)
        out.append(html.escape(text[last : match.start()]))
        out.append(f'<a href="{html.escape(url)}" rel="noopener noreferrer nofollow">{html.escape(url)}</a>')
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def _block(chunk: str) -> str:
    """One paragraph's lines: runs of list items as a list, the other lines joined by line breaks."""
    runs: list[tuple[str, list[str]]] = []  # (kind: "p", "ul" or "ol", its lines)
    for line in chunk.split("\n"):
        item = _ITEM.match(line)
        kind = ("ol" if item.group(1) == "#" else "ul") if item else "p"
        text = _links(item.group(2) if item else line)
        if runs and runs[-1][0] == kind:
            runs[-1][1].append(text)
        else:
            runs.append((kind, [text]))
    return "".join(
        f"<p>{'<br>'.join(lines)}</p>"
        if kind == "p"
        else f"<{kind}>" + "".join(f"<li>{i}</li>" for i in lines) + f"</{kind}>"
        for kind, lines in runs
    )


def plain(text: str) -> Markup:
    """Text a person typed, as HTML that keeps its shape."""
    chunks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    return Markup("".join(_block(c) for c in chunks if c.strip()))  # noqa: S704 - escaped by _links


def is_datetime(text: str) -> bool:
    """Whether a field's text is a date-time as JSM writes one (shown as a moment, not as text)."""
    return bool(_DATETIME.fullmatch(text.strip()))
