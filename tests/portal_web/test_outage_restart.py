"""JSM fails during a submission, the Deskgate process is killed (SIGKILL) before the retry, a new process
delivers it: the request still ends up in JSM exactly once, with its file.

`tests/portal/test_submissions.py` covers the same failures with a "restart" that is a new engine and a new
service in one process, and a clock under the test's control. Here the restart is real: a child Python
process stores the submission and makes the first attempt against the JSM emulator over loopback HTTP;
the test kills it with SIGKILL (no `finally`, no clean shutdown, a held lease left in the row); a second
child process, started afresh over the same database, runs the background worker until the submission is
settled. Real clocks, real sockets, both databases.

`test_deskgate_serve_killed_after_a_jsm_failure_delivers_once_after_a_restart` does it with the real
server: `deskgate serve` as a child process (YAML config, loopback port) against the emulator, the request
submitted through the portal form, the server SIGKILLed right after the customer was told "pending", the
backoff skipped in the database, `deskgate serve` started again: its background delivery round settles it.

The cases: JSM answers 503, answers 429 with Retry-After, times out (and makes the issue after the client
gave up), makes the issue and then fails (504 after commit), or the process dies while its create call is
in flight.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from sqlalchemy import select, update

from deskgate.jsm.emulator import EmulatorApp, create_emulator
from deskgate.services import build_services
from deskgate.settings import Settings, load_settings
from deskgate.store.db import create_engine, sessionmaker
from deskgate.store.models import SubmissionRow
from tests.support.live import LiveServer, free_port
from tests.support.serve import ServeProcess, write_config

CREATE_PATH = "/rest/servicedeskapi/request"
SUMMARY = "Outage: printer on fire"
WAIT = 60.0  # seconds any one step may take on a busy machine (imports, a PostgreSQL connection)
ROOT = Path(__file__).resolve().parents[2]

# The child: a Deskgate process reduced to what a submission touches (the outbox, its worker, the JSM
# client), built from the same classes `deskgate serve` uses, with short delays so the test runs in seconds.
CHILD = r"""
import asyncio, json, sys

import httpx

from deskgate.jsm import JsmClient, RetryPolicy
from deskgate.jsm.connection import JsmConnection
from deskgate.portal.forms import ValidatedRequest, validate
from deskgate.portal.submissions import DeliveryPolicy, Submissions, SubmissionWorker, Submitter, UploadedFile
from deskgate.settings import Settings
from deskgate.store.db import create_engine, migrate, sessionmaker

mode, db_url, connection_json, timing_json = sys.argv[1:5]
timing = json.loads(timing_json)


def say(*words: object) -> None:
    print(*words, flush=True)


async def main() -> None:
    engine = create_engine(Settings(database_url=db_url, demo=True).sqlalchemy_url)
    await migrate(engine)
    async with httpx.AsyncClient() as http:
        connection = JsmConnection.model_validate_json(connection_json)
        client = JsmClient(http, connection, retry=RetryPolicy(max_attempts=1))
        # The set-up calls wait as long as a busy machine needs (the case's short client timeout, 0.3 s for
        # "timeout", once failed a connect to the emulator in CI): only the submission is under test.
        patient = JsmClient(http, connection.model_copy(update={"timeout_seconds": 30.0}))
        policy = DeliveryPolicy(
            base_delay=0.2,
            max_delay=1.0,
            search_lag=timing["search_lag"],
            late_commit=timing["search_lag"],
            lease_seconds=timing["lease_seconds"],
            heartbeat_seconds=timing["lease_seconds"] / 3,
            jitter=lambda: 0.0,
        )
        outbox = Submissions(sessionmaker(engine), client, policy=policy)
        if mode == "submit":
            alice = await patient.find_customer_by_email("1", "alice@example.com")
            assert alice is not None
            form = await patient.request_form("1", "1")
            validated = validate(form, {"summary": [sys.argv[5]], "description": ["It is on fire."]})
            assert isinstance(validated, ValidatedRequest)
            png = UploadedFile("fire.png", "image/png", b"\x89PNG not really")
            submission = await outbox.submit(
                Submitter("oidc", "alice-subject", alice.user_id), "1", "1", validated, [png],
                max_file_bytes=10_000,
            )
            say("SUBMITTED", submission)
            status = await outbox.attempt(submission)
            assert status is not None
            say("ATTEMPTED", status.state, status.issue_key, json.dumps(status.last_error))
            await asyncio.Event().wait()  # stays up, as a server would, until it is killed
        else:
            submission = sys.argv[5]
            worker = SubmissionWorker(outbox)
            while True:
                await worker.run_due_once()
                status = await outbox.status(submission)
                assert status is not None
                if status.state in ("done", "failed"):
                    say("FINAL", status.state, status.issue_key, status.attempts, json.dumps(status.last_error))
                    return
                await asyncio.sleep(0.1)
    await engine.dispose()


