"""The back channel's aiohttp transport keeps httpx's meaning, checked side by side with httpx's own
transport against real sockets: the same answers, the same bodies and headers on the wire, TLS verified,
no cookie kept, no redirect followed, and above all the same errors. Exactly-once delivery rests on them:
`ConnectError`/`ConnectTimeout`/`PoolTimeout` say a request never left, and only a failure to connect may
map to one of those."""

from __future__ import annotations

import asyncio
import gzip
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from deskgate.security.back_channel import (
    AiohttpTransport,
    BackChannelClient,
    back_channel_client,
)
from tests.support.tls import loopback_certificate

pytestmark = pytest.mark.anyio
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, list[bytes]], Awaitable[None]]
TransportFor = Callable[[ssl.SSLContext | None], httpx.AsyncBaseTransport]


def httpx_own(verify: ssl.SSLContext | None) -> httpx.AsyncBaseTransport:
    return httpx.AsyncHTTPTransport(verify=verify if verify is not None else True)


def ours(verify: ssl.SSLContext | None) -> httpx.AsyncBaseTransport:
    return AiohttpTransport(verify=verify)


@pytest.fixture(params=[httpx_own, ours], ids=["httpx", "aiohttp"])
def transport_for(request: pytest.FixtureRequest) -> TransportFor:
    return request.param  # type: ignore[no-any-return]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head + (await reader.readexactly(length) if length else b"")


def answer(status: str, body: bytes = b"", *headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@asynccontextmanager
async def server(
    handler: Handler, *, tls: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[str, list[bytes]]]:
    seen: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer, seen)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    listening = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}", seen
    finally:
        listening.close()


def replying(*answers: bytes) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: list[bytes]) -> None:
        for reply in answers:  # one connection, kept alive across the answers
            seen.append(await read_request(reader))
            writer.write(reply)
            await writer.drain()

    return handler


async def test_a_refused_connection_is_a_request_that_never_left(transport_for: TransportFor) -> None:
    async with server(replying()) as (url, _):
        pass  # closed: nothing listens there any more
    async with httpx.AsyncClient(transport=transport_for(None)) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url + "/rest/servicedeskapi/request")


async def test_a_connection_dropped_after_the_request_is_not_a_request_that_never_left(
    transport_for: TransportFor,
) -> None:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: list[bytes]) -> None:
        seen.append(await read_request(reader))  # JSM got it, and may act on it …
        # … and the connection goes without an answer

    async with server(drop) as (url, seen), httpx.AsyncClient(transport=transport_for(None)) as client:
        with pytest.raises(httpx.TransportError) as raised:
            await client.post(url + "/rest/servicedeskapi/request", json={"summary": "once"})
    assert len(seen) == 1 and seen[0].endswith(b'{"summary":"once"}')
    assert not isinstance(raised.value, NOT_SENT)


async def test_no_answer_in_time_is_a_read_timeout(transport_for: TransportFor) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: list[bytes]) -> None:
        seen.append(await read_request(reader))
        await asyncio.sleep(5)

    async with (
        server(silent) as (url, seen),
        httpx.AsyncClient(transport=transport_for(None), timeout=httpx.Timeout(5.0, read=0.3)) as client,
    ):
        with pytest.raises(httpx.ReadTimeout):
            await client.post(url + "/rest/servicedeskapi/request", json={})
    assert len(seen) == 1


async def test_bodies_and_headers_reach_the_server_as_httpx_sends_them(transport_for: TransportFor) -> None:
    files = {"file": ("report.pdf", b"%PDF-1.4 \x00\xff" * 1000, "application/pdf")}
    async with (
        server(replying(answer("201 Created", b"{}"), answer("200 OK", b"{}"))) as (url, seen),
        httpx.AsyncClient(transport=transport_for(None)) as client,
    ):
        sent = await client.post(
            url + "/rest/servicedeskapi/servicedesk/1/attachTemporaryFile",
            files=files,
            headers={"X-Atlassian-Token": "no-check", "Authorization": "Basic Ym90OnRva2Vu"},
        )
        assert sent.status_code == 201
        await client.get(url + "/rest/servicedeskapi/info", headers={"User-Agent": "Deskgate/test"})
    upload, info = seen
    head, body = upload.split(b"\r\n\r\n", 1)
    lines = head.decode().lower().split("\r\n")
    assert lines[0] == "post /rest/servicedeskapi/servicedesk/1/attachtemporaryfile http/1.1"
    assert f"content-length: {len(body)}" in lines and "transfer-encoding: chunked" not in lines
    assert "x-atlassian-token: no-check" in lines and "authorization: basic ym90onrva2vu" in lines
    assert b"%PDF-1.4 \x00\xff" * 1000 in body and b'filename="report.pdf"' in body
    info_lines = info.decode().lower().split("\r\n")
    assert "user-agent: deskgate/test" in info_lines
    assert sum(line.startswith("accept:") for line in info_lines) == 1  # aiohttp adds none of its own
    assert sum(line.startswith("host:") for line in info_lines) == 1


