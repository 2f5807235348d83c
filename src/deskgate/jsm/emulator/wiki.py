"""Jira's wiki markup rendered to HTML, as far as the emulator needs it: what JSM sends as a text field's
`renderedValue.html` and a comment's `renderedBody.html` (expand=renderedBody).

Paragraphs (blank lines), line breaks, bullet (`* `, `- `) and numbered (`# `) lists, `*bold*`, and bare
http(s) URLs as links, the way Jira's renderer writes them. The text is escaped first, as Jira does.
"""

from __future__ import annotations

import html
import re

_URL = re.compile(r"https?://[^\s<>\"']+")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITEM = re.compile(r"^([*#-]) (.*)$")


def _inline(text: str) -> str:
    escaped = html.escape(text, quote=False)
    escaped = _BOLD.sub(r"<b>\1</b>", escaped)
    return _URL.sub(
        lambda m: f'<a href="{m.group(0)}" class="external-link" rel="nofollow">{m.group(0)}</a>', escaped
    )


def render(text: str) -> str:
    """`text` (wiki markup) as Jira's renderer would write it."""
    blocks: list[str] = []
    for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        lines = chunk.split("\n")
        out: list[str] = []
        para: list[str] = []
        list_tag: str | None = None
        for line in lines:
            item = _ITEM.match(line)
            if item:
                if para:
                    out.append("<p>" + "<br/>\n".join(para) + "</p>")
                    para = []
                tag = "ol" if item.group(1) == "#" else "ul"
                if list_tag != tag:
                    if list_tag:
                        out.append(f"</{list_tag}>")
                    out.append(f'<{tag} class="alternate" type="disc">' if tag == "ul" else f"<{tag}>")
                    list_tag = tag
                out.append(f"<li>{_inline(item.group(2))}</li>")
            else:
                if list_tag:
                    out.append(f"</{list_tag}>")
                    list_tag = None
                para.append(_inline(line))
        if list_tag:
            out.append(f"</{list_tag}>")
        if para:
            out.append("<p>" + "<br/>\n".join(para) + "</p>")
        blocks.append("\n".join(out))
    return "\n\n".join(blocks)
