"""The knowledge base through the real client against the emulator, on Cloud and Data Center: JSM's
article search (per desk and across desks, highlighted), and the Confluence page behind an article, read
by id from the site's own Confluence through a firewall of its own."""

from __future__ import annotations

import httpx
import pytest

from deskgate.jsm import JsmClient, JsmError, RetryPolicy
from deskgate.jsm.client_base import SD
from deskgate.jsm.emulator import create_emulator
from deskgate.jsm.emulator.knowledge import CONFLUENCE_PREFIX
from deskgate.jsm.endpoints import CloudConfluence, DataCenterConfluence, JsmId
from deskgate.jsm.firewall import JsmRefused
from deskgate.jsm.knowledge import (
    Piece,
    confluence_page,
    confluence_transport,
    highlighted,
    search_articles,
)
from tests.jsm.conftest import SITE, Rig

pytestmark = pytest.mark.anyio


def _with_confluence(rig: Rig) -> JsmClient:
    """The rig's client, with Data Center's Confluence where the emulator serves it."""
    if rig.app.flavour == "cloud":
        return rig.client
    return rig.client_with(confluence_url=SITE + CONFLUENCE_PREFIX)


def test_highlights_become_pieces_and_stray_markers_vanish() -> None:
    assert highlighted("Reset your @@@hl@@@password@@@endhl@@@ now") == (
        Piece("Reset your "),
        Piece("password", matched=True),
        Piece(" now"),
    )
    assert highlighted("<b>@@@hl@@@x") == (Piece("<b>x"),)  # text stays text, a lone marker goes
    assert highlighted(None) == ()


async def test_a_desk_search_finds_its_own_articles_highlighted(rig: Rig) -> None:
    found = await search_articles(rig.client, "password reset", desk_id="1")
    assert found[0].page_id == "8786177" and found[0].plain_title == "Reset your password"
    assert Piece("password", matched=True) in found[0].title
    assert any(p.matched for p in found[0].excerpt) and found[0].space_key == "IT"
    assert all(a.space_key == "IT" for a in found)
    hr = await search_articles(rig.client, "password reset", desk_id="2")
    assert all(a.page_id != "8786177" for a in hr)  # another desk's knowledge base


async def test_the_site_wide_search_spans_every_desk(rig: Rig) -> None:
    found = await search_articles(rig.client, "holidays laptop", limit=10)
    assert {"8786178", "8786201"} <= {a.page_id for a in found}
    assert await search_articles(rig.client, "   ") == ()  # no query, no call
    assert rig.calls_to("/knowledgebase/article") == 1


async def test_the_search_is_experimental_and_needs_a_query(rig: Rig) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=rig.app), base_url=SITE) as raw:
        auth = rig.app.connection(SITE).auth_headers()
        plain = await raw.get("/rest/servicedeskapi/knowledgebase/article?query=vpn", headers=auth)
        assert plain.status_code == 412
        opt_in = {"X-ExperimentalApi": rig.app.connection(SITE).flavour.experimental_header}
        empty = await raw.get(
            "/rest/servicedeskapi/servicedesk/1/knowledgebase/article", headers=auth | opt_in
        )
        assert empty.status_code == 400
        unknown = await raw.get(
            "/rest/servicedeskapi/servicedesk/99/knowledgebase/article?query=x", headers=auth | opt_in
        )
        assert unknown.status_code == 404


async def test_a_readable_page_comes_from_the_sites_confluence(rig: Rig) -> None:
    client = _with_confluence(rig)
    page = await confluence_page(client, "8786177")
    assert page is not None and page.title == "Reset your password"
    base = SITE + ("/wiki" if rig.app.flavour == "cloud" else CONFLUENCE_PREFIX)
    assert page.base_url == base
    assert f'src="{base}/download/attachments/8786177/reset.png"' in page.html
    assert "<h2>" in page.html and "<script>" in page.html  # as Confluence sent it: sanitised later


async def test_an_unreadable_or_unknown_page_is_none(rig: Rig) -> None:
    client = _with_confluence(rig)
    assert await confluence_page(client, "8786181") is None  # the service account may not read it
    assert await confluence_page(client, "1") is None


async def test_data_center_without_a_confluence_reads_no_page(rig: Rig) -> None:
    if rig.app.flavour == "cloud":
        assert confluence_transport(rig.client) is not None
        return
    assert confluence_transport(rig.client) is None
    assert await confluence_page(rig.client, "8786177") is None
    assert not [p for _, p in rig.app.calls if "/content/" in p]


async def test_the_confluence_firewall_lets_out_only_the_page_by_id(rig: Rig) -> None:
    client = _with_confluence(rig)
    reach = confluence_transport(client)
    assert reach is not None
    transport, api = reach
    assert api is (CloudConfluence if rig.app.flavour == "cloud" else DataCenterConfluence)
    other = DataCenterConfluence if api is CloudConfluence else CloudConfluence
    with pytest.raises(JsmRefused):  # the other flavour's path is not on this list
        await transport.json(other.page(page=JsmId("8786177")))
    with pytest.raises(JsmRefused):  # nor is any JSM endpoint
        await transport.json(SD.service_desks())
    with pytest.raises(JsmError):
        JsmId("../../rest/api/2/myself")


async def test_a_confluence_on_another_host_is_asked_there_with_its_own_firewall() -> None:
    app = create_emulator("datacenter")
    seen: list[str] = []

    async def record(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return await httpx.ASGITransport(app=app).handle_async_request(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as http:
        connection = app.connection(SITE, confluence_url="https://wiki.test/confluence")
        client = JsmClient(http, connection, retry=RetryPolicy(max_attempts=1))
        assert await confluence_page(client, "8786177") is not None
    assert seen == ["https://wiki.test/confluence/rest/api/content/8786177?expand=body.view%2Cspace"]
