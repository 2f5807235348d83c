"""Values and comments as JSM renders them, made safe: whatever HTML JSM sends (built here from hostile
pieces), nothing executable survives and links keep only http, https and mailto; and on a request's page,
on Cloud and Data Center, typed text keeps its lines, lists and links, and a number reads 2, not 2.0."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from deskgate.portal import rich_text
from deskgate.portal.article_html import ATTRIBUTES, TAGS
from tests.portal_web.conftest import SITE, Rig

ALLOWED_TAGS = TAGS - {"img"}
ALLOWED_ATTRIBUTES = {tag: names for tag, names in ATTRIBUTES.items() if tag != "img"}
LINK_ATTRIBUTES = {"rel"}  # nh3 sets rel on every link it keeps
GENERIC_ATTRIBUTES = {"title", "lang"}  # nh3 keeps these two on any tag (plain text, never a URL)

HOSTILE_TAGS = [
    *("script", "style", "iframe", "svg", "math", "img", "object", "embed", "form", "input", "textarea"),
    *("noscript", "template", "title", "base", "meta", "link", "xmp", "noembed", "select", "video"),
    *("a", "p", "b", "div", "span", "ul", "ol", "li", "table", "tr", "td", "code", "pre", "blockquote"),
]
HOSTILE_ATTRIBUTES = [
    *("href", "src", "onclick", "onerror", "onload", "OnMouseOver", "style", "xlink:href", "formaction"),
    *("action", "srcdoc", "data", "title", "class", "id", "colspan", "rel", "target", "background"),
]
HOSTILE_VALUES = [
    *("javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)"),
    *("java&#x09;script:alert(1)", "&#106;avascript:alert(1)", "&#x6A;avascript&colon;alert(1)"),
    *("javascript&#58;alert(1)", "\x01javascript:alert(1)", "vbscript:msgbox(1)", "livescript:x"),
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    *("data:image/svg+xml,<svg onload=alert(1)>", "//evil.example/x", "/relative", "#top"),
    *("https://example.com/a?b=1&c=2", "http://ok.example", "mailto:help@example.com", "ftp://x.example"),
    *(f"{SITE}/secure/attachment/10001/x.png", "expression(alert(1))", '" onmouseover="alert(1)'),
    *("x' onerror='alert(1)", "alert(1)", "url(javascript:alert(1))"),
]
HOSTILE_TEXT = [
    *("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    *("<!--<script>alert(1)</script>-->", "<![CDATA[<script>alert(1)</script>]]>", "</p><script>x</script>"),
    *("<svg><script>alert(1)</script></svg>", "<a href=javascript:alert(1)>x</a>", "<<script>script>"),
    *("<scr<script>ipt>alert(1)</scr</script>ipt>", "&#60;script&#62;", "<style>@import 'x.css'</style>"),
    *("<iframe srcdoc='<script>alert(1)</script>'></iframe>", "<math><mi xlink:href='javascript:x'>"),
    *("<svg><a xlink:href='javascript:alert(1)'><text>x</text></a></svg>", "<base href=//evil.example>"),
    *("<div style='background:url(javascript:alert(1))'>", "<a href='jav&#x0A;ascript:alert(1)'>y</a>"),
    *("<noscript><p title='</noscript><img src=x onerror=alert(1)>'></noscript>", "</textarea><script>"),
    *("<form action=javascript:alert(1)><button>go</button></form>", "text & more", "line\nbreak"),
]


def _quoted(name: str, value: str, quote: str) -> str:
    if quote == "'":
        return f" {name}='{value}'"
    if quote == '"':
        return f' {name}="{value}"'
    return f" {name}={value}" if quote == "bare" else f" {name}"


@st.composite
def _element(draw: st.DrawFn, children: st.SearchStrategy[str]) -> str:
    tag = draw(st.sampled_from(HOSTILE_TAGS))
    attributes = draw(
        st.lists(
            st.tuples(
                st.sampled_from(HOSTILE_ATTRIBUTES),
                st.sampled_from(HOSTILE_VALUES),
                st.sampled_from(['"', "'", "bare", "none"]),
            ),
            max_size=3,
        )
    )
    inside = "".join(draw(st.lists(children, max_size=3)))
    opening = f"<{draw(st.sampled_from([tag, tag.upper()]))}" + "".join(_quoted(*a) for a in attributes) + ">"
    return opening + inside + draw(st.sampled_from([f"</{tag}>", "", f"</{tag} >"]))


MARKUP = st.recursive(
    st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=20)),
    lambda children: _element(children),
    max_leaves=12,
)


class _Tags(HTMLParser):
    """Every element and attribute of a fragment, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))


