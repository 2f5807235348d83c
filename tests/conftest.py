"""Test-wide fixtures: databases (SQLite and PostgreSQL), and the rule that nothing is skipped in CI."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from deskgate.admin import accounts
from tests.support import slowest_first
from tests.support.databases import database_url

_skipped: list[str] = []


# argon2id at its smallest cost: production's parameters take ~0.2 s of CPU per hash, and every app a test
# starts hashes once (the dummy that unknown admin names are checked against). Not for `deskgate` child
# processes, nor for the tests of the parameters themselves (`real_password_hashing`).
CHEAP_HASHER = functools.partial(PasswordHasher, time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "PasswordHasher", CHEAP_HASHER)
        yield


@pytest.fixture(autouse=True)
def _real_password_hashing_when_asked(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if request.node.get_closest_marker("real_password_hashing"):
        monkeypatch.setattr(accounts, "PasswordHasher", PasswordHasher)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database of each kind; every test that uses it runs once per kind."""
    with database_url(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The slowest files first, so that no worker is left with a minutes-long file at the end (dev/test).
    seconds, per_test = slowest_first.load()
    slowest_first.order(items, seconds, per_test)  # type: ignore[arg-type]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # In CI nothing may be skipped: a skip there hides a missing peer or package.
    if os.environ.get("CI", "").lower() == "true" and _skipped:
        print(f"\nCI=true and {len(_skipped)} test(s) were skipped: {', '.join(_skipped[:20])}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
