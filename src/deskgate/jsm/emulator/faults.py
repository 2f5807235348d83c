"""Fault injection: slowness and failures on demand, in process (`app.faults`) or over HTTP
(`GET|PUT|DELETE /__emulator__/faults` with the fields of `FaultPlan` as JSON).

Counted faults (`rate_limits`, `server_errors`, `timeouts`, `fail_after_commit`) each hit the next N
matching API calls, in that order of precedence, and then stop by themselves. `path` and `method`
narrow which calls match (a substring of the path; an HTTP method).

`search_lag_seconds` and `unicode_word_breaks` are not faults but how Jira's search index behaves. It is
eventually consistent: an issue created or changed shows in (or drops out of) JQL search only that long
after the change (by the emulator's clock, see `create_emulator(clock=…)`); 0, the default, is an index
that is always current. And it splits text into words by Unicode's rules (`analysis`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

ADMIN_PREFIX = "/__emulator__"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class FaultPlan:
    latency_ms: int = 0  # added to every API call (benchmarks: 100)
    rate_limits: int = 0  # the next N matching calls answer 429 …
    retry_after: str | None = "1"  # … with this Retry-After (seconds or an HTTP date; None: no header)
    server_errors: int = 0  # the next N matching calls answer `server_error_status`
    server_error_status: int = 503
    timeouts: int = 0  # the next N matching calls wait `timeout_seconds` before being handled
    timeout_seconds: float = 30.0
    fail_after_commit: int = 0  # the next N matching writes are carried out, then answered …
    fail_after_commit_status: int = 504  # … with this status
    path: str | None = None
    method: str | None = None
    search_lag_seconds: float = 0.0  # JQL search sees an issue as it was this long ago (not at all if newer)
    # True: `text ~` splits words as Jira does (`analysis.words`: "[deskgate:a3f]" is the one word
    # "deskgate:a3f"); False: on anything but a-z0-9, the emulator's former, too kind analysis.
    unicode_word_breaks: bool = True

    def update(self, values: dict[str, Any]) -> None:
        """Set the named fields (ValueError for an unknown name or a wrong type)."""
        known = {f.name: f for f in dataclasses.fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown fault setting {name!r}; known: {', '.join(sorted(known))}")
            current = getattr(self, name)
            wrong_type = value is not None and current is not None and not isinstance(value, type(current))
            if wrong_type and not (isinstance(current, float) and isinstance(value, int)):
                raise ValueError(f"{name}: expected {type(current).__name__}")
            setattr(self, name, value)

    def reset(self) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, f.default)

    def matches(self, method: str, path: str) -> bool:
        return (self.path is None or self.path in path) and (self.method is None or self.method == method)

    def take(self, counter: str) -> bool:
        left = int(getattr(self, counter))
        if left > 0:
            setattr(self, counter, left - 1)
            return True
        return False


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, list[Any]]:
    body = json.dumps({"errorMessage": message, "i18nErrorMessage": {"i18nKey": "", "parameters": []}})
    pairs = [(b"content-type", b"application/json")]
    pairs += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return status, body.encode(), pairs


async def _answer(send: Send, answer: tuple[int, bytes, list[Any]]) -> None:
    status, body, headers = answer
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class FaultMiddleware:
    """Applies a FaultPlan to every API call (the admin endpoints are exempt)."""

    def __init__(self, app: Asgi, plan: FaultPlan, calls: list[tuple[str, str]]) -> None:
        self.app = app
        self.plan = plan
        self.calls = calls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        self.calls.append((method, path))
        plan = self.plan
        if plan.latency_ms:
            await asyncio.sleep(plan.latency_ms / 1000)
        if plan.matches(method, path):
            if plan.take("rate_limits"):
                headers = {"Retry-After": plan.retry_after} if plan.retry_after is not None else {}
                await _answer(send, _error(429, "Rate limit exceeded.", headers))
                return
            if plan.take("server_errors"):
                await _answer(send, _error(plan.server_error_status, "The server failed (injected fault)."))
                return
            if plan.take("timeouts"):
                await asyncio.sleep(plan.timeout_seconds)
            if method != "GET" and plan.take("fail_after_commit"):
                await self._commit_then_fail(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _commit_then_fail(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)
        status = self.plan.fail_after_commit_status
        await _answer(send, _error(status, "The server failed (injected after the change was made)."))
