"""A write that must not happen twice, against the emulator (Cloud and Data Center): every answer that may
follow a committed write reads as "outcome unknown" and is never retried by the transport; only a refusal
before JSM acted (429) or a connection never made is tried again."""

from __future__ import annotations

import httpx
import pytest

from deskgate.jsm import JsmClient, JsmUnavailable, RetryPolicy
from tests.jsm.conftest import SITE, Rig, user_id

pytestmark = pytest.mark.anyio
CREATE = "/rest/servicedeskapi/request"


def issues_titled(rig: Rig, summary: str) -> int:
    return sum(1 for issue in rig.app.store.issues if issue.summary == summary)


@pytest.mark.parametrize("status", [500, 501, 502, 503, 504])
async def test_any_5xx_after_a_committed_create_is_unknown_and_not_retried(rig: Rig, status: int) -> None:
    alice = await user_id(rig, "alice@example.com")
    rig.app.faults.update(
        {"fail_after_commit": 1, "fail_after_commit_status": status, "path": CREATE, "method": "POST"}
    )
    with pytest.raises(JsmUnavailable) as caught:
        await rig.client.create_request(
            "1", "1", {"summary": f"Committed {status}"}, raise_on_behalf_of=alice
        )
    assert caught.value.outcome_unknown and caught.value.status == status
    assert issues_titled(rig, f"Committed {status}") == 1 and rig.calls_to(CREATE, "POST") == 1


async def test_a_429_on_a_write_is_retried_since_jsm_did_nothing(rig: Rig) -> None:
    alice = await user_id(rig, "alice@example.com")
    rig.app.faults.update({"rate_limits": 1, "retry_after": "1", "path": CREATE, "method": "POST"})
    await rig.client.create_request("1", "1", {"summary": "Limited"}, raise_on_behalf_of=alice)
    assert issues_titled(rig, "Limited") == 1 and rig.calls_to(CREATE, "POST") == 2


class Breaking(httpx.AsyncBaseTransport):
    """Passes calls to the emulator, but fails the next POST with `error`, before or after JSM saw it."""

    def __init__(self, inner: httpx.AsyncBaseTransport, error: type[Exception], after: bool) -> None:
        self.inner, self.error, self.after, self.armed = inner, error, after, True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or not self.armed:
            return await self.inner.handle_async_request(request)
        self.armed = False
        if self.after:
            response = await self.inner.handle_async_request(request)
            await response.aread()
        raise self.error("injected", request=request)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("error", "after", "unknown"),
    [
        (httpx.RemoteProtocolError, True, True),  # the server dropped the connection after the write
        (httpx.ReadError, True, True),
        (httpx.ReadTimeout, True, True),
        (httpx.WriteTimeout, False, True),  # part of the body may have arrived: JSM could act on it
        (httpx.ConnectError, False, False),  # never connected: surely not done, tried again
        (httpx.ConnectTimeout, False, False),
        (httpx.PoolTimeout, False, False),
    ],
)
async def test_a_failure_after_sending_is_unknown_one_before_is_retried(
    rig: Rig, error: type[Exception], after: bool, unknown: bool
) -> None:
    alice = await user_id(rig, "alice@example.com")
    transport = Breaking(httpx.ASGITransport(app=rig.app), error, after)
    async with httpx.AsyncClient(transport=transport) as http:
        client = JsmClient(http, rig.app.connection(SITE), retry=RetryPolicy(sleep=rig.sleep))
        summary = f"Dropped {error.__name__}"
        if unknown:
            with pytest.raises(JsmUnavailable) as caught:
                await client.create_request("1", "1", {"summary": summary}, raise_on_behalf_of=alice)
            assert caught.value.outcome_unknown
            assert issues_titled(rig, summary) == (1 if after else 0)
        else:
            await client.create_request("1", "1", {"summary": summary}, raise_on_behalf_of=alice)
            assert issues_titled(rig, summary) == 1 and len(rig.sleep.waits) == 1
