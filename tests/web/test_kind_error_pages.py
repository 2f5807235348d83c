"""The error boundary's four kinds of page, the signed-in header on them, and the error id: shown only
where it helps, the request's id when there is one, and never lost to a broken session store."""

from __future__ import annotations

import re

import pytest
from starlette.requests import Request

from deskgate.errors import DeskgateError
from deskgate.services import Services
from deskgate.sessions.store import SessionRecord
from deskgate.web.errors import error_id_of
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio

ERROR_ID = re.compile(r'class="error-id">([^<]+)<')


def _request(path: str, state: dict[str, object] | None = None) -> Request:
    scope: dict[str, object] = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "headers": [],
    }
    if state is not None:
        scope["state"] = state
    return Request(scope)


async def test_the_id_is_shown_for_failures_on_our_side_and_sign_ins_only(db_url: str) -> None:
    async with running_app(db_url) as (client, _):
        not_found = await client.get("/portal/no-such-page")
        sign_in = await client.get("/plugins/servlet/oauth/callback?state=forged&code=x")
        console = await client.get("/admin/no-such-page")
    assert not_found.status_code == 404 and not ERROR_ID.search(not_found.text)
    assert 'data-kind="not_found"' in not_found.text
    assert sign_in.status_code == 400 and ERROR_ID.search(sign_in.text)
    assert 'data-kind="sign_in"' in sign_in.text and 'href="/login"' in sign_in.text
    assert 'href="/portal">Back to the help center' in not_found.text
    assert 'href="/admin/">Back to the console' in console.text


def test_the_error_id_is_the_request_id_when_the_request_has_one() -> None:
    exc = DeskgateError("boom")
    assert error_id_of(exc, _request("/x", {"request_id": "req-42"})) == "req-42"
    assert error_id_of(exc) == "req-42"  # the same failure keeps its id
    fresh = DeskgateError("boom")
    assert re.fullmatch(r"[0-9a-f]{12}", error_id_of(fresh, _request("/x")))
    # An id given earlier (the audit log's) wins over the request's.
    audited = DeskgateError("boom")
    audited.error_id = "audit-1"  # type: ignore[attr-defined]
    assert error_id_of(audited, _request("/x", {"request_id": "req-43"})) == "audit-1"


async def _customer(services: Services) -> str:
    session_id, _ = await services.sessions.start(
        idp="corp", subject="u1", email="ann@corp.test", display_name="Ann Lee", attributes={}
    )
    return session_id


async def test_a_signed_in_customer_sees_their_header_on_the_404_page(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        client.cookies.set("deskgate_session", await _customer(services))
        page = await client.get("/no-such-page")
    assert page.status_code == 404
    assert '<span class="who">Ann Lee</span>' in page.text and 'href="/logout"' in page.text


async def test_a_broken_session_store_leaves_the_error_page_standing(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_app(db_url) as (client, services):
        client.cookies.set("deskgate_session", await _customer(services))

        async def broken(session_id: str | None) -> SessionRecord | None:
            raise ConnectionError("the session store is down")

        monkeypatch.setattr(services.sessions, "resolve", broken)
        page = await client.get("/no-such-page")
    assert page.status_code == 404
    assert "We cannot find that page" in page.text and 'class="who"' not in page.text


async def test_an_unexpected_failure_is_a_500_page_with_the_id_in_the_log(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_app(db_url, raise_app_exceptions=False) as (client, services):

        async def boom(session_id: str | None) -> SessionRecord | None:
            raise RuntimeError("secret detail")

        # /account resolves the session first: a bug there is an unexpected failure.
        services.sessions.resolve = boom  # type: ignore[method-assign]
        page = await client.get("/account")
    assert page.status_code == 500
    found = ERROR_ID.search(page.text)
    assert found and "secret detail" not in page.text
    assert f"error_id={found.group(1)}" in caplog.text and "secret detail" in caplog.text


async def test_the_help_desk_unavailable_page_keeps_the_customers_header(db_url: str) -> None:
    async with running_app(db_url) as (client, services):  # no JSM connection configured
        client.cookies.set("deskgate_session", await _customer(services))
        page = await client.get("/portal")
    assert page.status_code == 503 and 'data-kind="server"' in page.text
    assert '<span class="who">Ann Lee</span>' in page.text and ERROR_ID.search(page.text)
