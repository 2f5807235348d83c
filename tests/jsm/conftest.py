"""The JsmClient tests' rig: a client talking to the in-process emulator (Cloud and Data Center, lists capped
at two per page) through a recording sleep, so that retries are counted without waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from deskgate.jsm import JsmClient, RetryPolicy
from deskgate.jsm.emulator import EmulatorApp, create_emulator

SITE = "https://jsm.test"


@dataclass
class FakeSleep:
    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@dataclass
class Rig:
    app: EmulatorApp
    client: JsmClient
    sleep: FakeSleep
    http: httpx.AsyncClient

    def client_with(self, **overrides: Any) -> JsmClient:
        retry = RetryPolicy(sleep=self.sleep, jitter=lambda: 0.5, max_attempts=overrides.pop("attempts", 4))
        return JsmClient(self.http, self.app.connection(SITE, **overrides), retry=retry)

    def calls_to(self, suffix: str, method: str = "GET") -> int:
        return sum(1 for m, path in self.app.calls if m == method and path.endswith(suffix))


@pytest.fixture(params=["cloud", "datacenter"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    app = create_emulator(request.param, page_cap=2)
    sleep = FakeSleep()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        retry = RetryPolicy(sleep=sleep, jitter=lambda: 0.5)
        yield Rig(app, JsmClient(http, app.connection(SITE), retry=retry), sleep, http)


async def user_id(rig: Rig, email: str) -> str:
    customer = await rig.client.find_customer_by_email("1", email)
    assert customer is not None
    return customer.user_id
