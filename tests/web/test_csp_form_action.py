"""The CSP's form-action names 'self' and the enabled IdPs' origins only (issuer, authorization and
end-session endpoints, from the configuration or the discovery document the relying party has cached):
sign-in and sign-out forms end at an IdP after a redirect, which Chromium checks against form-action, and
no other origin may receive a form's fields."""

from __future__ import annotations

import httpx
import pytest

import deskgate.web.form_targets
from deskgate.web.form_targets import form_origin
from tests.support.idps import provider
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio

CORP = provider("corp", issuer="https://idp.corp.test")
# Cognito-like: its sign-out lives on the hosted domain, named in the configuration.
HOSTED = provider(
    "hosted", issuer="https://pool.hosted.test", end_session_endpoint="https://auth.hosted.test/logout"
)
GITHUB = provider(
    "github",
    protocol="oauth2",
    issuer=None,
    discovery=False,
    scopes=(),
    authorization_endpoint="https://github.com/login/oauth/authorize",
    token_endpoint="https://github.com/login/oauth/access_token",
    userinfo_endpoint="https://api.github.com/user",
)
OFF = provider("off", issuer="https://idp.off.test", enabled=False)


def form_action(response: httpx.Response) -> list[str]:
    for directive in response.headers["content-security-policy"].split(";"):
        name, _, sources = directive.strip().partition(" ")
        if name == "form-action":
            return sources.split()
    raise AssertionError("no form-action")


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://idp.corp.test/authorize?x=1", "https://idp.corp.test"),
        ("https://IDP.Corp.test:443/a", "https://idp.corp.test"),
        ("http://127.0.0.1:8081/auth", "http://127.0.0.1:8081"),
        ("https://idp.corp.test:8443", "https://idp.corp.test:8443"),
        ("https://idp.corp.test;script-src/x", None),  # would start another directive
        ("https://a.test,b.test/x", None),
        ("https://[2001:db8::1]/x", None),
        ("javascript:alert(1)", None),
        ("https://idp.corp.test:99999/", None),
        (None, None),
    ],
)
def test_form_origin(url: str | None, origin: str | None) -> None:
    assert form_origin(url) == origin


async def test_form_action_names_the_enabled_idps_origins_only(db_url: str) -> None:
    idps = [CORP, HOSTED, GITHUB, OFF]
    async with running_app(db_url, idps=idps, base_url="https://help.example.com") as (client, _):
        page = await client.get("/logout")
    assert form_action(page) == [
        "'self'",
        "https://auth.hosted.test",
        "https://github.com",
        "https://idp.corp.test",
        "https://pool.hosted.test",
    ]
    assert "https:" not in form_action(page) and "https://idp.off.test" not in form_action(page)


async def test_endpoints_from_the_cached_discovery_document_join_the_list(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deskgate.web.form_targets, "REFRESH_SECONDS", 0.0)
    document = {
        "issuer": "https://idp.corp.test",
        "authorization_endpoint": "https://login.corp.test/authorize",
        "token_endpoint": "https://idp.corp.test/token",
        "jwks_uri": "https://idp.corp.test/jwks",
        "end_session_endpoint": "https://logout.corp.test/end",
    }
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json=document))
    )
    async with http, running_app(db_url, idps=[CORP], idp_http=http) as (client, services):
        # Before the first sign-in nothing was fetched, and no answer waits for the IdP: the issuer only.
        assert form_action(await client.get("/logout")) == ["'self'", "https://idp.corp.test"]
        await (await services.relying_party("corp")).metadata()  # what the first sign-in does
        assert form_action(await client.get("/logout")) == [
            "'self'",
            "https://idp.corp.test",
            "https://login.corp.test",
            "https://logout.corp.test",
        ]


async def test_turning_an_idp_on_or_off_changes_the_list(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deskgate.web.form_targets, "REFRESH_SECONDS", 0.0)
    async with running_app(db_url, idps=[CORP, OFF]) as (client, services):
        assert form_action(await client.get("/logout")) == ["'self'", "https://idp.corp.test"]
        await services.save_provider(OFF.model_copy(update={"enabled": True}))
        await services.save_provider(CORP.model_copy(update={"enabled": False}))
        assert form_action(await client.get("/logout")) == ["'self'", "https://idp.off.test"]
        await services.save_provider(OFF.model_copy(update={"enabled": False}))
        assert form_action(await client.get("/logout")) == ["'self'"]
