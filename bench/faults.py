"""Customer writes against a JSM that fails in every way it can: `python bench/faults.py --help`.

Stores `--writes` customer writes (new requests — with a description to carry the marker or with none,
with or without a file — and comments on them) in Deskgate's outbox, and delivers each through a proxy
that gives its first write call one fault drawn from the mix below, then lets the background worker
deliver everything (the clock is moved forward between rounds; JSM's search index lags `--search-lag`
seconds behind). Then it counts, in the JSM emulator, how many times each write arrived:

    submitted / delivered (exactly once) / duplicated (more than once) / lost (never)

Faults: 503 and 429 before JSM acts; 500 and 504 after JSM committed; a timeout before and after the
commit; a connection dropped after the commit; the process killed before sending and after the commit
(its task cancelled: the claim is left to expire); the adoption search failing twice after an unclear
create. The aim is lost 0, duplicated 0.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

try:
    import deskgate  # noqa: F401 - only: is the project importable from this Python?
except ImportError:  # a plain `python bench/faults.py`: run again with the project's virtualenv
    VENV_PYTHON = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "python"
    if VENV_PYTHON.is_file() and Path(sys.prefix).resolve() != VENV_PYTHON.parents[1].resolve():
        os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])  # noqa: S606 - the project's own interpreter
    raise

import argparse
import asyncio
import collections
import logging
import random
import tempfile
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from deskgate.jsm import JsmClient, RetryPolicy
from deskgate.jsm.emulator import EmulatorApp, create_emulator
from deskgate.portal.forms import ValidatedRequest
from deskgate.portal.submissions import DeliveryPolicy, Submissions, SubmissionWorker, Submitter, UploadedFile
from deskgate.settings import Settings
from deskgate.store.db import create_engine, migrate, sessionmaker

SITE = "https://jsm.bench"
FAULTS = (
    "none",
    "503",
    "429",
    "500-after-commit",
    "504-after-commit",
    "timeout-before",
    "timeout-after-commit",
    "dropped-after-commit",
    "killed-before-send",
    "killed-after-commit",
    "search-fails-twice",
)
WRITES = ("/rest/servicedeskapi/request", "/comment", "/attachment")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()


class Killed(BaseException):
    """The process died here: nothing after this point runs (not an Exception: nothing catches it)."""


class FaultyJsm(httpx.AsyncBaseTransport):
    """Between Deskgate and the emulator: the next write call gets the armed fault."""

    def __init__(self, app: EmulatorApp) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.armed: str | None = None
        self.failing_searches = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if "/search" in path and self.failing_searches:
            self.failing_searches -= 1
            return httpx.Response(503)
        fault = self.armed
        is_write = request.method == "POST" and path.endswith(WRITES)
        if not is_write or fault is None or fault == "none":
            return await self.inner.handle_async_request(request)
        self.armed = None
        if fault in ("503", "429"):
            return httpx.Response(int(fault), headers={"Retry-After": "25"})
        if fault == "timeout-before":
            raise httpx.ReadTimeout("no answer", request=request)
        if fault == "killed-before-send":
            raise Killed
        answer = await self.inner.handle_async_request(request)  # JSM commits
        await answer.aread()
        if fault == "search-fails-twice":
            self.failing_searches = 2
            return httpx.Response(504)
        if fault in ("500-after-commit", "504-after-commit"):
            return httpx.Response(int(fault[:3]))
        if fault == "timeout-after-commit":
            raise httpx.ReadTimeout("no answer", request=request)
        if fault == "dropped-after-commit":
            raise httpx.RemoteProtocolError("server disconnected", request=request)
        raise Killed  # killed-after-commit


async def run(args: argparse.Namespace) -> dict[str, int]:
    rng = random.Random(args.seed)  # noqa: S311 - a reproducible mix, not a secret
    clock = Clock()
    app = create_emulator(args.flavour, clock=clock.seconds)
    app.faults.update({"search_lag_seconds": float(args.search_lag)})
    proxy = FaultyJsm(app)
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite:///{scratch}/bench.db"
        engine = create_engine(Settings(database_url=url, demo=True).sqlalchemy_url)
        await migrate(engine)
        async with httpx.AsyncClient(transport=proxy) as http:
            retry = RetryPolicy(max_attempts=2, base_delay=0, max_retry_after=0)
            client = JsmClient(http, app.connection(SITE, timeout_seconds=5), retry=retry)
            policy_lag = args.search_lag if getattr(args, "policy_lag", None) is None else args.policy_lag
            policy = DeliveryPolicy(jitter=lambda: 0.0, search_lag=float(policy_lag))
            outbox = Submissions(sessionmaker(engine), client, clock=clock, policy=policy)
            customers = []
            for n in range(args.customers):
                made = await client.create_customer(f"bench-{n}@example.com", f"Bench Customer {n}")
                await client.add_customers("1", [made.user_id])
                customers.append(Submitter("bench", f"subject-{n}", made.user_id))
            written: list[tuple[str, str, str, str]] = []  # (kind, id or key, text, fault)
            faults: collections.Counter[str] = collections.Counter()
            for n in range(args.writes):
                fault = rng.choice(FAULTS)
                alice = rng.choice(customers)
                faults[fault] += 1
                with_file = rng.random() < 0.3
                files = [UploadedFile(f"bench-{n}.txt", "text/plain", b"x")] if with_file else []
                requests = [
                    key for kind, key, who, _ in written if kind == "request-key" and who == alice.subject
                ]
                if requests and rng.random() < 0.35:
                    key = rng.choice(requests)
                    text = f"bench comment {n}"
                    sid = await outbox.submit_comment(
                        alice,
                        key,
                        "1",
                        text,
                        f"Bench (bench@example.com) wrote:\n\n{text}",
                        files,
                        max_file_bytes=1000,
                    )
                    written.append(("comment", sid, text, fault))
                else:
                    summary = f"Bench request {n}"
                    values: dict[str, Any]
                    if rng.random() < 0.5:  # a description to carry the marker
                        values = {"summary": summary, "description": "printer"}
                        validated = ValidatedRequest(summary, values, marker_field="description")
                        request_type = "1"
                    else:  # neither description nor labels: recognised by content alone
                        values = {
                            "summary": summary,
                            "customfield_10206": [{"id": "10150"}],
                            "customfield_10208": "why",
                        }
                        validated = ValidatedRequest(summary, values, marker_field=None)
                        request_type = "3"
                    sid = await outbox.submit(alice, "1", request_type, validated, files, max_file_bytes=1000)
                    written.append(("request", sid, summary, fault))
                proxy.armed = fault
                try:
                    status = await outbox.attempt(sid)  # the route's one try while the customer waits
                except Killed:
                    status = None
                proxy.armed = None
                if status is not None and status.issue_key and written[-1][0] == "request":
                    written.append(("request-key", status.issue_key, alice.subject, ""))
            worker = SubmissionWorker(outbox, batch=50)
            for _ in range(args.rounds):
                clock.now += timedelta(seconds=61)
                await worker.run_due_once()
            await engine.dispose()
    return count(app, written, faults, args)


def _said(body: str, text: str) -> bool:
    """The comment's words are `text` (JSM may append its file markup on the same line)."""
    words = body.split("\n\n", 1)[-1]
    return words == text or words.startswith((text + " [^", text + " !"))