asyncio.run(main())
"""


@dataclass(frozen=True)
class Case:
    fault: dict[str, Any]
    client_timeout: float = 5.0
    # The child's search_lag and late_commit: must exceed how long JSM may still act on a call the client
    # gave up on.
    search_lag: float = 0.3
    lease_seconds: float = 15.0
    kill_in_flight: bool = False  # SIGKILL while the create call is on the wire, not after the attempt


CASES = {
    "503": Case({"server_errors": 1, "path": CREATE_PATH}),
    "429": Case({"rate_limits": 1, "retry_after": "1", "path": CREATE_PATH}),
    # JSM makes the issue 1 s after the call, long after the client's 0.3 s timeout.
    "timeout": Case({"timeouts": 1, "timeout_seconds": 1.0, "path": CREATE_PATH}, 0.3, search_lag=2.0),
    "fail-after-commit": Case({"fail_after_commit": 1, "path": CREATE_PATH}),
    # The process dies holding its claim; the next one waits for the lease to lapse, then looks first.
    "killed-in-flight": Case(
        {"timeouts": 1, "timeout_seconds": 1.0, "path": CREATE_PATH},
        search_lag=2.0,
        lease_seconds=3.0,
        kill_in_flight=True,
    ),
}


class Child:
    """One child process, its output lines collected by a thread (so every wait is bounded)."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=os.environ | {"PYTHONPATH": str(ROOT)},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        assert self.process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.output.append(line)
            self.lines.put(line)

    def expect(self, word: str) -> list[str]:
        """The fields of the next output line starting with `word` (other lines are kept as output)."""
        deadline = time.monotonic() + WAIT
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line.startswith(word + " "):
                return line.split(" ", 4)
        raise AssertionError(f"no {word!r} from the child within {WAIT:.0f} s:\n{''.join(self.output)}")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        code = self.process.wait(timeout=WAIT)
        self._close()
        assert code == -signal.SIGKILL

    def finish(self) -> None:
        code = self.process.wait(timeout=WAIT)
        self._close()
        assert code == 0, "".join(self.output)

    def _close(self) -> None:
        self._reader.join(timeout=WAIT)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def jsm() -> Iterator[tuple[EmulatorApp, str]]:
    app = create_emulator("cloud")
    server = LiveServer(app, free_port())
    server.start()
    try:
        yield app, server.url
    finally:
        server.stop()


def _wait_for_create_call(app: EmulatorApp) -> None:
    deadline = time.monotonic() + WAIT
    while ("POST", CREATE_PATH) not in app.calls:
        assert time.monotonic() < deadline, "the create call never reached JSM"
        time.sleep(0.01)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_process_killed_after_a_jsm_failure_loses_nothing_and_duplicates_nothing(
    db_url: str, jsm: tuple[EmulatorApp, str], case: Case
) -> None:
    app, site = jsm
    connection = json.dumps(
        {
            "site_url": site,
            "deployment": "cloud",
            "email": app.credentials.email,
            "api_token": app.credentials.api_token,  # a fixed sandbox value, not a secret
            "timeout_seconds": case.client_timeout,
        }
    )
    timing = f'{{"search_lag": {case.search_lag}, "lease_seconds": {case.lease_seconds}}}'
    app.faults.update(case.fault)

    first = Child("submit", db_url, connection, timing, SUMMARY)
    try:
        submission = first.expect("SUBMITTED")[1].strip()
        if case.kill_in_flight:
            _wait_for_create_call(app)
        else:
            state, key = first.expect("ATTEMPTED")[1:3]
            assert (state, key) == ("pending", "None")  # stored, not delivered: JSM failed
    finally:
        first.kill()  # SIGKILL: no shutdown, no cleanup; a claim may be left in the row

    second = Child("deliver", db_url, connection, timing, submission)
    try:
        state, key = second.expect("FINAL")[1:3]
        second.finish()
    finally:
        if second.process.returncode is None:
            second.kill()

    assert state == "done"
    issues = [issue for issue in app.store.issues if issue.summary == SUMMARY]
    assert [issue.key for issue in issues] == [key], "exactly one issue in JSM, the one Deskgate recorded"
    assert [a.filename for a in issues[0].attachments] == ["fire.png"]


# --- The real server: `deskgate serve` killed between the failure and the retry -------------------------

SERVED_SUMMARY = "Outage: served printer on fire"
SETTLE = 30.0  # the restarted server delivers within this (its first background round runs at start)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class ServedCase:
    fault: dict[str, Any]
    client_timeout: float = 5.0
    jsm_made_it: bool = False  # JSM has the issue already when the process is killed (the retry must find it)


