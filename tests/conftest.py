"""Test-wide fixtures: databases (SQLite and PostgreSQL), and the rule that nothing is skipped in CI."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.databases import database_url

_skipped: list[str] = []
# Whole files go to the workers in collection order (--dist loadfile); these directories hold the files
# that take minutes (topologies, installed wheels, browsers, real IdPs), so they start first and no worker
# is left alone with one of them at the end.
SLOW_FIRST = ("tests/topology/", "tests/packaging/", "tests/browser/", "tests/saml/", "tests/a11y/")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database of each kind; every test that uses it runs once per kind."""
    with database_url(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


def slowness(nodeid: str) -> int:
    """The rank of a test's directory in `SLOW_FIRST` (the others after, in their own order)."""
    return next((i for i, prefix in enumerate(SLOW_FIRST) if nodeid.startswith(prefix)), len(SLOW_FIRST))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: slowness(item.nodeid))  # stable: each file keeps its tests' order


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # In CI nothing may be skipped: a skip there hides a missing peer or package.
    if os.environ.get("CI", "").lower() == "true" and _skipped:
        print(f"\nCI=true and {len(_skipped)} test(s) were skipped: {', '.join(_skipped[:20])}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
