"""Fixtures for the hostile-provider tests: a fresh in-process OP (with fresh keys) per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.hostile.provider import HostileProvider


@pytest.fixture
def op() -> HostileProvider:
    return HostileProvider()


@pytest.fixture
async def http(op: HostileProvider) -> AsyncIterator[httpx.AsyncClient]:
    """The RP's HTTP client, wired to `op` in-process."""
    async with op.client() as client:
        yield client