SERVED_CASES = {
    "503": ServedCase({"server_errors": 1, "path": CREATE_PATH, "method": "POST"}),
    # A Retry-After beyond what the client waits for: it gives up at once, the outbox retries later.
    "429": ServedCase({"rate_limits": 1, "retry_after": "120", "path": CREATE_PATH, "method": "POST"}),
    # The client gives up after 1 s; the killed process never sent the rest, so JSM makes nothing: the retry
    # looks for the marker first (an unclear create), finds none, and creates.
    "timeout": ServedCase(
        {"timeouts": 1, "timeout_seconds": 2.0, "path": CREATE_PATH, "method": "POST"}, client_timeout=1.0
    ),
    "fail-after-commit": ServedCase(
        {"fail_after_commit": 1, "path": CREATE_PATH, "method": "POST"}, jsm_made_it=True
    ),
}


async def _sign_in(settings: Settings) -> str:
    """A session for Alice, written straight into the server's database (the sign-in is tested elsewhere)."""
    services = await build_services(settings)
    try:
        session_id, _ = await services.sessions.start(
            idp="corp",
            subject="alice-sub",
            email="alice@example.com",
            display_name="Alice Adams",
            attributes={},
        )
        await services.customers.provision(
            idp="corp",
            subject="alice-sub",
            email="alice@example.com",
            display_name="Alice Adams",
            desk_id="1",
        )
        return session_id
    finally:
        await services.aclose()


async def _submissions(settings: Settings, *, make_due: bool = False) -> list[SubmissionRow]:
    engine = create_engine(settings.sqlalchemy_url)
    try:
        async with sessionmaker(engine).begin() as db:
            if make_due:  # the ~30 s backoff, skipped: the restarted server's first round finds it due
                due = datetime.now(UTC) - timedelta(seconds=1)
                await db.execute(update(SubmissionRow).values(next_attempt_at=due))
                # An unclear create (now also a 503) is sent again only `search_lag` after it: skipped too.
                lapsed = SubmissionRow.unclear_at.is_not(None)
                await db.execute(
                    update(SubmissionRow).where(lapsed).values(unclear_at=due - timedelta(hours=1))
                )
            return list((await db.scalars(select(SubmissionRow))).all())
    finally:
        await engine.dispose()


async def _settled(settings: Settings) -> SubmissionRow:
    engine = create_engine(settings.sqlalchemy_url)
    try:
        deadline = time.monotonic() + SETTLE
        while True:
            async with sessionmaker(engine)() as db:
                row: SubmissionRow = (await db.scalars(select(SubmissionRow))).one()
            if row.state in ("done", "failed") or time.monotonic() > deadline:
                return row
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("case", SERVED_CASES.values(), ids=SERVED_CASES.keys())
def test_deskgate_serve_killed_after_a_jsm_failure_delivers_once_after_a_restart(
    db_url: str, jsm: tuple[EmulatorApp, str], tmp_path: Path, case: ServedCase
) -> None:
    app, site = jsm
    port = free_port()
    config = write_config(
        tmp_path / "deskgate.yaml",
        base_url=f"http://127.0.0.1:{port}",
        secret_key="outage-restart-secret-key-0123456789-abcdef",
        database_url=db_url,
        log_level="WARNING",
        jsm={
            "site_url": site,
            "deployment": "cloud",
            "email": app.credentials.email,
            "api_token": app.credentials.api_token,  # a fixed sandbox value, not a secret
            "timeout_seconds": case.client_timeout,
        },
    )
    settings = load_settings(config)
    session_id = asyncio.run(_sign_in(settings))
    before = len(app.store.issues)

    first = ServeProcess(config, tmp_path, port)
    with first:
        with httpx.Client(base_url=first.url, timeout=WAIT) as browser:
            browser.cookies.set("deskgate_session", session_id)
            page = browser.get("/portal/1/create/1")
            assert page.status_code == 200, page.text
            token = _CSRF.search(page.text)
            assert token, "no CSRF token on the form"
            app.faults.update(case.fault)
            answer = browser.post(
                "/portal/1/create/1",
                data={
                    "csrf_token": token.group(1),
                    "summary": SERVED_SUMMARY,
                    "description": "It is on fire.",
                },
            )
        assert answer.status_code == 303, answer.text
        assert "notice=pending" in answer.headers["location"], "the customer is told it is pending"
        first.kill()  # right after the "pending" answer: no shutdown, no cleanup

    app.faults.reset()
    made = [issue for issue in app.store.issues if issue.summary == SERVED_SUMMARY]
    assert len(made) == int(case.jsm_made_it)
    [stored] = asyncio.run(_submissions(settings, make_due=True))
    assert (stored.state, stored.issue_key) == ("pending", None), first.output()

    second = ServeProcess(config, tmp_path, port)
    with second:
        row = asyncio.run(_settled(settings))
        assert row.state == "done", f"{row.state} {row.last_error}\n{second.output()}"

    issues = [issue for issue in app.store.issues if issue.summary == SERVED_SUMMARY]
    assert [issue.key for issue in issues] == [row.issue_key], "exactly one issue in JSM, the one recorded"
    assert len(app.store.issues) == before + 1
