"""Request bodies held to their limits in the running app: refused while they stream in, before a route or
Starlette's form parser reads past the limit, with the app's own error page (or JSON) and an error id.

Bodies come from `Body`, an async generator that counts what the app pulled from it: "refused after at
most the limit" is asserted on what left the client, not on what the route happened to keep."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest

from deskgate.jsm.emulator import create_emulator
from deskgate.services import BACKCHANNEL_LOGOUT_PATH, CALLBACK_PATH, FRONTCHANNEL_LOGOUT_PATH
from deskgate.settings import Settings
from deskgate.web.body_limits import Limits
from deskgate.web.portal.common import MAX_FILE_BYTES, MAX_FILES
from tests.portal_web.conftest import SITE, Rig
from tests.support.admin import ADMIN_PASSWORD, ADMIN_USER, create_admin, csrf_token
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio

CHUNK = 64 * 1024
LIMITS = Limits.from_settings(Settings(secret_key="x" * 32))
FORM = {"content-type": "application/x-www-form-urlencoded"}
BOUNDARY = "deskgate-test-boundary"
ERROR_ID = re.compile(r'<code class="error-id">([0-9a-f]{12,32})</code>')


class Body:
    """`size` bytes streamed in CHUNK pieces after `head`, counting what the app pulled (`pulled`).

    It refuses to go past `limit` + two chunks: without a working limit the test fails at once instead of
    pushing hundreds of megabytes through the form parser."""

    def __init__(self, size: int, *, limit: int, head: bytes = b"") -> None:
        self.size, self.head, self.tripwire, self.pulled = size, head, limit + 2 * CHUNK, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        pieces = [self.head] if self.head else []
        while self.pulled < self.size:
            piece = pieces.pop() if pieces else b"x" * min(CHUNK, self.size - self.pulled)
            assert self.pulled + len(piece) <= self.tripwire, f"the app read past {self.pulled} bytes"
            self.pulled += len(piece)
            yield piece


@pytest.fixture
async def portal(db_url: str) -> AsyncIterator[Rig]:
    """Deskgate with a connected JSM (the emulator): the create route reads its form only for a customer
    with a session, on a desk that exists."""
    jsm = create_emulator("cloud")
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=jsm)) as jsm_http,
        running_app(db_url, idp_http=jsm_http, jsm=jsm.connection(SITE)) as (client, services),
    ):
        yield Rig(jsm, services, client, client._transport)


async def test_an_anonymous_endpoint_refuses_300_mb_having_read_at_most_its_limit(db_url: str) -> None:
    body = Body(300 * 1024 * 1024, limit=LIMITS.anonymous)
    async with running_app(db_url) as (client, _):
        answer = await client.post(BACKCHANNEL_LOGOUT_PATH, content=body, headers=FORM)
    assert answer.status_code == 413
    assert body.pulled <= LIMITS.anonymous + CHUNK  # the generator was far from drained


async def test_a_1_gib_upload_is_refused_having_read_at_most_the_upload_limit(portal: Rig) -> None:
    customer = await portal.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="summary"\r\n\r\nBig file\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachment"; filename="huge.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body = Body(1024**3, limit=LIMITS.upload, head=head)
    before = len(portal.jsm.store.issues)
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    answer = await customer.browser.post("/portal/1/create/2", content=body, headers=headers)
    assert answer.status_code == 413, answer.text
    assert "at most 5 files" in answer.text  # the upload forms' own message
    assert LIMITS.upload < body.pulled <= LIMITS.upload + CHUNK
    assert len(portal.jsm.store.issues) == before


async def test_a_content_length_over_the_limit_is_refused_unread(db_url: str) -> None:
    limits = {
        CALLBACK_PATH: LIMITS.anonymous,
        BACKCHANNEL_LOGOUT_PATH: LIMITS.anonymous,
        FRONTCHANNEL_LOGOUT_PATH: LIMITS.anonymous,
        "/logout": LIMITS.anonymous,
        "/admin/login": LIMITS.anonymous,
        "/admin/setup/some-token": LIMITS.anonymous,
        "/portal/1/create/2": LIMITS.upload,
        "/admin/backup/import": LIMITS.config_import,
        "/admin/idps/corp/mapping": LIMITS.form,
    }
    async with running_app(db_url) as (client, _):
        for path, limit in limits.items():
            body = Body(limit + 1, limit=limit)
            length = {"content-length": str(limit + 1)}
            answer = await client.post(path, content=body, headers={**FORM, **length})
            assert answer.status_code == 413, path
            assert body.pulled == 0, path
            assert answer.headers["connection"] == "close", path  # the server need not read the rest


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
async def test_a_sign_in_of_exactly_the_limit_succeeds_and_one_byte_more_is_refused(
    db_url: str, framing: str
) -> None:
    async with running_app(db_url) as (client, services):
        await create_admin(services)
        token = csrf_token((await client.get("/admin/login")).text)
        fields = urlencode({"csrf_token": token, "username": ADMIN_USER, "password": ADMIN_PASSWORD})
        exact = f"{fields}&pad=".encode()
        exact += b"x" * (LIMITS.anonymous - len(exact))

        async def post(content: bytes) -> httpx.Response:
            async def stream() -> AsyncIterator[bytes]:
                for start in range(0, len(content), 1000):
                    yield content[start : start + 1000]

            length = {"content-length": str(len(content))} if framing == "content-length" else {}
            return await client.post("/admin/login", content=stream(), headers={**FORM, **length})

        over = await post(exact + b"x")
        signed_in = await post(exact)
    assert over.status_code == 413
    assert signed_in.status_code == 303, signed_in.text
    assert "deskgate_admin" in signed_in.headers["set-cookie"]


async def test_the_refusal_is_the_error_page_for_browsers_and_json_for_api_callers(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    too_much = b"x" * (LIMITS.anonymous + 1)
    caplog.set_level(logging.WARNING, logger="deskgate.web")
    async with running_app(db_url) as (client, _):
        page = await client.post("/admin/login", content=too_much, headers={**FORM, "accept": "text/html"})
        api = await client.post(
            BACKCHANNEL_LOGOUT_PATH, content=too_much, headers={**FORM, "accept": "application/json"}
        )
    assert page.status_code == 413
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["x-frame-options"] == "DENY"  # inside the security headers, like every page
    assert "This request is too large." in page.text
    found = ERROR_ID.search(page.text)
    assert found, page.text
    assert any(found.group(1) in line and "413" not in line for line in caplog.messages)  # id in the log
    assert api.status_code == 413
    assert api.headers["content-type"] == "application/json"
    assert api.json()["error"] == "This request is too large."
    assert re.fullmatch(r"[0-9a-f]{12,32}", api.json()["error_id"])


async def test_the_largest_upload_the_route_takes_passes_and_a_larger_one_does_not(portal: Rig) -> None:
    customer = await portal.sign_in("bob-sub", "bob@example.com", "Bob Brown")
    token = await customer.csrf("/portal/1/create/1")
    form = {"csrf_token": token, "summary": "Five big logs"}
    largest = [("attachment", (f"{n}.log", b"y" * MAX_FILE_BYTES, "text/plain")) for n in range(MAX_FILES)]
    larger = [("attachment", ("all.log", b"y" * LIMITS.upload, "text/plain"))]
    taken = await customer.browser.post("/portal/1/create/1", data=form, files=largest)
    refused = await customer.browser.post("/portal/1/create/1", data=form, files=larger)
    assert taken.status_code == 303, taken.text[:500]
    issue = portal.jsm.store.issues[-1]
    assert issue.summary == "Five big logs" and len(issue.attachments) == MAX_FILES
    assert refused.status_code == 413