def _elements(fragment: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Tags()
    parser.feed(fragment)
    parser.close()
    return parser.elements


@settings(max_examples=400, deadline=None)
@given(markup=st.lists(MARKUP, min_size=1, max_size=4).map("".join))
@example(markup=f'<a href="{SITE}/secure/attachment/10001/x.png">x.png</a>')
@example(markup='<a href="java&#x09;script:alert(1)" onclick="alert(2)">x</a><p style="x">y</p>')
@example(markup="<svg><a xlink:href='javascript:alert(1)'><text>x</text></a></svg><img src=x onerror=y>")
def test_nothing_executable_survives_jsm_html(markup: str) -> None:
    clean = str(rich_text.rendered(markup, SITE))
    for tag, attributes in _elements(clean):
        assert tag in ALLOWED_TAGS, (tag, clean)
        for name, value in attributes:
            allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | GENERIC_ATTRIBUTES
            assert name in allowed | (LINK_ATTRIBUTES if tag == "a" else set()), (name, clean)
            if name == "href":
                # What the browser follows: entities decoded, ASCII whitespace and controls dropped.
                target = re.sub(r"[\x00-\x20]", "", html.unescape(value or "")).lower()
                assert target.startswith(("http://", "https://", "mailto:")), (value, clean)
                assert not target.startswith(SITE), (value, clean)  # JSM's own site: the customer can't
    # Cleaning again keeps the same elements and attributes: what a browser builds from the output (its
    # nesting may differ where the HTML was misnested, e.g. a link inside a link) holds nothing new.
    again = str(rich_text.rendered(clean, SITE))
    assert sorted(map(repr, _elements(again))) == sorted(map(repr, _elements(clean))), (clean, again)


@settings(max_examples=200, deadline=None)
@given(text=st.lists(st.one_of(st.sampled_from(HOSTILE_TEXT + HOSTILE_VALUES), st.text()), max_size=5))
def test_typed_text_is_only_text_links_and_lists(text: list[str]) -> None:
    """Text a person typed (the fallback when JSM sends no HTML) is escaped: its only markup is ours."""
    shaped = str(rich_text.plain("\n".join(text)))
    for tag, attributes in _elements(shaped):
        assert tag in {"p", "br", "ul", "ol", "li", "a"}, (tag, shaped)
        assert {name for name, _ in attributes} <= {"href", "rel"}
        href = dict(attributes).get("href")
        if href is not None:
            assert html.unescape(href).startswith(("http://", "https://", "mailto:")), shaped


# --- on the request's page --------------------------------------------------------------------------

DESCRIPTION = """The new hire starts on Monday.
She needs a desk by the window.

What to bring:
* a laptop
* a second monitor
- a headset

Spec sheet: https://example.com/specs?model=2&colour=black"""

COMMENT = """Thanks, one more thing.
The dock too, please.

* USB-C dock
* power cable
See https://example.com/dock for the model."""


@pytest.mark.anyio
async def test_the_request_page_keeps_lines_lists_links_and_whole_numbers(rig: Rig) -> None:
    alice = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    created = await (await rig.services.jsm_client()).create_request(
        "1",
        "2",
        {
            "summary": "Hardware for the new hire",
            "description": DESCRIPTION,
            "customfield_10200": {"id": "10101"},
            "customfield_10201": 2,
            "customfield_10205": {"id": "10140", "child": {"id": "10142"}},
        },
        raise_on_behalf_of=alice.jsm_user_id,
    )
    key = created.issue_key
    token = await alice.csrf(f"/portal/requests/{key}")
    posted = await alice.browser.post(
        f"/portal/requests/{key}/comment", data={"csrf_token": token, "body": COMMENT}
    )
    assert posted.status_code == 303, posted.text
    page = (await alice.browser.get(f"/portal/requests/{key}")).text
    flat = re.sub(r"\s+", " ", page)

    # The description (JSM's HTML): two lines of one paragraph, then a list of three items.
    assert re.search(r"The new hire starts on Monday\.\s*<br\s*/?>\s*She needs a desk", page), flat
    assert re.search(r"<li>a laptop</li>\s*<li>a second monitor</li>", page)
    assert "<li>a headset</li>" in page
    assert "<p>The new hire starts on Monday. She needs" not in flat  # not collapsed into one line
    spec = 'href="https://example.com/specs?model=2&amp;colour=black"'
    assert re.search(re.escape(spec) + r'[^>]*rel="noopener noreferrer nofollow"', page), flat
    # The number: the field's label, then 2, never 2.0.
    quantity = re.search(r"Quantity</dt>\s*<dd[^>]*>(.*?)</dd>", page, re.S)
    assert quantity is not None and re.sub(r"<[^>]+>|\s", "", quantity.group(1)) == "2", flat

    # The customer's own comment (typed text, shown without JSM's HTML of the attribution).
    assert re.search(r"Thanks, one more thing\.\s*<br\s*/?>\s*The dock too, please\.", page), flat
    assert re.search(r"<li>USB-C dock</li>\s*<li>power cable</li>", page)
    assert 'href="https://example.com/dock"' in page


@pytest.mark.anyio
async def test_a_hostile_description_is_inert_on_the_page(rig: Rig) -> None:
    alice = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    created = await (await rig.services.jsm_client()).create_request(
        "1",
        "1",
        {
            "summary": "Odd text",
            "description": "<script>alert(1)</script> [click|javascript:alert(1)] javascript:alert(2)",
        },
        raise_on_behalf_of=alice.jsm_user_id,
    )
    page = (await alice.browser.get(f"/portal/requests/{created.issue_key}")).text
    assert "<script>alert(1)" not in page and 'href="javascript' not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as the text it is


@pytest.mark.anyio
async def test_the_idempotency_marker_never_reaches_the_page(rig: Rig) -> None:
    """The outbox's `[deskgate:<marker>]` last line (`jsm.marker`) is taken out of JSM's rendered HTML too."""
    marker = "0123456789abcdef0123456789abcdef"
    alice = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    created = await (await rig.services.jsm_client()).create_request(
        "1",
        "1",
        {"summary": "Printer", "description": f"It jams.\nEvery morning.\n[deskgate:{marker}]"},
        raise_on_behalf_of=alice.jsm_user_id,
    )
    page = (await alice.browser.get(f"/portal/requests/{created.issue_key}")).text
    assert marker not in page and "deskgate:" not in page
    assert re.search(r"It jams\.\s*<br\s*/?>\s*Every morning\.", page), "the lines before it stay"


@pytest.mark.parametrize(
    ("html_in", "html_out"),
    [
        ("<p>It jams.<br />\n[deskgate:{m}]</p>", "<p>It jams.</p>"),
        ("<p>It jams.</p><p>[deskgate:{m}]</p>", "<p>It jams.</p>"),
        ("<p>It jams.<br>&#91;deskgate:{m}&#93;</p>", "<p>It jams.</p>"),
        # Data Center's wiki renderer marks [x] as a broken link: the marker goes, an empty span stays.
        (
            '<p>It jams.<br/><span class="error">&#91;deskgate:{m}&#93;</span></p>',
            '<p>It jams.<br/><span class="error"></span></p>',
        ),
        # Anywhere else (here, a link): not certain to cut, so no HTML at all (the plain text is shown).
        ('<p>It jams. <a href="https://x.test/{m}">link</a></p>', ""),
        ("<p>No marker here.</p>", "<p>No marker here.</p>"),
    ],
)
def test_the_marker_is_cut_from_rendered_html_or_the_html_is_dropped(html_in: str, html_out: str) -> None:
    from deskgate.jsm.marker import without_marker_html

    marker = "0123456789abcdef0123456789abcdef"
    assert without_marker_html(html_in.format(m=marker), marker) == html_out
