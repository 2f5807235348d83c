"""One HTTP client serves every customer's calls to JSM and the IdPs: a cookie set in answer to one call
must not go along with the next (httpx's client keeps and sends them by default)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from deskgate.security.back_channel import AiohttpTransport, BackChannelClient
from deskgate.services import build_services
from deskgate.settings import Settings
from tests.support.databases import migrated

pytestmark = pytest.mark.anyio


def recording() -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            headers=[
                ("Set-Cookie", "JSESSIONID=customer-a-session; Path=/"),
                ("Set-Cookie", "atlassian.xsrf.token=abc; Path=/; Secure"),
            ],
            json={},
        )

    return httpx.MockTransport(answer), seen


@pytest.mark.parametrize("client_class", [BackChannelClient, httpx.AsyncClient])
async def test_a_cookie_an_answer_sets_goes_with_no_later_call(client_class: type[httpx.AsyncClient]) -> None:
    transport, seen = recording()
    async with client_class(transport=transport) as client:
        await client.get("https://jsm.example.com/rest/servicedeskapi/request?customer=a")
        await client.get("https://jsm.example.com/rest/servicedeskapi/request?customer=b")
        await client.post("https://idp.example.com/token", data={"code": "x"})
    sent = [request.headers.get("cookie") for request in seen]
    if client_class is httpx.AsyncClient:  # what the plain client does, and why it is not used
        assert sent[1] is not None and "customer-a-session" in sent[1]
    else:
        assert sent == [None, None, None]
        assert not client.cookies


async def test_nothing_can_put_a_cookie_in_it() -> None:
    transport, seen = recording()
    async with BackChannelClient(transport=transport) as client:
        client.cookies.set("planted", "1", domain="jsm.example.com")
        with pytest.raises(TypeError, match="no cookies"):
            client.cookies = {"planted": "1"}
        await client.get("https://jsm.example.com/rest/api/2/myself")
    assert seen[0].headers.get("cookie") is None


async def test_the_services_call_out_with_it_on_aiohttp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'deskgate.db'}"
    async with migrated(url):
        pass
    services = await build_services(
        Settings(secret_key="back-channel-test-secret-key-0123456789", database_url=url)
    )
    try:
        assert isinstance(services.http, BackChannelClient)
        assert isinstance(services.http._transport, AiohttpTransport)
    finally:
        await services.aclose()
