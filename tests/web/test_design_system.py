"""The design system as served: fingerprinted static URLs cached for a year, the favicon, a clear refusal
to start without the generated tokens, a stylesheet written only against tokens that exist, and the
branding turned into brand tokens that stay readable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deskgate.login.page import Branding, LoginPageSettings
from deskgate.settings import load_settings
from deskgate.web import assets
from deskgate.web.app import create_app
from deskgate.web.assets import MissingAssets, StaticAssets
from deskgate.web.brand_tokens import PAGE, SURFACE, WHITE, brand_tokens, contrast
from deskgate.web.security import IMMUTABLE
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio

STYLESHEET = assets.STATIC / "deskgate.css"
TOKENS = assets.STATIC / assets.TOKENS
LINKED = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def _static_dir(tmp_path: Path, css: str) -> Path:
    (tmp_path / "vendor").mkdir(exist_ok=True)
    (tmp_path / assets.TOKENS).write_text(":root { --ds-text: black; }")
    (tmp_path / "deskgate.css").write_text(css)
    return tmp_path


def test_a_changed_file_gets_a_new_url(tmp_path: Path) -> None:
    before = StaticAssets.load(_static_dir(tmp_path, "body { margin: 0; }"))
    url = before.url("deskgate.css")
    assert re.fullmatch(r"/static/deskgate\.[0-9a-f]{12}\.css", url)
    assert before.url("vendor/atlassian-tokens.css").startswith("/static/vendor/atlassian-tokens.")
    after = StaticAssets.load(_static_dir(tmp_path, "body { margin: 1px; }"))
    assert after.url("deskgate.css") != url
    assert after.url("vendor/atlassian-tokens.css") == before.url("vendor/atlassian-tokens.css")
    # The old URL still names the file, but no longer as current: answered, not kept for a year.
    assert after.resolve(url.removeprefix("/static/")) == ("deskgate.css", False)
    assert after.resolve(after.url("deskgate.css").removeprefix("/static/")) == ("deskgate.css", True)
    assert after.resolve("deskgate.css") is None and after.resolve("other.0123456789ab.css") is None
    with pytest.raises(ValueError, match="no static file"):
        after.url("missing.css")


def test_without_the_generated_tokens_deskgate_refuses_to_start_naming_dev_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "deskgate.css").write_text("body {}")
    with pytest.raises(MissingAssets) as raised:
        StaticAssets.load(tmp_path)
    message = str(raised.value)
    assert "./dev/setup" in message and assets.TOKENS in message and message.count(".") >= 1
    monkeypatch.setattr(assets, "STATIC", tmp_path)
    settings = load_settings(
        base_url="http://127.0.0.1:8080", secret_key="k" * 40, database_url="sqlite:///:memory:"
    )
    with pytest.raises(MissingAssets, match=r"run \./dev/setup"):
        create_app(settings)


async def test_pages_link_fingerprinted_files_that_are_cached_for_a_year(tmp_path: Path) -> None:
    async with running_app(f"sqlite:///{tmp_path / 'd.db'}") as (client, _):
        page = await client.get("/login")
        linked = LINKED.findall(page.text)
        names = {re.sub(r"\.[0-9a-f]{12}(\.\w+)$", r"\1", url) for url in linked}
        assert {
            "/static/vendor/atlassian-tokens.css",
            "/static/deskgate.css",
            "/static/favicon.svg",
            "/static/localtime.js",
        } <= names
        assert all(re.search(r"\.[0-9a-f]{12}\.\w+$", url) for url in linked), linked
        assert '<html lang="en" data-color-mode="light" data-theme="light:light' in page.text
        for url in linked:
            answer = await client.get(url)
            assert answer.status_code == 200, url
            assert answer.headers["cache-control"] == IMMUTABLE, url
            assert "pragma" not in answer.headers
        css = next(url for url in linked if "/deskgate." in url)
        assert (await client.get(css)).content == STYLESHEET.read_bytes()
        assert (await client.get(css)).headers["content-type"].startswith("text/css")

        # A stale fingerprint (a page from before an upgrade) and a plain name: the file, revalidated.
        stale = await client.get("/static/deskgate.000000000000.css")
        plain = await client.get("/static/deskgate.css")
        for answer in (stale, plain):
            assert answer.status_code == 200 and answer.content == STYLESHEET.read_bytes()
            assert answer.headers["cache-control"] == "no-cache"
        for missing in ("/static/nothing.css", "/static/nothing.000000000000.css", "/static/../app.py"):
            assert (await client.get(missing)).status_code == 404, missing

        icon = await client.get("/favicon.ico")
        assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
        assert icon.content == (assets.STATIC / assets.FAVICON).read_bytes()
        assert icon.headers["cache-control"] == assets.FAVICON_CACHE


def test_the_component_stylesheet_uses_only_tokens_that_exist_and_no_colour_of_its_own() -> None:
    css = STYLESHEET.read_text()
    defined = set(re.findall(r"(--ds-[\w-]+):", TOKENS.read_text()))
    used = set(re.findall(r"var\((--ds-[\w-]+)\)", css))
    assert len(used) > 40 and used - defined == set()
    without_comments = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    assert not re.findall(r"#[0-9a-fA-F]{3,8}\b|rgba?\(|hsla?\(", without_comments)
    named = re.findall(r":\s*(?:[^;{}]*\s)?(white|black|red|blue|green|gr[ae]y)\b", without_comments)
    assert named == []
    # The themes base.html selects are the ones built (each theme's selector names its id).
    for theme in ("light:light", "shape:shape", "spacing:spacing", "typography:typography"):
        assert f'[data-theme~="{theme}"]' in TOKENS.read_text(), theme


def _tokens(css: str) -> dict[str, str]:
    return dict(re.findall(r"(--[\w-]+): ([^;]+);", css))


def test_the_accent_drives_the_brand_tokens_with_readable_text_and_links() -> None:
    assert brand_tokens(Branding()) == "/* Deskgate's default look */\n"
    dark = _tokens(brand_tokens(Branding(accent_color="#003366")))
    assert dark["--ds-background-brand-bold"] == "#003366"
    assert dark["--dg-text-on-brand"] == "var(--ds-text-inverse)"
    assert dark["--ds-link"] == "#003366"  # already readable: kept
    assert len({dark[f"--ds-background-brand-bold{s}"] for s in ("", "-hovered", "-pressed")}) == 3

    light = _tokens(brand_tokens(Branding(accent_color="#ffcc00", background_color="#fafafa")))
    assert light["--dg-text-on-brand"] == "var(--ds-text)"  # dark text on yellow
    assert light["--dg-page"] == "#fafafa"
    link = light["--ds-link"]
    assert link != "#ffcc00" and contrast(link, "#fafafa") >= 4.5 and contrast(link, SURFACE) >= 4.5
    assert light["--ds-border-focused"] == link

    # A very dark accent: hover and press go lighter, where darker would not show.
    black = _tokens(brand_tokens(Branding(accent_color="#000000")))
    assert contrast(black["--ds-background-brand-bold-hovered"], "#000000") > 1.1
    # A dark page: its text turns light; links stay readable on the (white) cards.
    night = _tokens(brand_tokens(Branding(accent_color="#4c9aff", background_color="#101820")))
    assert night["--dg-text-on-page"] == "var(--ds-text-inverse)"
    assert contrast(night["--ds-link"], WHITE) >= 4.5


def test_the_brand_tokens_win_over_the_themes_whatever_the_order() -> None:
    css = brand_tokens(Branding(accent_color="#aa3300"))
    selector = css.split("{", 1)[0].strip()
    theme = 'html[data-color-mode="light"][data-theme~="light:light"]'
    assert selector.startswith(theme) and len(selector) > len(theme)  # one more part: more specific
    assert contrast(PAGE, WHITE) < 1.1  # the default page is as light as the cards


async def test_branding_css_is_the_brand_tokens(tmp_path: Path) -> None:
    async with running_app(f"sqlite:///{tmp_path / 'd.db'}") as (client, services):
        branding = Branding(accent_color="#aa3300")
        await services.login_page.save(LoginPageSettings(branding=branding))
        answer = await client.get("/branding.css", params={"v": branding.version})
        assert answer.text == brand_tokens(branding) and answer.headers["cache-control"] == IMMUTABLE
