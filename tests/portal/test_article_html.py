"""A Confluence page's HTML as Deskgate shows it: an allow-list sanitiser (nh3), checked on examples and,
with Hypothesis, on bodies built from hostile pieces: whatever the body, no script, no event handler, no
style, no link that is not http(s) or mailto, and no image from anywhere but the page's Confluence."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from deskgate.jsm.emulator.seed_articles import HOSTILE
from deskgate.portal.article_html import sanitise

BASE = "https://example.atlassian.net/wiki"


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))

    handle_startendtag = handle_starttag


def elements(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.found


def assert_safe(html: str, base: str = BASE) -> None:
    for tag, attrs in elements(html):
        assert tag not in {"script", "style", "iframe", "form", "input", "object", "embed", "svg", "math"}
        for name, value in attrs.items():
            assert not name.startswith("on") and name not in {"style", "class", "srcdoc", "formaction"}
            if name == "href":
                assert urlsplit(value).scheme in {"http", "https", "mailto"}, value
            if name == "src":
                assert value.startswith(base + "/"), value


def test_structure_stays_and_links_point_to_confluence() -> None:
    html = sanitise(
        '<h2 id="a" style="color:red">Steps</h2><ol><li><a href="/wiki/spaces/IT">space</a></li></ol>'
        '<p><img src="/wiki/download/attachments/1/a.png" alt="A"></p>'
        '<table><tr><td colspan="2">cell</td></tr></table>',
        BASE,
    )
    assert "<h2>Steps</h2>" in html and "<ol><li>" in html and '<td colspan="2">' in html
    assert 'href="https://example.atlassian.net/wiki/spaces/IT"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert 'src="https://example.atlassian.net/wiki/download/attachments/1/a.png"' in html


def test_the_seed_hostile_markup_is_defused() -> None:
    html = sanitise(HOSTILE, BASE)
    assert_safe(html)
    assert "owned" not in html and "display: none" not in html  # script and style lose their text
    assert "tracker.example.net" not in html and "evil.example.net" not in html
    assert "Ask us" in html  # the words of a refused link stay


def test_images_of_another_site_or_path_are_dropped() -> None:
    for src in (
        "https://evil.example/x.png",
        "//evil.example/x.png",
        "https://example.atlassian.net/secure/x.png",  # the site, but not its Confluence
        "http://example.atlassian.net/wiki/x.png",  # another scheme
        "data:image/png;base64,AAAA",
    ):
        assert "src=" not in sanitise(f'<img src="{src}" alt="x">', BASE), src


PIECES = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//x.example/x.js></SCRIPT>",
        '<img src=x onerror="alert(1)">',
        "<img src=javascript:alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        '<a href="  JaVaScRiPt:alert(1)">x</a>',
        '<a href="java&#x09;script:alert(1)">x</a>',
        '<a href="data:text/html,<script>alert(1)</script>">x</a>',
        '<a href="vbscript:msgbox(1)">x</a>',
        '<svg onload="alert(1)"><script>alert(1)</script></svg>',
        '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
        '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
        '<p style="background:url(javascript:alert(1))" onclick="x()">p</p>',
        '<form action="javascript:alert(1)"><button formaction="javascript:x">b</button></form>',
        "<style>@import 'https://x.example/x.css';</style>",
        '<object data="x.swf"></object><embed src="x.swf">',
        "<!-- <script>alert(1)</script> -->",
        '<div onmouseover="alert(1)">d</div>',
        "<h2>Title</h2>",
        '<a href="https://example.com/ok">ok</a>',
        "<ul><li>item</li></ul>",
        "<",
        ">",
        '"',
        "'",
        "text",
    ]
)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=12))
def test_whatever_the_body_nothing_active_survives(parts: list[str]) -> None:
    html = sanitise("".join(parts), BASE)
    assert_safe(html)
