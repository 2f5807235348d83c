"""The attribute mapping and user filter editors: claims of the last test, preview, try it, save, refusals."""

from __future__ import annotations

import html
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from deskgate.identity.filters import ClaimRule, FilterRules
from deskgate.identity.mapping import AttributeMapping
from deskgate.identity.provider import ProviderConfig
from deskgate.services import Services
from tests.support.admin import ADMIN_PASSWORD, ADMIN_USER, create_admin, csrf_token
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio

ID_TOKEN = {
    "iss": "https://corp.test",
    "sub": "u-42",
    "upn": "Ann.Lee@Corp.com",
    "given_name": "Ann",
    "family_name": "Lee",
    "org": {"dept": "support-desk"},
}
USERINFO = {"sub": "u-42", "roles": ["staff", "eng-team"], "mail_verified": True}


def _test_result() -> dict[str, Any]:
    """Shaped like `login.connection_test.success_result`."""
    return {
        "ok": True,
        "subject": "u-42",
        "id_token_claims": ID_TOKEN,
        "userinfo_claims": USERINFO,
        "mapped": {"email": None},
        "verdict": {"allowed": True, "rule": "default", "reason": "no rule refused the user"},
    }


MAPPING_FORM = {
    "email": "email, upn",
    "email_verified": "mail_verified",
    "first_name": "given_name",
    "last_name": "family_name",
    "display_name": "name",
    "groups": "roles",
    "organization": "org.dept",
    "extra": "department = org.dept",
}


async def _setup(client: httpx.AsyncClient, services: Services, *, tested: bool = True) -> str:
    """The IdP `corp` (with a stored connection test), an admin signed in; returns a CSRF token."""
    config = ProviderConfig(
        name="corp",
        title="Corp",
        issuer="https://corp.test",
        client_id="deskgate",
        client_secret=SecretStr("s3cret"),
        filters=FilterRules(allow_domains=("corp.com",)),
    )
    await services.providers.save(config)
    if tested:
        await services.connection_tests.save("corp", _test_result())
    await create_admin(services)
    form = await client.get("/admin/login")
    data = {"csrf_token": csrf_token(form.text), "username": ADMIN_USER, "password": ADMIN_PASSWORD}
    assert (await client.post("/admin/login", data=data)).status_code == 303
    return csrf_token((await client.get("/admin/")).text)


async def _audited(services: Services, event: str) -> list[str | None]:
    return [e.subject for e in await services.audit.query(event=event)]


def _filters_form(**changes: str) -> dict[str, str]:
    form = {
        "allow_domains": "corp.com\n*.corp.com",
        "deny_domains": "",
        "rule_count": "2",
        "rule-0-effect": "allow",
        "rule-0-claim": "groups",
        "rule-0-match": "exact",
        "rule-0-value": "staff",
        "rule-1-effect": "allow",
        "rule-1-claim": "",
        "rule-1-match": "exact",
        "rule-1-value": "",
        "try_source": "email",
        "try_rules": "edited",
        "try_verified": "on",
    }
    return {**form, **changes}


# --- attribute mapping -----------------------------------------------------------------------------


