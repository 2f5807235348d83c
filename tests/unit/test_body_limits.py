"""`BodyLimits` on its own, around small ASGI apps: what a route sees of a body (never more than the limit,
all of it when it fits), and one 413 whatever the route does once the limit is hit; and the table that
gives each route its kind of limit, checked against the app's real routes."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deskgate.settings import load_settings
from deskgate.web import assets
from deskgate.web.app import create_app
from deskgate.web.body_limits import RULES, BodyLimitExceeded, BodyLimits, Limits, kind_of
from deskgate.web.context import TEMPLATES

pytestmark = pytest.mark.anyio

LIMITS = Limits(anonymous=100, form=200, upload=300, config_import=400)
TEMPLATES_FOR_TESTS = Jinja2Templates(directory=str(TEMPLATES))
assets.install(TEMPLATES_FOR_TESTS.env.globals, assets.StaticAssets.load())


class EchoRoute:
    """An app that reads the whole body (as a form parser would) and echoes it; records what it saw."""

    def __init__(self) -> None:
        self.seen = b""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async for chunk in Request(scope, receive).stream():
            self.seen += chunk
        await PlainTextResponse(self.seen)(scope, receive, send)


async def drive(
    app: ASGIApp, chunks: Sequence[bytes], *, path: str = "/admin/login", length: bool = False
) -> list[Message]:
    """One POST through BodyLimits around `app`; the messages the client got."""
    headers = [(b"content-length", str(sum(map(len, chunks))).encode())] if length else []
    scope: Scope = {
        "type": "http", "http_version": "1.1", "method": "POST", "scheme": "http", "path": path,
        "root_path": "", "query_string": b"", "headers": headers, "server": ("test", 80),
        "client": ("127.0.0.1", 5000),
    }  # fmt: skip
    pending = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    pending.append({"type": "http.request", "body": b"", "more_body": False})

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await BodyLimits(app, limits=LIMITS, templates=TEMPLATES_FOR_TESTS)(scope, receive, send)
    return sent


def statuses(sent: list[Message]) -> list[int]:
    return [m["status"] for m in sent if m["type"] == "http.response.start"]


@settings(deadline=None)  # the first example renders the error page's template for the first time
@given(
    path=st.sampled_from(["/admin/login", "/admin/jira/connection", "/portal/requests/K-1/comment"]),
    sizes=st.lists(st.integers(0, 150), max_size=6),
    length=st.booleans(),
)
async def test_the_route_sees_the_whole_body_or_at_most_the_limit_and_a_413(
    path: str, sizes: list[int], length: bool
) -> None:
    limit = LIMITS.of(kind_of("POST", path))
    chunks = [bytes([65 + n % 26]) * size for n, size in enumerate(sizes)]
    route = EchoRoute()
    sent = await drive(route, chunks, path=path, length=length)
    body = b"".join(chunks)
    if len(body) <= limit:
        assert statuses(sent) == [200]
        assert route.seen == body
    else:
        assert statuses(sent) == [413]
        assert body.startswith(route.seen) and len(route.seen) <= limit
        assert route.seen == b"" or not length  # an announced length over the limit: not a byte read


async def test_a_route_that_already_answered_is_cut_short_and_nothing_is_raised() -> None:
    read: list[bytes] = []

    async def streams_then_reads(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"begun", "more_body": True})
        read.append(await Request(scope, receive).body())  # raises out of the route: never appended

    sent = await drive(streams_then_reads, [b"x" * 80, b"x" * 80])
    assert read == []
    assert statuses(sent) == [200]  # no second start: the server cuts the connection
    assert sent[-1] == {"type": "http.response.body", "body": b"begun", "more_body": True}


async def test_a_route_that_catches_the_refusal_and_answers_still_gives_one_413() -> None:
    again: list[BaseException] = []

    async def catches_everything(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await Request(scope, receive).body()
        except Exception:
            try:
                await receive()  # and reads on: nothing more comes
            except BodyLimitExceeded as exc:
                again.append(exc)
            await PlainTextResponse("bad form", status_code=400)(scope, receive, send)

    sent = await drive(catches_everything, [b"x" * 80, b"x" * 80])
    assert statuses(sent) == [413]
    assert b"bad form" not in b"".join(m.get("body", b"") for m in sent)
    assert len(again) == 1


async def test_a_route_that_swallows_the_refusal_silently_still_gives_one_413() -> None:
    async def swallows(scope: Scope, receive: Receive, send: Send) -> None:
        with contextlib.suppress(BodyLimitExceeded):
            await Request(scope, receive).body()

    assert statuses(await drive(swallows, [b"x" * 101])) == [413]


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("POST", "/plugins/servlet/oauth/callback", "anonymous"),
        ("POST", "/plugins/servlet/oauth/backchannel-logout", "anonymous"),
        ("GET", "/plugins/servlet/oauth/logout", "anonymous"),
        ("POST", "/admin/setup/abc", "anonymous"),
        ("GET", "/portal/1/create/2", "anonymous"),  # a GET carries no form, whatever the route
        ("POST", "/portal/1/create/2", "upload"),
        ("POST", "/portal/requests/HD-1/comment", "upload"),
        ("POST", "/portal/requests/HD-1/comment/extra", "form"),
        ("POST", "/admin/backup/import", "config_import"),
        ("POST", "/admin/idps/corp/mapping", "form"),
        ("POST", "/no/such/route", "form"),
    ],
)
def test_each_request_gets_its_kind_of_limit(method: str, path: str, kind: str) -> None:
    assert kind_of(method, path) == kind


def test_every_rule_names_a_real_route() -> None:
    """A renamed route would otherwise quietly fall back to the form limit (an upload form refused)."""
    settings = load_settings(secret_key="k" * 32, database_url="sqlite:///unused.db")
    routes = [r for r in create_app(settings).routes if isinstance(r, Route)]
    for rule in RULES:
        assert any(
            r.path == rule.path and (rule.methods is None or rule.methods <= (r.methods or set()))
            for r in routes
        ), rule.path
