"""Signing in to the admin console in tests: an account, and the sign-in form filled in over HTTP."""

from __future__ import annotations

import re

import httpx

from deskgate.services import Services

ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin-password-for-tests"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


async def create_admin(services: Services) -> None:
    await services.admins.create(ADMIN_USER, ADMIN_PASSWORD, replace=True)


def csrf_token(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(client: httpx.Client, base: str, password: str = ADMIN_PASSWORD) -> httpx.Response:
    """Through /admin/login as a browser would; the client keeps the admin cookie."""
    form = client.get(base + "/admin/login")
    return client.post(
        base + "/admin/login",
        data={"csrf_token": csrf_token(form.text), "username": ADMIN_USER, "password": password},
    )


CONTINUE_FORM = re.compile(r'<form method="get" action="([^"]+)" id="resubmit">')


def continue_target(response: httpx.Response) -> str:
    """Where the console's continue page (served after an IdP round trip instead of a redirect) leads."""
    assert response.status_code == 200, response.status_code
    found = CONTINUE_FORM.search(response.text)
    assert found, "not the continue page"
    return found.group(1)


async def console_sign_in(client: httpx.AsyncClient, services: Services, page: str = "/admin/") -> str:
    """Create the admin, sign `client` in through /admin/login, and return a CSRF token from `page`."""
    await create_admin(services)
    form = await client.get("/admin/login")
    data = {"csrf_token": csrf_token(form.text), "username": ADMIN_USER, "password": ADMIN_PASSWORD}
    assert (await client.post("/admin/login", data=data)).status_code == 303
    opened = await client.get(page)
    assert opened.status_code == 200, (page, opened.status_code)
    return csrf_token(opened.text)
