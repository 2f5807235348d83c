"""The admin sign-in throttle reads the audit log: shared by every worker, reset by a successful sign-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from deskgate.admin.throttle import SignInThrottle
from deskgate.audit import AuditEvent
from deskgate.services import Services
from tests.support.admin import ADMIN_PASSWORD, ADMIN_USER, create_admin, csrf_token
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio


async def _refused(services: Services, subject: str, ip: str = "192.0.2.1", idp: str | None = None) -> None:
    await services.audit.record(
        AuditEvent(event="admin.login", outcome="refused", subject=subject, client_ip=ip, idp=idp)
    )


async def test_five_refusals_of_a_name_block_it_from_any_address(db_url: str) -> None:
    async with running_app(db_url) as (_, services):
        throttle = SignInThrottle(services.db)
        for _ in range(4):
            await _refused(services, "Admin")
        assert not await throttle.blocked("admin", "198.51.100.7")
        await _refused(services, "admin")
        assert await throttle.blocked("ADMIN", "198.51.100.7")  # names compare without case
        assert not await throttle.blocked("someone-else", "198.51.100.7")


async def test_five_refusals_from_an_address_block_every_name_from_it(db_url: str) -> None:
    async with running_app(db_url) as (_, services):
        throttle = SignInThrottle(services.db)
        for n in range(5):
            await _refused(services, f"guess-{n}", ip="203.0.113.9")
        assert await throttle.blocked("admin", "203.0.113.9")
        assert not await throttle.blocked("admin", "203.0.113.10")


async def test_old_refusals_age_out_and_a_success_resets_the_name(db_url: str) -> None:
    async with running_app(db_url) as (_, services):
        for n in range(5):
            await _refused(services, "admin", ip=f"192.0.2.{n}")
        later = SignInThrottle(services.db, clock=lambda: datetime.now(UTC) + timedelta(minutes=16))
        assert not await later.blocked("admin", "198.51.100.7")
        throttle = SignInThrottle(services.db)
        assert await throttle.blocked("admin", "198.51.100.7")
        await services.audit.record(
            AuditEvent(event="admin.login", outcome="success", subject="admin", client_ip="192.0.2.1")
        )
        assert not await throttle.blocked("admin", "198.51.100.7")


async def test_refused_idp_sign_ins_and_other_events_do_not_count(db_url: str) -> None:
    async with running_app(db_url) as (_, services):
        throttle = SignInThrottle(services.db)
        for _ in range(5):
            await _refused(services, "admin", idp="corp")
            await services.audit.record(
                AuditEvent(event="login", outcome="refused", subject="admin", client_ip="192.0.2.1")
            )
        assert not await throttle.blocked("admin", "192.0.2.1")


async def _sign_in(client: httpx.AsyncClient, password: str) -> httpx.Response:
    form = await client.get("/admin/login")
    data = {"csrf_token": csrf_token(form.text), "username": ADMIN_USER, "password": password}
    return await client.post("/admin/login", data=data)


async def test_failures_at_one_worker_throttle_the_others(db_url: str) -> None:
    # Two apps on one database stand for two workers (or two servers behind a balancer).
    async with running_app(db_url) as (first, services), running_app(db_url) as (second, _):
        await create_admin(services)
        for client in (first, second, first, second, first):
            assert (await _sign_in(client, "guess-guess-guess")).status_code == 401
        throttled = await _sign_in(second, ADMIN_PASSWORD)
        assert throttled.status_code == 429
        assert "Too many failed sign-ins" in throttled.text
        assert "deskgate_admin" not in throttled.cookies
