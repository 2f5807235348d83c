"""Fixtures for the browser journeys that run on one database and both JSM flavours: bound by name
in the test module (`db_url, jsm = single_site.db_url, single_site.jsm`)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from deskgate.jsm.emulator import EmulatorApp, create_emulator
from tests.support.databases import database_url
from tests.support.live import LiveServer, free_port


@pytest.fixture
def db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLite only: what these journeys prove does not depend on the database (see tests/browser/conftest)."""
    manager = database_url("sqlite", tmp_path_factory.mktemp("db"))
    with ThreadPoolExecutor(max_workers=1) as worker:
        url = worker.submit(manager.__enter__).result()
        try:
            yield url
        finally:
            worker.submit(manager.__exit__, None, None, None).result()


@pytest.fixture(params=["cloud", "datacenter"])
def jsm(request: pytest.FixtureRequest) -> Iterator[tuple[EmulatorApp, str]]:
    """The JSM emulator of each flavour, served on a free port."""
    app = create_emulator(request.param)
    server = LiveServer(app, free_port())
    server.start()
    try:
        yield app, server.url
    finally:
        server.stop()
