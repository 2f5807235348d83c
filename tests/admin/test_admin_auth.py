"""Admin sign-in: the setup link, local accounts, admin sessions apart from customer sessions, CSRF."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from argon2 import PasswordHasher
from pydantic import SecretStr
from sqlalchemy import select, update

from deskgate.admin.accounts import AdminAccounts
from deskgate.admin.throttle import SignInThrottle
from deskgate.identity.provider import ProviderConfig
from deskgate.services import Services
from deskgate.store.models import AdminAccountRow, AdminSessionRow
from tests.support.admin import ADMIN_PASSWORD, ADMIN_USER, create_admin, csrf_token
from tests.support.clock import Clock
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio

IDP = ProviderConfig(
    name="corp",
    title="Corp",
    issuer="https://idp.corp.test",
    client_id="deskgate",
    client_secret=SecretStr("s3cret-value-never-shown"),
)
ADMIN_ROUTES = (
    "/admin/",
    "/admin/idps/corp/test",
    "/admin/idps/corp/test/start",
    "/admin/idps/corp/test/result/x",
)
COOKIE = "deskgate_admin"


async def _sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    form = await client.get("/admin/login")
    data = {"csrf_token": csrf_token(form.text), "username": username, "password": password}
    return await client.post("/admin/login", data=data)


def _sent_to_login(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/admin/login")


async def test_setup_link_creates_the_first_admin_once_and_dies(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="deskgate"):
        async with running_app(db_url) as (client, services):
            found = re.search(r"http://127\.0\.0\.1:8080(/admin/setup/\S+?)\s", caplog.text + " ")
            assert found, caplog.text
            link = found.group(1)
            page = await client.get(link)
            assert page.status_code == 200
            token = csrf_token(page.text)
            mismatch = await client.post(
                link,
                data={
                    "csrf_token": token,
                    "username": "root",
                    "password": "x" * 12,
                    "password_again": "y" * 12,
                },
            )
            assert mismatch.status_code == 400  # a typo does not spend the link
            created = await client.post(
                link,
                data={
                    "csrf_token": token,
                    "username": "root",
                    "password": "p" * 16,
                    "password_again": "p" * 16,
                },
            )
            assert created.status_code == 303
            assert created.headers["location"] == "/admin/"
            assert (await client.get("/admin/")).status_code == 200  # signed in as the new admin
            assert [a.username for a in await services.admins.list()] == ["root"]
            assert (await client.get(link)).status_code == 404
            # Signed in now, so the setup page's token is spent: the console's pages carry new ones.
            token = csrf_token((await client.get("/admin/")).text)
            again = await client.post(
                link,
                data={
                    "csrf_token": token,
                    "username": "eve",
                    "password": "e" * 16,
                    "password_again": "e" * 16,
                },
            )
            assert again.status_code == 404
            assert await services.admin_setup.issue() is None  # an admin exists: no new link either
            assert [a.username for a in await services.admins.list()] == ["root"]


async def test_no_setup_link_when_an_admin_exists(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    async with running_app(db_url) as (_, services):
        await create_admin(services)
    caplog.clear()  # the first start (empty database) did print a link
    with caplog.at_level(logging.WARNING, logger="deskgate"):
        async with running_app(db_url):
            pass
    assert "/admin/setup/" not in caplog.text


async def test_wrong_password_and_unknown_user_are_refused_alike(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await create_admin(services)
        wrong = await _sign_in(client, ADMIN_USER, "not-the-password")
        unknown = await _sign_in(client, "nobody", "not-the-password")
        events = await services.audit.query(event="admin.login")
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        assert "Wrong user name or password." in response.text
        assert COOKIE not in response.cookies
    assert [(e.outcome, e.subject) for e in events] == [("refused", "nobody"), ("refused", ADMIN_USER)]
    assert all("not-the-password" not in (e.detail or "") for e in events)


async def test_failed_sign_ins_are_throttled(db_url: str) -> None:
    """The details (per address and name, backoff, workers) are in test_sign_in_throttle*."""
    async with running_app(db_url) as (client, services):
        # A stopped clock: the first wait is a second, which a slow machine could let pass.
        services.admin_throttle = SignInThrottle(services.admin_throttle.counts, clock=Clock())
        await create_admin(services)
        for _ in range(5):
            assert (await _sign_in(client, ADMIN_USER, "guess-guess-guess")).status_code == 401
        throttled = await _sign_in(client, ADMIN_USER, ADMIN_PASSWORD)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "1"
    assert COOKIE not in throttled.cookies


async def test_forms_require_the_csrf_token(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await create_admin(services)
        token = await services.admin_setup.issue()  # none: an admin exists
        assert token is None
        login = await client.post("/admin/login", data={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
        assert login.status_code == 403
        assert COOKIE not in login.cookies
        assert (await _sign_in(client, ADMIN_USER, ADMIN_PASSWORD)).status_code == 303
        logout = await client.post("/admin/logout", data={"csrf_token": "forged"})
        assert logout.status_code == 403
        assert (await client.get("/admin/")).status_code == 200  # still signed in
        page = await client.get("/admin/")
        signed_out = await client.post("/admin/logout", data={"csrf_token": csrf_token(page.text)})
        assert _sent_to_login(signed_out)
        assert _sent_to_login(await client.get("/admin/"))


async def test_setup_form_requires_the_csrf_token(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await services.admin_setup.issue()
        assert token is not None
        refused = await client.post(
            f"/admin/setup/{token}",
            data={"username": "root", "password": "p" * 16, "password_again": "p" * 16},
        )
        assert refused.status_code == 403
        assert await services.admins.list() == []
        assert await services.admin_setup.usable(token)


async def test_admin_pages_redirect_to_sign_in_without_an_admin_session(db_url: str) -> None:
    async with running_app(db_url, idps=[IDP]) as (client, _):
        for path in ADMIN_ROUTES:
            response = await client.get(path)
            assert _sent_to_login(response), path
            assert "no-store" in response.headers["cache-control"]


async def _customer_session(services: Services) -> str:
    session_id, _ = await services.sessions.start(
        idp="corp", subject="alice", email="alice@example.org", display_name="Alice", attributes={}
    )
    return session_id


async def test_a_customer_session_never_opens_an_admin_page(db_url: str) -> None:
    async with running_app(db_url, idps=[IDP]) as (client, services):
        await create_admin(services)
        customer = await _customer_session(services)
        for cookies in ({"deskgate_session": customer}, {COOKIE: customer}):
            client.cookies.clear()
            for name, value in cookies.items():
                client.cookies.set(name, value)
            assert (await client.get("/me")).status_code in (200, 401)
            for path in ADMIN_ROUTES:
                assert _sent_to_login(await client.get(path)), (cookies, path)
        # …and an admin session is no customer session either.
        client.cookies.clear()
        await _sign_in(client, ADMIN_USER, ADMIN_PASSWORD)
        admin_id = client.cookies[COOKIE]
        assert await services.sessions.resolve(admin_id) is None


async def test_sign_in_rotates_the_session_id(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await create_admin(services)
        await _sign_in(client, ADMIN_USER, ADMIN_PASSWORD)
        first = client.cookies[COOKIE]
        await _sign_in(client, ADMIN_USER, ADMIN_PASSWORD)
        second = client.cookies[COOKIE]
        assert first != second
        assert await services.admin_sessions.resolve(first) is None
        assert await services.admin_sessions.resolve(second) is not None
        audit = await services.audit.query(event="admin.login")
    assert [e.outcome for e in audit] == ["success", "success"]


@pytest.mark.parametrize("column", ["last_seen_at", "expires_at"])
async def test_admin_sessions_time_out(db_url: str, column: str) -> None:
    async with running_app(db_url) as (client, services):
        await create_admin(services)
        await _sign_in(client, ADMIN_USER, ADMIN_PASSWORD)
        assert (await client.get("/admin/")).status_code == 200
        # Idle 31 minutes (the limit is 30), or past the absolute end.
        when = datetime.now(UTC) - timedelta(minutes=31 if column == "last_seen_at" else 1)
        async with services.db.begin() as db:
            await db.execute(update(AdminSessionRow).values({column: when}))
        assert _sent_to_login(await client.get("/admin/"))


@pytest.mark.real_password_hashing
async def test_passwords_are_stored_as_argon2id_and_rehashed_when_parameters_change(db_url: str) -> None:
    async with running_app(db_url) as (_, services):
        weak = AdminAccounts(services.db, PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
        await weak.create("old", "old-password-123")
        await create_admin(services)
        async with services.db() as db:
            before = {r.username: r.password_hash for r in (await db.scalars(select(AdminAccountRow))).all()}
        assert all(h.startswith("$argon2id$") for h in before.values())
        assert "old-password-123" not in "".join(before.values())
        assert await services.admins.verify("old", "old-password-123")
        async with services.db() as db:
            after = await db.get(AdminAccountRow, "old")
        assert after is not None
        assert after.password_hash != before["old"]
        assert after.password_hash.startswith("$argon2id$")
        assert not PasswordHasher().check_needs_rehash(after.password_hash)
        assert after.last_login_at is not None
