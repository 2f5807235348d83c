"""One call to JSM: authentication, timeouts, retries with backoff, and JSM's errors mapped to `errors`.

Retried: 429, 502, 503 and 504 answers and network failures, at most `RetryPolicy.max_attempts` tries,
waiting as `Retry-After` says (seconds or an HTTP date) or else an exponentially growing delay with
jitter. A `Retry-After` longer than `max_retry_after` is not waited for: the call fails at once with
`JsmRateLimited(retry_after=…)`, so a page never hangs and a background job can schedule itself.

Writes that must not happen twice (`idempotent=False`) are retried only when JSM surely did not act on
them: a 429 (JSM refuses before doing anything), or a connection that was never made (`ConnectError`,
`ConnectTimeout`, `PoolTimeout`: the request never left). Every other failure may follow a committed
write and fails with `JsmUnavailable(outcome_unknown=True)`: any 5xx (a 500 is often an error raised
*after* the issue was stored, e.g. by a listener or automation rule; a proxy's 502/504 says nothing of
what happened behind it), a timeout, or a connection dropped after the request was sent.

Only `Call`s of `deskgate.jsm.endpoints` can be sent, and each passes the `Firewall` first: a request that
fits none of the flavour's endpoints is refused before it leaves (`JsmRefused`), logged, and reported to
`on_refused`. Redirects are never followed: a URL that JSM sends back is not requested.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from deskgate.jsm.connection import JsmConnection
from deskgate.jsm.endpoints import Call, Endpoint
from deskgate.jsm.errors import (
    JsmAuthError,
    JsmBadRequest,
    JsmConflict,
    JsmError,
    JsmNotFound,
    JsmRateLimited,
    JsmUnavailable,
)
from deskgate.jsm.firewall import Firewall, Refusal, refused_error
from deskgate.observability import context, metrics

log = logging.getLogger("deskgate.jsm")
OnRefused = Callable[[Refusal], Awaitable[None]]

RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Failures where the request surely never reached JSM, so even a write may be sent again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.5  # seconds before the 2nd try; doubles with each further try
    max_delay: float = 8.0
    max_retry_after: float = 30.0  # a longer Retry-After fails the call instead of waiting
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    jitter: Callable[[], float] = field(default=random.random)  # in [0, 1)

    def backoff(self, attempt: int) -> float:
        """The wait after failed try number `attempt` (1-based): half fixed, half random."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return float(ceiling / 2 + self.jitter() * ceiling / 2)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date), None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_details(response: httpx.Response) -> tuple[str | None, dict[str, str]]:
    """JSM's errorMessage (service desk API) or errorMessages/errors (platform API) from an error answer."""
    try:
        body = response.json()
    except ValueError:
        return None, {}
    if not isinstance(body, Mapping):
        return None, {}
    message = body.get("errorMessage")
    messages = body.get("errorMessages")
    if not message and isinstance(messages, list) and messages:
        message = "; ".join(str(m) for m in messages)
    errors = body.get("errors")
    fields = {str(k): str(v) for k, v in errors.items()} if isinstance(errors, Mapping) else {}
    return (str(message) if message else None), fields


def error_for(response: httpx.Response, operation: str) -> JsmError:
    status = response.status_code
    message, fields = error_details(response)
    common: dict[str, Any] = {"status": status, "error_message": message, "operation": operation}
    if status == 400:
        return JsmBadRequest("JSM refused the input", field_errors=fields, **common)
    if status in (401, 403):
        what = "credentials were refused" if status == 401 else "permission denied"
        return JsmAuthError(f"the service account's {what}", **common)
    if status == 404:
        return JsmNotFound("not found", **common)
    if status == 409:
        return JsmConflict("conflict", **common)
    if status == 412:
        return JsmError("precondition failed (is X-ExperimentalApi sent?)", **common)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return JsmRateLimited(
            "rate limited", retry_after=retry_after, error_message=message, operation=operation
        )
    if status >= 500:
        return JsmUnavailable("JSM failed", **common)
    return JsmError("unexpected answer", **common)