async def test_mapping_page_shows_the_last_tests_claims_to_pick_from(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await _setup(client, services)
        listing = await client.get("/admin/")
        assert 'href="/admin/idps/corp/mapping"' in listing.text
        assert 'href="/admin/idps/corp/filters"' in listing.text
        page = await client.get("/admin/idps/corp/mapping")
        assert page.status_code == 200
        assert 'id="field-email" name="email" value="email"' in page.text  # the saved mapping
        assert '<option value="upn">' in page.text and '<option value="org.dept">' in page.text
        assert '<option value="roles">' in page.text
        assert "Ann.Lee@Corp.com" in page.text and "support-desk" in page.text
        assert 'id="no-test"' not in page.text


async def test_preview_maps_the_test_claims_with_the_edited_mapping_and_saves_nothing(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await _setup(client, services)
        page = await client.post(
            "/admin/idps/corp/mapping", data={**MAPPING_FORM, "action": "preview", "csrf_token": token}
        )
        assert page.status_code == 200
        preview = page.text.split('id="preview-table"')[1]
        assert "ann.lee@corp.com" in preview and "<code>upn</code>" in preview  # fell back to upn
        assert "support-desk" in preview and "<code>org.dept</code>" in preview
        assert "staff" in preview and "eng-team" in preview
        assert 'value="email, upn"' in page.text  # the edited form is shown again
        services.providers.invalidate()
        assert (await services.providers.get("corp")).mapping == AttributeMapping()
        assert await _audited(services, "admin.idp.mapping") == []


async def test_save_stores_the_mapping_and_audits(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await _setup(client, services)
        saved = await client.post(
            "/admin/idps/corp/mapping", data={**MAPPING_FORM, "action": "save", "csrf_token": token}
        )
        assert saved.status_code == 303
        assert saved.headers["location"] == "/admin/idps/corp/mapping?saved=1"
        services.providers.invalidate()
        mapping = (await services.providers.get("corp")).mapping
        assert mapping.email == ("email", "upn") and mapping.groups == ("roles",)
        assert mapping.organization == ("org.dept",) and mapping.extra == {"department": ("org.dept",)}
        assert await _audited(services, "admin.idp.mapping") == [ADMIN_USER]
        page = await client.get(saved.headers["location"])
        assert 'id="saved"' in page.text and 'value="email, upn"' in page.text


async def test_invalid_paths_are_shown_inline_with_the_input_kept(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await _setup(client, services)
        bad = {**MAPPING_FORM, "email": "email, a..b", "extra": "my dept = x", "csrf_token": token}
        for action in ("save", "preview"):
            page = await client.post("/admin/idps/corp/mapping", data={**bad, "action": action})
            assert page.status_code == 400
            assert 'role="alert"' in page.text and 'aria-invalid="true"' in page.text
            assert 'id="error-email"' in page.text and "not a claim path" in html.unescape(page.text)
            assert 'id="error-extra"' in page.text and "not an attribute name" in html.unescape(page.text)
            assert 'value="email, a..b"' in page.text
            assert 'id="preview-table"' not in page.text
        services.providers.invalidate()
        assert (await services.providers.get("corp")).mapping == AttributeMapping()
        assert await _audited(services, "admin.idp.mapping") == []


async def test_without_a_test_the_mapping_page_links_to_the_test(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await _setup(client, services, tested=False)
        page = await client.get("/admin/idps/corp/mapping")
        assert 'id="no-test"' in page.text and 'href="/admin/idps/corp/test"' in page.text
        preview = await client.post(
            "/admin/idps/corp/mapping", data={**MAPPING_FORM, "action": "preview", "csrf_token": token}
        )
        assert preview.status_code == 400 and 'id="error-preview"' in preview.text


# --- user filters ----------------------------------------------------------------------------------


async def test_filters_page_shows_the_saved_rules(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await _setup(client, services)
        page = await client.get("/admin/idps/corp/filters")
        assert page.status_code == 200
        assert ">corp.com</textarea>" in page.text
        assert 'id="rule-0-claim"' in page.text  # blank rows to add rules
        assert "u-42" in page.text  # the last test's user can be tried


async def test_try_it_refuses_another_domain_and_names_the_rule(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await _setup(client, services)
        data = _filters_form(try_email="eve@evil.com", try_groups="staff", action="try", csrf_token=token)
        page = await client.post("/admin/idps/corp/filters", data=data)
        assert page.status_code == 200
        verdict = html.unescape(page.text.split('id="verdict"')[1].split("</p>")[0])
        assert "Refused" in verdict and "allow_domains" in verdict and "evil.com" in verdict
        assert "Allowed domains: corp.com, *.corp.com" in verdict
        checks = page.text.split('id="checks"')[1]
        assert "not reached" in checks  # the claim rule after the refusal
        allowed = await client.post(
            "/admin/idps/corp/filters", data={**data, "try_email": "bob@dev.corp.com"}
        )
        assert "Allowed" in allowed.text.split('id="verdict"')[1].split("</p>")[0]
        services.providers.invalidate()
        assert (await services.providers.get("corp")).filters == FilterRules(allow_domains=("corp.com",))
        assert await _audited(services, "admin.idp.filters") == []


async def test_try_it_with_the_last_tests_claims_and_the_saved_rules(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await _setup(client, services)
        data = _filters_form(try_source="test", action="try", csrf_token=token)
        # Mapped with the saved (default) mapping the test user has no email: refused by the allow list.
        page = await client.post("/admin/idps/corp/filters", data=data)
        verdict = html.unescape(page.text.split('id="verdict"')[1].split("</p>")[0])
        assert "Refused" in verdict and "no valid email address" in verdict
        # With the mapping that reads `upn` and `roles`, the edited rules let them in by the claim rule.
        mapping = AttributeMapping(email=("upn",), groups=("roles",))
        config = await services.providers.get("corp")
        await services.providers.save(config.model_copy(update={"mapping": mapping}))
        page = await client.post("/admin/idps/corp/filters", data=data)
        verdict = html.unescape(page.text.split('id="verdict"')[1].split("</p>")[0])
        assert "Allowed" in verdict and "claim_rules[0]" in verdict and "groups is staff" in verdict
        saved_rules = await client.post("/admin/idps/corp/filters", data={**data, "try_rules": "saved"})
        verdict = saved_rules.text.split('id="verdict"')[1].split("</p>")[0]
        assert "Allowed" in verdict and "allow_domains" in verdict


async def test_try_it_needs_an_email_or_a_test(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await _setup(client, services, tested=False)
        page = await client.get("/admin/idps/corp/filters")
        assert 'id="no-test"' in page.text and 'href="/admin/idps/corp/test"' in page.text
        for source, email in (("test", ""), ("email", "not-an-email")):
            data = _filters_form(try_source=source, try_email=email, action="try", csrf_token=token)
            tried = await client.post("/admin/idps/corp/filters", data=data)
            assert tried.status_code == 400 and 'id="error-try"' in tried.text
            assert 'id="verdict"' not in tried.text


async def test_save_filters_changes_the_stored_rules_and_audits(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await _setup(client, services)
        data = _filters_form(
            deny_domains="contractor.corp.com",
            require_email_verified="on",
            **{"rule-1-effect": "deny", "rule-1-claim": "org.dept", "rule-1-match": "regex"},
            **{"rule-1-value": "temp-.*"},
            action="save",
            csrf_token=token,
        )
        saved = await client.post("/admin/idps/corp/filters", data=data)
        assert saved.status_code == 303 and saved.headers["location"] == "/admin/idps/corp/filters?saved=1"
        services.providers.invalidate()
        rules = (await services.providers.get("corp")).filters
        assert rules.allow_domains == ("corp.com", "*.corp.com")
        assert rules.deny_domains == ("contractor.corp.com",) and rules.require_email_verified
        assert rules.claim_rules == (
            ClaimRule(effect="allow", claim="groups", value="staff"),
            ClaimRule(effect="deny", claim="org.dept", match="regex", value="temp-.*"),
        )
        assert await _audited(services, "admin.idp.filters") == [ADMIN_USER]
        # Emptying a row's claim and value deletes the rule.
        emptied = {**data, "rule-0-claim": "", "rule-0-value": ""}
        assert (await client.post("/admin/idps/corp/filters", data=emptied)).status_code == 303
        services.providers.invalidate()
        assert [r.claim for r in (await services.providers.get("corp")).filters.claim_rules] == ["org.dept"]


@pytest.mark.parametrize("pattern", ["(a+)+", r"(\w+\s?)*", "x" * 201])
async def test_catastrophic_regex_is_refused_with_the_input_kept(db_url: str, pattern: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await _setup(client, services)
        data = _filters_form(
            **{"rule-0-match": "regex", "rule-0-value": pattern}, action="save", csrf_token=token
        )
        page = await client.post("/admin/idps/corp/filters", data=data)
        assert page.status_code == 400 and 'role="alert"' in page.text
        error = html.unescape(page.text.split('id="error-rule-0"')[1].split("</span>")[0])
        assert "exponential time" in error or "at most 200" in error
        assert f'value="{html.escape(pattern)}"' in page.text
        services.providers.invalidate()
        assert (await services.providers.get("corp")).filters == FilterRules(allow_domains=("corp.com",))
        assert await _audited(services, "admin.idp.filters") == []


async def test_bad_domain_is_shown_inline(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await _setup(client, services)
        data = _filters_form(allow_domains="corp.com\nhttps://x.com", action="save", csrf_token=token)
        page = await client.post("/admin/idps/corp/filters", data=data)
        assert page.status_code == 400 and 'id="error-allow_domains"' in page.text
        assert "https://x.com</textarea>" in page.text


# --- refusals --------------------------------------------------------------------------------------


async def test_posts_without_a_valid_csrf_token_change_nothing(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await _setup(client, services)
        before = await services.providers.get("corp")
        posts = (
            ("/admin/idps/corp/mapping", {**MAPPING_FORM, "action": "save"}),
            ("/admin/idps/corp/filters", _filters_form(deny_domains="corp.com", action="save")),
        )
        for path, data in posts:
            for token in ({}, {"csrf_token": "forged"}):
                assert (await client.post(path, data={**data, **token})).status_code == 403, path
        services.providers.invalidate()
        assert await services.providers.get("corp") == before
        assert await _audited(services, "admin.idp.mapping") == []
        assert await _audited(services, "admin.idp.filters") == []


async def test_unknown_idp_is_404_and_signed_out_goes_to_sign_in(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await _setup(client, services)
        for page in ("mapping", "filters"):
            assert (await client.get(f"/admin/idps/nope/{page}")).status_code == 404
            posted = await client.post(
                f"/admin/idps/nope/{page}", data={"csrf_token": token, "action": "save"}
            )
            assert posted.status_code == 404
        client.cookies.clear()
        for page in ("mapping", "filters"):
            response = await client.get(f"/admin/idps/corp/{page}")
            assert response.status_code == 303 and response.headers["location"].startswith("/admin/login")
