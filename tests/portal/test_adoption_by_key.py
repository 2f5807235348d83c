"""Adoption that does not wait for Jira's search index: with the index ten minutes behind (far longer than
the policy's `search_lag`), an unclear create JSM carried out is found by reading the project's newest keys
and adopted, one JSM did not carry out is sent again promptly and lands once, deleted keys in between are
stepped over, and another customer's identical request is never taken for the customer's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from deskgate.jsm import JsmClient, RetryPolicy
from deskgate.jsm.emulator import create_emulator
from deskgate.portal.forms import ValidatedRequest
from deskgate.portal.submissions import DeliveryPolicy, Submissions, SubmissionWorker, Submitter
from deskgate.store.db import create_engine, migrate, sessionmaker
from tests.portal.test_submissions import SITE, Rig, async_url, no_sleep
from tests.support.clock import Clock

pytestmark = pytest.mark.anyio
CREATE = "/rest/servicedeskapi/request"
INDEX_LAG = 600.0  # Jira's index, ten minutes behind (a reindex, a struggling node)
UNMARKED = "4"  # a request type with neither description nor labels: recognised by content alone


@pytest.fixture(params=["cloud", "datacenter"])
async def rig(db_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    clock = Clock()
    app = create_emulator(request.param, clock=lambda: clock.now.timestamp())
    app.faults.update({"search_lag_seconds": INDEX_LAG})
    engine = create_engine(async_url(db_url))
    await migrate(engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        retry = RetryPolicy(max_attempts=1, sleep=no_sleep)
        client = JsmClient(http, app.connection(SITE, timeout_seconds=0.5), retry=retry)
        built = Rig(app, client, clock, db_url, [engine])
        alice = await client.find_customer_by_email("1", "alice@example.com")
        assert alice is not None
        built.alice = Submitter("oidc", "alice-subject", alice.user_id)
        yield built
    for each in built.engines:
        await each.dispose()


def outbox(rig: Rig, search_lag: float = 30.0, max_key_probes: int = 200) -> Submissions:
    engine = create_engine(async_url(rig.db_url))
    rig.engines.append(engine)
    policy = DeliveryPolicy(jitter=lambda: 0.0, search_lag=search_lag, max_key_probes=max_key_probes)
    return Submissions(sessionmaker(engine), rig.client, clock=rig.clock, policy=policy)


def values(summary: str) -> dict[str, Any]:
    return {"summary": summary, "customfield_10211": "al"}


async def unmarked(rig: Rig, box: Submissions, summary: str) -> str:
    validated = ValidatedRequest(summary, values(summary), marker_field=None)
    return await box.submit(rig.alice, "1", UNMARKED, validated, [], max_file_bytes=1000)


async def user_id(rig: Rig, email: str) -> str:
    found = await rig.client.find_customer_by_email("1", email)
    assert found is not None
    return found.user_id


async def retry_after(rig: Rig, box: Submissions, seconds: float) -> None:
    rig.clock.advance(seconds)
    assert await SubmissionWorker(box).run_due_once() == 1


async def test_a_committed_create_is_adopted_though_the_index_lags_past_search_lag(rig: Rig) -> None:
    box = outbox(rig)
    submission = await unmarked(rig, box, "Committed, not indexed")
    rig.app.faults.update({"fail_after_commit": 1, "fail_after_commit_status": 500, "path": CREATE})
    status = await box.attempt(submission)
    assert status is not None and status.outcome_unknown
    await retry_after(rig, box, 61)  # past search_lag (30 s); the index shows it only after 600 s
    status = await box.status(submission)
    (issue,) = rig.issues_titled("Committed, not indexed")
    assert status is not None and status.state == "done" and status.issue_key == issue.key
    assert rig.posts(CREATE) == 1


async def test_a_create_jsm_did_not_carry_out_is_sent_again_promptly_and_lands_once(rig: Rig) -> None:
    box = outbox(rig, search_lag=600)  # an index this slow no longer holds a write back
    submission = await unmarked(rig, box, "Never arrived")
    rig.app.faults.update({"server_errors": 1, "server_error_status": 500, "path": CREATE})
    status = await box.attempt(submission)
    assert status is not None and status.outcome_unknown and rig.posts(CREATE) == 1
    await retry_after(rig, box, 21)  # late_commit (20 s) after the try, not search_lag (600 s)
    status = await box.status(submission)
    (issue,) = rig.issues_titled("Never arrived")
    assert status is not None and status.state == "done" and status.issue_key == issue.key
    for _ in range(3):  # and nothing more later, once the index has caught up
        rig.clock.advance(INDEX_LAG)
        await SubmissionWorker(box).run_due_once()
    assert len(rig.issues_titled("Never arrived")) == 1 and rig.posts(CREATE) == 2


async def test_deleted_keys_below_the_gap_are_stepped_over(rig: Rig) -> None:
    box = outbox(rig)
    submission = await unmarked(rig, box, "Behind a gap")
    bob = await user_id(rig, "bob@example.com")
    for n in range(2):  # two issues made and deleted by an agent: a hole of two keys
        made = await rig.client.create_request("1", "1", {"summary": f"spam {n}"}, raise_on_behalf_of=bob)
        rig.app.delete_issue(made.issue_key)
    rig.app.faults.update({"fail_after_commit": 1, "path": CREATE})
    await box.attempt(submission)
    await retry_after(rig, box, 61)
    status = await box.status(submission)
    (issue,) = rig.issues_titled("Behind a gap")
    assert status is not None and status.state == "done" and status.issue_key == issue.key
    assert rig.posts(CREATE) == 3


async def test_another_customers_identical_request_made_in_between_is_not_adopted(rig: Rig) -> None:
    box = outbox(rig)
    submission = await unmarked(rig, box, "Same words")
    rig.clock.advance(1)
    bob = await user_id(rig, "bob@example.com")  # the same request type and words, by Bob, just before
    bobs = await rig.client.create_request("1", UNMARKED, values("Same words"), raise_on_behalf_of=bob)
    rig.app.faults.update({"fail_after_commit": 1, "path": CREATE})
    await box.attempt(submission)
    await retry_after(rig, box, 61)
    status = await box.status(submission)
    assert status is not None and status.state == "done" and status.issue_key != bobs.issue_key
    mine = rig.app.store.issue(str(status.issue_key))
    assert mine is not None and mine.reporter.email == "alice@example.com"
    assert len(rig.issues_titled("Same words")) == 2


async def test_a_walk_that_cannot_finish_falls_back_on_the_search_and_search_lag(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    box = outbox(rig, search_lag=INDEX_LAG + 60, max_key_probes=0)  # not one key may be read
    submission = await unmarked(rig, box, "Search alone")
    rig.app.faults.update({"fail_after_commit": 1, "path": CREATE})
    await box.attempt(submission)
    await retry_after(rig, box, 61)
    assert "looking by search alone" in caplog.text
    status = await box.status(submission)  # the lagging search saw nothing: not trusted yet
    assert status is not None and status.state == "pending" and status.outcome_unknown
    await retry_after(rig, box, INDEX_LAG)  # search_lag later the index shows it
    status = await box.status(submission)
    (issue,) = rig.issues_titled("Search alone")
    assert status is not None and status.state == "done" and status.issue_key == issue.key
