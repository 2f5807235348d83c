"""The customer portal against a slow JSM: `python bench/portal.py --help`.

The JSM emulator (Cloud, seeded) adds `--latency-ms` (100) to every call. It runs on loopback in a process
of its own, as JSM runs on servers of its own: its work on an answer is part of the round trip, not of
Deskgate's share (in one process the two would take turns on one interpreter lock). Deskgate runs under
uvicorn on a thread of this process. One customer is signed in (session started and customer provisioned
directly: the sign-in has its own benchmark), the caches are warmed, then each page is fetched `--samples`
times in turn. For every page it prints p50/p95 against the issue's target (one JSM round trip + 30 ms) and
how many JSM calls one fetch made, read from the emulator's call log. A submission for a known customer
should cost one JSM round trip (the create; no lookups).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

try:
    import deskgate  # noqa: F401 - only: is the project importable from this Python?
except ImportError:  # a plain `python bench/portal.py`: run again with the project's virtualenv
    VENV_PYTHON = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "python"
    if VENV_PYTHON.is_file() and Path(sys.prefix).resolve() != VENV_PYTHON.parents[1].resolve():
        os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])  # noqa: S606 - the project's own interpreter
    raise

import argparse
import asyncio
import functools
import multiprocessing
import re
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from deskgate.jsm.emulator import FaultPlan, create_emulator
from deskgate.services import build_services
from deskgate.settings import Settings, load_settings
from deskgate.web.app import create_app

HOST = "127.0.0.1"
SECRET_KEY = "bench-portal-secret-key-0123456789-abcdefgh"  # noqa: S105 - a throwaway bench database
SLACK_MS = 30.0  # the allowance on top of one JSM round trip
SUBMISSIONS_PER_CUSTOMER = 9  # under the portal's limit of 10 an hour
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _serve_emulator(port: int) -> None:
    """The emulator's own process (started with `spawn`): Cloud, seeded, no latency until told."""
    app = create_emulator("cloud", faults=FaultPlan(latency_ms=0))
    uvicorn.run(app, host=HOST, port=port, log_level="warning")