class JsmTransport:
    """Sends requests to one JSM site as the service account, each through the firewall."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        connection: JsmConnection,
        retry: RetryPolicy,
        endpoints: Iterable[Endpoint],
        on_refused: OnRefused | None = None,
    ) -> None:
        self.http = http
        self.connection = connection
        self.retry = retry
        self.firewall = Firewall(connection.site_url, endpoints)
        self._on_refused = on_refused
        self._base_headers = {"Accept": "application/json", **connection.auth_headers()}

    def headers(
        self, *, experimental: bool = False, extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        headers = dict(self._base_headers)
        if experimental:
            headers["X-ExperimentalApi"] = self.connection.flavour.experimental_header
        if extra:
            headers.update(extra)
        # JSM's logs (and a proxy in front of it) can then be matched with Deskgate's for one request.
        request_id = context.current_request_id()
        if request_id is not None:
            headers["X-Request-Id"] = request_id
        return headers

    async def send(
        self,
        call: Call,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | AsyncIterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        experimental: bool = False,
        idempotent: bool = True,
        stream: bool = False,
    ) -> httpx.Response:
        """The successful (2xx/3xx) response, read unless `stream`; else the mapped JsmError."""
        operation = call.operation
        replayable = not (content is not None and not isinstance(content, bytes))
        request = self.http.build_request(
            call.method,
            self.connection.url(call.path),
            params=params,
            json=json,
            content=content,
            headers=self.headers(experimental=experimental, extra=headers),
            timeout=self.connection.timeout_seconds,
        )
        refusal = self.firewall.refusal(call, request)
        if refusal is not None:
            metrics.jsm_try(operation, "refused", None)
            await self._refuse(refusal, content)
        attempts = self.retry.max_attempts if replayable else 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            if attempt > 1:
                metrics.jsm_retry(operation)
            started = time.perf_counter()
            try:
                response = await self._attempt(request, stream=stream)
            except (httpx.TransportError, TimeoutError) as exc:
                metrics.jsm_try(operation, "error", time.perf_counter() - started)
                unknown = not isinstance(exc, _NOT_SENT)
                if last or (unknown and not idempotent):
                    raise JsmUnavailable(
                        f"no answer ({type(exc).__name__})",
                        operation=operation,
                        outcome_unknown=unknown and not idempotent,
                    ) from exc
                delay = self.retry.backoff(attempt)
                log.info(
                    "JSM %s: %s, try %d again in %.2fs", operation, type(exc).__name__, attempt + 1, delay
                )
                await self.retry.sleep(delay)
                continue
            metrics.jsm_try(
                operation, metrics.status_class(response.status_code), time.perf_counter() - started
            )
            if response.status_code < 400:
                return response
            await response.aread()
            await response.aclose()
            error = error_for(response, operation)
            if response.status_code >= 500 and not idempotent:
                assert isinstance(error, JsmUnavailable)
                error.outcome_unknown = True
                raise error
            if response.status_code not in RETRY_STATUSES:
                raise error
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if last or (retry_after is not None and retry_after > self.retry.max_retry_after):
                raise error
            delay = retry_after if retry_after is not None else self.retry.backoff(attempt)
            log.info(
                "JSM %s: HTTP %d, try %d again in %.2fs", operation, response.status_code, attempt + 1, delay
            )
            await self.retry.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _refuse(self, refusal: Refusal, content: object) -> None:
        log.error(
            "security: JSM firewall refused %s %r (%s): %s",
            refusal.method,
            refusal.target,
            refusal.operation,
            refusal.reason,
        )
        if isinstance(content, AsyncIterable) and hasattr(content, "aclose"):
            await content.aclose()
        if self._on_refused is not None:
            try:
                await self._on_refused(refusal)
            except Exception:  # the refusal stands even if it cannot be audited
                log.exception("security: the JSM firewall refusal could not be reported")
        raise refused_error(refusal)

    async def _attempt(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        # httpx times each phase; this bounds the whole try, on any transport (also in-process ones).
        async with asyncio.timeout(self.connection.timeout_seconds):
            response = await self.http.send(request, stream=True, follow_redirects=False)
            if stream and response.status_code < 400:
                return response
            try:
                await response.aread()
            except BaseException:
                await response.aclose()
                raise
            return response

    async def json(self, call: Call, **kwargs: Any) -> Any:
        response = await self.send(call, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise JsmError(
                "the answer is not JSON", status=response.status_code, operation=call.operation
            ) from exc
