"""Exactly once against JSM as it really fails, on SQLite and PostgreSQL, Cloud and Data Center: a 500 after
the commit, an adoption search that keeps failing, request types that cannot carry a marker, identical
submissions, and workers killed between every step (stored, sent, committed, answered, recorded) — each
ends with exactly one request and its files once, resumed within the short lease."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from deskgate.jsm import JsmClient, RetryPolicy
from deskgate.jsm.emulator import create_emulator
from deskgate.portal.forms import ValidatedRequest
from deskgate.portal.submissions import DeliveryPolicy, Submissions, SubmissionWorker, Submitter
from deskgate.store.db import create_engine, migrate, sessionmaker
from tests.portal.test_submissions import PNG, SITE, Rig, async_url, no_sleep, submit
from tests.support.clock import Clock

pytestmark = pytest.mark.anyio
CREATE = "/rest/servicedeskapi/request"


class Hook(httpx.AsyncBaseTransport):
    """The emulator behind a switch: the next POST to a path ending in `suffix` can hang ("the process is
    killed here") before JSM sees it or after JSM carried it out."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.suffix: str | None = None
        self.after = False
        self.reached = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.suffix is None or request.method != "POST" or not request.url.path.endswith(self.suffix):
            return await self.inner.handle_async_request(request)
        self.suffix = None
        if self.after:
            await (await self.inner.handle_async_request(request)).aread()
        self.reached.set()
        await asyncio.Event().wait()  # hangs until cancelled: the kill
        raise AssertionError("unreachable")


@pytest.fixture(params=["cloud", "datacenter"])
async def rig(db_url: str, request: pytest.FixtureRequest) -> AsyncIterator[tuple[Rig, Hook]]:
    app = create_emulator(request.param)
    engine = create_engine(async_url(db_url))
    await migrate(engine)
    hook = Hook(httpx.ASGITransport(app=app))
    async with httpx.AsyncClient(transport=hook) as http:
        retry = RetryPolicy(max_attempts=1, sleep=no_sleep)
        client = JsmClient(http, app.connection(SITE, timeout_seconds=0.5), retry=retry)
        built = Rig(app, client, Clock(), db_url, [engine])
        alice = await client.find_customer_by_email("1", "alice@example.com")
        assert alice is not None
        built.alice = Submitter("oidc", "alice-subject", alice.user_id)
        yield built, hook
    for each in built.engines:
        await each.dispose()


async def settle(rig: Rig, rounds: int = 6) -> None:
    """Fresh workers (restarted processes) run while time passes, until nothing is left to do."""
    for _ in range(rounds):
        await SubmissionWorker(rig.outbox()).run_due_once()
        rig.clock.advance(60)


async def test_a_500_after_the_commit_is_not_sent_again(rig: tuple[Rig, Hook]) -> None:
    jsm, _ = rig
    outbox = jsm.outbox()
    submission = await submit(jsm, outbox, "Five hundred", PNG)
    jsm.app.faults.update({"fail_after_commit": 1, "fail_after_commit_status": 500, "path": CREATE})
    status = await outbox.attempt(submission)
    assert status is not None and status.state == "pending" and status.outcome_unknown
    await settle(jsm)
    (issue,) = jsm.issues_titled("Five hundred")
    assert len(issue.attachments) == 1 and jsm.posts(CREATE) == 1


async def test_unknown_stays_unknown_while_the_adoption_search_keeps_failing(rig: tuple[Rig, Hook]) -> None:
    jsm, _ = rig
    outbox = jsm.outbox()
    submission = await submit(jsm, outbox, "Late commit", PNG)
    jsm.app.faults.update({"fail_after_commit": 1, "path": CREATE})
    await outbox.attempt(submission)
    jsm.app.faults.update({"server_errors": 3, "path": "/search", "method": None})
    for _ in range(3):  # every retry's search fails: still unknown, never sent again
        jsm.clock.advance(3600)
        assert await SubmissionWorker(jsm.outbox()).run_due_once() == 1
        status = await outbox.status(submission)
        assert status is not None and status.state == "pending" and status.outcome_unknown
    await settle(jsm)
    status = await outbox.status(submission)
    assert status is not None and status.state == "done" and not status.outcome_unknown
    (issue,) = jsm.issues_titled("Late commit")
    assert issue.key == status.issue_key and len(issue.attachments) == 1 and jsm.posts(CREATE) == 1


async def test_an_unclear_attach_that_cannot_be_checked_stays_unclear(rig: tuple[Rig, Hook]) -> None:
    jsm, _ = rig
    outbox = jsm.outbox()
    submission = await submit(jsm, outbox, "Files twice?", PNG)
    jsm.app.faults.update({"fail_after_commit": 1, "path": "/attachment"})
    await outbox.attempt(submission)
    jsm.app.faults.update({"server_errors": 2, "path": "/attachment", "method": "GET"})
    await settle(jsm)
    (issue,) = jsm.issues_titled("Files twice?")
    assert len(issue.attachments) == 1


async def unmarked(jsm: Rig, outbox: Submissions, summary: str) -> str:
    values = {"summary": summary, "customfield_10211": "al"}
    return await outbox.submit(
        jsm.alice, "1", "4", ValidatedRequest(summary, values, marker_field=None), [], max_file_bytes=1000
    )


async def test_identical_unmarked_submissions_each_adopt_their_own_request(rig: tuple[Rig, Hook]) -> None:
    jsm, _ = rig
    outbox = jsm.outbox()
    first, second = await unmarked(jsm, outbox, "Same"), await unmarked(jsm, outbox, "Same")
    for each in (first, second):
        jsm.app.faults.update({"fail_after_commit": 1, "path": CREATE})
        await outbox.attempt(each)
    await settle(jsm)
    done = [await outbox.status(each) for each in (first, second)]
    keys = {s.issue_key for s in done if s is not None and s.state == "done"}
    assert len(keys) == 2 and len(jsm.issues_titled("Same")) == 2 and jsm.posts(CREATE) == 2


async def test_an_empty_lookup_is_trusted_only_late_commit_after_the_unclear_try(
    rig: tuple[Rig, Hook],
) -> None:
    jsm, hook = rig
    outbox = jsm.outbox()
    submission = await unmarked(jsm, outbox, "Slow index")
    hook.suffix, hook.after = CREATE, False  # the worker dies before JSM sees the create …
    killed = asyncio.create_task(outbox.attempt(submission))
    await hook.reached.wait()
    killed.cancel()
    jsm.clock.advance(16)  # … its lease lapses within seconds, not minutes
    assert await SubmissionWorker(jsm.outbox()).run_due_once() == 1
    status = await outbox.status(submission)
    assert status is not None and status.state == "pending" and status.outcome_unknown
    assert jsm.posts(CREATE) == 0  # found nothing, but JSM may still act on the call: not sent
    # JSM carries out the dead worker's create late (it was on the wire), before the next lookup.
    values = {"summary": "Slow index", "customfield_10211": "al"}
    await jsm.client.create_request("1", "4", values, raise_on_behalf_of=jsm.alice.jsm_user_id)
    await settle(jsm)
    assert len(jsm.issues_titled("Slow index")) == 1


Kill = Callable[[Rig, Hook, Submissions], Awaitable[None]]


def at_post(suffix: str, after: bool) -> Kill:
    async def arm(jsm: Rig, hook: Hook, outbox: Submissions) -> None:
        hook.suffix, hook.after = suffix, after

    return arm


def at_save(key: str) -> Kill:
    async def arm(jsm: Rig, hook: Hook, outbox: Submissions) -> None:
        save = outbox._save

        async def hanging(claim: Any, **values: Any) -> bool:
            if key in values:
                hook.reached.set()
                await asyncio.Event().wait()
            return await save(claim, **values)

        outbox._save = hanging  # type: ignore[method-assign]

    return arm


@pytest.mark.parametrize(
    "kill",
    [
        at_post(CREATE, after=False),  # claimed, the create not yet at JSM
        at_post(CREATE, after=True),  # JSM made the issue, the answer never came back
        at_save("issue_key"),  # answered, not recorded
        at_post("/attachTemporaryFile", after=False),  # recorded, files not sent
        at_post("/attachment", after=True),  # files attached, the answer lost
        at_save("state"),  # everything in JSM, "done" not recorded
    ],
    ids=["claimed", "committed", "answered", "recorded", "files-committed", "files-answered"],
)
async def test_a_worker_killed_at_any_step_is_resumed_within_the_lease_exactly_once(
    rig: tuple[Rig, Hook], kill: Kill
) -> None:
    jsm, hook = rig
    outbox = jsm.outbox()
    submission = await submit(jsm, outbox, "Killed", PNG)
    await kill(jsm, hook, outbox)
    dying = asyncio.create_task(outbox.attempt(submission))
    await asyncio.wait_for(hook.reached.wait(), 10)
    dying.cancel()
    assert await SubmissionWorker(jsm.outbox()).run_due_once() == 0  # its lease holds …
    jsm.clock.advance(16)  # … for 15 s only
    await settle(jsm)
    status = await outbox.status(submission)
    assert status is not None and status.state == "done"
    (issue,) = jsm.issues_titled("Killed")
    assert issue.key == status.issue_key and len(issue.attachments) == 1


async def test_a_stale_worker_loses_its_claim_and_sends_nothing(rig: tuple[Rig, Hook], db_url: str) -> None:
    jsm, hook = rig
    engine = create_engine(async_url(db_url))
    jsm.engines.append(engine)
    quick = DeliveryPolicy(jitter=lambda: 0.0, heartbeat_seconds=0.05)
    stale = Submissions(sessionmaker(engine), jsm.client, clock=jsm.clock, policy=quick)
    submission = await submit(jsm, stale, "Stale")
    hook.suffix, hook.after = "/never", False
    blocked = asyncio.Event()
    renew = stale._renew

    async def frozen(claim: Any) -> bool:  # the first renewal before sending hangs (a paused process)
        blocked.set()
        await asyncio.sleep(0.3)
        return await renew(claim)

    stale._renew = frozen  # type: ignore[method-assign]
    running = asyncio.create_task(stale.attempt(submission))
    await blocked.wait()
    jsm.clock.advance(16)
    assert await SubmissionWorker(jsm.outbox()).run_due_once() == 1  # taken over
    await running  # its renewal was refused: it stopped without sending
    assert jsm.posts(CREATE) == 0
    await settle(jsm)
    assert len(jsm.issues_titled("Stale")) == 1