class Emulator:
    """The JSM emulator in a process of its own, driven over its admin API (`/__emulator__/…`)."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            self.port = probe.getsockname()[1]
        self.site = f"http://{HOST}:{self.port}"
        self.process = multiprocessing.get_context("spawn").Process(
            target=_serve_emulator, args=(self.port,), daemon=True
        )
        self.connection = create_emulator("cloud").connection(self.site)  # the same fixed credentials

    def start(self) -> None:
        self.process.start()
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.site + "/__emulator__/calls", timeout=2).raise_for_status()
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline or not self.process.is_alive():
                    raise RuntimeError("the JSM emulator did not start") from None
                time.sleep(0.1)

    async def calls(self, admin: httpx.AsyncClient) -> int:
        return int((await admin.get(self.site + "/__emulator__/calls")).json()["count"])

    async def latency(self, admin: httpx.AsyncClient, ms: int) -> None:
        (await admin.put(self.site + "/__emulator__/faults", json={"latency_ms": ms})).raise_for_status()

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(timeout=15)


class Served:
    """An ASGI app under uvicorn on a free loopback port, on its own thread and event loop."""

    def __init__(self, app: Starlette) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=0, log_level="warning"))
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("a server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://{HOST}:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@dataclass
class Result:
    name: str
    samples_ms: list[float]
    jsm_calls: list[int]
    target_ms: float

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    def line(self) -> str:
        calls = sorted(set(self.jsm_calls))
        verdict = "ok" if self.p95 <= self.target_ms else "OVER"
        shown = "/".join(str(c) for c in calls)
        return (
            f"{self.name:<22} p50 {self.p50:7.1f} ms  p95 {self.p95:7.1f} ms  target ≤ {self.target_ms:5.0f} ms"
            f"  {verdict:<4}  JSM calls per fetch: {shown}"
        )


async def measure(
    name: str,
    jsm: Emulator,
    admin: httpx.AsyncClient,
    fetch: Callable[[], Awaitable[httpx.Response]],
    samples: int,
    target_ms: float,
) -> Result:
    times: list[float] = []
    calls: list[int] = []
    for _ in range(samples):
        before = await jsm.calls(admin)
        started = time.perf_counter()
        response = await fetch()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code not in (200, 303):
            raise RuntimeError(f"{name}: HTTP {response.status_code}: {response.text[:300]}")
        times.append(elapsed)
        calls.append(await jsm.calls(admin) - before)
    return Result(name, times, calls, target_ms)


async def run(args: argparse.Namespace) -> list[Result]:
    jsm = Emulator()
    jsm.start()
    site = jsm.site
    admin = httpx.AsyncClient(timeout=30)
    workdir = Path(tempfile.mkdtemp(prefix="deskgate-bench-portal-"))
    settings_values: dict[str, Any] = {
        "secret_key": SECRET_KEY,
        "database_url": f"sqlite:///{workdir / 'bench.db'}",
        "jsm": jsm.connection,
        "log_level": "WARNING",
    }
    deskgate_server = Served(create_app(load_settings(base_url="http://127.0.0.1:1", **settings_values)))
    base = deskgate_server.start()
    try:
        # Customers are signed in from a second Services over the same database (as a login leaves them).
        # Several, because each may submit only 10 requests an hour (the portal's rate limit).
        customers = 1 + (args.submissions + SUBMISSIONS_PER_CUSTOMER - 1) // SUBMISSIONS_PER_CUSTOMER
        helper = await build_services(Settings(base_url=base, **settings_values))
        sessions = []
        try:
            for n in range(customers):
                email = f"bench{n}@example.com"
                session_id, _ = await helper.sessions.start(
                    idp="bench", subject=f"bench-{n}", email=email, display_name=f"Bench {n}", attributes={}
                )
                await helper.customers.provision(
                    idp="bench", subject=f"bench-{n}", email=email, display_name=f"Bench {n}", desk_id="1"
                )
                sessions.append(session_id)
        finally:
            await helper.aclose()
        browsers = [httpx.AsyncClient(base_url=base, timeout=30) for _ in sessions]
        try:
            tokens = []
            for browser, session_id in zip(browsers, sessions, strict=True):
                browser.cookies.set("deskgate_session", session_id)
                form = await browser.get("/portal/1/create/1")
                token = _CSRF.search(form.text)
                if form.status_code != 200 or token is None:
                    raise RuntimeError(f"create form: HTTP {form.status_code}: {form.text[:300]}")
                tokens.append(token.group(1))
            reader = browsers[0]
            created = await reader.post(
                "/portal/1/create/1", data={"csrf_token": tokens[0], "summary": "Bench"}
            )
            key = created.headers.get("location", "").split("/portal/requests/")[-1].split("?")[0]
            if created.status_code != 303 or not key:
                raise RuntimeError(f"first submission: HTTP {created.status_code}: {created.text[:300]}")
            pages = {
                "help center": "/portal",
                "help center search": "/portal?q=password",
                "desk": "/portal/1",
                "create form": "/portal/1/create/1",
                "article suggestions": "/portal/api/articles?q=password&desk=1",
                "article": "/portal/1/articles/8786177?q=Reset+your+password",
                "my requests": "/portal/requests",
                "my requests, filtered": "/portal/requests?status=open&owner=organization&sort=updated",
                "request detail": f"/portal/requests/{key}",
                "request JSON": f"/portal/api/requests/{key}",
                "account": "/account",
            }
            for path in pages.values():  # warm the caches (catalogue, customer link, connections)
                for _ in range(3):
                    (await reader.get(path)).raise_for_status()
            await jsm.latency(admin, args.latency_ms)
            async with httpx.AsyncClient(headers=jsm.connection.auth_headers()) as direct:
                round_trip = await measure(
                    "one JSM round trip",
                    jsm,
                    admin,
                    lambda: direct.get(site + "/rest/servicedeskapi/info"),
                    args.samples,
                    float("inf"),  # the reference, not a target
                )
            target = args.latency_ms + SLACK_MS  # the target: one round trip + 30 ms
            results = [round_trip]
            for name, path in pages.items():
                results.append(
                    await measure(name, jsm, admin, functools.partial(reader.get, path), args.samples, target)
                )
            counter = iter(range(10**6))

            async def submit() -> httpx.Response:
                n = next(counter)
                who = 1 + n // SUBMISSIONS_PER_CUSTOMER
                data = {"csrf_token": tokens[who], "summary": f"Bench {n}"}
                return await browsers[who].post("/portal/1/create/1", data=data)

            # Known customers, the form cached: a submission should be one create and nothing else.
            results.append(await measure("submission", jsm, admin, submit, args.submissions, target))
            return results
        finally:
            for browser in browsers:
                await browser.aclose()
    finally:
        deskgate_server.stop()
        await admin.aclose()
        jsm.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency-ms", type=int, default=100, help="added to every JSM call (default 100)")
    parser.add_argument("--samples", type=int, default=50, help="fetches per page (default 50)")
    parser.add_argument("--submissions", type=int, default=20, help="timed submissions (default 20)")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    print(f"\nJSM emulator latency {args.latency_ms} ms per call; {args.samples} samples per page\n")
    for result in results:
        print(result.line())


if __name__ == "__main__":
    main()