def count(
    app: EmulatorApp,
    written: list[tuple[str, str, str, str]],
    faults: collections.Counter[str],
    args: argparse.Namespace,
) -> dict[str, int]:
    issues = app.store.issues
    arrivals = []
    wrong: collections.Counter[str] = collections.Counter()
    for kind, _, text, fault in written:
        if kind == "request":
            arrivals.append(sum(1 for i in issues if i.summary == text))
        elif kind == "comment":
            arrivals.append(sum(1 for i in issues for c in i.comments if _said(c.body, text)))
        else:
            continue
        if arrivals[-1] != 1:
            wrong[f"{kind} {fault}: {'lost' if arrivals[-1] == 0 else 'duplicated'}"] += 1
    files = collections.Counter(
        a.filename for i in issues for a in i.attachments if a.filename.startswith("bench-")
    )
    result = {
        "submitted": len(arrivals),
        "delivered": sum(1 for a in arrivals if a == 1),
        "duplicated": sum(1 for a in arrivals if a > 1),
        "lost": sum(1 for a in arrivals if a == 0),
        "files duplicated": sum(1 for n in files.values() if n > 1),
    }
    lag = f"search lag {args.search_lag} s (policy {getattr(args, 'policy_lag', None) or args.search_lag} s)"
    print(f"JSM {args.flavour}, {args.writes} writes, {lag}, seed {args.seed}")
    print("faults:", ", ".join(f"{name} {faults[name]}" for name in FAULTS))
    print(" / ".join(f"{name} {value}" for name, value in result.items()))
    if wrong:
        print("not exactly once:", ", ".join(f"{what} x {n}" for what, n in sorted(wrong.items())))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--flavour", choices=("cloud", "datacenter"), default="cloud")
    parser.add_argument("--search-lag", type=int, default=20, help="seconds JSM's search index lags behind")
    parser.add_argument(
        "--policy-lag",
        type=float,
        help="Deskgate's DeliveryPolicy.search_lag (default: --search-lag; shorter: an index lagging more "
        "than Deskgate assumes)",
    )
    parser.add_argument("--rounds", type=int, default=60, help="worker rounds, a simulated minute apart")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--customers", type=int, default=25, help="customers the writes are spread over")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    result = asyncio.run(run(args))
    return 0 if result["lost"] == 0 and result["duplicated"] == 0 and result["files duplicated"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
