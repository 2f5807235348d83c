"""/metrics moves when the portal works: JSM calls by endpoint name and status class (against the
emulator), retries, rate-limit refusals, the outbox's depth and age, sessions; and the request id of a
portal page reaches JSM as X-Request-Id. /metrics itself is closed, or needs its token or network."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import update
from starlette.types import Receive, Scope, Send

from deskgate.jsm.emulator import EmulatorApp, create_emulator
from deskgate.store.models import SubmissionRow
from tests.portal_web.conftest import SITE, Rig
from tests.support.inprocess import running_app
from tests.support.metrics import BEARER, TOKEN, sample

pytestmark = pytest.mark.anyio


class RecordingJsm:
    """The emulator, noting the X-Request-Id of every call it gets."""

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app
        self.request_ids: list[str | None] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/__emulator__"):
            found = dict(scope["headers"]).get(b"x-request-id")
            self.request_ids.append(found.decode() if found is not None else None)
        await self.app(scope, receive, send)


@dataclass
class Watched:
    rig: Rig
    jsm: RecordingJsm

    async def metrics(self) -> str:
        answer = await self.rig.anonymous.get("/metrics", headers=BEARER)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/plain")
        return answer.text


@pytest.fixture
async def watched(db_url: str) -> AsyncIterator[Watched]:
    emulator = create_emulator("cloud")
    recording = RecordingJsm(emulator)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=recording)) as jsm_http,
        running_app(db_url, idp_http=jsm_http, jsm=emulator.connection(SITE), metrics_token=TOKEN) as (
            client,
            services,
        ),
    ):
        yield Watched(Rig(emulator, services, client, client._transport), recording)


async def test_a_portal_page_counts_its_jsm_calls_by_endpoint_and_sends_its_request_id(
    watched: Watched,
) -> None:
    customer = await watched.rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    before = await watched.metrics()
    watched.jsm.request_ids.clear()
    page = await customer.browser.get(
        "/portal/requests/ITH-1", headers={"X-Request-Id": "lb-0123456789abcdef"}
    )
    assert page.status_code == 200
    assert page.headers["x-request-id"] == "lb-0123456789abcdef"
    assert watched.jsm.request_ids and set(watched.jsm.request_ids) == {"lb-0123456789abcdef"}
    after = await watched.metrics()
    calls = "deskgate_jsm_calls_total"
    assert sample(after, calls, endpoint="get request", status="2xx") == (
        sample(before, calls, endpoint="get request", status="2xx") + 1
    )
    seconds = "deskgate_jsm_call_seconds_count"
    assert (
        sample(after, seconds, endpoint="get request") == sample(before, seconds, endpoint="get request") + 1
    )
    assert "ITH-1" not in after  # endpoint names, never paths
    missing = await customer.browser.get("/portal/requests/ITH-999")
    assert missing.status_code == 404
    last = await watched.metrics()
    assert sample(last, calls, endpoint="get request", status="4xx") == (
        sample(after, calls, endpoint="get request", status="4xx") + 1
    )


async def test_a_retry_and_a_refused_comment_are_counted(
    watched: Watched, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await watched.rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    before = await watched.metrics()
    watched.rig.jsm.faults.update(
        {"rate_limits": 1, "retry_after": "0", "path": "/request/ITH-1", "method": "GET"}
    )
    page = await customer.browser.get("/portal/requests/ITH-1")
    assert page.status_code == 200
    monkeypatch.setattr(watched.rig.services.settings, "comment_limit", 1)
    token = await customer.csrf("/portal/requests/ITH-1")
    answers = [
        await customer.browser.post(
            "/portal/requests/ITH-1/comment", data={"csrf_token": token, "body": f"Hi {n}"}
        )
        for n in range(2)
    ]
    assert [a.status_code for a in answers] == [303, 429]
    after = await watched.metrics()
    assert sample(after, "deskgate_jsm_retries_total", endpoint="get request") == (
        sample(before, "deskgate_jsm_retries_total", endpoint="get request") + 1
    )
    calls = "deskgate_jsm_calls_total"
    assert sample(after, calls, endpoint="get request", status="4xx") == (
        sample(before, calls, endpoint="get request", status="4xx") + 1  # the 429
    )
    refusals = "deskgate_rate_limit_refusals_total"
    assert sample(after, refusals, limit="comments") == sample(before, refusals, limit="comments") + 1
    assert sample(after, refusals, limit="submissions") == sample(before, refusals, limit="submissions")


async def test_the_outbox_and_sessions_are_read_when_scraped(watched: Watched) -> None:
    empty = await watched.metrics()
    assert sample(empty, "deskgate_outbox_depth") == 0
    assert sample(empty, "deskgate_outbox_oldest_seconds") == 0
    assert sample(empty, "deskgate_sessions_active") == 0
    customer = await watched.rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    token = await customer.csrf("/portal/1/create/1")
    watched.rig.jsm.faults.update(
        {"server_errors": 5, "path": "/rest/servicedeskapi/request", "method": "POST"}
    )
    stored = await customer.browser.post(
        "/portal/1/create/1", data={"csrf_token": token, "summary": "VPN down"}
    )
    assert stored.status_code == 303
    async with watched.rig.services.db.begin() as db:  # as if it had waited ten minutes
        await db.execute(update(SubmissionRow).values(created_at=datetime.now(UTC) - timedelta(minutes=10)))
    waiting = await watched.metrics()
    assert sample(waiting, "deskgate_outbox_depth") == 1
    assert 600 <= sample(waiting, "deskgate_outbox_oldest_seconds") < 660
    assert sample(waiting, "deskgate_sessions_active") == 1
    await watched.rig.services.sessions.end_idp("corp")
    assert sample(await watched.metrics(), "deskgate_sessions_active") == 0


# --- who may read /metrics ------------------------------------------------------------------------


async def test_metrics_are_closed_when_neither_token_nor_network_is_set(db_url: str) -> None:
    async with running_app(db_url) as (client, _):
        answer = await client.get("/metrics")
        assert answer.status_code == 404
        assert "deskgate_" not in answer.text


async def test_the_token_is_needed_and_checked(db_url: str) -> None:
    async with running_app(db_url, metrics_token=TOKEN) as (client, _):
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer " + TOKEN[:-1] + "x"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        assert (await client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})).status_code == 401
        allowed = await client.get("/metrics", headers=BEARER)
        assert allowed.status_code == 200 and "deskgate_sign_ins" in allowed.text
        assert TOKEN not in allowed.text


async def test_the_network_allow_list_is_checked(db_url: str) -> None:
    async with running_app(db_url, client_ip="192.0.2.7", metrics_allow_networks=["10.0.0.0/8"]) as (
        client,
        _,
    ):
        assert (await client.get("/metrics")).status_code == 403
    async with running_app(db_url, client_ip="10.1.2.3", metrics_allow_networks=["10.0.0.0/8"]) as (
        client,
        _,
    ):
        assert (await client.get("/metrics")).status_code == 200


async def test_with_both_set_a_scrape_needs_both(db_url: str) -> None:
    both: dict[str, Any] = {"metrics_token": TOKEN, "metrics_allow_networks": ["10.0.0.0/8"]}
    async with running_app(db_url, client_ip="192.0.2.7", **both) as (client, _):
        assert (await client.get("/metrics", headers=BEARER)).status_code == 403
    async with running_app(db_url, client_ip="10.1.2.3", **both) as (client, services):
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers=BEARER)).status_code == 200
        assert isinstance(services.settings.metrics_token, SecretStr)
        assert TOKEN not in repr(services.settings)
