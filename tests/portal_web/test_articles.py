"""The knowledge base in the portal, against the emulator on Cloud and Data Center (with its Confluence):
the help center's search, an article's page, the create page's suggestions and their JSON, and the rule
that only desks a customer may use lead to articles (404 otherwise, for anyone)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest

from deskgate.jsm.emulator import create_emulator
from deskgate.jsm.emulator.knowledge import CONFLUENCE_PREFIX
from deskgate.portal.desks import DeskSetting
from deskgate.web.portal import articles
from tests.portal.test_article_html import assert_safe
from tests.portal_web.conftest import SITE, Rig
from tests.support.databases import database_url
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio
RESET = "/portal/1/articles/8786177?q=" + quote("Reset your password")


@pytest.fixture(params=["cloud", "datacenter"])
async def rig(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    jsm = create_emulator(request.param)
    extra = {} if request.param == "cloud" else {"confluence_url": SITE + CONFLUENCE_PREFIX}
    with database_url("sqlite", tmp_path_factory.mktemp("db")) as db_url:
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=jsm)) as jsm_http,
            running_app(db_url, idp_http=jsm_http, jsm=jsm.connection(SITE, **extra)) as (client, services),
        ):
            yield Rig(jsm, services, client, client._transport)


async def test_the_help_center_finds_articles_and_request_types(rig: Rig) -> None:
    alice = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    page = await alice.browser.get("/portal", params={"q": "password"})
    assert page.status_code == 200
    assert "Results for “password”" in page.text
    assert 'href="/portal/1/articles/8786177?q=Reset+your+password"' in page.text
    assert "Reset your <mark>password</mark>" in page.text  # JSM's highlight, as markup of our own
    assert 'href="/portal/1/create/4"' in page.text  # the request type "Reset my password"
    assert "@@@hl@@@" not in page.text


async def test_a_search_that_finds_nothing_says_so_and_offers_the_help_centers(rig: Rig) -> None:
    alice = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    page = await alice.browser.get("/portal", params={"q": "<b>zzzq</b>"})
    assert page.status_code == 200
    assert "No article, request type or help center matches “&lt;b&gt;zzzq&lt;/b&gt;”" in page.text
    for desk in ("1", "2", "3"):
        assert f'href="/portal/{desk}"' in page.text


async def test_an_article_shows_its_page_sanitised(rig: Rig) -> None:
    alice = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    page = await alice.browser.get(RESET)
    assert page.status_code == 200, page.text
    body = page.text.split('<div class="article-body">', 1)[1].split("</article>", 1)[0]
    assert "<h2>Reset it in three steps</h2>" in body and "<ol><li>" in body
    assert 'href="https://support.example.com/passwords"' in body
    assert "/download/attachments/8786177/reset.png" in body
    assert_safe(body, SITE + ("/wiki" if rig.jsm.flavour == "cloud" else CONFLUENCE_PREFIX))
    assert "<script" not in page.text.split("</main>")[0].split("<main")[1]
    assert "onerror" not in body and "javascript:" not in body and "tracker.example.net" not in body
    assert 'href="/portal/1/create/4"' in page.text  # still need help: the desk's request types


async def test_an_unreadable_page_shows_its_excerpt_and_says_why(rig: Rig) -> None:
    alice = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    page = await alice.browser.get("/portal/1/articles/8786181?q=" + quote("Software licences"))
    assert page.status_code == 200, page.text
    assert "cannot be shown here" in page.text and "design software licences" in page.text


async def test_an_article_opens_only_through_its_own_usable_desk(rig: Rig) -> None:
    alice = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    mallory = await rig.sign_in("mallory-sub", "mallory@example.com", "Mallory Mole")
    for who in (alice, mallory):
        assert (await who.browser.get(RESET)).status_code == 200
        # An HR article through the IT desk, with or without its title: not in that knowledge base.
        assert (await who.browser.get("/portal/1/articles/8786201?q=time+off")).status_code == 404
        assert (await who.browser.get("/portal/1/articles/8786201")).status_code == 404
        for bad in ("99999", "8786177x", "..%2F..%2Frest", "-1"):
            assert (await who.browser.get(f"/portal/1/articles/{bad}?q=password")).status_code == 404
        assert (await who.browser.get("/portal/99/articles/8786177")).status_code == 404
    # The IT desk closed to SSO: its articles are no one's any more, neither pages nor suggestions.
    await rig.services.desks.save(DeskSetting("1", sso_enabled=False))
    for who in (alice, mallory):
        assert (await who.browser.get(RESET)).status_code == 404
        found = await who.browser.get("/portal/api/articles", params={"q": "password"})
        assert found.status_code == 200 and all(
            "/portal/1/" not in a["url"] for a in found.json()["articles"]
        )
        assert (
            await who.browser.get("/portal/api/articles", params={"q": "password", "desk": "1"})
        ).status_code == 404
        page = await who.browser.get("/portal", params={"q": "password"})
        assert "/portal/1/articles/" not in page.text


async def test_an_article_opened_without_its_title_is_found_by_its_page_title(rig: Rig) -> None:
    alice = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    page = await alice.browser.get("/portal/1/articles/8786177")
    assert page.status_code == 200 and "Reset it in three steps" in page.text


async def test_the_create_page_suggests_articles_and_loads_the_script(rig: Rig) -> None:
    alice = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    page = await alice.browser.get("/portal/1/create/4")  # "Reset my password"
    assert page.status_code == 200
    assert 'id="suggestions"' in page.text and "/portal/1/articles/8786177" in page.text
    assert "/static/deflect." in page.text and 'name="csrf_token"' in page.text


async def test_the_create_form_works_when_the_knowledge_base_fails(rig: Rig) -> None:
    alice = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    rig.jsm.faults.update({"server_errors": 5, "server_error_status": 500, "path": "/knowledgebase/"})
    page = await alice.browser.get("/portal/1/create/4")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    assert '<aside class="card" id="suggestions"' in page.text and " hidden>" in page.text


async def test_suggestions_are_json_for_the_signed_in_customer_only(rig: Rig) -> None:
    anonymous = await rig.anonymous.get("/portal/api/articles", params={"q": "password"})
    assert anonymous.status_code == 401 and "Reset your" not in anonymous.text
    alice = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    found = await alice.browser.get(
        "/portal/api/articles", params={"q": "laptop does not start", "desk": "1"}
    )
    assert found.status_code == 200 and found.headers["content-type"] == "application/json"
    assert "no-store" in found.headers["cache-control"]
    assert "access-control-allow-origin" not in found.headers
    first = found.json()["articles"][0]
    assert first["url"].startswith("/portal/1/articles/8786178?") and first["title"].startswith("Laptop")
    assert ["laptop", True] in [[t.lower(), m] for t, m in first["excerpt"]]
    cross = await alice.browser.get(
        "/portal/api/articles", params={"q": "password"}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross.status_code == 403 and "articles" not in cross.json()
    short = await alice.browser.get("/portal/api/articles", params={"q": "ab"})
    assert short.json()["articles"] == []


async def test_suggestions_are_rate_limited_per_customer(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(articles, "SUGGESTIONS_PER_MINUTE", 2)
    alice = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    bob = await rig.sign_in("bob-sub", "bob@example.com", "Bob Brown")
    codes = [
        (await alice.browser.get("/portal/api/articles", params={"q": f"vpn {n}"})).status_code
        for n in range(3)
    ]
    assert codes == [200, 200, 429]
    assert (await bob.browser.get("/portal/api/articles", params={"q": "vpn"})).status_code == 200
