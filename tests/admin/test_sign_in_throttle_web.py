"""The sign-in page under the throttle: a stranger elsewhere cannot lock the admin out, a throttled sign-in
is told when to come back (429 + Retry-After), every worker agrees, and the audit log still records
every refusal. Two apps on one database stand for two workers (or two servers behind a balancer)."""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest

from deskgate.admin.throttle import SignInThrottle
from deskgate.services import Services
from tests.support.admin import ADMIN_PASSWORD, ADMIN_USER, create_admin, csrf_token
from tests.support.clock import Clock
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio

STRANGER, ADMINS_DESK = "198.51.100.66", "192.0.2.10"
WRONG = "guess-guess-guess"
COOKIE = "deskgate_admin"


async def _sign_in(
    client: httpx.AsyncClient, password: str, username: str = ADMIN_USER, token: str | None = None
) -> httpx.Response:
    token = token or csrf_token((await client.get("/admin/login")).text)
    data = {"csrf_token": token, "username": username, "password": password}
    return await client.post("/admin/login", data=data)


def _on_clock(clock: Clock, *workers: Services) -> None:
    """The workers' throttles read `clock`: waits of a second must not pass while a test runs."""
    for services in workers:
        services.admin_throttle = SignInThrottle(services.admin_throttle.counts, clock=clock)


async def test_a_stranger_elsewhere_cannot_lock_the_admin_out(db_url: str) -> None:
    async with (
        running_app(db_url, client_ip=STRANGER) as (stranger, services),
        running_app(db_url, client_ip=ADMINS_DESK) as (admin, other),
    ):
        _on_clock(Clock(), services, other)
        await create_admin(services)
        names = itertools.cycle([ADMIN_USER, "root", "administrator"])
        answers = [(await _sign_in(stranger, WRONG, next(names))).status_code for _ in range(18)]
        assert answers == [401] * 15 + [429] * 3  # 15 wrong passwords, then each name waits at that address
        signed_in = await _sign_in(admin, ADMIN_PASSWORD)
    assert signed_in.status_code == 303
    assert COOKIE in signed_in.cookies


async def test_wrong_passwords_for_one_name_do_not_hold_back_another_from_the_same_address(
    db_url: str,
) -> None:
    async with running_app(db_url, client_ip=ADMINS_DESK) as (client, services):
        _on_clock(Clock(), services)
        await create_admin(services)
        for _ in range(5):
            assert (await _sign_in(client, WRONG, "someone-else")).status_code == 401
        assert (await _sign_in(client, WRONG, "someone-else")).status_code == 429
        assert (await _sign_in(client, ADMIN_PASSWORD)).status_code == 303


async def test_a_throttled_sign_in_says_when_to_retry_at_every_worker(db_url: str) -> None:
    clock = Clock()
    async with running_app(db_url) as (first, services), running_app(db_url) as (second, other):
        _on_clock(clock, services, other)
        await create_admin(services)
        for client in (first, second, first, second, first):
            assert (await _sign_in(client, WRONG)).status_code == 401
        for client in (second, first):
            throttled = await _sign_in(client, ADMIN_PASSWORD)  # the right password: not even checked
            assert throttled.status_code == 429
            assert throttled.headers["Retry-After"] == "1"
            assert "Please try again in 1 second." in throttled.text
            assert COOKIE not in throttled.cookies
        clock.advance(1)
        assert (await _sign_in(second, ADMIN_PASSWORD)).status_code == 303
        for client in (first, second):  # the success started the pair again: typos are free
            assert (await _sign_in(client, WRONG)).status_code == 401
        events = await services.audit.query(event="admin.login")
    # The audit log keeps every attempt, whatever the throttle remembers (newest first).
    assert [e.outcome for e in events] == ["refused"] * 2 + ["success"] + ["refused"] * 7
    assert [e.detail for e in events[3:5]] == [
        "Too many failed sign-ins with this name. Please try again in 1 second."
    ] * 2


async def test_twenty_wrong_passwords_at_once_at_two_workers_get_five_checks(db_url: str) -> None:
    """The burst a guesser would send: five answers (4 free failures and the one that starts the wait),
    fifteen refusals. Had the check and the count been two steps, all twenty would have been checked."""
    clock = Clock()
    async with running_app(db_url) as (first, services), running_app(db_url) as (second, other):
        _on_clock(clock, services, other)
        await create_admin(services)
        tokens = {client: csrf_token((await client.get("/admin/login")).text) for client in (first, second)}
        answers = await asyncio.gather(
            *(_sign_in(client, WRONG, token=tokens[client]) for client in [first, second] * 10)
        )
        assert sorted(a.status_code for a in answers) == [401] * 5 + [429] * 15
        assert (await _sign_in(first, ADMIN_PASSWORD)).headers["Retry-After"] == "1"