async def test_answers_come_back_decoded_streamed_and_with_their_headers(transport_for: TransportFor) -> None:
    big = bytes(range(256)) * 4096  # 1 MiB, in many reads
    zipped = gzip.compress(b'{"values": ["gzipped"]}')
    async with (
        server(
            replying(
                answer("200 OK", zipped, "Content-Encoding: gzip", "Content-Type: application/json"),
                answer("200 OK", big, "Content-Type: application/octet-stream", "X-Seraph-LoginReason: OK"),
                answer("404 Not Found", b'{"errorMessage": "gone"}'),
            )
        ) as (url, _),
        httpx.AsyncClient(transport=transport_for(None)) as client,
    ):
        decoded = await client.get(url + "/a")
        assert decoded.json() == {"values": ["gzipped"]}
        async with client.stream("GET", url + "/b") as streamed:
            assert streamed.headers["x-seraph-loginreason"] == "OK"
            received = b"".join([chunk async for chunk in streamed.aiter_bytes()])
        assert received == big
        missing = await client.get(url + "/c")
        assert missing.status_code == 404 and missing.reason_phrase == "Not Found"


async def test_redirects_are_not_followed_and_cookies_not_kept() -> None:
    async with (
        server(
            replying(
                answer(
                    "302 Found",
                    b"",
                    "Location: https://evil.example/steal",
                    "Set-Cookie: JSESSIONID=a; Path=/",
                ),
                answer("200 OK", b"{}"),
            )
        ) as (url, seen),
        back_channel_client(timeout=5.0, headers={}) as client,
    ):
        assert isinstance(client._transport, AiohttpTransport)
        url = url.replace("127.0.0.1", "localhost")  # a host name: aiohttp's usual jar would keep its cookies
        moved = await client.get(url + "/rest/servicedeskapi/request?customer=a")
        assert moved.status_code == 302 and moved.headers["location"] == "https://evil.example/steal"
        await client.get(url + "/rest/servicedeskapi/request?customer=b")
    assert len(seen) == 2 and b"cookie:" not in seen[1].lower()


def test_a_proxy_in_the_environment_keeps_httpx_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    client = back_channel_client(timeout=5.0, headers={})
    assert isinstance(client, BackChannelClient) and not isinstance(client._transport, AiohttpTransport)
    monkeypatch.delenv("HTTPS_PROXY")
    for name in ("HTTP_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(back_channel_client(timeout=5.0, headers={})._transport, AiohttpTransport)


# --- TLS -------------------------------------------------------------------------------------------------


def certificate(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh self-signed certificate for 127.0.0.1, and a client context trusting
    exactly that certificate."""
    cert_file, key_file = loopback_certificate(tmp_path)
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert_file, key_file)
    return server_side, ssl.create_default_context(cafile=str(cert_file))


async def test_tls_is_verified_an_unknown_certificate_is_a_request_that_never_left(
    transport_for: TransportFor, tmp_path: Path
) -> None:
    server_side, trusting = certificate(tmp_path)
    async with server(replying(answer("200 OK", b"{}")), tls=server_side) as (url, seen):
        async with httpx.AsyncClient(transport=transport_for(None)) as client:  # the system's trust store
            with pytest.raises(httpx.ConnectError):
                await client.get(url + "/rest/servicedeskapi/info")
        assert seen == []
        async with httpx.AsyncClient(transport=transport_for(trusting)) as client:
            assert (await client.get(url + "/rest/servicedeskapi/info")).status_code == 200
    assert len(seen) == 1
