"""The emulator's own answers, straight over HTTP: a path that names nothing is JSM's 404 (errorMessage and
i18nErrorMessage), and paged lists are JSM's PagedDTO with the query's start and limit, capped silently."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from deskgate.jsm.emulator import EmulatorApp, create_emulator

pytestmark = pytest.mark.anyio
SITE = "https://jsm.test"
SD = f"{SITE}/rest/servicedeskapi"


@dataclass
class Site:
    app: EmulatorApp
    http: httpx.AsyncClient

    def headers(self) -> dict[str, str]:
        opt_in = self.app.connection(SITE).flavour.experimental_header
        return {**self.app.connection(SITE).auth_headers(), "X-ExperimentalApi": opt_in}

    async def get(self, url: str) -> httpx.Response:
        return await self.http.get(url, headers=self.headers())


@pytest.fixture(params=["cloud", "datacenter"])
async def site(request: pytest.FixtureRequest) -> AsyncIterator[Site]:
    app = create_emulator(request.param, page_cap=2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        yield Site(app, http)


def assert_jsm_error(answer: httpx.Response, status: int, message: str) -> None:
    assert answer.status_code == status
    body = answer.json()
    assert body["errorMessage"] == message
    assert body["i18nErrorMessage"]["parameters"] == []


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("GET", f"{SD}/servicedesk/99", "The service desk does not exist."),
        ("GET", f"{SD}/servicedesk/99/requesttypegroup", "The service desk does not exist."),
        ("GET", f"{SD}/servicedesk/99/requesttype", "The service desk does not exist."),
        ("GET", f"{SD}/servicedesk/1/requesttype/99/field", "The request type does not exist."),
        ("GET", f"{SD}/servicedesk/99/customer", "The service desk does not exist."),
        ("POST", f"{SD}/servicedesk/99/customer", "The service desk does not exist."),
        ("POST", f"{SD}/servicedesk/99/attachTemporaryFile", "The service desk does not exist."),
        ("GET", f"{SD}/request/ITH-999", "The request does not exist."),
        ("GET", f"{SD}/request/ITH-999/participant", "The request does not exist."),
        ("GET", f"{SD}/request/ITH-999/comment", "The request does not exist."),
        ("POST", f"{SD}/request/ITH-999/comment", "The request does not exist."),
        ("GET", f"{SD}/request/ITH-999/attachment", "The request does not exist."),
        ("POST", f"{SD}/request/ITH-999/attachment", "The request does not exist."),
        ("GET", f"{SD}/request/ITH-1/comment/99999/attachment", "The comment does not exist."),
        ("POST", f"{SD}/organization/99/user", "The organization does not exist."),
        (
            "GET",
            f"{SITE}/servicedesk/customershim/secure/attachment/99999/x.txt",
            "The attachment does not exist.",
        ),
    ],
)
async def test_a_path_that_names_nothing_is_jsms_404(
    site: Site, method: str, path: str, message: str
) -> None:
    # Paging and body are wrong too: the missing resource is what the answer reports.
    answer = await site.http.request(
        method, f"{path}?start=-1", headers={**site.headers(), "Content-Type": "text/plain"}, content=b"{"
    )
    assert_jsm_error(answer, 404, message)


async def test_an_experimental_path_refuses_before_it_looks_anything_up(site: Site) -> None:
    headers = site.app.connection(SITE).auth_headers()
    answer = await site.http.get(f"{SD}/servicedesk/99/customer", headers=headers)
    assert answer.status_code == 412


async def test_a_list_pages_with_start_and_a_silently_capped_limit(site: Site) -> None:
    first = (await site.get(f"{SD}/servicedesk/1/requesttype?limit=100")).json()
    assert (first["start"], first["limit"], first["size"], first["isLastPage"]) == (0, 2, 2, False)
    assert [t["id"] for t in first["values"]] == ["1", "2"]
    assert first["_links"]["next"] == f"{SD}/servicedesk/1/requesttype?start=2&limit=2"
    last = (await site.get(f"{SD}/servicedesk/1/requesttype?start=2&limit=100")).json()
    assert [t["id"] for t in last["values"]] == ["3", "4"] and last["isLastPage"] is True
    assert last["_links"]["prev"] == f"{SD}/servicedesk/1/requesttype?start=0&limit=2"


@pytest.mark.parametrize("query", ["start=-1", "limit=0", "start=x", "limit=1.5"])
async def test_bad_paging_is_jsms_400(site: Site, query: str) -> None:
    for path in ("servicedesk", "servicedesk/1/customer", "request/ITH-1/comment", "organization"):
        answer = await site.get(f"{SD}/{path}?{query}")
        assert answer.status_code == 400, path
        assert answer.json()["errorMessage"].startswith("start")
