"""A new IdP is a draft: offered to no customer until a test sign-in passed or an admin confirmed the warning.

Issue 10: adding an unreachable Gluu in the console turned every customer's automatic redirect into a chooser
whose button ended on an error page. Here the wizard's IdP never reaches the sign-in page until it is live.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr

from deskgate.audit import AuditEvent
from deskgate.config_io import export_config, import_config
from deskgate.identity.provider import ProviderConfig
from deskgate.login.page import LoginPageSettings
from tests.support.admin import console_sign_in
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio

GLUU_FORM = {
    "name": "gluu",
    "title": "Corp Gluu",
    "domain": "idp.gluu.test",
    "client_id": "inum-1234",
    "client_secret": "gluu-secret-0123456789",
    "scopes": "openid email profile",
}


def _idp(name: str, **changes: Any) -> ProviderConfig:
    """Explicit endpoints: starting a sign-in needs no discovery, so no IdP has to run."""
    config = ProviderConfig(
        name=name,
        title=f"{name.title()} SSO",
        discovery=False,
        issuer=f"https://{name}.idp.test",
        authorization_endpoint=f"https://{name}.idp.test/authorize",
        token_endpoint=f"https://{name}.idp.test/token",
        jwks_uri=f"https://{name}.idp.test/jwks",
        client_id="deskgate",
        client_secret=SecretStr("client-secret-0123456789"),
    )
    return config.model_copy(update=changes)


def _host(location: str) -> str:
    return urlsplit(location).netloc


def _passed_test(email: str | None) -> dict[str, Any]:
    """Shaped like `login.connection_test.success_result`."""
    return {
        "ok": True,
        "subject": "u-1",
        "id_token_claims": {"sub": "u-1", "email": email},
        "userinfo_claims": {},
        "mapped": {"email": email},
        "verdict": {"allowed": True, "rule": "default", "reason": "no rule refused the user"},
        "warnings": [],
    }


async def test_the_wizards_idp_is_a_draft_that_no_customer_is_offered_or_sent_to(db_url: str) -> None:
    async with running_app(db_url, idps=[_idp("corp")]) as (client, services):
        token = await console_sign_in(client, services)
        added = await client.post("/admin/idps/new/gluu", data={**GLUU_FORM, "csrf_token": token})
        assert added.status_code == 303
        gluu = await services.providers.get("gluu")
        assert gluu.draft and gluu.enabled and gluu.status == "draft"
        listing = await client.get("/admin/")
        assert "not offered to customers" in listing.text.split('id="status-gluu"', 1)[1].split("</td>", 1)[0]
        assert 'href="/admin/idps/gluu/enable"' in listing.text

        # Automatic mode still goes straight to the one live IdP, even when the draft is the default.
        straight = await client.get("/login")
        assert straight.status_code == 302 and _host(straight.headers["location"]) == "corp.idp.test"
        await services.login_page.save(LoginPageSettings(default_idp="gluu"))
        assert _host((await client.get("/login")).headers["location"]) == "corp.idp.test"

        # The chooser shows no button for it, its domain routes nowhere, and a direct link is unknown.
        domains = {"corp.com": "corp", "gluu.test": "gluu"}
        await services.login_page.save(LoginPageSettings(mode="chooser", domains=domains))
        chooser = await client.get("/login")
        assert "Corp SSO" in chooser.text and "Corp Gluu" not in chooser.text
        routed = await client.get("/login", params={"email": "ann@corp.com"})
        assert routed.status_code == 302 and _host(routed.headers["location"]) == "corp.idp.test"
        unrouted = await client.get("/login", params={"email": "bob@gluu.test"})
        assert unrouted.status_code == 200 and "idp.gluu.test" not in unrouted.headers.get("location", "")
        assert (await client.get("/login", params={"idp": "gluu"})).status_code == 404

        # Editing it keeps it a draft.
        edited = {**GLUU_FORM, "title": "Gluu (new title)", "client_secret": "", "csrf_token": token}
        assert (await client.post("/admin/idps/gluu/edit", data=edited)).status_code == 303
        assert (await services.providers.get("gluu")).draft


async def test_enabling_an_untested_draft_needs_the_warning_confirmed(db_url: str) -> None:
    async with running_app(db_url, idps=[_idp("corp"), _idp("gluu", draft=True)]) as (client, services):
        token = await console_sign_in(client, services)
        warning = await client.get("/admin/idps/gluu/enable")
        assert warning.status_code == 200
        assert 'id="enable-warning"' in warning.text and "It was never tested." in warning.text
        assert 'name="confirm" value="untested"' in warning.text

        refused = await client.post("/admin/idps/gluu/enable", data={"csrf_token": token})
        assert refused.status_code == 409 and 'id="confirm-missing"' in refused.text
        wrong = await client.post("/admin/idps/gluu/enable", data={"csrf_token": token, "confirm": "yes"})
        assert wrong.status_code == 409
        assert (await services.providers.get("gluu")).draft
        assert await services.audit.query(event="admin.idp.enable") == []

        confirmed = {"csrf_token": token, "confirm": "untested"}
        assert (await client.post("/admin/idps/gluu/enable", data=confirmed)).status_code == 303
        gluu = await services.providers.get("gluu")
        assert gluu.live and not gluu.draft
        (event,) = await services.audit.query(event="admin.idp.enable")
        assert event.detail is not None and "without a passed test sign-in" in event.detail
        assert (await client.get("/login")).status_code == 200  # two live IdPs now: the chooser


async def test_a_draft_whose_last_test_passed_is_enabled_without_confirmation(db_url: str) -> None:
    async with running_app(db_url, idps=[_idp("gluu", draft=True)]) as (client, services):
        token = await console_sign_in(client, services)
        # A test that worked without an email address proves nothing: every customer would be refused.
        await services.connection_tests.save("gluu", _passed_test(None))
        page = await client.get("/admin/idps/gluu/enable")
        assert "gave no email address" in page.text
        assert (await client.post("/admin/idps/gluu/enable", data={"csrf_token": token})).status_code == 409

        await services.connection_tests.save("gluu", _passed_test("ann@corp.com"))
        assert 'id="enable-safe"' in (await client.get("/admin/idps/gluu/enable")).text
        assert (await client.post("/admin/idps/gluu/enable", data={"csrf_token": token})).status_code == 303
        assert (await services.providers.get("gluu")).live
        assert (await client.get("/login")).status_code == 302


async def test_the_list_shows_failed_tests_and_customers_failed_sign_ins(db_url: str) -> None:
    async with running_app(db_url, idps=[_idp("corp"), _idp("gluu")]) as (client, services):
        token = await console_sign_in(client, services)
        assert token
        now = datetime.now(UTC)
        for outcome in ("failure", "refused", "success"):
            await services.audit.record(AuditEvent(event="login", outcome=outcome, idp="corp", at=now))
        await services.audit.record(AuditEvent(event="login.test", outcome="failure", idp="gluu", at=now))
        diagnosis = {"title": "Identity provider unreachable", "explanation": "-", "fix": "-"}
        failed_test = {"ok": False, "check": "discovery", "detail": "GET failed", "diagnosis": diagnosis}
        await services.connection_tests.save("gluu", failed_test)
        listing = (await client.get("/admin/")).text

    def cell(element_id: str) -> str:
        return listing.split(f'id="{element_id}"', 1)[1].split("</td>", 1)[0]

    assert ">2</a>" in cell("failed-corp") and "/admin/audit?event=login&amp;idp=corp" in cell("failed-corp")
    assert cell("failed-gluu").endswith(">0")
    assert "failed: Identity provider unreachable" in cell("last-test-gluu")
    assert "1 failed test (24 h)" in cell("last-test-gluu")


async def test_a_draft_round_trips_through_export_and_import_and_a_file_entry_is_live(db_url: str) -> None:
    async with running_app(db_url, idps=[_idp("corp"), _idp("gluu", draft=True)]) as (_, services):
        document = await export_config(services, include_secrets=True)
        assert {e["name"]: e["draft"] for e in document["idps"]} == {"corp": False, "gluu": True}
        # A file written by hand without `draft` means what it always meant: live.
        handwritten = {key: value for key, value in document["idps"][0].items() if key != "draft"}
        await import_config(services, {**document, "idps": [handwritten, document["idps"][1]]}, replace=True)
        services.providers.invalidate()
        assert [(p.name, p.status) for p in await services.providers.all()] == [
            ("corp", "live"),
            ("gluu", "draft"),
        ]
