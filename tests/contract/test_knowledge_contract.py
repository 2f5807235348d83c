"""The knowledge base calls held to their contracts, client and emulator together, on both flavours.

JSM's article searches are in the vendored service desk spec (validated with the same amended spec and
transport as every other call, `test_jsm_emulator_contract`). The Confluence page is not: its contract
here is written from Atlassian's current documentation, the fields Deskgate reads and the emulator sends,
with the source of each:
- Cloud: Confluence REST API v2, "Get page by id", GET /wiki/api/v2/pages/{id}?body-format=view
  (https://developer.atlassian.com/cloud/confluence/rest/v2/api-group-page/#api-pages-id-get).
- Data Center: Confluence REST API, GET /rest/api/content/{id}?expand=body.view,space
  (https://docs.atlassian.com/ConfluenceServer/rest/latest/#api/content-getContentById).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from openapi_core import OpenAPI
from werkzeug.datastructures import Headers

from deskgate.jsm import JsmClient, RetryPolicy
from deskgate.jsm.emulator import EmulatorApp, create_emulator
from deskgate.jsm.emulator.knowledge import CONFLUENCE_PREFIX
from deskgate.jsm.knowledge import confluence_page, search_articles
from tests.contract.test_jsm_emulator_contract import (
    AUTH,
    SITE,
    Contract,
    HttpxOpenAPIRequest,
    HttpxOpenAPIResponse,
)

pytestmark = pytest.mark.anyio
_STRING = {"type": "string"}
_VIEW = {
    "type": "object",
    "required": ["value", "representation"],
    "properties": {"value": _STRING, "representation": {"type": "string", "enum": ["view"]}},
}
_NOT_FOUND = {"description": "no such page, or one the caller may not see"}


def _page_operation(operation_id: str, query: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "get": {
            "operationId": operation_id,
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                {"name": query, "in": "query", "schema": _STRING},
            ],
            "responses": {
                "200": {"description": "the page", "content": {"application/json": {"schema": body}}},
                "401": {"description": "not authenticated"},
                "404": _NOT_FOUND,
            },
            "security": AUTH,
        }
    }


CLOUD_PAGE = {
    "type": "object",
    "required": ["id", "title", "body"],
    "properties": {
        "id": _STRING,
        "status": _STRING,
        "title": _STRING,
        "spaceId": _STRING,
        "body": {"type": "object", "properties": {"view": _VIEW}},
        "_links": {"type": "object"},
    },
}
DATACENTER_PAGE = {
    "type": "object",
    "required": ["id", "type", "title"],
    "properties": {
        "id": _STRING,
        "type": _STRING,
        "status": _STRING,
        "title": _STRING,
        "space": {"type": "object", "required": ["key"], "properties": {"key": _STRING, "name": _STRING}},
        "body": {"type": "object", "properties": {"view": _VIEW}},
        "_links": {"type": "object"},
    },
}


@functools.cache
def confluence_spec() -> OpenAPI:
    schemes = {
        "basicAuth": {"type": "http", "scheme": "basic"},
        "bearerAuth": {"type": "http", "scheme": "bearer"},
    }
    return OpenAPI.from_dict(
        {
            "openapi": "3.0.1",
            "info": {"title": "Confluence page (the fields Deskgate uses)", "version": "1"},
            "servers": [{"url": SITE}],
            "paths": {
                "/wiki/api/v2/pages/{id}": _page_operation("getPageById", "body-format", CLOUD_PAGE),
                CONFLUENCE_PREFIX + "/rest/api/content/{id}": _page_operation(
                    "getContentById", "expand", DATACENTER_PAGE
                ),
            },
            "components": {"securitySchemes": schemes},
        }
    )


class Validating(httpx.AsyncBaseTransport):
    def __init__(self, app: EmulatorApp, contract: Contract) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.contract = contract
        self.confluence: list[tuple[str, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        response = await self.inner.handle_async_request(request)
        data = await response.aread()
        if request.url.path.startswith("/rest/servicedeskapi/"):
            self.contract.check(request, body, response, data)
        else:
            wrapped = HttpxOpenAPIRequest(request, request.url.path, body or None)
            confluence_spec().validate_request(wrapped)
            answer = HttpxOpenAPIResponse(response.status_code, Headers(list(response.headers.items())), data)
            confluence_spec().validate_response(wrapped, answer)
            self.confluence.append((request.url.path, response.status_code))
        return httpx.Response(response.status_code, headers=response.headers, content=data, request=request)


@pytest.fixture(params=["cloud", "datacenter"])
async def checked(request: pytest.FixtureRequest) -> AsyncIterator[tuple[JsmClient, Validating]]:
    app = create_emulator(request.param, page_cap=2)
    transport = Validating(app, Contract(request.param))
    async with httpx.AsyncClient(transport=transport) as http:
        overrides = {} if request.param == "cloud" else {"confluence_url": SITE + CONFLUENCE_PREFIX}
        connection = app.connection(SITE, **overrides)
        yield JsmClient(http, connection, retry=RetryPolicy(max_attempts=1)), transport


async def test_article_searches_and_pages_keep_their_contracts(checked: tuple[JsmClient, Validating]) -> None:
    client, transport = checked
    assert await search_articles(client, "password", desk_id="1")
    assert await search_articles(client, "laptop holidays")
    assert await search_articles(client, "nothing matches zzz", desk_id="3") == ()
    assert await confluence_page(client, "8786177") is not None
    assert await confluence_page(client, "8786181") is None  # 404, held to the contract too
    assert transport.contract.validated == {"getArticles", "getArticles_again"}
    assert [status for _, status in transport.confluence] == [200, 404]
