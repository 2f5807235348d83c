"""Web-level security: headers, cookies under https, admin redirect, back-channel input, proxies."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from deskgate.identity.provider import ProviderConfig
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio

IDP = ProviderConfig(
    name="corp",
    title="Corp",
    issuer="https://idp.corp.test",
    client_id="deskgate",
    client_secret=SecretStr("s3cret-value-never-shown"),
)


async def test_pages_carry_security_headers(db_url: str) -> None:
    async with running_app(db_url) as (client, _):
        page = await client.get("/login")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert "strict-transport-security" not in page.headers  # plain http: HSTS would be meaningless


async def test_https_deployment_uses_host_prefixed_secure_cookies_and_hsts(db_url: str) -> None:
    async with running_app(db_url, base_url="https://help.example.com") as (client, _):
        page = await client.get("/logout")
    assert page.headers["strict-transport-security"].startswith("max-age=")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("__Host-deskgate_csrf=")
    lowered = cookie.lower()
    assert "secure" in lowered
    assert "httponly" in lowered
    assert "path=/" in lowered
    assert "domain=" not in lowered


async def test_frontchannel_endpoint_may_be_framed_and_is_never_cached(db_url: str) -> None:
    async with running_app(db_url) as (client, _):
        answer = await client.get("/plugins/servlet/oauth/logout", params={"iss": "https://x", "sid": "y"})
        bare = await client.get("/plugins/servlet/oauth/logout")
    for response in (answer, bare):
        assert response.status_code == 200
        assert "x-frame-options" not in response.headers
        assert "frame-ancestors *" in response.headers["content-security-policy"]
        assert "no-store" in response.headers["cache-control"]
        assert response.headers["pragma"] == "no-cache"


async def test_admin_pages_send_to_the_admin_sign_in(db_url: str) -> None:
    async with running_app(db_url, idps=[IDP]) as (client, _):
        for path in ("/admin/", "/admin/idps/corp/test/start", "/admin/idps/corp/test/result/x"):
            response = await client.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/admin/login?next=")


async def test_backchannel_logout_refuses_missing_and_garbage_tokens(db_url: str) -> None:
    async with running_app(db_url, idps=[IDP]) as (client, services):
        missing = await client.post("/plugins/servlet/oauth/backchannel-logout", data={})
        garbage = await client.post(
            "/plugins/servlet/oauth/backchannel-logout", data={"logout_token": "a.b.c"}
        )
        events = await services.audit.query()
    assert missing.status_code == 400
    assert garbage.status_code == 400
    assert "no-store" in garbage.headers["cache-control"]
    assert [e.outcome for e in events] == ["failure", "failure"]


async def test_forwarded_for_is_believed_only_from_trusted_proxies(db_url: str) -> None:
    spoofed = {"X-Forwarded-For": "203.0.113.9"}
    async with running_app(db_url, client_ip="198.51.100.7") as (client, services):
        await client.post("/plugins/servlet/oauth/backchannel-logout", data={}, headers=spoofed)
        untrusted = await services.audit.query()
    async with running_app(db_url, client_ip="10.0.0.2", trusted_proxies=["10.0.0.0/8"]) as (
        client,
        services,
    ):
        await client.post(
            "/plugins/servlet/oauth/backchannel-logout",
            data={},
            headers={"X-Forwarded-For": "203.0.113.9, 10.0.0.3"},
        )
        trusted = await services.audit.query()
    assert [e.client_ip for e in untrusted] == ["198.51.100.7"]
    assert trusted[0].client_ip == "203.0.113.9"


async def test_unknown_idp_and_unknown_route_end_on_the_error_page(db_url: str) -> None:
    async with running_app(db_url, idps=[IDP]) as (client, _):
        unknown_idp = await client.get("/login", params={"idp": "nope"})
        unknown_route = await client.get("/nowhere")
    for page in (unknown_idp, unknown_route):
        assert page.status_code == 404
        assert 'data-kind="not_found"' in page.text and 'href="/portal"' in page.text  # a way home
        assert "Error id" not in page.text  # a plain "not found" needs no id to quote


async def test_callback_without_state_is_refused_with_error_id(db_url: str) -> None:
    async with running_app(db_url, idps=[IDP]) as (client, services):
        page = await client.get("/plugins/servlet/oauth/callback", params={"code": "abc"})
        events = await services.audit.query()
    assert page.status_code == 400
    assert events[0].error_id is not None
    assert events[0].error_id in page.text
    assert events[0].detail is not None
    assert "check=state" in events[0].detail
