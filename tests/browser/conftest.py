"""Browser fixtures: one headless Chromium per session, a fresh context per test, a screenshot per step.

Chromium is Debian's (``/usr/bin/chromium``): ``playwright install`` downloads from a host these machines
cannot reach. Screenshots land in ``test-artifacts/browser/<test>/`` (gitignored): one per step the test
names with :meth:`Browsing.shot`, and one of every open page when the test fails.

The Deskgate server factory and the Gluu-shaped provider are the flow tests' fixtures, imported here
(not moved) so both directories share one definition.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from deskgate.jsm.emulator import EmulatorApp, create_emulator
from tests.flow.conftest import deskgate, deskgate_base, deskgate_port, gluu_peer
from tests.support.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.support.databases import database_url
from tests.support.live import LiveServer, free_port

# Fixtures shared with the flow tests, re-exported so pytest finds them for this directory too.
__all__ = ["deskgate", "deskgate_base", "deskgate_port", "gluu_peer"]

TIMEOUT_MS = 10_000


@pytest.fixture
def jsm() -> Iterator[tuple[EmulatorApp, str]]:
    """The JSM emulator (Cloud, seeded) on loopback, as Deskgate would reach a real site; the journeys
    that run on both flavours bind `single_site.jsm` instead."""
    app = create_emulator("cloud")
    server = LiveServer(app, free_port())
    server.start()
    try:
        yield app, server.url
    finally:
        server.stop()


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    # Keep each phase's report on the item, so the context fixture knows at teardown whether the test failed.
    report: pytest.TestReport = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """As in ``tests/conftest.py``, but made and dropped on a worker thread.

    Playwright's sync API keeps an asyncio loop running on the main thread, where the PostgreSQL helper's
    ``asyncio.run`` would refuse to start ("cannot be called from a running event loop").
    """
    manager = database_url(request.param, tmp_path_factory.mktemp("db"))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-url") as worker:
        url = worker.submit(manager.__enter__).result()
        try:
            yield url
        finally:
            worker.submit(manager.__exit__, None, None, None).result()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for all browser tests, closed when they are done (not at the end of the session).

    Between its sync calls Playwright leaves its asyncio loop marked as running on the main thread: while
    it is open, ``asyncio.run`` (and so every anyio test in the rest of the suite) refuses to start.
    """
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Browsing:
    """Fresh browser contexts for one test, and the screenshots taken along its steps."""

    def __init__(self, browser: Browser, artifacts: Path) -> None:
        self._browser = browser
        self.artifacts = artifacts
        self.contexts: list[BrowserContext] = []
        self._shots = 0

    def context(self, **options: Any) -> BrowserContext:
        """A new, empty context (no cookies): ``options`` go to ``Browser.new_context``."""
        context = self._browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        return context

    def shot(self, page: Page, step: str) -> None:
        """Save what the page shows now, numbered in step order."""
        self._shots += 1
        self.artifacts.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=self.artifacts / f"{self._shots:02d}-{_slug(step)}.png", full_page=True)

    def close(self, *, failed: bool) -> None:
        for number, context in enumerate(self.contexts, start=1):
            if failed:
                for index, page in enumerate(context.pages, start=1):
                    try:
                        self.shot(page, f"failure-context{number}-page{index}")
                    except Exception as exc:  # a crashed page must not hide the test's own failure
                        print(f"no failure screenshot of {page.url}: {exc}")
            context.close()


@pytest.fixture
def browsing(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Browsing]:
    artifacts = request.config.rootpath / "test-artifacts" / "browser" / _slug(request.node.name)
    shutil.rmtree(artifacts, ignore_errors=True)  # a re-run must not leave the previous run's steps behind
    session = Browsing(browser, artifacts)
    yield session
    reports = request.node.stash.get(_REPORTS, {})
    session.close(failed=any(report.failed for report in reports.values()))


@pytest.fixture
def context(browsing: Browsing) -> BrowserContext:
    return browsing.context()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def status_of(context: BrowserContext, url: str) -> int:
    """GET ``url`` with the context's cookies (Playwright's request API shares the cookie jar)."""
    response = context.request.get(url, max_redirects=0)
    try:
        return response.status
    finally:
        response.dispose()


def wait_until(condition: Callable[[], bool], *, timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``condition`` (for effects the browser cannot be made to wait on, such as a database row)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout:.0f} s")
        time.sleep(0.05)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:120]
