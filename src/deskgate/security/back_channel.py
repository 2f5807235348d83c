"""The HTTP client Deskgate calls JSM and the identity providers with: httpx's, keeping no cookies, its
requests carried by aiohttp.

**No cookies.** `httpx.AsyncClient` keeps every cookie an answer sets and sends it with every later
request to that site. One client serves every customer, so a cookie JSM or an IdP set in answer to one
customer's call would go along with the next customer's: session state nobody asked for, shared between
customers, on a service account that can see everything. Nothing Deskgate calls needs a cookie (each
call carries its own credentials), so this client keeps none. It also skips urllib's cookie parsing,
which ran for every answer.

**aiohttp underneath.** httpx's own transport (httpcore, with the pure-Python h11 parser) cost about
twice the CPU per call of aiohttp's, whose parser is C (bench/README.md, "Fewer statements per write,
and the back channel on aiohttp"): a quarter of a busy worker went to it. `AiohttpTransport` sends
httpx's requests with aiohttp and hands back httpx responses, so everything above it (the JSM transport,
the OpenID Connect client, the timeouts) is unchanged. What it must keep exactly is the meaning of
httpx's errors, on which exactly-once delivery rests (`deskgate.jsm.transport`): `ConnectError`,
`ConnectTimeout` and `PoolTimeout` say the request never left, every other failure that it may have
reached the server. So only aiohttp's failures to connect map to the former; a connection dropped after
the request was written, a timeout while reading, and anything not known map to the latter (`_ERRORS`).
The third-party adapter `httpx-aiohttp` maps any `ClientConnectionError` (a dropped connection included)
to `ConnectTimeout`, which would have a write that JSM carried out sent again: hence this one.

aiohttp does not read proxies from the environment as httpx does (`HTTPS_PROXY`…): where one is set,
`back_channel_client` keeps httpx's own transport, which honours it.
"""

from __future__ import annotations

import contextlib
import ssl
import urllib.request
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import httpx

KEEPALIVE_SECONDS = 5.0  # httpx's default keep-alive expiry
MAX_CONNECTIONS = 100  # httpx's default; aiohttp keeps every idle one (no count cap as httpcore's 20)


class _NoCookies(httpx.Cookies):
    """An empty jar that keeps nothing an answer sets."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class BackChannelClient(httpx.AsyncClient):
    """`httpx.AsyncClient` whose cookie jar is always empty: each request carries only its own headers."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NoCookies()  # a new one each time: even a caller's `.set()` on it reaches no request

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("the back-channel client keeps no cookies")


def back_channel_client(*, timeout: float, headers: dict[str, str]) -> BackChannelClient:
    """The client of `build_services`: on aiohttp, unless the environment names a proxy."""
    transport = None if _environment_proxies() else AiohttpTransport()
    return BackChannelClient(timeout=timeout, headers=headers, follow_redirects=False, transport=transport)


def _environment_proxies() -> bool:
    return any(scheme in ("http", "https", "all") for scheme in urllib.request.getproxies())


# Most specific first: a ConnectionTimeoutError is a ServerTimeoutError too, a ClientConnectorError a
# ClientOSError. What the request may have reached the server by is never mapped to a "never sent" error.
_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),  # no connection within the pool/connect time
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # refused, unreachable, DNS, TLS refused
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientError, httpx.NetworkError),  # anything else: it may have been sent
)


def _mapped(exc: BaseException) -> type[httpx.TransportError] | None:
    for aiohttp_error, httpx_error in _ERRORS:
        if isinstance(exc, aiohttp_error):
            return httpx_error
    return None


@contextlib.contextmanager
def _httpx_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except (aiohttp.ClientError, TimeoutError) as exc:
        mapped = _mapped(exc) or httpx.ReadTimeout  # a bare TimeoutError: aiohttp's read deadline
        raise mapped(str(exc) or type(exc).__name__, request=request) from exc


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors(self._request):
            async for chunk in self._response.content.iter_chunked(64 * 1024):
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx's requests sent by one aiohttp session: no cookies, no redirects, no decompression (httpx
    decodes), TLS verified against httpx's default trust store (`SSL_CERT_FILE` and `SSL_CERT_DIR` too)."""

    def __init__(self, *, verify: ssl.SSLContext | None = None) -> None:
        self._ssl = verify if verify is not None else httpx.create_ssl_context()
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                ssl=self._ssl, limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                trust_env=False,
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # The whole body first (Deskgate's uploads are in memory already): sent with its length, never
        # chunked, as httpx would send it.
        body = await request.aread()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        headers = [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
        if body and not any(k.lower() == "content-length" for k, _ in headers):
            headers.append(("Content-Length", str(len(body))))
        timeout: dict[str, Any] = request.extensions.get("timeout", {})
        with _httpx_errors(request):
            response = await self._client().request(
                request.method,
                str(request.url),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("latin-1", "replace")
        return httpx.Response(
            response.status,
            headers=list(response.raw_headers),
            stream=_Body(response, request),
            request=request,
            extensions=extensions,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
